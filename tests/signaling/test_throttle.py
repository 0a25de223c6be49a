"""The counting doors on a fake clock: the sign-in lockout doubles up to its cap and a
success forgets it; a rate window admits ``limit`` per window and then again later."""

from __future__ import annotations

import pytest

from softphone.signaling import throttle
from softphone.signaling.throttle import RateWindow, SignInThrottle


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    now = [1000.0]
    monkeypatch.setattr(throttle.time, "monotonic", lambda: now[0])
    return now


def test_lockout_doubles_up_to_the_cap_and_success_forgets(clock: list[float]) -> None:
    gate = SignInThrottle(free=3, max_lockout=8.0)
    assert [gate.failed("ip") for _ in range(2)] == [0.0, 0.0]
    assert gate.retry_after("ip") == 0.0
    assert [gate.failed("ip") for _ in range(5)] == [1.0, 2.0, 4.0, 8.0, 8.0]
    assert gate.retry_after("ip") == 8.0
    clock[0] += 5
    assert gate.retry_after("ip") == 3.0
    assert gate.retry_after("other") == 0.0  # keys are separate
    gate.succeeded("ip")
    assert gate.retry_after("ip") == 0.0 and gate.failed("ip") == 0.0


def test_rate_window_admits_limit_per_window(clock: list[float]) -> None:
    window = RateWindow(limit=3, window=60.0)
    assert [window.allow("a") for _ in range(4)] == [True, True, True, False]
    assert window.allow("b")
    clock[0] += 59
    assert not window.allow("a")
    clock[0] += 2
    assert window.allow("a")
