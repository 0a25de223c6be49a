"""Every place where Softphone reaches into aiortc/aioice internals.

aiortc 1.16.0 / aioice 0.13.0 are pinned in pyproject.toml because of this module;
``tests/rtc/test_seams.py`` fails loudly when the internals used here change.
See ../shared/AIORTC_NOTES.md for the measurements behind each seam.

1. Host-candidate allowlist (``aioice.ice.get_host_addresses``).
2. Restartable ICE transport: ICE restart without a new DTLS handshake
   (``RTCIceTransport`` injection, ``_recv``/``_send``, the gatherer's ``_connection``).
3. STUN probe of the selected pair (``Connection._nominated``, ``build_request``).
4. Media continuity: paused senders (``RTCRtpSender._enabled``), video receiver reset
   (the receiver's private jitter buffer and NACK generator).
5. Rollback of a pending local offer (the peer connection's private signaling state).
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import logging
import time
from collections.abc import Callable, Coroutine, Iterable
from typing import Any

import aioice
import aioice.ice
import aioice.stun
import aiortc
import aiortc.exceptions
import aiortc.jitterbuffer
import aiortc.rtcicetransport
import aiortc.rtcpeerconnection
import aiortc.rtcrtpreceiver

from softphone.events import Signal

log = logging.getLogger(__name__)

# --- Seam 1: host-candidate allowlist ---------------------------------------------------
# aioice gathers host candidates from every interface but always skips 127.0.0.1
# (aioice/ice.py get_host_addresses). The demo, the self-test and the tests must use
# loopback only, so the product can pin host candidates to an explicit allowlist.

_original_get_host_addresses: Callable[[bool, bool], list[str]] = aioice.ice.get_host_addresses
_host_allowlist: tuple[str, ...] | None = None


def _allowlisted_host_addresses(use_ipv4: bool, use_ipv6: bool) -> list[str]:
    if _host_allowlist is None:
        return _original_get_host_addresses(use_ipv4, use_ipv6)
    chosen = []
    for address in _host_allowlist:
        version = ipaddress.ip_address(address).version
        if (version == 4 and use_ipv4) or (version == 6 and use_ipv6):
            chosen.append(address)
    return chosen


def set_host_candidate_allowlist(addresses: Iterable[str] | None) -> None:
    """Pin ICE host candidates to ``addresses`` (loopback allowed); ``None`` restores aioice.

    Process-wide: one process hosts one agent (or one visitor) in the product.
    """
    global _host_allowlist  # noqa: PLW0603 - one process-wide switch, by design
    if addresses is None:
        _host_allowlist = None
    else:
        validated = tuple(str(ipaddress.ip_address(a)) for a in addresses)
        _host_allowlist = validated
    aioice.ice.get_host_addresses = _allowlisted_host_addresses
    log.info("ice.host_allowlist", extra={"addresses": _host_allowlist})


def host_candidate_allowlist() -> tuple[str, ...] | None:
    """The allowlist in force, or ``None`` when aioice gathers from every interface."""
    return _host_allowlist


# --- Seam 2: restartable ICE transport ----------------------------------------------------
# aiortc runs RTCIceTransport.start() once and never re-gathers, so it cannot restart ICE.
# rtcpeerconnection.py builds its ICE transports through the module-level name
# RTCIceTransport; install_ice_restart() points that name at RestartableIceTransport.
# RTCDtlsTransport only ever calls transport._recv()/_send(), so DTLS (and SRTP) survive
# as long as those two stay bound to this object while aioice Connections come and go:
# every agent feeds one inbound queue (through its data_received hook), and sends go to the
# newest agent that has a nominated pair (make-before-break).

RESTART_GRACE_S = 2.0
"""How long a replaced agent stays up so media keeps flowing until the new pair wins."""

INBOUND_RESUME_GAP_S = 1.0
"""Inbound silence after which the video jitter buffer must be reset (AIORTC_NOTES.md)."""

_RTP_FIRST_BYTE = range(128, 192)
_RTCP_PACKET_TYPES = range(192, 224)  # RFC 5761 demultiplexing


class RestartableIceTransport(aiortc.rtcicetransport.RTCIceTransport):
    """An RTCIceTransport whose aioice agent can be replaced (ICE restart), keeping DTLS."""

    def __init__(self, gatherer: aiortc.rtcicetransport.RTCIceGatherer) -> None:
        super().__init__(gatherer)
        self._inbound: asyncio.Queue[bytes | None] = asyncio.Queue()
        self._retired: list[aioice.Connection] = []
        self._tasks: set[asyncio.Future[None]] = set()
        self._generation = 0
        self._agent_task: asyncio.Task[None] | None = None
        self._remote_credentials: tuple[str | None, str | None] | None = None
        self._drop_outgoing = False
        self.last_inbound: float | None = None
        """monotonic() of the last datagram from the peer on any agent (STUN excluded)."""
        self.last_srtp: float | None = None
        """monotonic() of the last SRTP/SRTCP datagram from the peer."""
        self._last_rtp: float | None = None
        self.inbound_resumed: Signal[[float]] = Signal("ice.inbound_resumed")
        """Emitted (gap seconds) before the first RTP packet after >= INBOUND_RESUME_GAP_S
        without RTP, before DTLS/SRTP processes it."""
        self.restart_completed: Signal[[int]] = Signal("ice.restart_completed")
        """Emitted (generation) when a restarted agent has nominated a pair."""
        self._recv = self._recv_any
        self._send = self._send_active
        self._attach(self._connection)

    # -- what DTLS sees ------------------------------------------------------------------

    async def _recv_any(self) -> bytes:
        data = await self._inbound.get()
        if data is None:
            self._inbound.put_nowait(None)  # every later recv must fail too
            raise ConnectionError("ICE transport closed")
        return data

    async def _send_active(self, data: bytes) -> None:
        # Never raise while (re)connecting: RTCRtpSender._run_rtp exits for good on
        # ConnectionError. A datagram without a usable pair is simply lost.
        connection = self.sending_connection()
        if connection is None or self._drop_outgoing:
            return
        try:
            await connection.send(data)
        except (ConnectionError, OSError):
            log.debug("ice.send_dropped", extra={"generation": self._generation})

    def sending_connection(self) -> aioice.Connection | None:
        """The agent carrying media now: the newest one with a nominated pair."""
        for connection in (self._connection, *reversed(self._retired)):
            if connection._nominated:
                return connection
        return None

    def _deliver(self, connection: aioice.Connection, data: bytes, component: int) -> None:
        now = time.monotonic()
        self.last_inbound = now
        if len(data) > 1 and data[0] in _RTP_FIRST_BYTE:
            self.last_srtp = now
            if data[1] not in _RTCP_PACKET_TYPES:  # RTP: SRTP headers are in the clear
                if self._last_rtp is not None and now - self._last_rtp >= INBOUND_RESUME_GAP_S:
                    self.inbound_resumed.emit(now - self._last_rtp)
                self._last_rtp = now
        self._inbound.put_nowait(data)

    def _attach(self, connection: aioice.Connection) -> None:
        # Connection.data_received is what StunProtocol calls for every non-STUN datagram.
        hooked: Any = connection
        hooked.data_received = functools.partial(self._deliver, connection)
        self._guard_protocols(connection)

    # -- fault injection (tests, self-test) ----------------------------------------------

    @property
    def drop_outgoing(self) -> bool:
        """When true every datagram this side sends (media, DTLS, STUN) is dropped."""
        return self._drop_outgoing

    @drop_outgoing.setter
    def drop_outgoing(self, value: bool) -> None:
        self._drop_outgoing = value
        for connection in (self._connection, *self._retired):
            self._guard_protocols(connection)

    def _guard_protocols(self, connection: aioice.Connection) -> None:
        protocol: Any
        for protocol in connection._protocols:
            if getattr(protocol, "_softphone_guarded", False):
                continue
            protocol._softphone_guarded = True
            protocol.send_stun = self._guarded(protocol.send_stun)
            protocol.transport.sendto = self._guarded(protocol.transport.sendto)

    def _guarded(self, send: Callable[[Any, tuple[str, int]], None]) -> Callable[..., None]:
        def guarded_send(data: Any, addr: tuple[str, int]) -> None:
            if not self._drop_outgoing:
                send(data, addr)

        return guarded_send

    # -- restart -------------------------------------------------------------------------

    @property
    def generation(self) -> int:
        """How many times the agent has been replaced."""
        return self._generation

    async def prepare_restart(self) -> None:
        """Swap in a freshly gathered agent with new ufrag/pwd; the old one keeps media flowing.

        Afterwards createOffer/createAnswer emit the new credentials and candidates, because
        the gatherer stays "completed" and reads them from the swapped-in connection.
        """
        old = self._connection
        new = aioice.Connection(
            ice_controlling=old.ice_controlling,  # RFC 8445 keeps roles across restarts
            stun_server=old.stun_server,
            turn_server=old.turn_server,
            turn_username=old.turn_username,
            turn_password=old.turn_password,
            turn_ssl=old.turn_ssl,
            turn_transport=old.turn_transport,
            use_ipv4=old._use_ipv4,
            use_ipv6=old._use_ipv6,
            transport_policy=old._transport_policy,
        )
        await new.gather_candidates()
        if self.state == "closed":
            await new.close()
            raise aiortc.exceptions.InvalidStateError("RTCIceTransport is closed")
        self._attach(new)
        if old._nominated:
            self._retired.append(old)
        else:  # never carried media (e.g. a superseded restart): nothing to keep alive
            self._spawn(old.close())
        self._connection = new
        self.iceGatherer._connection = new
        self.iceGatherer._remote_candidates_end = False
        self._generation += 1
        self._agent_task = None
        self._spawn(self._watch(new))
        log.info(
            "ice.restart_prepared",
            extra={
                "generation": self._generation,
                "ufrag": new.local_username,
                "candidates": len(new.local_candidates),
            },
        )

    async def start(self, remoteParameters: aiortc.RTCIceParameters) -> None:  # noqa: N803
        credentials = (remoteParameters.usernameFragment, remoteParameters.password)
        if self._generation == 0:
            self._remote_credentials = credentials
            await super().start(remoteParameters)
            return
        if self.state == "closed":
            raise aiortc.exceptions.InvalidStateError("RTCIceTransport is closed")
        if self._agent_task is not None or credentials == self._remote_credentials:
            # Already started, or our restart offer is out and these are the old remote
            # credentials (aiortc's __connect after setLocalDescription): wait for the answer.
            return
        self._remote_credentials = credentials
        connection = self._connection
        connection.remote_is_lite = remoteParameters.iceLite
        connection.remote_username = remoteParameters.usernameFragment
        connection.remote_password = remoteParameters.password
        # No "checking" here: during make-before-break the call is still connected.
        self._agent_task = asyncio.ensure_future(self._connect_agent(connection))
        self._tasks.add(self._agent_task)
        self._agent_task.add_done_callback(self._tasks.discard)

    async def _connect_agent(self, connection: aioice.Connection) -> None:
        started = time.monotonic()
        try:
            await connection.connect()
        except ConnectionError:
            if connection is self._connection and self.state != "closed":
                # An older agent still nominated keeps carrying media; the connectivity
                # monitor judges that path. Only with nothing left is the transport failed.
                fallback = self.sending_connection()
                log.warning(
                    "ice.restart_failed",
                    extra={"generation": self._generation, "old_path_kept": bool(fallback)},
                )
                if fallback is None:
                    self._set_state("failed")
            return
        if connection is not self._connection or self.state == "closed":
            return
        log.info(
            "ice.restart_connected",
            extra={
                "generation": self._generation,
                "elapsed_ms": round((time.monotonic() - started) * 1000),
            },
        )
        self._set_state("completed")
        self.restart_completed.emit(self._generation)
        if self._retired:
            self._spawn(self._retire(list(self._retired)))

    async def _retire(self, connections: list[aioice.Connection]) -> None:
        await asyncio.sleep(RESTART_GRACE_S)
        for connection in connections:
            if connection in self._retired:
                self._retired.remove(connection)
                await connection.close()

    async def _monitor(self) -> None:
        # Replaces aiortc's monitor of the first agent (started by RTCIceTransport.start).
        await self._watch(self._connection)

    async def _watch(self, connection: aioice.Connection) -> None:
        # Only the current agent may mark the transport failed (consent expiry, close),
        # and only when no older agent is still nominated (make-before-break).
        while True:
            event = await connection.get_event()
            if event is None or isinstance(event, aioice.ConnectionClosed):
                break
        if (
            connection is self._connection
            and self.state == "completed"
            and self.sending_connection() is None
        ):
            self._set_state("failed")

    def _set_state(self, state: str) -> None:
        base: Any = self
        base._RTCIceTransport__setState(state)

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def stop(self) -> None:
        if self.state == "closed":
            return
        # Retired agents first: aiortc's stop() awaits the monitor of the first agent.
        retired, self._retired = self._retired, []
        for connection in retired:
            await connection.close()
        await super().stop()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._inbound.put_nowait(None)


def install_ice_restart() -> None:
    """Make every RTCPeerConnection created from now on build restartable ICE transports."""
    module: Any = aiortc.rtcpeerconnection
    module.RTCIceTransport = RestartableIceTransport


def restartable_transports(pc: aiortc.RTCPeerConnection) -> list[RestartableIceTransport]:
    """The distinct ICE transports of ``pc`` (one with BUNDLE), all restartable."""
    transports: list[RestartableIceTransport] = []
    for transceiver in pc.getTransceivers():
        transport = transceiver.receiver.transport.transport
        if not isinstance(transport, RestartableIceTransport):
            raise RuntimeError("install_ice_restart() must run before the peer connection")
        if transport not in transports:
            transports.append(transport)
    return transports


# --- Seam 3: STUN probe of the selected pair --------------------------------------------
# The same binding request aioice sends for consent freshness (Connection.query_consent),
# but on demand and with a short timeout, so loss is detected in ~1.5 s instead of ~30 s.


async def probe_selected_pair(transport: RestartableIceTransport, wait_s: float) -> bool:
    """Whether the peer answered one STUN binding request on the pair carrying media."""
    connection = transport.sending_connection()
    if connection is None or connection.remote_password is None:
        return False
    pair = connection._nominated.get(1)
    if pair is None:
        return False
    request = connection.build_request(pair, nominate=False)
    try:
        async with asyncio.timeout(wait_s):
            await pair.protocol.request(
                request,
                pair.remote_addr,
                integrity_key=connection.remote_password.encode("utf8"),
                retransmissions=0,
            )
    except (TimeoutError, aioice.stun.TransactionError, ConnectionError, OSError):
        return False
    return True


def selected_local_address(transport: RestartableIceTransport) -> str | None:
    """The local IP address of the pair carrying media, if any."""
    connection = transport.sending_connection()
    pair = connection._nominated.get(1) if connection is not None else None
    return pair.local_candidate.host if pair is not None else None


# --- Seam 4: media continuity -----------------------------------------------------------
# After an outage aiortc's video JitterBuffer (MAX_MISORDER = 100) mistakes late NACK
# retransmissions for a new origin and stalls ~12 s; a fresh buffer and NACK generator
# plus a keyframe request make video resume as fast as audio. Senders are paused through
# RTCRtpSender._enabled, which drops frames before encoding, so no RTP sequence numbers
# (and no SRTP index) are burnt while the path is down.


def set_senders_paused(pc: aiortc.RTCPeerConnection, paused: bool) -> None:
    """Stop/resume encoding and sending on every sender; resuming starts with a keyframe."""
    for sender in pc.getSenders():
        if sender._enabled == (not paused):
            continue
        sender._enabled = not paused
        if not paused and sender.kind == "video":
            sender._send_keyframe()


def reset_video_receiver(receiver: aiortc.RTCRtpReceiver) -> list[int]:
    """Fresh jitter buffer and NACK generator; returns the media SSRCs to send a PLI for."""
    inner: Any = receiver
    inner._RTCRtpReceiver__jitter_buffer = aiortc.jitterbuffer.JitterBuffer(
        capacity=512, is_video=True
    )
    inner._RTCRtpReceiver__nack_generator = aiortc.rtcrtpreceiver.NackGenerator()
    rtx_ssrcs = set(inner._RTCRtpReceiver__rtx_ssrc)
    return [s for s in inner._RTCRtpReceiver__remote_streams if s not in rtx_ssrcs]


async def request_keyframe(receiver: aiortc.RTCRtpReceiver, ssrcs: Iterable[int]) -> None:
    """Send an RTCP PLI for each SSRC (dropped silently while there is no path)."""
    for ssrc in ssrcs:
        await receiver._send_rtcp_pli(ssrc)


# --- Seam 5: rollback of a local offer (glare) ------------------------------------------
# aiortc has no "rollback" description. The polite side of a restart glare drops its pending
# offer: back to "stable" with the last negotiated local description.


def rollback_local_offer(pc: aiortc.RTCPeerConnection) -> None:
    """Forget the pending local offer so a remote offer can be applied."""
    if pc.signalingState != "have-local-offer":
        return
    inner: Any = pc
    inner._RTCPeerConnection__pendingLocalDescription = None
    inner._RTCPeerConnection__setSignalingState("stable")
