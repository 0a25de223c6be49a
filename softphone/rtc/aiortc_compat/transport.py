"""Seam 2: a restartable ICE transport, so ICE restarts without a new DTLS handshake.

aiortc runs ``RTCIceTransport.start()`` once and never re-gathers, so it cannot restart ICE.
``rtcpeerconnection.py`` builds its ICE transports through the module-level name
``RTCIceTransport``; :func:`install_ice_restart` points that name at
:class:`RestartableIceTransport`. ``RTCDtlsTransport`` only ever calls the transport's
``_recv()``/``_send()``, so DTLS (and SRTP) survive as long as those two stay bound to this
object while aioice Connections come and go: every agent feeds one inbound queue (through
its ``data_received`` hook), and sends go to the newest agent that has a nominated pair
(make-before-break). Replaced agents are retired after a grace period.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import aioice
import aiortc
import aiortc.exceptions
import aiortc.rtcicetransport
import aiortc.rtcpeerconnection

from softphone.events import Signal
from softphone.rtc.aiortc_compat.check import compatibility
from softphone.rtc.aiortc_compat.inbound import InboundClock
from softphone.rtc.aiortc_compat.turn_gathering import fresh_agent
from softphone.tasks import BackgroundTasks

log = logging.getLogger(__name__)

RESTART_GRACE_S = 2.0
"""How long a replaced agent stays up so media keeps flowing until the new pair wins."""


class RestartableIceTransport(aiortc.rtcicetransport.RTCIceTransport):
    """An RTCIceTransport whose aioice agent can be replaced (ICE restart), keeping DTLS."""

    def __init__(self, gatherer: aiortc.rtcicetransport.RTCIceGatherer) -> None:
        super().__init__(gatherer)
        self._inbound: asyncio.Queue[bytes | None] = asyncio.Queue()
        self._retired: list[aioice.Connection] = []
        self._tasks = BackgroundTasks("ice-transport")
        self._generation = 0
        self._agent_task: asyncio.Task[None] | None = None
        self._remote_credentials: tuple[str | None, str | None] | None = None
        self.inbound = InboundClock()
        """What arrived from the peer, on any agent (stamps, RTP gaps)."""
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
        if connection is None:
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

    def _deliver(self, data: bytes, component: int) -> None:
        self.inbound.stamp(data)
        self._inbound.put_nowait(data)

    def _attach(self, connection: aioice.Connection) -> None:
        # Connection.data_received is what StunProtocol calls for every non-STUN datagram.
        hooked: Any = connection
        hooked.data_received = self._deliver

    def reached_a_server(self) -> bool:
        """Whether the current agent got a candidate from a STUN or TURN server: the network
        reaches past this machine (after an outage: it is back)."""
        return any(c.type in ("srflx", "relay") for c in self._connection.local_candidates)

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
        new = fresh_agent(old)  # same settings and every TURN server (seam 8)
        await new.gather_candidates()
        if self.state == "closed":
            await new.close()
            raise aiortc.exceptions.InvalidStateError("RTCIceTransport is closed")
        self._attach(new)
        if old._nominated:
            self._retired.append(old)
        else:  # never carried media (e.g. a superseded restart): nothing to keep alive
            self._tasks.spawn(old.close())
        self._connection = new
        self.iceGatherer._connection = new
        self.iceGatherer._remote_candidates_end = False
        self._generation += 1
        self._agent_task = None
        self._tasks.spawn(self._watch(new))
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
        self._agent_task = self._tasks.spawn(self._connect_agent(connection))

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
            self._tasks.spawn(self._retire(list(self._retired)))

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

    async def stop(self) -> None:
        if self.state == "closed":
            return
        # Retired agents first: aiortc's stop() awaits the monitor of the first agent.
        retired, self._retired = self._retired, []
        for connection in retired:
            await connection.close()
        await super().stop()
        await self._tasks.close()
        self._inbound.put_nowait(None)


def install_ice_restart() -> bool:
    """Make every RTCPeerConnection created from now on build restartable ICE transports.

    Returns False, and leaves aiortc's own transport in place, when the compatibility check
    found an internal missing: calls then run without ICE restart. A subclass already
    installed (a test's fault-injecting transport) stays.
    """
    module: Any = aiortc.rtcpeerconnection
    if not compatibility().ok:
        module.RTCIceTransport = aiortc.rtcicetransport.RTCIceTransport
        return False
    if not issubclass(module.RTCIceTransport, RestartableIceTransport):
        module.RTCIceTransport = RestartableIceTransport
    return True


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
