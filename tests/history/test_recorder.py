"""The recorder fed by the real call model: what the agent saw becomes one history record."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from softphone.call.state import RECONNECT_FAILED, CallStateModel, RestartOrigin
from softphone.history import CallHistory, CallRecorder, Interruption, InterruptionOutcome
from softphone.history.recorder import MAX_TRACKED_CALLS
from softphone.history.store import MAX_INTERRUPTIONS


@dataclass(frozen=True)
class Ring:  # the shape of softphone.agent.CallInfo
    call_id: str
    visitor_name: str
    page: str | None
    timeout_s: float = 30.0


class FakeClock:
    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def history(tmp_path: Path) -> Iterator[CallHistory]:
    store = CallHistory(tmp_path / "history.sqlite3")
    yield store
    store.close()


def wired(history: CallHistory, clock: FakeClock, call_id: str) -> CallStateModel:
    """A call model whose statuses reach a recorder, as AgentSession.call_status will."""
    recorder = CallRecorder(history, clock)
    recorder.note_visitor(Ring(call_id, "Zoë Visitor", "/pricing?plan=pro"))
    model = CallStateModel(call_id)
    model.changed.connect(recorder.record_status)
    recorder.record_status(model.status)  # the initial CONNECTING, as the session publishes
    return model


def test_a_call_with_a_recovered_episode_and_a_peer_restart(
    history: CallHistory,
) -> None:
    clock = FakeClock()
    start = clock.now
    model = wired(history, clock, "call-1")
    clock.advance(1.5)
    model.media_connected()
    clock.advance(60)
    model.reconnecting(1, 3)  # the network dropped
    clock.advance(10)
    model.reconnecting(2, 3)  # first attempt timed out
    clock.advance(2.1)
    model.recovered(12.4)  # the engine's own measurement wins over the clock
    clock.advance(30)
    model.reconnecting(1, 3, RestartOrigin.PEER)  # the visitor's browser restarted ICE
    clock.advance(0.8)
    model.recovered(0.8)
    clock.advance(100)
    assert history.recent() == []  # nothing is written before the call ends
    model.ended("local-hangup")

    (record,) = history.recent()
    assert (record.call_id, record.visitor_name, record.page) == (
        "call-1",
        "Zoë Visitor",
        "/pricing?plan=pro",
    )
    assert record.started_at == start
    assert record.duration_s == pytest.approx(1.5 + 60 + 12.1 + 30 + 0.8 + 100)
    assert record.end_reason == "local-hangup"
    assert record.interruptions == (
        Interruption(start + 61.5, 12.4, 2, RestartOrigin.LOCAL, InterruptionOutcome.RECOVERED),
        Interruption(start + 103.6, 0.8, 0, RestartOrigin.PEER, InterruptionOutcome.RECOVERED),
    )


def test_recovery_that_gives_up_records_a_failed_episode(history: CallHistory) -> None:
    clock = FakeClock()
    model = wired(history, clock, "call-2")
    model.media_connected()
    clock.advance(20)
    for attempt in (1, 2, 3):
        model.reconnecting(attempt, 3)
        clock.advance(10)
    model.ended(RECONNECT_FAILED)

    (record,) = history.recent()
    assert record.end_reason == RECONNECT_FAILED
    (episode,) = record.interruptions
    assert episode.outcome is InterruptionOutcome.FAILED
    assert (episode.attempts, episode.duration_s) == (3, 30.0)


def test_hanging_up_while_reconnecting_closes_the_episode_as_hung_up(
    history: CallHistory,
) -> None:
    clock = FakeClock()
    model = wired(history, clock, "call-3")
    model.media_connected()
    model.reconnecting(1, 3)
    clock.advance(4)
    model.ended("remote-hangup")
    (record,) = history.recent()
    assert [(e.outcome, e.duration_s) for e in record.interruptions] == [
        (InterruptionOutcome.CALL_ENDED, 4.0)
    ]


def test_a_call_that_never_connected_is_still_recorded(history: CallHistory) -> None:
    clock = FakeClock()
    model = wired(history, clock, "call-4")
    clock.advance(7)
    model.ended("connection-lost")
    (record,) = history.recent()
    assert (record.end_reason, record.duration_s, record.interruptions) == (
        "connection-lost",
        7.0,
        (),
    )


def test_visitors_are_matched_by_call_id_and_a_transfer_is_kept(history: CallHistory) -> None:
    clock = FakeClock()
    recorder = CallRecorder(history, clock)
    recorder.note_visitor(Ring("a", "Alice", "/a"))
    recorder.note_visitor(Ring("b", "Bob", None), transferred_by="Ada")
    for call_id in ("b", "unknown"):
        model = CallStateModel(call_id)
        model.changed.connect(recorder.record_status)
        model.media_connected()
        model.ended("local-hangup")
    by_id = {r.call_id: r for r in history.recent()}
    assert (by_id["b"].visitor_name, by_id["b"].page, by_id["b"].transferred_by) == (
        "Bob",
        None,
        "Ada",
    )
    assert by_id["unknown"].visitor_name == ""  # recorded anyway, shown as "—"


def test_rings_answered_elsewhere_do_not_pile_up(history: CallHistory) -> None:
    recorder = CallRecorder(history, FakeClock())
    for i in range(MAX_TRACKED_CALLS * 3):
        recorder.note_visitor(Ring(f"ring-{i}", f"V{i}", None))
    newest = f"ring-{MAX_TRACKED_CALLS * 3 - 1}"
    model = CallStateModel(newest)
    model.changed.connect(recorder.record_status)
    model.ended("local-hangup")
    assert history.recent()[0].visitor_name == f"V{MAX_TRACKED_CALLS * 3 - 1}"
    oldest = CallStateModel("ring-0")
    oldest.changed.connect(recorder.record_status)
    oldest.ended("local-hangup")
    assert history.recent()[0].visitor_name == ""  # forgotten: bounded memory


def test_a_flapping_call_keeps_a_bounded_number_of_episodes(history: CallHistory) -> None:
    clock = FakeClock()
    model = wired(history, clock, "flappy")
    model.media_connected()
    for _ in range(MAX_INTERRUPTIONS + 20):
        model.reconnecting(1, 3)
        clock.advance(1)
        model.recovered(1.0)
    model.ended("local-hangup")
    (record,) = history.recent()
    assert len(record.interruptions) == MAX_INTERRUPTIONS


def test_a_broken_history_never_disturbs_the_call(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    path.write_bytes(b"garbage" * 1000)
    broken = CallHistory(path)
    model = CallStateModel("call-5")
    statuses = [model.status]
    model.changed.connect(statuses.append)
    model.media_connected()
    model.reconnecting(1, 3)
    model.recovered(1.0)
    model.ended("local-hangup")
    recorder = CallRecorder(broken, FakeClock())
    for status in statuses:  # called directly: an exception would surface here
        recorder.record_status(status)
    assert broken.recent() == []
