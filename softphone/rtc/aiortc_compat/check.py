"""Does the installed aiortc/aioice still have every internal the seams read or write?

Run once per process (start-up, ``--self-test``, the first call). A renamed internal would
otherwise raise inside aiortc's own callbacks mid-call or, when written, silently create a
new attribute so that recovery quietly stops working. When anything is off the app says so
and runs calls without ICE restart: a call that cannot recover beats one that breaks.

The check builds the aiortc objects the seams touch (no network, no event loop: ~10 ms) and
looks for each attribute by name; the list below is the seams' whole contract.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import logging
from dataclasses import dataclass
from importlib import metadata
from typing import Any

import aioice
import aioice.ice
import aioice.stun
import aioice.turn
import aiortc
import aiortc.codecs
import aiortc.codecs.opus
import aiortc.jitterbuffer
import aiortc.rtcicetransport
import aiortc.rtcpeerconnection
import aiortc.rtcrtpreceiver
import aiortc.rtp
from aiortc.rtcdtlstransport import RTCCertificate, RTCDtlsTransport

log = logging.getLogger(__name__)

# The versions the seams were written and measured against (pinned in pyproject.toml).
TESTED_VERSIONS = {"aiortc": "1.16.0", "aioice": "0.13.0"}

# (where, attribute names) per seam; instance attributes are looked up on fresh objects.
_CONNECTION_ATTRS = (
    "ice_controlling stun_server turn_server turn_username turn_password turn_ssl "
    "turn_transport _use_ipv4 _use_ipv6 _transport_policy _nominated _protocols "
    "local_username local_candidates remote_password remote_username remote_is_lite "
    "data_received build_request gather_candidates connect close get_event send "
    "get_component_candidates check_start check_state check_incoming _check_list _local_candidates "
    "_remote_candidates"
)
_ICE_TRANSPORT_ATTRS = "_connection iceGatherer _recv _send _monitor start stop state"
_GATHERER_ATTRS = "_connection _remote_candidates_end"
_SENDER_ATTRS = "_enabled _send_keyframe kind"
_RECEIVER_ATTRS = (
    "_RTCRtpReceiver__jitter_buffer _RTCRtpReceiver__nack_generator "
    "_RTCRtpReceiver__rtx_ssrc _RTCRtpReceiver__remote_streams _send_rtcp_pli track "
    "_RTCRtpReceiver__codecs _RTCRtpReceiver__decoder_queue _RTCRtpReceiver__decoder_thread "
    "_RTCRtpReceiver__timestamp_mapper _send_rtcp_nack _handle_rtp_packet stop "
    "_RTCRtpReceiver__rtcp_ssrc _RTCRtpReceiver__remote_bitrate_estimator _send_rtcp"
)
TRANSPORT_CC_URI = "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01"
_PEER_CONNECTION_ATTRS = (
    "_RTCPeerConnection__pendingLocalDescription _RTCPeerConnection__setSignalingState "
    "signalingState getTransceivers getSenders getReceivers"
)
_DTLS_ATTRS = "_role transport state"
_JITTER_ATTRS = "_origin _packets _capacity _remove_frame remove add"
_ANY: Any = None  # a placeholder argument: only the attribute names are looked at


@dataclass(frozen=True)
class Compatibility:
    aiortc_version: str
    aioice_version: str
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.problems

    def describe(self) -> str:
        versions = f"aiortc {self.aiortc_version}, aioice {self.aioice_version}"
        if self.ok:
            return f"{versions}: ICE restart available"
        return f"{versions}: ICE restart disabled ({'; '.join(self.problems)})"


def _missing(obj: object, names: str, where: str) -> list[str]:
    return [f"{where}.{name} missing" for name in names.split() if not hasattr(obj, name)]


def _versions() -> tuple[str, str]:
    return metadata.version("aiortc"), metadata.version("aioice")


def check_internals() -> list[str]:
    """Every internal the seams use, by name; returns what is missing (empty: all there)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:  # aiortc objects want an event loop: lend them a short-lived one
        loop = asyncio.new_event_loop()
        try:
            return loop.run_until_complete(_in_loop())
        finally:
            loop.close()
    return _check_internals()


async def _in_loop() -> list[str]:
    return _check_internals()


def _check_internals() -> list[str]:
    problems: list[str] = []
    for module, name in (
        (aioice.ice, "get_host_addresses"),
        (aioice.ice, "StunProtocol"),
        (aioice.ice, "CandidatePair"),
        (aioice, "Connection"),
        (aioice, "ConnectionClosed"),
        (aioice.stun, "TransactionError"),
        (aioice.ice, "relayed_candidate"),
        (aioice.ice, "server_reflexive_candidate"),
        (aioice, "TransportPolicy"),
        (aioice.turn, "TurnTransport"),
        (aiortc.rtcicetransport, "connection_kwargs"),
        (aiortc.rtcicetransport, "parse_stun_turn_uri"),
        (aiortc.rtcicetransport, "Connection"),
        (aiortc.rtcrtpreceiver, "JitterBuffer"),
        (aiortc.rtcpeerconnection, "RTCIceTransport"),
        (aiortc.rtcicetransport, "RTCIceTransport"),
        (aiortc.jitterbuffer, "JitterBuffer"),
        (aiortc.rtcrtpreceiver, "NackGenerator"),
        (aiortc.rtcpeerconnection, "RTCRtpReceiver"),
        (aiortc.codecs.opus, "OpusEncoder"),
        (aiortc.codecs.opus, "OpusDecoder"),
        (aiortc.codecs.opus, "TIME_BASE"),
        (aiortc.codecs, "OpusDecoder"),  # get_decoder's name for it
        (aiortc.codecs.opus, "SAMPLE_RATE"),
        (aiortc.codecs.opus, "SAMPLES_PER_FRAME"),
        (aiortc.codecs, "HEADER_EXTENSIONS"),
        (aiortc.codecs, "CODECS"),
        (aiortc.rtp, "HeaderExtensionsMap"),
    ):
        if not hasattr(module, name):
            problems.append(f"{module.__name__}.{name} missing")
    if problems:
        return problems  # the objects below cannot even be built
    try:
        gatherer = aiortc.rtcicetransport.RTCIceGatherer()
        ice = aiortc.rtcicetransport.RTCIceTransport(gatherer)
        dtls = RTCDtlsTransport(ice, [RTCCertificate.generateCertificate()])
        objects: list[tuple[object, str, str]] = [
            (gatherer, _GATHERER_ATTRS, "RTCIceGatherer"),
            (ice, _ICE_TRANSPORT_ATTRS, "RTCIceTransport"),
            (ice, "_RTCIceTransport__setState", "RTCIceTransport"),
            (getattr(ice, "_connection", None), _CONNECTION_ATTRS, "aioice.Connection"),
            (dtls, _DTLS_ATTRS, "RTCDtlsTransport"),
            (aiortc.RTCRtpSender("video", dtls), _SENDER_ATTRS, "RTCRtpSender"),
            (aiortc.RTCRtpReceiver("video", dtls), _RECEIVER_ATTRS, "RTCRtpReceiver"),
            (aiortc.RTCPeerConnection(), _PEER_CONNECTION_ATTRS, "RTCPeerConnection"),
            (aioice.ice.CandidatePair(_ANY, _ANY), "protocol", "CandidatePair"),
            (aioice.ice.CandidatePair, "remote_addr local_candidate", "CandidatePair"),
            (aioice.ice.CandidatePair.State, "IN_PROGRESS", "CandidatePair.State"),
            (aioice.ice.StunProtocol, "request send_stun", "StunProtocol"),
            (aiortc.codecs.opus.OpusEncoder(), "codec resampler", "OpusEncoder"),
            (aiortc.RTCRtpReceiver("audio", dtls), _RECEIVER_ATTRS, "RTCRtpReceiver(audio)"),
            (aiortc.jitterbuffer.JitterBuffer(16, is_video=True), _JITTER_ATTRS, "JitterBuffer"),
        ]
    except Exception as exc:  # a changed constructor is as fatal as a missing attribute
        return [f"building aiortc objects failed: {exc!r}"]
    for obj, names, where in objects:
        problems += _missing(obj, names, where)
    problems += _missing_parameters(
        getattr(aioice.ice.StunProtocol, "request", None),
        "integrity_key retransmissions",
        "StunProtocol.request",
    )
    problems += _missing_parameters(
        getattr(aioice.Connection, "get_component_candidates", None),
        "component addresses timeout",
        "Connection.get_component_candidates",
    )
    problems += _missing_parameters(
        getattr(aioice.ice, "relayed_candidate", None),
        "component hide_related_address protocol_factory turn_server turn_username "
        "turn_password turn_ssl turn_transport",
        "relayed_candidate",
    )
    problems += _missing_parameters(
        aiortc.jitterbuffer.JitterBuffer, "capacity is_video", "JitterBuffer"
    )
    problems += _transport_cc_problems()
    return problems


def _transport_cc_problems() -> list[str]:
    """Seam 10: RTP packets' transport-wide sequence number is parsed once negotiated, and
    the lists of what aiortc offers for video are there to add it to."""
    extensions = aiortc.rtp.HeaderExtensionsMap()
    extensions.configure(
        aiortc.RTCRtpParameters(
            headerExtensions=[aiortc.RTCRtpHeaderExtensionParameters(id=5, uri=TRANSPORT_CC_URI)]
        )
    )
    problems = []
    if not extensions.set(aiortc.rtp.HeaderExtensions(transport_sequence_number=1))[1]:
        problems.append("HeaderExtensionsMap does not know the transport-cc extension")
    if not isinstance(aiortc.codecs.HEADER_EXTENSIONS.get("video"), list):
        problems.append("aiortc.codecs.HEADER_EXTENSIONS has no video list")
    if not any(c.name == "VP8" for c in aiortc.codecs.CODECS.get("video", ())):
        problems.append("aiortc.codecs.CODECS has no VP8")
    return problems


def _missing_parameters(function: Any, names: str, where: str) -> list[str]:
    if function is None:
        return []  # reported as a missing attribute already
    parameters = inspect.signature(function).parameters
    return [
        f"{where} has no {name!r} parameter" for name in names.split() if name not in parameters
    ]


def check() -> Compatibility:
    """Versions plus internals (uncached: the tests break an internal on purpose)."""
    aiortc_version, aioice_version = _versions()
    problems = [
        f"{name} {found} is not the tested {TESTED_VERSIONS[name]}"
        for name, found in (("aiortc", aiortc_version), ("aioice", aioice_version))
        if found != TESTED_VERSIONS[name]
    ]
    problems += check_internals()
    result = Compatibility(aiortc_version, aioice_version, tuple(problems))
    if result.ok:
        log.info("aiortc_compat.ok", extra={"detail": result.describe()})
    else:
        log.error("aiortc_compat.incompatible", extra={"detail": result.describe()})
    return result


@functools.cache
def compatibility() -> Compatibility:
    """The process-wide verdict, computed once (start-up or the first call)."""
    return check()
