"""AgentSession: one signed-in agent — signaling, the current call, plain-Python events.

The UI subscribes to the signals and calls the methods; nothing here imports Qt.
Messages are handled one at a time from an inbox so SDP and candidates of a call are
applied in the order they arrived.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from dataclasses import dataclass, field

from aiortc import MediaStreamTrack, RTCIceServer

from softphone.events import Signal
from softphone.media.local import MediaChoice, open_local_media
from softphone.rtc.call_recovery import CallRecovery
from softphone.rtc.connectivity import local_addresses
from softphone.rtc.ice import IceSettings
from softphone.rtc.peer import CallPeer
from softphone.rtc.reconnect import ReconnectFailure, ReconnectPolicy, ReconnectState
from softphone.rtc.signaled_call import SignaledCall
from softphone.rtc.stats import CallStats
from softphone.signaling.client import ConnectionState, SignalingClient
from softphone.signaling.protocol import (
    Accept,
    Decline,
    Error,
    Hangup,
    HangupReason,
    Message,
    Presence,
    Ring,
    RingTimeout,
)

log = logging.getLogger(__name__)

NETWORK_POLL_S = 0.25  # an ifaddr scan costs ~0.2 ms


@dataclass(frozen=True)
class AgentConfig:
    server_url: str
    token: str = field(repr=False)  # never in logs or reprs
    name: str | None = None  # the server takes the agent's name from the token
    ice: IceSettings = field(default_factory=IceSettings)
    media: MediaChoice = field(default_factory=MediaChoice)
    reconnect: ReconnectPolicy = field(default_factory=ReconnectPolicy)


@dataclass(frozen=True)
class CallInfo:
    call_id: str
    visitor_name: str
    page: str | None
    timeout_s: float


class AgentSession:
    def __init__(self, config: AgentConfig) -> None:
        self.config = config
        self.signaling_state: Signal[[str]] = Signal("agent.signaling_state")
        self.incoming_call: Signal[[CallInfo]] = Signal("agent.incoming_call")
        self.call_cancelled: Signal[[str, str]] = Signal("agent.call_cancelled")
        # connecting / connected / reconnecting / failed / ended
        self.call_state: Signal[[str]] = Signal("agent.call_state")
        self.call_ended: Signal[[str]] = Signal("agent.call_ended")
        self.media_notice: Signal[[str]] = Signal("agent.media_notice")
        self.remote_video_track: Signal[[MediaStreamTrack]] = Signal("agent.remote_video_track")
        self.remote_audio_track: Signal[[MediaStreamTrack]] = Signal("agent.remote_audio_track")
        self.local_video_track: Signal[[MediaStreamTrack]] = Signal("agent.local_video_track")
        # Automatic recovery (DESIGN.md "Reconnection"): "Reconnecting… (attempt k of N)",
        # the "Reconnected" flash (attempt, elapsed s) and the modal error when it gave up.
        self.reconnect_progress: Signal[[int, int]] = Signal("agent.reconnect_progress")
        self.reconnected: Signal[[int, float]] = Signal("agent.reconnected")
        self.call_failed: Signal[[ReconnectFailure]] = Signal("agent.call_failed")
        self.client = SignalingClient(
            config.server_url, "agent", token=config.token, name=config.name
        )
        self.ringing: dict[str, CallInfo] = {}
        self.call: SignaledCall | None = None
        self.muted = False
        self.camera_enabled = True
        self._inbox: asyncio.Queue[Message] = asyncio.Queue()
        self._worker: asyncio.Task[None] | None = None
        self._network_watch: asyncio.Task[None] | None = None
        self._lost_tasks: set[asyncio.Task[None]] = set()
        self._reconnecting = False
        self.client.message_received.connect(self._inbox.put_nowait)
        self.client.state_changed.connect(self._on_signaling_state)

    # --- lifecycle ------------------------------------------------------------------------

    async def start(self, timeout: float = 10.0) -> None:  # noqa: ASYNC109
        """Sign in; raises ``SignalingRejected`` for a bad token."""
        self._worker = asyncio.create_task(self._work(), name="agent-inbox")
        self._network_watch = asyncio.create_task(self._watch_network(), name="agent-network")
        await self.client.connect(timeout=timeout)

    async def stop(self) -> None:
        if self.call is not None:
            await self.hangup()
        await self.client.close()
        tasks = [t for t in (self._worker, self._network_watch) if t is not None]
        self._worker = self._network_watch = None
        for task in tasks:
            task.cancel()
        # gather, not suppress(CancelledError): a cancel of stop() itself must propagate.
        await asyncio.gather(*tasks, return_exceptions=True)

    async def set_available(self, available: bool) -> None:
        await self.client.send(Presence(status="available" if available else "away"))

    # --- calls ----------------------------------------------------------------------------

    async def accept(self, call_id: str) -> None:
        """Answer a ringing call: open media now, the visitor's offer follows."""
        if self.call is not None:
            raise RuntimeError("already in a call")
        self.ringing.pop(call_id, None)
        media = open_local_media(self.config.media)
        media.set_muted(self.muted)
        media.set_camera_enabled(self.camera_enabled)
        for notice in media.notices:
            self.media_notice.emit(str(notice))
        self.local_video_track.emit(media.video.preview)
        peer = CallPeer(call_id, self._ice_settings(), media)
        peer.state_changed.connect(self._on_peer_state)
        peer.remote_track.connect(self._on_remote_track)
        self.call = SignaledCall(
            self.client, peer, on_lost=self._on_call_lost, policy=self.config.reconnect
        )
        self.call.recovery_started.connect(self._on_recovery_started)
        self.call_state.emit("connecting")
        await self.client.send(Accept(call_id=call_id))
        log.info("call.accepted", extra={"call_id": call_id})

    async def decline(self, call_id: str) -> None:
        self.ringing.pop(call_id, None)
        await self.client.send(Decline(call_id=call_id))

    async def hangup(self) -> None:
        if self.call is not None:
            await self._end_call("local-hangup", notify_peer=True)

    def set_muted(self, muted: bool) -> None:
        self.muted = muted
        if self.call is not None:
            self.call.peer.set_muted(muted)

    def set_media_choice(self, media: MediaChoice) -> None:
        """Devices for the next call; a call in progress keeps the ones it opened."""
        self.config = dataclasses.replace(self.config, media=media)

    def set_camera_enabled(self, enabled: bool) -> None:
        self.camera_enabled = enabled
        if self.call is not None:
            self.call.peer.set_camera_enabled(enabled)

    def restart_ice(self, reason: str = "manual") -> None:
        """Restart ICE now (make-before-break while the path still works)."""
        if self.call is not None:
            self.call.restart_ice(reason)

    async def stats(self) -> CallStats | None:
        return await self.call.peer.stats() if self.call is not None else None

    # --- internals ------------------------------------------------------------------------

    def _ice_settings(self) -> IceSettings:
        welcome = self.client.welcome
        announced = welcome.ice_servers if welcome is not None else []
        return self.config.ice.with_servers(
            RTCIceServer(urls=s.urls, username=s.username, credential=s.credential)
            for s in announced
        )

    async def _watch_network(self) -> None:
        """A socket bound to an address that vanished (handover) looks alive until its
        heartbeat misses, and a ring sent meanwhile is lost: reconnect at once, idle or not.
        (In a call, its connectivity monitor may get there first, before its ICE restart.)"""
        known = local_addresses()
        while True:
            await asyncio.sleep(NETWORK_POLL_S)
            current = local_addresses()
            address = self.client.local_address
            if address in known and address not in current:
                self.client.reconnect_now("address-lost")
            known = current

    async def _work(self) -> None:
        while True:
            msg = await self._inbox.get()
            try:
                await self._handle(msg)
            except Exception:  # one bad message must not end the session
                log.exception("agent.message_failed", extra={"type": type(msg).__name__})

    async def _handle(self, msg: Message) -> None:
        if isinstance(msg, Ring):
            info = CallInfo(msg.call_id, msg.visitor.name, msg.visitor.page, msg.timeout_s)
            self.ringing[msg.call_id] = info
            self.incoming_call.emit(info)
        elif isinstance(msg, RingTimeout):
            if self.ringing.pop(msg.call_id, None) is not None:
                self.call_cancelled.emit(msg.call_id, "ring-timeout")
        elif isinstance(msg, Hangup):
            if self.ringing.pop(msg.call_id, None) is not None:
                self.call_cancelled.emit(msg.call_id, msg.reason)
            elif self.call is not None and msg.call_id == self.call.call_id:
                await self._end_call(msg.reason, notify_peer=False)
        elif isinstance(msg, Error):
            log.warning("agent.server_error", extra={"code": msg.code, "detail": msg.message})
        elif self.call is not None:
            await self.call.handle(msg)

    async def _end_call(
        self, reason: str, *, notify_peer: bool, peer_reason: str = HangupReason.NORMAL
    ) -> None:
        call, self.call = self.call, None
        if call is None:
            return
        self._reconnecting = False
        if notify_peer:
            await call.hangup(peer_reason)
        else:
            await call.close()
        log.info("call.ended", extra={"call_id": call.call_id, "reason": reason})
        self.call_state.emit("ended")
        self.call_ended.emit(reason)

    def _on_peer_state(self, state: str) -> None:
        call = self.call
        if call is None:
            return
        if state == "connected" and call.recovery is None:
            self.call_state.emit("connected")  # first time; afterwards recovery reports
        elif state == "closed" or (state == "failed" and call.recovery is None):
            # Closed (DTLS shut down), or failed before it ever connected: nothing to
            # recover. A failure of a connected call is the reconnect controller's job.
            task = asyncio.create_task(self._end_call("connection-lost", notify_peer=True))
            self._lost_tasks.add(task)
            task.add_done_callback(self._lost_tasks.discard)

    def _on_recovery_started(self, recovery: CallRecovery) -> None:
        recovery.controller.state_changed.connect(self._on_reconnect_state)
        recovery.controller.recovered.connect(self.reconnected.emit)
        recovery.controller.failed.connect(self.call_failed.emit)

    def _on_reconnect_state(self, state: ReconnectState, attempt: int, max_attempts: int) -> None:
        if state is ReconnectState.RECONNECTING:
            self._reconnecting = True
            self.call_state.emit("reconnecting")
            self.reconnect_progress.emit(attempt, max_attempts)
        elif state is ReconnectState.CONNECTED and self._reconnecting:
            self._reconnecting = False
            self.call_state.emit("connected")
        elif state is ReconnectState.FAILED:
            self._reconnecting = False
            self.call_state.emit("failed")

    async def _on_call_lost(self, reason: str) -> None:
        """The reconnect controller gave up: tell the peer and the server, end the call."""
        await self._end_call(reason, notify_peer=True, peer_reason=reason)

    def _on_remote_track(self, track: MediaStreamTrack) -> None:
        if track.kind == "video":
            self.remote_video_track.emit(track)
        else:
            self.remote_audio_track.emit(track)

    def _on_signaling_state(self, state: ConnectionState) -> None:
        self.signaling_state.emit(str(state))
