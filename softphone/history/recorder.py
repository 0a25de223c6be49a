"""Turns a call's status events into one history record when the call ends.

It listens to the one call model's output (:class:`softphone.call.state.CallStatus`), so the
history agrees with what the agent saw: a reconnect episode opens at the first
"Reconnecting…", counts its attempts, and closes as recovered (media flowed again), failed
(recovery gave up) or hung up (the call ended mid-episode). Wiring, one connect each::

    session.incoming_call.connect(recorder.note_visitor)  # who is calling, from which page
    session.call_status.connect(recorder.record_status)
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final, Protocol, TypeVar

from softphone.call.state import CallState, CallStatus, RestartOrigin
from softphone.history.records import CallRecord, Interruption, InterruptionOutcome
from softphone.history.store import MAX_INTERRUPTIONS, CallHistory

log = logging.getLogger(__name__)

V = TypeVar("V")

# Rings another agent answered never end here; keep the newest few, not all of them.
MAX_TRACKED_CALLS: Final = 32


class VisitorInfo(Protocol):
    """What a ring tells about the caller (``softphone.agent.CallInfo`` fits)."""

    @property
    def call_id(self) -> str: ...
    @property
    def visitor_name(self) -> str: ...
    @property
    def page(self) -> str | None: ...


@dataclass(frozen=True)
class _Visitor:
    name: str
    page: str | None
    transferred_by: str | None


@dataclass
class _Episode:
    started_at: float
    attempts: int
    origin: RestartOrigin


@dataclass
class _CallInProgress:
    started_at: float
    visitor: _Visitor
    episode: _Episode | None = None
    interruptions: list[Interruption] = field(default_factory=list)
    capped: bool = False  # logged once when a flapping call reaches MAX_INTERRUPTIONS


class CallRecorder:
    def __init__(self, history: CallHistory, clock: Callable[[], float] = time.time) -> None:
        self.history = history
        self._clock = clock
        self._visitors: dict[str, _Visitor] = {}
        self._calls: dict[str, _CallInProgress] = {}

    def note_visitor(self, info: VisitorInfo, transferred_by: str | None = None) -> None:
        """Remember who rings; used if this agent's call with that id follows."""
        visitor = _Visitor(info.visitor_name, info.page, transferred_by)
        _remember(self._visitors, info.call_id, visitor)

    def record_status(self, status: CallStatus) -> None:
        now = self._clock()
        call = self._calls.get(status.call_id)
        if call is None:
            unknown = _Visitor("", None, None)
            call = _CallInProgress(now, self._visitors.pop(status.call_id, unknown))
            _remember(self._calls, status.call_id, call)
        if status.state is CallState.RECONNECTING:
            if call.episode is None:
                call.episode = _Episode(now, status.attempt, status.origin)
            else:
                call.episode.attempts = max(call.episode.attempts, status.attempt)
                call.episode.origin = status.origin
        elif status.state is CallState.CONNECTED and call.episode is not None:
            # The engine measured the episode; our clock is only the fallback.
            self._close_episode(
                call, InterruptionOutcome.RECOVERED, now, measured_s=status.recovered_after_s
            )
        elif status.terminal:
            if call.episode is not None:
                outcome = (
                    InterruptionOutcome.FAILED
                    if status.state is CallState.FAILED
                    else InterruptionOutcome.CALL_ENDED
                )
                self._close_episode(call, outcome, now)
            del self._calls[status.call_id]
            self.history.add(
                CallRecord(
                    call_id=status.call_id,
                    started_at=call.started_at,
                    ended_at=max(now, call.started_at),
                    visitor_name=call.visitor.name,
                    page=call.visitor.page,
                    end_reason=status.end_reason or str(status.state),
                    interruptions=tuple(call.interruptions),
                    transferred_by=call.visitor.transferred_by,
                )
            )

    @staticmethod
    def _close_episode(
        call: _CallInProgress,
        outcome: InterruptionOutcome,
        now: float,
        measured_s: float | None = None,
    ) -> None:
        episode, call.episode = call.episode, None
        if episode is None:
            return
        if len(call.interruptions) >= MAX_INTERRUPTIONS:
            if not call.capped:
                call.capped = True
                log.warning("history.interruptions_capped", extra={"limit": MAX_INTERRUPTIONS})
            return
        duration = measured_s if measured_s is not None else max(0.0, now - episode.started_at)
        call.interruptions.append(
            Interruption(episode.started_at, duration, episode.attempts, episode.origin, outcome)
        )


def _remember(table: dict[str, V], key: str, value: V) -> None:
    """Insert, dropping the oldest entries beyond :data:`MAX_TRACKED_CALLS`."""
    table.pop(key, None)
    table[key] = value
    while len(table) > MAX_TRACKED_CALLS:
        del table[next(iter(table))]
