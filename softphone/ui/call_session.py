"""What the UI needs from :class:`softphone.agent.AgentSession`, all of it (tests pass fakes)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from aiortc import MediaStreamTrack

from softphone.agent import CallInfo
from softphone.call.reconnect import ReconnectFailure
from softphone.call.state import CallStatus
from softphone.events import Signal
from softphone.media.local import MediaChoice
from softphone.rtc.stats import CallStats


class CallSession(Protocol):
    signaling_state: Signal[[str]]
    incoming_call: Signal[[CallInfo]]
    call_cancelled: Signal[[str, str]]  # call_id, reason
    media_notice: Signal[[str]]
    remote_video_track: Signal[[MediaStreamTrack]]
    remote_audio_track: Signal[[MediaStreamTrack]]
    local_video_track: Signal[[MediaStreamTrack]]
    call_status: Signal[[CallStatus]]  # the current call, on every change
    call_failed: Signal[[ReconnectFailure]]  # what the "call lost" modal says
    wrap_up: Signal[[str, float]]  # after a call: call_id, seconds the server holds rings
    queue: Signal[[int, float]]  # the waiting line: visitors, longest wait in seconds
    consult_state: Signal[[str, str]]  # colleague, "ringing" | "talking" | "ended"

    @property
    def ringing(self) -> Mapping[str, CallInfo]:
        """Calls ringing now, in ring order: the session's queue, which the UI only shows."""
        ...

    async def set_available(self, available: bool, reason: str | None = None) -> None: ...
    async def accept(self, call_id: str) -> None: ...
    async def decline(self, call_id: str) -> None: ...
    async def hangup(self) -> None: ...
    def set_muted(self, muted: bool) -> None: ...
    def set_camera_enabled(self, enabled: bool) -> None: ...
    async def set_on_hold(self, on_hold: bool) -> None: ...
    async def free_agents(self) -> list[str]: ...
    async def transfer(self, to: str | None, note: str = "") -> None: ...
    async def consult(self, to: str, note: str = "") -> None: ...
    async def cancel_consult(self) -> None: ...
    def set_media_choice(self, media: MediaChoice) -> None: ...
    def restart_ice(self, reason: str = "manual") -> None: ...
    async def stats(self) -> CallStats | None: ...
