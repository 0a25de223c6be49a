"""The aiortc/aioice internals softphone.rtc.aiortc_compat relies on.

The runtime check (:mod:`softphone.rtc.aiortc_compat.check`) looks for every name at start-up
and disables ICE restart when one is missing; the source-level checks here go further in
CI (how aiortc *uses* those names). Each names the seam it protects; docs/aiortc-notes.md.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator

import aioice
import aioice.ice
import aioice.stun
import aiortc
import aiortc.rtcicetransport
import aiortc.rtcpeerconnection
import aiortc.rtcrtpreceiver
import pytest
from aiortc.jitterbuffer import JitterBuffer
from aiortc.rtcdtlstransport import RTCDtlsTransport
from aiortc.rtcicetransport import RTCIceGatherer, RTCIceTransport
from aiortc.rtcrtpreceiver import NackGenerator, RTCRtpReceiver
from aiortc.rtcrtpsender import RTCRtpSender

from softphone.media.local import MediaChoice, open_local_media
from softphone.rtc.aiortc_compat import check
from softphone.rtc.aiortc_compat.transport import RestartableIceTransport, install_ice_restart
from softphone.rtc.ice import LOOPBACK
from softphone.rtc.peer import CallPeer


def source(obj: object) -> str:
    return inspect.getsource(obj)  # type: ignore[arg-type]


def test_pinned_versions() -> None:
    assert aiortc.__version__ == "1.16.0"
    assert aioice.__version__ == "0.13.0"


def test_seam1_host_addresses_hook() -> None:
    params = list(inspect.signature(aioice.ice.get_host_addresses).parameters)
    assert params == ["use_ipv4", "use_ipv6"]
    assert "get_host_addresses(" in source(aioice.Connection.gather_candidates)


def test_seam2_ice_transport_injection_point() -> None:
    # The peer connection builds ICE transports through this module-level name.
    assert "RTCIceTransport(iceGatherer)" in source(aiortc.rtcpeerconnection.RTCPeerConnection)
    assert install_ice_restart()
    assert issubclass(aiortc.rtcpeerconnection.RTCIceTransport, RestartableIceTransport)


def test_seam2_dtls_uses_only_recv_and_send() -> None:
    dtls = source(RTCDtlsTransport)
    assert "self.transport._recv()" in dtls
    assert "self.transport._send(" in dtls
    assert "_connection" not in dtls
    # A ConnectionError from _send would end the sender loop for good (why we never raise).
    assert "ConnectionError" in source(RTCRtpSender._run_rtp)


async def test_seam2_ice_transport_and_gatherer_shape() -> None:
    gatherer = RTCIceGatherer(iceServers=[])
    transport = RTCIceTransport(gatherer)
    for name in ("_connection", "_recv", "_send", "_role_set"):
        assert hasattr(transport, name), name
    assert transport._connection is gatherer._connection
    assert gatherer._remote_candidates_end is False
    assert callable(transport._RTCIceTransport__setState)  # type: ignore[attr-defined]
    assert "self._monitor()" in source(RTCIceTransport.start)
    assert "self.__state ==" in source(RTCIceGatherer.gather)  # gathers only once
    assert "gatherer._connection" in source(RTCIceTransport.__init__)
    await transport.stop()


async def test_seam2_aioice_connection_shape() -> None:
    connection = aioice.Connection(ice_controlling=True)
    for name in (
        "_nominated",
        "_protocols",
        "_use_ipv4",
        "_use_ipv6",
        "_transport_policy",
        "stun_server",
        "turn_server",
        "turn_username",
        "turn_password",
        "turn_ssl",
        "turn_transport",
        "remote_username",
        "remote_password",
        "remote_is_lite",
    ):
        assert hasattr(connection, name), name
    assert list(inspect.signature(connection.data_received).parameters) == ["data", "component"]
    assert "self.receiver.data_received(" in source(aioice.ice.StunProtocol.datagram_received)
    assert len(connection.local_username) >= 4
    assert len(connection.local_password) >= 22
    await connection.close()


def test_seam3_stun_probe_shape() -> None:
    assert list(inspect.signature(aioice.Connection.build_request).parameters) == [
        "self",
        "pair",
        "nominate",
    ]
    request = inspect.signature(aioice.ice.StunProtocol.request).parameters
    assert {"request", "addr", "integrity_key", "retransmissions"} <= set(request)
    assert issubclass(aioice.stun.TransactionTimeout, aioice.stun.TransactionError)
    assert "send_stun" in source(aioice.stun.Transaction)
    assert "transport.sendto" in source(aioice.ice.StunProtocol)


async def test_seam4_media_internals() -> None:
    gatherer = RTCIceGatherer(iceServers=[])
    dtls = RTCDtlsTransport(
        RTCIceTransport(gatherer), [aiortc.RTCCertificate.generateCertificate()]
    )
    receiver = RTCRtpReceiver("video", dtls)
    for name in ("jitter_buffer", "nack_generator", "rtx_ssrc", "remote_streams"):
        assert hasattr(receiver, f"_RTCRtpReceiver__{name}"), name
    assert isinstance(receiver._RTCRtpReceiver__jitter_buffer, JitterBuffer)  # type: ignore[attr-defined]
    assert isinstance(receiver._RTCRtpReceiver__nack_generator, NackGenerator)  # type: ignore[attr-defined]
    assert "_send_rtcp_pli" in dir(receiver)
    assert "JitterBuffer(capacity=512, is_video=True)" in source(RTCRtpReceiver.__init__)
    sender = RTCRtpSender("video", dtls)
    assert sender._enabled is True
    assert "if not self._enabled" in source(RTCRtpSender._next_encoded_frame)
    assert callable(sender._send_keyframe)
    await gatherer._connection.close()


def test_seam5_rollback_internals() -> None:
    pc_source = source(aiortc.rtcpeerconnection.RTCPeerConnection)
    assert "self.__pendingLocalDescription" in pc_source
    assert "def __setSignalingState" in pc_source
    assert "have-local-offer" in pc_source


def test_the_runtime_check_passes_on_the_pinned_versions() -> None:
    result = check.check()
    assert result.ok, result.problems
    assert "ICE restart available" in result.describe()


@pytest.fixture
def fresh_verdict(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    check.compatibility.cache_clear()
    yield
    monkeypatch.undo()  # the broken internal first, then a fresh verdict
    check.compatibility.cache_clear()
    assert install_ice_restart()  # the next test's peers are restartable again


@pytest.mark.parametrize(
    ("owner", "name"),
    [
        (RTCRtpSender, "_send_keyframe"),  # a method the media seam calls
        (aioice.ice.CandidatePair, "local_candidate"),  # a property the probe reads
        (aioice.Connection, "build_request"),  # a method the probe calls
        (aioice.ice, "relayed_candidate"),  # what TURN gathering calls per URL
        (JitterBuffer, "_remove_frame"),  # what the video buffer calls
    ],
)
async def test_a_missing_internal_disables_ice_restart_instead_of_failing_mid_call(
    monkeypatch: pytest.MonkeyPatch, fresh_verdict: None, owner: type, name: str
) -> None:
    monkeypatch.delattr(owner, name)
    result = check.compatibility()
    assert not result.ok
    assert any(name in problem for problem in result.problems), result.problems
    assert "ICE restart disabled" in result.describe()

    assert install_ice_restart() is False
    assert aiortc.rtcpeerconnection.RTCIceTransport is RTCIceTransport  # aiortc's own
    peer = CallPeer("c1", LOOPBACK, open_local_media(MediaChoice()))
    try:
        assert peer.restartable is False  # the call runs; it just cannot restart ICE
        # and gathers and buffers the way aiortc itself does
        assert aiortc.rtcicetransport.Connection is aioice.Connection
        assert aiortc.rtcrtpreceiver.JitterBuffer is JitterBuffer
    finally:
        await peer.close()


def test_a_missing_instance_attribute_is_found(
    monkeypatch: pytest.MonkeyPatch, fresh_verdict: None
) -> None:
    """Attributes set in __init__ (not on the class) are looked up on built objects."""
    original = RTCRtpSender.__init__

    def without_enabled(self: RTCRtpSender, *args: object, **kwargs: object) -> None:
        original(self, *args, **kwargs)  # type: ignore[arg-type]
        del self._enabled

    monkeypatch.setattr(RTCRtpSender, "__init__", without_enabled)
    assert "RTCRtpSender._enabled missing" in check.check_internals()


def test_an_untested_version_is_reported(
    monkeypatch: pytest.MonkeyPatch, fresh_verdict: None
) -> None:
    monkeypatch.setattr(check, "_versions", lambda: ("1.99.0", "0.13.0"))
    result = check.compatibility()
    assert not result.ok
    assert result.problems[0] == "aiortc 1.99.0 is not the tested 1.16.0"
