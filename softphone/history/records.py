"""What one finished call leaves behind, and the words the CSV export writes for it
(the list words its rows in the agent's language: softphone/ui/history_view.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from softphone.call.state import RestartOrigin


class InterruptionOutcome(StrEnum):
    RECOVERED = "recovered"  # media flowed again: the call went on
    FAILED = "failed"  # recovery gave up: the call ended with it
    CALL_ENDED = "call-ended"  # someone hung up while it was still reconnecting


@dataclass(frozen=True)
class Interruption:
    """One reconnect episode: from the first "Reconnecting…" to how it ended."""

    started_at: float  # Unix time
    duration_s: float
    attempts: int  # the highest attempt reached; 0 when the peer ran the restart
    origin: RestartOrigin
    outcome: InterruptionOutcome


@dataclass(frozen=True)
class CallRecord:
    call_id: str
    started_at: float  # Unix time of the first status seen (the call was accepted)
    ended_at: float
    visitor_name: str
    page: str | None
    end_reason: str
    interruptions: tuple[Interruption, ...] = ()
    notes: str = ""  # wrap-up notes, written after the call
    transferred_by: str | None = None  # the agent who handed this call over, if any

    @property
    def duration_s(self) -> float:
        return max(0.0, self.ended_at - self.started_at)


def local_time(unix_time: float) -> datetime:
    return datetime.fromtimestamp(unix_time, tz=UTC).astimezone()


def format_duration(seconds: float) -> str:
    """``m:ss``, or ``h:mm:ss`` past an hour: how call centers show talk time."""
    total = round(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02}:{secs:02}" if hours else f"{minutes}:{secs:02}"


def describe_interruption(episode: Interruption) -> str:
    words = {
        InterruptionOutcome.RECOVERED: "recovered",
        InterruptionOutcome.FAILED: "failed",
        InterruptionOutcome.CALL_ENDED: "hung up",
    }[episode.outcome]
    by = "peer restart" if episode.origin is RestartOrigin.PEER else f"{episode.attempts} att."
    return f"{words} after {episode.duration_s:.1f} s ({by})"


def describe_interruptions(record: CallRecord) -> str:
    return "; ".join(describe_interruption(e) for e in record.interruptions)
