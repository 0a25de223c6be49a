"""In-test stand-ins for the core: the AgentSession event interface, emitting exactly what
the real one emits, in the real order (one helper per event of a call)."""

from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace

from softphone.agent import CallInfo
from softphone.call.reconnect import ReconnectFailure
from softphone.call.state import RECONNECT_FAILED, CallStateModel, CallStatus, RestartOrigin
from softphone.events import Signal
from softphone.rtc.stats import CallStats


@dataclass
class FakeSession:
    calls: list[tuple[str, object]] = field(default_factory=list)
    stats_value: CallStats | None = None
    colleagues: list[str] = field(default_factory=list)  # what free_agents() answers
    transfer_error: Exception | None = None  # what transfer() raises, if anything

    def __post_init__(self) -> None:
        self.signaling_state: Signal[[str]] = Signal("signaling_state")
        self.incoming_call: Signal[[CallInfo]] = Signal("incoming_call")
        self.call_cancelled: Signal[[str, str]] = Signal("call_cancelled")
        self.call_status: Signal[[CallStatus]] = Signal("call_status")
        self.media_notice: Signal[[str]] = Signal("media_notice")
        self.remote_video_track: Signal[[object]] = Signal("remote_video_track")
        self.remote_audio_track: Signal[[object]] = Signal("remote_audio_track")
        self.local_video_track: Signal[[object]] = Signal("local_video_track")
        self.call_failed: Signal[[ReconnectFailure]] = Signal("call_failed")
        self.wrap_up: Signal[[str, float]] = Signal("wrap_up")
        self.queue: Signal[[int, float]] = Signal("queue")
        self.consult_state: Signal[[str, str]] = Signal("consult_state")
        self.consulting: str | None = None
        self.away_reason: str | None = None
        self.ringing: dict[str, CallInfo] = {}
        self.call: SimpleNamespace | None = None
        # The call's status, derived by the real model (as AgentSession's SignaledCall does).
        self._status: CallStateModel | None = None

    # --- what the server and the call engine make AgentSession emit ----------------------

    def ring(self, info: CallInfo) -> None:
        self.ringing[info.call_id] = info
        self.incoming_call.emit(info)

    def cancel(self, call_id: str, reason: str = "cancelled") -> None:
        if self.ringing.pop(call_id, None) is not None:
            self.call_cancelled.emit(call_id, reason)

    def connected(self) -> None:
        assert self._status is not None, "accept first"
        self._status.media_connected()

    def reconnecting(self, attempt: int, max_attempts: int = 3) -> None:
        """One attempt of an episode (attempt 0: the visitor restarted ICE)."""
        assert self._status is not None, "accept first"
        origin = RestartOrigin.LOCAL if attempt else RestartOrigin.PEER
        self._status.reconnecting(attempt, max_attempts, origin)

    def recovered(self, attempt: int, elapsed_s: float) -> None:
        assert self._status is not None, "accept first"
        self._status.recovered(elapsed_s)

    def exhausted(self, failure: ReconnectFailure) -> None:
        """The reconnect controller gives up: FAILED, then call_failed, then the teardown."""
        assert self._status is not None, "accept first"
        self._status.ended(RECONNECT_FAILED)
        self.call_failed.emit(failure)
        self._end(RECONNECT_FAILED)  # keeps FAILED: a terminal status never changes

    def remote_hangup(self, reason: str = "visitor-hangup") -> None:
        self._end(reason)

    def _end(self, reason: str) -> None:
        status, self._status, self.call = self._status, None, None
        if status is not None:
            status.ended(reason)

    # --- the methods the UI calls ---------------------------------------------------------

    async def set_available(self, available: bool, reason: str | None = None) -> None:
        self.calls.append(("set_available", available))
        self.away_reason = reason

    async def accept(self, call_id: str) -> None:
        self.calls.append(("accept", call_id))
        self.ringing.pop(call_id, None)
        self.call = SimpleNamespace(call_id=call_id)
        self._status = CallStateModel(call_id)
        self._status.changed.connect(self.call_status.emit)
        self.call_status.emit(self._status.status)  # CONNECTING

    async def decline(self, call_id: str) -> None:
        self.calls.append(("decline", call_id))
        self.ringing.pop(call_id, None)

    async def hangup(self) -> None:
        self.calls.append(("hangup", None))
        if self.call is not None:
            self._end("local-hangup")

    def set_muted(self, muted: bool) -> None:
        self.calls.append(("set_muted", muted))

    def set_camera_enabled(self, enabled: bool) -> None:
        self.calls.append(("set_camera_enabled", enabled))

    async def set_on_hold(self, on_hold: bool) -> None:
        self.calls.append(("set_on_hold", on_hold))
        if self._status is not None:
            self._status.hold(on_hold)

    async def free_agents(self) -> list[str]:
        self.calls.append(("free_agents", None))
        return list(self.colleagues)

    async def transfer(self, to: str | None, note: str = "") -> None:
        self.calls.append(("transfer", (to, note)))
        if self.transfer_error is not None:
            raise self.transfer_error
        if self.consulting is not None:
            self.consult_state.emit(self.consulting, "ended")
            self.consulting = None
        self._end("transferred")

    async def consult(self, to: str, note: str = "") -> None:
        self.calls.append(("consult", (to, note)))
        await self.set_on_hold(True)
        self.consulting = to
        self.consult_state.emit(to, "ringing")

    def consult_answered(self) -> None:
        """The colleague took the consult call."""
        assert self.consulting is not None, "consult first"
        self.consult_state.emit(self.consulting, "talking")

    async def cancel_consult(self) -> None:
        self.calls.append(("cancel_consult", None))
        if self.consulting is not None:
            self.consult_state.emit(self.consulting, "ended")
            self.consulting = None

    def set_media_choice(self, media: object) -> None:
        self.calls.append(("set_media_choice", media))

    def restart_ice(self, reason: str = "manual") -> None:
        self.calls.append(("restart_ice", reason))

    async def stats(self) -> CallStats | None:
        return self.stats_value


def ring(
    call_id: str = "c1", name: str = "Ada Lovelace", page: str | None = "/pricing"
) -> CallInfo:
    return CallInfo(call_id, name, page, 30.0)
