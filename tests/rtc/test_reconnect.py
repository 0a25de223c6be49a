"""ReconnectController against a fake clock: every timing of the policy, checked exactly."""

from __future__ import annotations

import asyncio
import heapq
import logging
from collections.abc import AsyncIterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from softphone.call.reconnect import (
    ReconnectController,
    ReconnectFailure,
    ReconnectPolicy,
)
from softphone.call.state import CallState, RestartOrigin

CONNECTED, RECONNECTING, FAILED, ENDED = (
    CallState.CONNECTED,
    CallState.RECONNECTING,
    CallState.FAILED,
    CallState.ENDED,
)


async def settle() -> None:
    """Let every ready task run until the loop is quiet (bounded)."""
    for _ in range(50):
        await asyncio.sleep(0)


class FakeClock:
    """Time moves only when the test says so; sleepers wake in deadline order."""

    def __init__(self) -> None:
        self.t = 0.0
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._seq = 0

    def now(self) -> float:
        return self.t

    async def sleep(self, seconds: float) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._seq += 1
        heapq.heappush(self._sleepers, (self.t + seconds, self._seq, future))
        await future

    async def advance(self, seconds: float) -> None:
        target = self.t + seconds
        await settle()
        while self._sleepers and self._sleepers[0][0] <= target:
            when, _, future = heapq.heappop(self._sleepers)
            if future.done():
                continue
            self.t = max(self.t, when)
            future.set_result(None)
            await settle()
        self.t = target
        await settle()


class FakeDriver:
    """Records what the controller asked for; signaling can be switched off."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.restarts: list[tuple[float, int, str]] = []
        self.builds: list[float] = []  # when building each offer started
        self.build_s = 0.0  # how long building an offer takes (gathering)
        self.teardowns: list[str] = []
        self._signaling = asyncio.Event()
        self._signaling.set()

    def set_signaling(self, up: bool) -> None:
        if up:
            self._signaling.set()
        else:
            self._signaling.clear()

    async def wait_signaling(self, within_s: float) -> bool:
        if self._signaling.is_set():
            return True
        waiter = asyncio.ensure_future(self._signaling.wait())
        timer = asyncio.ensure_future(self.clock.sleep(within_s))
        try:
            await asyncio.wait({waiter, timer}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            waiter.cancel()
            timer.cancel()
            await asyncio.gather(waiter, timer, return_exceptions=True)
        return self._signaling.is_set()

    async def send_restart_offer(self, attempt: int, reason: str) -> None:
        self.builds.append(self.clock.now())
        if self.build_s:
            await self.clock.sleep(self.build_s)
        self.restarts.append((self.clock.now(), attempt, reason))

    async def teardown(self, reason: str) -> None:
        self.teardowns.append(reason)

    def offer_times(self, attempt: int | None = None) -> list[float]:
        return [t for t, a, _ in self.restarts if attempt is None or a == attempt]


class Harness:
    def __init__(self, policy: ReconnectPolicy | None = None) -> None:
        self.clock = FakeClock()
        self.driver = FakeDriver(self.clock)
        self.ctl = ReconnectController(
            self.driver, call_id="call-1", policy=policy, clock=self.clock
        )
        self.states: list[tuple[CallState, int, int]] = []
        self.failures: list[ReconnectFailure] = []
        self.recoveries: list[tuple[int, float]] = []
        self.ctl.state_changed.connect(lambda s, a, n: self.states.append((s, a, n)))
        self.ctl.failed.connect(self.failures.append)
        self.ctl.recovered.connect(lambda a, e: self.recoveries.append((a, e)))

    async def connect(self) -> None:
        self.ctl.on_ice_connected()
        await settle()

    async def recover(self) -> None:
        self.ctl.on_ice_connected()
        self.ctl.on_media_received()
        await self.clock.advance(0)


@pytest.fixture
async def h(_no_leaked_tasks: None) -> AsyncIterator[Harness]:
    """Closed before the leaked-task check runs, which it depends on."""
    harness = Harness()
    await harness.connect()
    yield harness
    await harness.ctl.close()


async def test_first_connection_then_cut_and_recovery_on_first_attempt(h: Harness) -> None:
    assert h.states == [(CONNECTED, 0, 3)]
    h.ctl.on_disconnected("disconnected")
    assert h.ctl.state is CallState.RECONNECTING  # shown at once, before any await
    await h.clock.advance(0.3)
    assert h.driver.restarts == [(0.0, 1, "disconnected")]
    h.ctl.on_ice_connected()
    await h.clock.advance(4)
    assert h.ctl.state is CallState.RECONNECTING, "ICE alone is not success: media must flow"
    h.ctl.on_media_received()
    await settle()
    assert h.ctl.state is CONNECTED
    assert h.states == [(CONNECTED, 0, 3), (RECONNECTING, 1, 3), (CONNECTED, 0, 3)]
    assert h.recoveries == [(1, pytest.approx(4.3))]
    assert h.driver.teardowns == []


async def test_ice_connected_without_media_stops_periodic_reissue(h: Harness) -> None:
    h.ctl.on_disconnected()
    await h.clock.advance(1)
    h.ctl.on_ice_connected()
    await h.clock.advance(8)
    assert h.driver.offer_times() == [0.0]


async def test_failure_then_success_on_second_attempt_after_1s_backoff(h: Harness) -> None:
    h.ctl.on_disconnected()
    await h.clock.advance(10.5)
    assert h.states[-1] == (RECONNECTING, 1, 3)  # in backoff, still showing attempt 1
    await h.clock.advance(0.5)
    assert h.states[-1] == (RECONNECTING, 2, 3)
    assert h.driver.offer_times(2) == [11.0]
    await h.clock.advance(0.2)
    await h.recover()
    assert h.ctl.state is CONNECTED
    assert h.recoveries == [(2, pytest.approx(11.2))]


async def test_exhaustion_after_exactly_three_attempts_with_1s_and_2s_backoff(
    h: Harness,
) -> None:
    h.ctl.on_disconnected()
    await h.clock.advance(60)
    first_offers = [h.driver.offer_times(a)[0] for a in (1, 2, 3)]
    assert first_offers == [0.0, 11.0, 23.0]  # 10 s timeout, +1 s, 10 s, +2 s
    assert {a for _, a, _ in h.driver.restarts} == {1, 2, 3}
    assert h.driver.teardowns == ["reconnect-failed"]
    assert h.failures == [
        ReconnectFailure(
            attempts=3,
            elapsed_s=33.0,
            last_reason="ice-timeout",
            trigger="disconnected",
            call_id="call-1",  # "Copy details" must never say "call id: unknown"
        )
    ]
    assert [s for s in h.states if s[0] is not CONNECTED] == [
        (RECONNECTING, 1, 3),
        (RECONNECTING, 2, 3),
        (RECONNECTING, 3, 3),
        (FAILED, 3, 3),
    ]
    # Failed is terminal: nothing revives the call.
    h.ctl.on_disconnected()
    h.ctl.on_network_change()
    h.ctl.on_remote_restart(1)
    await h.recover()
    await h.clock.advance(30)
    assert h.ctl.state is FAILED
    assert h.driver.teardowns == ["reconnect-failed"]
    assert len(h.failures) == 1


async def test_restart_is_reissued_periodically_while_disconnected(h: Harness) -> None:
    h.ctl.on_disconnected()
    await h.clock.advance(10.9)
    # Never waits on STUN retransmission backoff: a fresh restart every 2.5 s.
    assert h.driver.offer_times(1) == [0.0, 2.5, 5.0, 7.5]


async def test_periodic_reissue_counts_from_the_offer_leaving(h: Harness) -> None:
    """An offer whose gathering took 4 s (through an outage) is not replaced the moment it
    leaves: the peer gets the re-issue interval to answer it."""
    h.driver.build_s = 4.0
    h.ctl.on_disconnected()
    await h.clock.advance(6.4)
    assert h.driver.offer_times(1) == [4.0]
    assert h.driver.builds == [0.0]
    await h.clock.advance(0.1)
    assert h.driver.builds == [0.0, 6.5]


async def test_network_change_reissues_at_once_and_cuts_backoff_short(h: Harness) -> None:
    h.ctl.on_disconnected()
    await h.clock.advance(1.25)
    h.ctl.on_network_change()
    await h.clock.advance(0)
    assert h.driver.offer_times(1) == [0.0, 1.25]
    assert h.driver.restarts[-1][2] == "disconnected"  # the attempt's reason stays
    await h.clock.advance(2.25)  # the periodic timer restarts from the last issue
    assert h.driver.offer_times(1) == [0.0, 1.25]
    await h.clock.advance(0.25)
    assert h.driver.offer_times(1) == [0.0, 1.25, 3.75]
    await h.clock.advance(6.75)  # t=10.5: in the 1 s backoff after attempt 1
    assert h.driver.offer_times(2) == []
    h.ctl.on_network_change()
    await h.clock.advance(0)
    assert h.driver.offer_times(2) == [10.5]


async def test_network_change_while_connected_starts_a_proactive_restart(h: Harness) -> None:
    h.ctl.on_network_change()
    await h.clock.advance(0)
    assert h.driver.restarts == [(0.0, 1, "network-change")]
    await h.recover()
    assert h.ctl.state is CONNECTED


async def test_signaling_down_attempt_waits_for_it_within_its_timeout(h: Harness) -> None:
    h.driver.set_signaling(False)
    h.ctl.on_disconnected()
    await h.clock.advance(4.0)
    assert h.driver.restarts == []
    h.driver.set_signaling(True)
    await h.clock.advance(0)
    assert h.driver.offer_times(1) == [4.0]
    await h.recover()
    assert h.ctl.state is CONNECTED


async def test_signaling_never_back_exhausts_with_signaling_reason(h: Harness) -> None:
    h.driver.set_signaling(False)
    h.ctl.on_disconnected()
    await h.clock.advance(40)
    assert h.driver.restarts == []
    assert h.driver.teardowns == ["reconnect-failed"]
    assert h.failures[0].last_reason == "signaling-unavailable"
    assert h.failures[0].attempts == 3


async def test_success_resets_the_attempt_counter(h: Harness) -> None:
    h.ctl.on_disconnected()
    await h.clock.advance(11.0)
    assert h.ctl.attempt == 2
    await h.recover()
    assert h.ctl.attempt == 0
    h.ctl.on_failed("ice-failed")
    await h.clock.advance(0)
    assert h.states[-1] == (RECONNECTING, 1, 3)
    assert h.driver.restarts[-1] == (11.0, 1, "ice-failed")
    # A whole fresh budget: three more attempts before giving up.
    await h.clock.advance(32.9)
    assert h.ctl.state is RECONNECTING
    await h.clock.advance(0.2)
    assert h.ctl.state is FAILED


async def test_failure_report_during_attempt_reissues_no_faster_than_min_gap(
    h: Harness,
) -> None:
    h.ctl.on_disconnected()
    await h.clock.advance(0.1)
    for _ in range(5):  # a restart that fails instantly must not spin on signaling
        h.ctl.on_failed("ice-failed")
        await h.clock.advance(0.1)
    assert h.driver.offer_times(1) == [0.0, 0.5]


async def test_remote_restart_shows_reconnecting_and_sends_nothing(h: Harness) -> None:
    h.ctl.on_remote_restart(1)
    await h.clock.advance(0.2)
    assert h.states[-1] == (RECONNECTING, 0, 3)
    await h.recover()
    assert h.ctl.state is CONNECTED
    assert h.driver.restarts == []


async def test_remote_restart_that_stalls_falls_back_to_own_attempts(h: Harness) -> None:
    h.ctl.on_remote_restart(1)
    await h.clock.advance(10.1)
    assert h.driver.offer_times(1) == [10.0]
    assert h.states[-1] == (RECONNECTING, 1, 3)


async def test_local_trigger_during_remote_restart_restarts_at_once(h: Harness) -> None:
    h.ctl.on_remote_restart(1)
    await h.clock.advance(0.5)
    h.ctl.on_network_change()
    await h.clock.advance(0)
    assert h.driver.restarts == [(0.5, 1, "remote-restart")]


async def test_remote_restart_during_own_attempt_postpones_periodic_reissue(
    h: Harness,
) -> None:
    h.ctl.on_disconnected()
    await h.clock.advance(2.0)
    h.ctl.on_remote_restart(1)  # glare: its answer is in flight
    await h.clock.advance(2.4)
    assert h.driver.offer_times(1) == [0.0]
    await h.clock.advance(0.2)
    assert h.driver.offer_times(1) == [0.0, 4.5]


async def test_failed_send_is_retried_on_the_next_tick(h: Harness) -> None:
    sent: list[float] = []

    async def flaky_send(attempt: int, reason: str) -> None:
        sent.append(h.clock.now())
        if len(sent) == 1:
            raise ConnectionError("socket closed under the send")

    h.driver.send_restart_offer = flaky_send  # type: ignore[method-assign]
    h.ctl.on_disconnected()
    await h.clock.advance(3)
    assert sent == [0.0, 2.5]


async def test_a_send_that_hangs_cannot_stall_the_attempt_past_its_deadline(
    h: Harness,
) -> None:
    async def hanging_send(attempt: int, reason: str) -> None:
        await asyncio.Event().wait()  # a websocket blocked on a dead TCP connection

    h.driver.send_restart_offer = hanging_send  # type: ignore[method-assign]
    h.ctl.on_disconnected()
    await h.clock.advance(10.5)
    assert h.states[-1] == (RECONNECTING, 1, 3)  # attempt 1 timed out on time: in backoff
    await h.clock.advance(0.5)
    assert h.states[-1] == (RECONNECTING, 2, 3)


async def test_teardown_error_still_reports_failure_to_the_ui() -> None:
    harness = Harness(ReconnectPolicy(max_attempts=1, attempt_timeout_s=1))
    await harness.connect()

    async def broken_teardown(reason: str) -> None:
        raise RuntimeError("server gone")

    harness.driver.teardown = broken_teardown  # type: ignore[method-assign]
    harness.ctl.on_disconnected()
    await harness.clock.advance(2)
    assert harness.ctl.state is FAILED
    assert [f.attempts for f in harness.failures] == [1]
    await harness.ctl.close()


async def test_teardown_that_closes_the_controller_still_reports_failure() -> None:
    """The real engine's teardown ends the call, which closes the controller from inside."""
    harness = Harness(ReconnectPolicy(max_attempts=1, attempt_timeout_s=1))
    await harness.connect()

    async def closing_teardown(reason: str) -> None:
        await harness.ctl.close()

    harness.driver.teardown = closing_teardown  # type: ignore[method-assign]
    harness.ctl.on_disconnected()
    await harness.clock.advance(2)
    assert harness.ctl.state is FAILED
    assert [f.last_reason for f in harness.failures] == ["ice-timeout"]
    await harness.ctl.close()


async def test_close_during_reconnect_cancels_without_teardown(h: Harness) -> None:
    h.ctl.on_disconnected()
    await h.clock.advance(1)
    await h.ctl.close()
    assert h.ctl.state is ENDED
    await h.clock.advance(30)
    assert h.driver.teardowns == []
    assert h.driver.offer_times() == [0.0]
    assert {t.get_name() for t in asyncio.all_tasks()} & {"reconnect-call-1"} == set()


async def test_every_step_is_logged_with_structured_fields(
    h: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="softphone.call.reconnect")
    h.ctl.on_disconnected("disconnected")
    await h.clock.advance(11.25)
    await h.recover()
    h.ctl.on_disconnected("disconnected")
    await h.clock.advance(40)
    records = [(r.message, r.attempt, r.reason, r.elapsed_ms) for r in caplog.records]  # type: ignore[attr-defined]
    assert records[:5] == [
        ("reconnect.start", "1/3", "disconnected", 0),
        ("reconnect.offer_sent", "1/3", "disconnected", 0),
        ("reconnect.offer_sent", "1/3", "disconnected", 2500),
        ("reconnect.offer_sent", "1/3", "disconnected", 5000),
        ("reconnect.offer_sent", "1/3", "disconnected", 7500),
    ]
    assert records[5:9] == [
        ("reconnect.attempt_failed", "1/3", "ice-timeout", 10000),
        ("reconnect.start", "2/3", "disconnected", 11000),
        ("reconnect.offer_sent", "2/3", "disconnected", 11000),
        ("reconnect.success", "2/3", "disconnected", 11250),
    ]
    assert records[-1] == ("reconnect.exhausted", "3/3", "ice-timeout", 33000)
    assert {r.call_id for r in caplog.records} == {"call-1"}  # type: ignore[attr-defined]
    names = [r[0] for r in records]
    assert names.count("reconnect.attempt_failed") == 4
    assert names.count("reconnect.success") == 1


@pytest.mark.parametrize(
    "bad",
    [
        {"max_attempts": 0},
        {"attempt_timeout_s": 0},
        {"attempt_timeout_s": float("inf")},
        {"backoff_s": ()},
        {"backoff_s": (1.0, -1.0)},
        {"reissue_interval_s": 0},
        {"reissue_interval_s": float("nan")},
        {"min_reissue_gap_s": -0.1},
    ],
)
def test_policy_rejects_invalid_values(bad: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        ReconnectPolicy(**bad)  # type: ignore[arg-type]


def test_policy_backoff_repeats_its_last_value() -> None:
    policy = ReconnectPolicy(max_attempts=5, backoff_s=(0.5, 1.0))
    assert [policy.backoff_after(a) for a in (1, 2, 3, 4)] == [0.5, 1.0, 1.0, 1.0]


# --- property: random event sequences never break the invariants ---------------------------

EVENTS = st.lists(
    st.one_of(
        st.sampled_from(
            ["disconnected", "failed", "network", "ice", "media", "remote", "sig_down", "sig_up"]
        ),
        st.floats(min_value=0.0, max_value=12.0),
    ),
    max_size=40,
)


async def _run_sequence(events: list[str | float]) -> Harness:
    h = Harness()
    await h.connect()
    actions = {
        "disconnected": h.ctl.on_disconnected,
        "failed": h.ctl.on_failed,
        "network": h.ctl.on_network_change,
        "ice": h.ctl.on_ice_connected,
        "media": h.ctl.on_media_received,
        "remote": lambda: h.ctl.on_remote_restart(1),
        "sig_down": lambda: h.driver.set_signaling(False),
        "sig_up": lambda: h.driver.set_signaling(True),
    }
    for event in events:
        if isinstance(event, float):
            await h.clock.advance(event)
        else:
            actions[event]()
            await settle()
    await h.clock.advance(100)  # let any episode finish
    await h.ctl.close()
    return h


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(EVENTS)
def test_random_event_sequences_keep_the_invariants(events: list[str | float]) -> None:
    h = asyncio.run(_run_sequence(events))
    assert all(0 <= a <= n == 3 for _, a, n in h.states)
    assert all(a <= 3 for _, a, _ in h.driver.restarts)
    if FAILED in [s for s, _, _ in h.states]:
        assert h.states[-1][0] is FAILED, "failed is terminal"
        assert h.states.count((FAILED, 3, 3)) == 1
    assert len(h.driver.teardowns) == len(h.failures) <= 1
    assert (h.ctl.state is FAILED) == (len(h.driver.teardowns) == 1)
    assert h.ctl.state in (FAILED, ENDED)


async def test_the_failure_is_published_before_the_call_is_torn_down(h: Harness) -> None:
    """Whoever shows the modal still knows the call when the failure arrives."""
    teardowns_at_failure: list[int] = []
    h.ctl.failed.connect(lambda failure: teardowns_at_failure.append(len(h.driver.teardowns)))
    h.ctl.on_disconnected()
    await h.clock.advance(60)
    assert teardowns_at_failure == [0]
    assert h.driver.teardowns == ["reconnect-failed"]


async def test_a_restart_started_by_the_peer_has_origin_peer(h: Harness) -> None:
    h.ctl.on_remote_restart(attempt=1)
    assert h.ctl.state is CallState.RECONNECTING
    assert h.ctl.origin is RestartOrigin.PEER  # no "attempt 0 of 3" to show
    await h.clock.advance(10.5)  # the peer's restart timed out: our own attempts begin
    assert h.ctl.attempt == 1
    assert h.ctl.origin is RestartOrigin.LOCAL
