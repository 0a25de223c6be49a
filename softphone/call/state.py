"""The call state the agent sees, derived in one place and published only when it changes.

Inputs are observations from the call engine, fed by :class:`softphone.call.signaled.SignaledCall`
(the peer's connection state, the reconnect controller's progress, media flowing again); the
output is one immutable :class:`CallStatus`.
The UI renders a status and never recomputes one (the aiortc way: one
``__updateConnectionState`` that derives the state and emits it on change).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Final

from softphone.events import Signal

RECONNECT_FAILED: Final = "reconnect-failed"  # the end reason when recovery gave up


class CallState(StrEnum):
    CONNECTING = "connecting"  # accepted, media not yet flowing
    CONNECTED = "connected"
    RECONNECTING = "reconnecting"
    FAILED = "failed"  # terminal: recovery exhausted
    ENDED = "ended"  # terminal: hung up, or ended for another reason


class RestartOrigin(StrEnum):
    LOCAL = "local"  # our controller runs the episode: attempt k of N is meaningful
    PEER = "peer"  # the peer restarted ICE; we answer, there is no attempt of ours to count


@dataclass(frozen=True)
class CallStatus:
    call_id: str
    state: CallState
    attempt: int = 0  # 1..max_attempts while RECONNECTING with origin LOCAL, else 0
    max_attempts: int = 0
    origin: RestartOrigin = RestartOrigin.LOCAL
    # Set on the CONNECTED status that closes a reconnect episode (the "Reconnected" flash).
    recovered_after_s: float | None = None
    end_reason: str | None = None  # set once the state is FAILED or ENDED
    on_hold: bool = False  # the agent holds the call (whatever the connection does)

    @property
    def terminal(self) -> bool:
        return self.state in (CallState.FAILED, CallState.ENDED)


class CallStateModel:
    """Derives one call's :class:`CallStatus` from engine observations; emits on change."""

    def __init__(self, call_id: str) -> None:
        self.changed: Signal[[CallStatus]] = Signal("call.status_changed")
        self.status = CallStatus(call_id, CallState.CONNECTING)

    def media_connected(self) -> None:
        """The peer connection is up (ICE and DTLS) for the first time: connected."""
        if self.status.state is CallState.CONNECTING:
            self._set(replace(self.status, state=CallState.CONNECTED))

    def reconnecting(
        self, attempt: int, max_attempts: int, origin: RestartOrigin = RestartOrigin.LOCAL
    ) -> None:
        if self.status.terminal:
            return
        if origin is RestartOrigin.PEER:
            attempt = max_attempts = 0
        self._set(
            replace(
                self.status,
                state=CallState.RECONNECTING,
                attempt=attempt,
                max_attempts=max_attempts,
                origin=origin,
                recovered_after_s=None,
            )
        )

    def recovered(self, elapsed_s: float) -> None:
        """Media flows again on the new path: connected, whoever started the episode."""
        if self.status.state is not CallState.RECONNECTING:
            return
        self._set(
            CallStatus(
                self.status.call_id,
                CallState.CONNECTED,
                recovered_after_s=elapsed_s,
                on_hold=self.status.on_hold,
            )
        )

    def hold(self, on_hold: bool) -> None:
        """The agent put the call on hold or resumed it."""
        if not self.status.terminal:
            self._set(replace(self.status, on_hold=on_hold, recovered_after_s=None))

    def ended(self, reason: str) -> None:
        if self.status.terminal:
            return
        state = CallState.FAILED if reason == RECONNECT_FAILED else CallState.ENDED
        self._set(CallStatus(self.status.call_id, state, end_reason=reason))

    def _set(self, status: CallStatus) -> None:
        if status != self.status:
            self.status = status
            self.changed.emit(status)
