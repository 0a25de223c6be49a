"""The video playout delay: frames recovered by retransmission are shown on time, a clean
network adds (almost) nothing, and the decoder thread's queue hands frames out at their
time without ever holding up a stop."""

from __future__ import annotations

import itertools
import queue
import threading
import time

import pytest

from softphone.rtc.aiortc_compat import playout
from softphone.rtc.aiortc_compat.playout import PlayoutTiming, TimedQueue

RATE = 90_000
INTERVAL = 0.05  # 20 frames/s


def stream(lateness: list[float], start: float = 1000.0) -> list[tuple[float, float]]:
    """(complete, due) per frame: frame i captured at i * INTERVAL, its last packet that
    late; complete when it and every frame before it are there (the jitter buffer's
    order)."""
    timing = PlayoutTiming(RATE)
    out: list[tuple[float, float]] = []
    complete = start
    for i, late in enumerate(lateness):
        complete = max(complete, start + i * INTERVAL + late)
        out.append((complete, timing.due(round(i * INTERVAL * RATE), complete)))
    return out


def gaps(times: list[float]) -> list[float]:
    return [b - a for a, b in itertools.pairwise(times)]


def test_a_clean_network_adds_almost_no_delay() -> None:
    jitter = [0.002 * (i % 3) for i in range(200)]  # 0-4 ms
    frames = stream(jitter)
    assert all(due - arrival <= 0.005 for arrival, due in frames)


def test_frames_a_retransmission_made_late_are_shown_on_time() -> None:
    """Every fourth frame 150 ms late (a NACK and its retransmission lost once): once the
    delay has learnt it, the pictures go out evenly, where decoding on arrival froze."""
    lateness = [0.15 if i % 4 == 3 else 0.0 for i in range(400)]
    frames = stream(lateness)
    settled = frames[100:]
    assert max(gaps([a for a, _ in settled])) >= 0.15, "arrivals have the holes"
    assert max(gaps([d for _, d in settled])) <= INTERVAL + 0.001
    assert all(due >= complete - 1e-6 for complete, due in settled), "never before it is here"


def test_the_delay_is_capped() -> None:
    """A frame 1 s late every 2 s (and the frames queued behind it): the picture never
    trails its arrival by more than the cap."""
    lateness = [1.0 if i % 40 == 20 else 0.0 for i in range(400)]
    held = [due - complete for complete, due in stream(lateness)]
    assert max(held) <= playout.MAX_DELAY_S + 1e-6
    assert max(held) >= playout.MAX_DELAY_S - 0.01, "the cap is reached"


def test_the_delay_eases_down_without_a_burst_once_the_loss_ends() -> None:
    lossy = [0.2 if i % 4 == 3 else 0.0 for i in range(200)]
    frames = stream(lossy + [0.0] * 600)
    dues = [d for _, d in frames[200:]]
    assert min(gaps(dues)) >= INTERVAL * (1 - playout.EASE_PER_S) - 0.001, "no burst"
    recovery_s = playout.WINDOW_S + 0.2 / playout.EASE_PER_S
    back = [d - a for a, d in frames[200 + int(recovery_s / INTERVAL) + 1 :]]
    assert max(back) <= 0.001, "back to decoding on arrival"


def test_a_timestamp_jump_starts_a_new_timeline() -> None:
    """aiortc's timestamp mapper reads a timestamp that goes back as a wrap (+13 h): the
    frames after it must not be held (or released in a burst) against the old baseline."""
    timing = PlayoutTiming(RATE)
    now = 1000.0
    for i in range(100):
        now = 1000.0 + i * INTERVAL
        timing.due(round(i * INTERVAL * RATE), now)
    jump = 1 << 32
    for i in range(100, 110):
        now = 1000.0 + i * INTERVAL
        due = timing.due(jump + round(i * INTERVAL * RATE), now)
        assert -1e-6 <= due - now <= 0.001


def test_the_queue_hands_frames_out_at_their_time_in_order() -> None:
    q = TimedQueue()
    start = time.monotonic()
    q.put_due("a", start + 0.15)
    q.put_due("b", start + 0.05)  # due earlier, but queued after "a": not before it
    with pytest.raises(queue.Empty):
        q.get_nowait()
    with pytest.raises(queue.Empty):
        q.get(timeout=0.05)
    assert q.get() == "a" and time.monotonic() - start >= 0.15 - 0.002
    assert q.get(timeout=1.0) == "b"


def test_a_stop_is_not_held_up_by_frames_waiting_for_their_time() -> None:
    q = TimedQueue()
    q.put_due("frame", time.monotonic() + 30.0)
    got: list[object] = []
    reader = threading.Thread(target=lambda: got.append(q.get()))
    reader.start()
    time.sleep(0.05)
    q.put(None)  # aiortc's receiver stopping
    reader.join(timeout=2.0)
    assert not reader.is_alive() and got == [None]
