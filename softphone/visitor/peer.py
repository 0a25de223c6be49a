"""A headless website visitor: calls in, sends the test pattern and tone, checks what
comes back. Used by the demo, the self-test, the tests and ``softphone-visitor``."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from softphone.call.network import AddressChange, NetworkWatcher
from softphone.call.signaled import SignaledCall
from softphone.call.signaling import announced_ice_servers, reconnect_if_stranded
from softphone.media.local import MediaChoice, open_local_media
from softphone.rtc.ice import IceSettings
from softphone.rtc.peer import CallPeer
from softphone.signaling.client import SignalingClient
from softphone.signaling.protocol import (
    Accepted,
    CallRequest,
    Hangup,
    HangupReason,
    Hold,
    IceServer,
    Message,
    NoAgent,
    Queued,
    Ringing,
    Transferring,
)
from softphone.tasks import BackgroundTasks

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class VisitorConfig:
    server_url: str  # one URL, or several nodes comma-separated (tried in turn)
    site_key: str | None = None  # the client asks the server for a visitor token with it
    name: str = "Visitor"
    page: str | None = None
    ice: IceSettings = field(default_factory=IceSettings)
    media: MediaChoice = field(default_factory=MediaChoice)
    duration: float | None = None  # seconds of connected call, then hang up; None: until hung up
    token: str | None = field(default=None, repr=False)  # a visitor token a site's backend minted
    min_video_frames: int = 60  # what "ok" means in the summary
    max_gap: int = 10


@dataclass
class VisitorSummary:
    call_id: str | None = None
    agent_name: str | None = None
    connected_after_s: float | None = None  # from call request to ICE/DTLS connected
    ended_reason: str = "not-started"
    video_frames: int = 0
    stamped_frames: int = 0
    missing_frames: int = 0
    max_gap: int = 0
    audio_frames: int = 0
    holds: int = 0  # times the agent put the call on hold
    transfers: int = 0  # times the call was handed to another agent
    passed: bool = False

    def format(self) -> str:
        verdict = "OK" if self.passed else "FAILED"
        return (
            f"visitor call {self.call_id} with {self.agent_name}: {verdict} ({self.ended_reason})\n"
            f"  connected after {self.connected_after_s} s\n"
            f"  video: {self.video_frames} frames decoded, {self.stamped_frames} stamped, "
            f"{self.missing_frames} missing, largest gap {self.max_gap}\n"
            f"  audio: {self.audio_frames} frames received"
        )


class VisitorPeer:
    def __init__(self, config: VisitorConfig) -> None:
        self.config = config
        self.summary = VisitorSummary()
        self.connected = asyncio.Event()
        self.call: SignaledCall | None = None
        self.on_hold = False  # as the agent last said (the widget shows "On hold")
        self._client = SignalingClient(
            config.server_url,
            "visitor",
            site_key=config.site_key,
            token=config.token,
            name=config.name,
            page=config.page,
        )
        self._inbox: asyncio.Queue[Message | None] = asyncio.Queue()  # None: hang up
        self._client.message_received.connect(self._inbox.put_nowait)
        self._client.session_lost.connect(self._on_session_lost)
        self._tasks = BackgroundTasks("visitor")
        self._network = NetworkWatcher()
        self._network.changed.connect(self._on_network_change)
        self._requested_at = 0.0
        self._duration_timer: asyncio.TimerHandle | None = None
        self._lost_reason: str | None = None  # set when call recovery gave up

    async def run(self) -> VisitorSummary:
        """Call in and stay until the agent hangs up, ``duration`` passes or :meth:`hangup`."""
        try:
            self._network.start()
            await self._client.connect(timeout=10)
            self._requested_at = time.monotonic()
            await self._client.send(CallRequest())
            await self._converse()
        finally:
            await self._finish()
        return self.summary

    def restart_ice(self, reason: str = "manual") -> bool:
        """Restart ICE now; False when no call is connected yet."""
        return self.call is not None and self.call.restart_ice(reason)

    def hangup(self) -> None:
        self._inbox.put_nowait(None)

    async def _converse(self) -> None:
        while (msg := await self._inbox.get()) is not None:
            if not await self._handle(msg):
                return
        self.summary.ended_reason = self._lost_reason or "visitor-hangup"
        if self.call is not None:
            await self.call.hangup(self._lost_reason or HangupReason.NORMAL)
        elif self.summary.call_id is not None:  # still ringing: withdraw the request
            await self._client.send(
                Hangup(call_id=self.summary.call_id, reason=HangupReason.CANCELLED)
            )

    async def _handle(self, msg: Message) -> bool:
        """Returns False once the call is over."""
        if isinstance(msg, Queued | Ringing):  # the call id, to withdraw the request
            self.summary.call_id = msg.call_id
        elif isinstance(msg, NoAgent):
            self.summary.ended_reason = msg.reason
            return False
        elif isinstance(msg, Accepted):
            self.summary.call_id, self.summary.agent_name = msg.call_id, msg.agent_name
            await self._start_call(msg.call_id, msg.ice_servers)
            assert self.call is not None
            self.call.ticket = msg.ticket
        elif isinstance(msg, Hangup) and msg.call_id == self.summary.call_id:
            self.summary.ended_reason = f"agent-hangup:{msg.reason}"
            return False
        elif isinstance(msg, Hold) and msg.call_id == self.summary.call_id:
            if msg.on and not self.on_hold:
                self.summary.holds += 1
            self.on_hold = msg.on
            log.info("visitor.hold", extra={"call_id": msg.call_id, "on": msg.on})
        elif isinstance(msg, Transferring) and msg.call_id == self.summary.call_id:
            await self._handed_on()
        elif self.call is not None:
            try:
                await self.call.handle(msg)
            except Exception:  # one bad relayed message must not end a working call
                log.exception("visitor.message_failed", extra={"type": type(msg).__name__})
        return True

    async def _start_call(self, call_id: str, call_servers: Sequence[IceServer]) -> None:
        media = open_local_media(self.config.media)
        for notice in media.notices:
            log.warning("visitor.media_fallback", extra={"notice": str(notice)})
        # The visitor is the polite side of ICE-restart glare (docs/architecture.md).
        # Configured servers, then the welcome's STUN, then this call's TURN credentials.
        welcome = self._client.welcome
        announced = [*(welcome.ice_servers if welcome is not None else []), *call_servers]
        ice = self.config.ice.with_servers(announced_ice_servers(announced))
        peer = CallPeer(call_id, ice, media, polite=True)
        peer.state_changed.connect(self._on_state)
        self.call = SignaledCall(
            self._client, peer, on_lost=self._on_call_lost, network=self._network
        )
        await self.call.send_offer()  # the visitor offers first (protocol)

    async def _handed_on(self) -> None:
        """The agent transferred the call: this peer connection ends, the call does not;
        the next ``accepted`` starts a new one with the next agent."""
        call, self.call = self.call, None
        self.summary.transfers += 1
        self.on_hold = False
        self.connected.clear()
        if call is not None:
            await call.close("transferred")
        log.info("visitor.transferring", extra={"call_id": self.summary.call_id})

    def _on_state(self, state: str) -> None:
        if state == "connected" and not self.connected.is_set():
            if self.summary.connected_after_s is None:  # the first agent, not a transfer
                self.summary.connected_after_s = round(time.monotonic() - self._requested_at, 3)
            self.connected.set()
            if self.config.duration is not None and self._duration_timer is None:
                loop = asyncio.get_running_loop()
                self._duration_timer = loop.call_later(self.config.duration, self.hangup)
        elif state == "closed" and self.connected.is_set():
            # "failed" is left to call recovery (ICE restart); "closed" is final.
            self.hangup()

    def _on_session_lost(self) -> None:
        """The server forgot us: a live call re-attaches (its media goes on meanwhile); a
        call still waiting or ringing is gone with the session."""
        if self.call is not None:
            self._tasks.spawn(self.call.reattach(), "visitor-reattach")
        elif self.summary.call_id is not None:
            self.summary.ended_reason = "session-lost"
            self._inbox.put_nowait(NoAgent(call_id=self.summary.call_id, reason="session-lost"))

    def _on_network_change(self, change: AddressChange) -> None:
        reconnect_if_stranded(self._client, change.lost)

    async def _on_call_lost(self, reason: str) -> None:
        """Call recovery gave up: end the call with its reason."""
        self._lost_reason = reason
        self.hangup()

    async def _finish(self) -> None:
        if self._duration_timer is not None:
            self._duration_timer.cancel()
        if self.call is not None:
            peer = self.call.peer
            video, audio = peer.received("video"), peer.received("audio")
            await self.call.close(self.summary.ended_reason)
            self.summary.video_frames = video.frames
            self.summary.stamped_frames = video.stamped_frames
            self.summary.missing_frames = video.missing_frames
            self.summary.max_gap = video.max_gap
            self.summary.audio_frames = audio.frames
            self.summary.passed = (
                video.stamped_frames >= self.config.min_video_frames
                and audio.frames > 0
                and video.max_gap <= self.config.max_gap
            )
        await self._network.stop()
        await self._tasks.close()
        with contextlib.suppress(Exception):
            await self._client.close()
        log.info("visitor.summary", extra={"summary": self.summary.format()})
