"""AgentSession: one signed-in agent — signaling, the current call, plain-Python events.

The UI subscribes to the signals and calls the methods; nothing here imports Qt.
Messages are handled one at a time from an inbox so SDP and candidates of a call are
applied in the order they arrived. The call's state is derived in one place
(:class:`softphone.call.state.CallStateModel`, fed by :class:`SignaledCall`) and published
here as ``call_status``; the UI renders it and never recomputes it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from aiortc import MediaStreamTrack

from softphone.call.network import AddressChange, NetworkWatcher
from softphone.call.reconnect import ReconnectFailure, ReconnectPolicy
from softphone.call.signaled import SignaledCall
from softphone.call.signaling import announced_ice_servers, reconnect_if_stranded
from softphone.call.state import CallStatus
from softphone.events import Signal
from softphone.media.local import MediaChoice, open_local_media
from softphone.rtc.aiortc_compat.check import compatibility
from softphone.rtc.ice import IceSettings
from softphone.rtc.peer import CallPeer
from softphone.rtc.stats import CallStats
from softphone.signaling.client import ConnectionState, SignalingClient, SignalingError
from softphone.signaling.protocol import (
    Accept,
    Accepted,
    AgentList,
    AgentsRequest,
    CallTicketMsg,
    Consult,
    Consulting,
    Decline,
    Error,
    Hangup,
    HangupReason,
    Hold,
    IceServer,
    Message,
    Presence,
    Queue,
    Ring,
    RingTimeout,
    Transfer,
    Transferred,
    WrapUp,
)
from softphone.tasks import BackgroundTasks

log = logging.getLogger(__name__)

SESSION_LOST = "session-lost"  # rings withdrawn because the server forgot our session
ACCEPT_FAILED = "accept-failed"  # the accept never reached the server
REQUEST_TIMEOUT_S = 5.0  # the server answers a request (agent list, transfer) within this


@dataclass(frozen=True)
class AgentConfig:
    server_url: str  # one URL, or several nodes comma-separated (tried in turn)
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
    ice_servers: Sequence[IceServer] = ()  # this call's TURN credentials, from the ring
    transferred_by: str | None = None  # a colleague handed the call on ...
    note: str = ""  # ... with this note (the colleague's words: plain text)
    consult: bool = False  # the colleague calls to talk first (the visitor waits on hold)


class AgentSession:
    def __init__(self, config: AgentConfig) -> None:
        self.config = config
        self.signaling_state: Signal[[str]] = Signal("agent.signaling_state")
        self.incoming_call: Signal[[CallInfo]] = Signal("agent.incoming_call")
        self.call_cancelled: Signal[[str, str]] = Signal("agent.call_cancelled")
        # The current call's state, on every change (docs/architecture.md "Call state").
        self.call_status: Signal[[CallStatus]] = Signal("agent.call_status")
        # Recovery gave up: the modal's facts (emitted after the FAILED status).
        self.call_failed: Signal[[ReconnectFailure]] = Signal("agent.call_failed")
        self.media_notice: Signal[[str]] = Signal("agent.media_notice")
        self.remote_video_track: Signal[[MediaStreamTrack]] = Signal("agent.remote_video_track")
        self.remote_audio_track: Signal[[MediaStreamTrack]] = Signal("agent.remote_audio_track")
        self.local_video_track: Signal[[MediaStreamTrack]] = Signal("agent.local_video_track")
        # After a call: the server holds rings for this long (call id, seconds), see ready().
        self.wrap_up: Signal[[str, float]] = Signal("agent.wrap_up")
        # The waiting line as the server tells it: visitors waiting, longest wait in seconds.
        self.queue: Signal[[int, float]] = Signal("agent.queue")
        # A consult with a colleague (warm transfer): their name and "ringing", "talking"
        # or "ended".
        self.consult_state: Signal[[str, str]] = Signal("agent.consult_state")
        self.client = SignalingClient(
            config.server_url, "agent", token=config.token, name=config.name
        )
        self.network = NetworkWatcher()
        self.ringing: dict[str, CallInfo] = {}
        self.call: SignaledCall | None = None
        # The consult call with a colleague (this agent calls), its id and who it is with.
        self.consult_call: SignaledCall | None = None
        self._consult: tuple[str, str] | None = None
        self.muted = False
        self.camera_enabled = True
        self.available = False
        self.away_reason: str | None = None
        self._presence_said = False  # said at least once: say it again on a new session
        self._requests: dict[str, asyncio.Future[Message]] = {}  # by id: the server's answer
        self._request_ids = itertools.count(1)
        self._inbox: asyncio.Queue[Message] = asyncio.Queue()
        self._worker: asyncio.Task[None] | None = None
        self._tasks = BackgroundTasks("agent")
        self.client.message_received.connect(self._inbox.put_nowait)
        self.client.state_changed.connect(self._on_signaling_state)
        self.client.session_lost.connect(self._on_session_lost)
        self.network.changed.connect(self._on_network_change)

    # --- lifecycle ------------------------------------------------------------------------

    async def start(self, timeout: float = 10.0) -> None:  # noqa: ASYNC109
        """Sign in; raises ``SignalingRejected`` for a bad token."""
        compat = compatibility()
        if not compat.ok:
            self.media_notice.emit(
                f"Calls will not recover from network drops: {compat.describe()}"
            )
        self._worker = asyncio.create_task(self._work(), name="agent-inbox")
        self.network.start()
        await self.client.connect(timeout=timeout)

    async def stop(self) -> None:
        if self.call is not None:
            await self.hangup()
        await self.client.close()
        await self.network.stop()
        await self._tasks.close()
        worker, self._worker = self._worker, None
        if worker is not None:
            worker.cancel()
            # gather, not suppress(CancelledError): a cancel of stop() itself must propagate.
            await asyncio.gather(worker, return_exceptions=True)

    async def set_available(self, available: bool, reason: str | None = None) -> None:
        """Available, or away with an optional reason (the server never rings an away
        agent). Available while wrapping up is "Ready": the server ends the wrap-up."""
        self.available, self._presence_said = available, True
        self.away_reason = None if available else reason
        await self.client.send(
            Presence(status="available" if available else "away", reason=self.away_reason)
        )

    # --- calls ----------------------------------------------------------------------------

    async def accept(self, call_id: str) -> None:
        """Answer a ringing call: open media now, the visitor's offer follows.

        If the accept cannot be sent the call is closed again (status ENDED,
        ``accept-failed``) and the error raised: the session stays free for the next ring.
        """
        if self.call is not None:
            raise RuntimeError("already in a call")
        ringing = self.ringing.pop(call_id, None)
        media = open_local_media(self.config.media)
        media.set_muted(self.muted)
        media.set_camera_enabled(self.camera_enabled)
        for notice in media.notices:
            self.media_notice.emit(str(notice))
        try:
            ice = self._ice_settings(ringing.ice_servers if ringing is not None else ())
            peer = CallPeer(call_id, ice, media)
        except BaseException:
            media.close()  # no capture thread left behind by a call that never started
            raise
        self.local_video_track.emit(media.video.preview)
        peer.state_changed.connect(self._on_peer_state)
        peer.remote_track.connect(self._on_remote_track)
        call = SignaledCall(
            self.client,
            peer,
            on_lost=self._on_call_lost,
            policy=self.config.reconnect,
            network=self.network,
        )
        self.call = call
        call.status.changed.connect(self.call_status.emit)
        call.failed.connect(self.call_failed.emit)
        self.call_status.emit(call.status.status)  # CONNECTING
        try:
            await self.client.send(Accept(call_id=call_id))
        except BaseException:
            await self._end_call(ACCEPT_FAILED, notify_peer=False)
            raise
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

    async def set_on_hold(self, on_hold: bool) -> None:
        """Hold: the hold tone and picture go out instead of microphone and camera (at
        once, no renegotiation) and the visitor is told; resume restores both."""
        call = self.call
        if call is None:
            return
        call.peer.set_on_hold(on_hold)
        call.status.hold(on_hold)
        await self.client.send(Hold(call_id=call.call_id, on=on_hold))
        log.info("call.hold", extra={"call_id": call.call_id, "on": on_hold})

    async def free_agents(self) -> list[str]:
        """Colleagues who could take a transfer now (the server's list)."""
        answer = await self._request(AgentsRequest())
        return answer.agents if isinstance(answer, AgentList) else []

    async def transfer(self, to: str | None, note: str = "") -> None:
        """Hand the call to agent ``to``, or back to the waiting line (``None``). Once the
        server agrees our part of the call ends (``transferred``); a refusal raises
        :class:`SignalingError` with the server's code and the call goes on."""
        call = self.call
        if call is None:
            raise RuntimeError("no call to transfer")
        answer = await self._request(Transfer(call_id=call.call_id, to=to, note=note))
        if isinstance(answer, Transferred) and self.call is call:
            await self._close_consult()  # completed (or dropped) by the transfer
            await self._end_call(HangupReason.TRANSFERRED, notify_peer=False)

    async def consult(self, to: str, note: str = "") -> None:
        """Warm transfer, first step: the visitor goes on hold and colleague ``to`` rings
        for a call with us. ``transfer(to)`` completes it, :meth:`cancel_consult` ends it."""
        call = self.call
        if call is None or self._consult is not None:
            raise RuntimeError("no call, or already consulting")
        if not call.status.status.on_hold:
            await self.set_on_hold(True)
        answer = await self._request(Consult(call_id=call.call_id, to=to, note=note))
        if isinstance(answer, Consulting):
            self._consult = (answer.call_id, answer.to)
            self.consult_state.emit(answer.to, "ringing")

    async def cancel_consult(self) -> None:
        """Back to the visitor: the consult call ends (the visitor stays on hold until
        resumed)."""
        if self._consult is not None:
            consult_id = self._consult[0]
            await self.client.send(Hangup(call_id=consult_id))
            await self._close_consult()

    async def _close_consult(self) -> None:
        consult, self.consult_call = self.consult_call, None
        ended, self._consult = self._consult, None
        if consult is not None:
            await consult.close("consult-ended")
        if ended is not None:
            self.consult_state.emit(ended[1], "ended")
            visitor = self.call.peer.monitors.get("audio") if self.call is not None else None
            if visitor is not None and consult is not None:  # the visitor's voice again
                self.remote_audio_track.emit(visitor.tap)

    async def _start_consult(self, accepted: Accepted) -> None:
        """The colleague answered: our leg of the consult call (we offer, as a caller)."""
        media = open_local_media(self.config.media)
        media.set_muted(self.muted)
        try:
            peer = CallPeer(accepted.call_id, self._ice_settings(accepted.ice_servers), media)
        except BaseException:
            media.close()
            raise
        peer.remote_track.connect(self._on_consult_track)
        self.consult_call = SignaledCall(
            self.client, peer, on_lost=self._on_consult_lost, network=self.network
        )
        await self.consult_call.send_offer()
        self.consult_state.emit(accepted.agent_name, "talking")

    def _on_consult_track(self, track: MediaStreamTrack) -> None:
        if track.kind == "audio":  # the colleague's voice; the view keeps the visitor
            self.remote_audio_track.emit(track)

    async def _on_consult_lost(self, reason: str) -> None:
        await self.cancel_consult()

    async def _request(self, msg: AgentsRequest | Transfer | Consult) -> Message:
        """Send ``msg`` and wait for the answer naming it; an error answer raises."""
        msg.id = f"req-{next(self._request_ids)}"
        answer: asyncio.Future[Message] = asyncio.get_running_loop().create_future()
        self._requests[msg.id] = answer
        try:
            await self.client.send(msg)
            async with asyncio.timeout(REQUEST_TIMEOUT_S):
                result = await answer
        finally:
            self._requests.pop(msg.id, None)
        if isinstance(result, Error):
            raise SignalingError(result.code, result.message)
        return result

    def restart_ice(self, reason: str = "manual") -> None:
        """Restart ICE now (make-before-break while the path still works)."""
        if self.call is not None:
            self.call.restart_ice(reason)

    async def stats(self) -> CallStats | None:
        return await self.call.peer.stats() if self.call is not None else None

    # --- internals ------------------------------------------------------------------------

    def _ice_settings(self, call_servers: Sequence[IceServer]) -> IceSettings:
        """Configured servers, then the welcome's STUN, then the call's own TURN credentials."""
        welcome = self.client.welcome
        announced = [*(welcome.ice_servers if welcome is not None else []), *call_servers]
        return self.config.ice.with_servers(announced_ice_servers(announced))

    def _on_network_change(self, change: AddressChange) -> None:
        # Idle or not: a ring sent into a socket on a vanished address would be lost. (In a
        # call, its recovery hears the same change and restarts ICE.)
        reconnect_if_stranded(self.client, change.lost)

    def _on_session_lost(self) -> None:
        """The server forgot our session (a restart, another node, resume refused): its
        rings are gone there, so they end here too. The call is not: its media never went
        through the server, so it re-attaches on the new session with its ticket. Presence
        (away too, with its reason) is announced again; the status bar says what happened."""
        log.warning("agent.session_lost", extra={"ringing": len(self.ringing)})
        ringing, self.ringing = self.ringing, {}
        for call_id in ringing:
            self.call_cancelled.emit(call_id, SESSION_LOST)
        if self.call is not None:
            self._tasks.spawn(self._reattach(self.call), "agent-reattach")
        elif ringing:
            self.media_notice.emit("The signaling server restarted: ringing calls were withdrawn.")
        if self._presence_said:
            presence = self.set_available(self.available, self.away_reason)
            self._tasks.spawn(presence, "agent-presence")

    async def _reattach(self, call: SignaledCall) -> None:
        if await call.reattach():
            self.media_notice.emit("The signaling server restarted: the call goes on.")
        else:
            self.media_notice.emit(
                "The signaling server restarted and cannot restore this call: it goes on "
                "while the connection holds."
            )

    async def _work(self) -> None:
        while True:
            msg = await self._inbox.get()
            try:
                await self._handle(msg)
            except Exception:  # one bad message must not end the session
                log.exception("agent.message_failed", extra={"type": type(msg).__name__})

    async def _handle(self, msg: Message) -> None:
        ref = getattr(msg, "ref", None)
        waiting = self._requests.get(ref) if ref is not None else None
        if waiting is not None and isinstance(msg, Error | AgentList | Transferred | Consulting):
            if not waiting.done():
                waiting.set_result(msg)
            return
        if isinstance(msg, Ring):
            transfer = msg.transfer
            info = CallInfo(
                msg.call_id,
                msg.visitor.name,
                msg.visitor.page,
                msg.timeout_s,
                msg.ice_servers,
                transferred_by=transfer.from_agent if transfer is not None else None,
                note=transfer.note if transfer is not None else "",
                consult=transfer is not None and transfer.consult,
            )
            self.ringing[msg.call_id] = info
            self.incoming_call.emit(info)
        elif isinstance(msg, RingTimeout):
            if self.ringing.pop(msg.call_id, None) is not None:
                self.call_cancelled.emit(msg.call_id, "ring-timeout")
        elif self._consult is not None and getattr(msg, "call_id", None) == self._consult[0]:
            await self._on_consult_message(msg)
        elif isinstance(msg, Hangup):
            if self.ringing.pop(msg.call_id, None) is not None:
                self.call_cancelled.emit(msg.call_id, msg.reason)
            elif self.call is not None and msg.call_id == self.call.call_id:
                await self._end_call(msg.reason, notify_peer=False)
        elif isinstance(msg, WrapUp):
            self.wrap_up.emit(msg.call_id, msg.seconds)
        elif isinstance(msg, Queue):
            self.queue.emit(msg.waiting, msg.longest_wait_s)
        elif isinstance(msg, CallTicketMsg):
            if self.call is not None and msg.call_id == self.call.call_id:
                self.call.ticket = msg.ticket
        elif isinstance(msg, Error):
            if self.call is None or not await self.call.handle(msg):
                log.warning("agent.server_error", extra={"code": msg.code, "detail": msg.message})
        elif self.call is not None:
            await self.call.handle(msg)

    async def _on_consult_message(self, msg: Message) -> None:
        if isinstance(msg, Accepted) and self.consult_call is None:
            await self._start_consult(msg)
        elif isinstance(msg, Hangup):
            await self._close_consult()
        elif self.consult_call is not None:
            await self.consult_call.handle(msg)

    async def _end_call(
        self, reason: str, *, notify_peer: bool, peer_reason: str = HangupReason.NORMAL
    ) -> None:
        call, self.call = self.call, None
        if call is None:
            return
        if self._consult is not None and reason != HangupReason.TRANSFERRED:
            await self.cancel_consult()
        # Either publishes ENDED with ``reason`` (or keeps FAILED).
        if notify_peer:
            await call.hangup(peer_reason, end_reason=reason)
        else:
            await call.close(reason)
        log.info("call.ended", extra={"call_id": call.call_id, "reason": reason})

    def _on_peer_state(self, state: str) -> None:
        call = self.call
        if call is None:
            return
        if state == "closed" or (state == "failed" and call.recovery is None):
            # Closed (DTLS shut down), or failed with no recovery to run: nothing to
            # recover. A failure of a connected call is the reconnect controller's job.
            self._tasks.spawn(self._end_call("connection-lost", notify_peer=True), "agent-lost")

    async def _on_call_lost(self, reason: str) -> None:
        """Recovery gave up: tell the peer and the server, end the call."""
        await self._end_call(reason, notify_peer=True, peer_reason=reason)

    def _on_remote_track(self, track: MediaStreamTrack) -> None:
        if track.kind == "video":
            self.remote_video_track.emit(track)
        else:
            self.remote_audio_track.emit(track)

    def _on_signaling_state(self, state: ConnectionState) -> None:
        self.signaling_state.emit(str(state))
