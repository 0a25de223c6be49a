"""In-test stand-ins for the core: the AgentSession event interface and a reconnect
controller, emitting exactly what the real ones emit."""

from __future__ import annotations

from dataclasses import dataclass, field

from softphone.agent import CallInfo
from softphone.events import Signal
from softphone.rtc.reconnect import ReconnectFailure, ReconnectState
from softphone.rtc.stats import CallStats


@dataclass
class FakeSession:
    calls: list[tuple[str, object]] = field(default_factory=list)
    stats_value: CallStats | None = None

    def __post_init__(self) -> None:
        self.signaling_state: Signal[[str]] = Signal("signaling_state")
        self.incoming_call: Signal[[CallInfo]] = Signal("incoming_call")
        self.call_cancelled: Signal[[str, str]] = Signal("call_cancelled")
        self.call_state: Signal[[str]] = Signal("call_state")
        self.call_ended: Signal[[str]] = Signal("call_ended")
        self.media_notice: Signal[[str]] = Signal("media_notice")
        self.remote_video_track: Signal[[object]] = Signal("remote_video_track")
        self.remote_audio_track: Signal[[object]] = Signal("remote_audio_track")
        self.local_video_track: Signal[[object]] = Signal("local_video_track")
        self.reconnect_progress: Signal[[int, int]] = Signal("reconnect_progress")
        self.reconnected: Signal[[int, float]] = Signal("reconnected")
        self.call_failed: Signal[[ReconnectFailure]] = Signal("call_failed")

    async def set_available(self, available: bool) -> None:
        self.calls.append(("set_available", available))

    async def accept(self, call_id: str) -> None:
        self.calls.append(("accept", call_id))

    async def decline(self, call_id: str) -> None:
        self.calls.append(("decline", call_id))

    async def hangup(self) -> None:
        self.calls.append(("hangup", None))
        self.call_state.emit("ended")
        self.call_ended.emit("local-hangup")

    def set_muted(self, muted: bool) -> None:
        self.calls.append(("set_muted", muted))

    def set_camera_enabled(self, enabled: bool) -> None:
        self.calls.append(("set_camera_enabled", enabled))

    def set_media_choice(self, media: object) -> None:
        self.calls.append(("set_media_choice", media))

    def restart_ice(self, reason: str = "manual") -> None:
        self.calls.append(("restart_ice", reason))

    async def stats(self) -> CallStats | None:
        return self.stats_value


class FakeReconnect:
    """The ReconnectController's events, for SessionBridge.attach_reconnect."""

    def __init__(self) -> None:
        self.state_changed: Signal[[ReconnectState, int, int]] = Signal("state_changed")
        self.recovered: Signal[[int, float]] = Signal("recovered")
        self.failed: Signal[[ReconnectFailure]] = Signal("failed")


def ring(
    call_id: str = "c1", name: str = "Ada Lovelace", page: str | None = "/pricing"
) -> CallInfo:
    return CallInfo(call_id, name, page, 30.0)
