"""The live microphone's backlog: bounded, and a standing backlog trimmed in silence only."""

from __future__ import annotations

import av

from softphone.media.live_mic import FRAME_MS, MAX_BACKLOG_MS, STANDING_FRAMES, LiveBacklog
from softphone.media.tone import SAMPLE_RATE, SAMPLES_PER_FRAME


def frame(number: int, loud: bool) -> av.AudioFrame:
    out = av.AudioFrame(format="s16", layout="mono", samples=SAMPLES_PER_FRAME)
    value = (8000 if loud else 20).to_bytes(2, "little", signed=True)
    out.planes[0].update(value * SAMPLES_PER_FRAME)
    out.sample_rate = SAMPLE_RATE
    out.pts = number  # the capture order, for the test
    return out


def test_the_oldest_audio_goes_beyond_the_bound() -> None:
    backlog = LiveBacklog()
    for number in range(10):
        backlog.push(frame(number, loud=True))
    assert backlog.backlog_ms == MAX_BACKLOG_MS
    assert backlog.dropped_ms == 10 * FRAME_MS - MAX_BACKLOG_MS
    taken = backlog.take()
    assert taken is not None and taken.pts == 10 - MAX_BACKLOG_MS // FRAME_MS


def test_a_standing_backlog_is_trimmed_in_the_next_pause_never_in_speech() -> None:
    """A stall left 3 frames queued; the sender then keeps pace with the capture, so without
    trimming those 60 ms would delay the rest of the call."""
    backlog = LiveBacklog()
    captured: list[bool] = []  # loud or not, by capture number
    sent: list[int] = []

    def capture(loud: bool) -> None:
        backlog.push(frame(len(captured), loud))
        captured.append(loud)

    def tick(loud: bool) -> None:  # one capture, one send
        capture(loud)
        taken = backlog.take()
        assert taken is not None
        sent.append(taken.pts)

    for _ in range(3):
        capture(loud=True)
    for _ in range(2 * STANDING_FRAMES):  # talking: nothing dropped, the backlog stands
        tick(loud=True)
    assert backlog.backlog_ms == 3 * FRAME_MS and backlog.dropped_ms == 0
    for _ in range(10):  # a pause: the standing frames go
        tick(loud=False)
    assert backlog.backlog_ms == 0 and backlog.dropped_ms == 3 * FRAME_MS
    for _ in range(2 * STANDING_FRAMES):
        tick(loud=True)
    assert backlog.dropped_ms == 3 * FRAME_MS  # nothing standing any more
    assert sent == sorted(sent)
    assert {n for n, loud in enumerate(captured) if loud} <= set(sent)  # all speech sent


def test_a_backlog_that_runs_empty_now_and_then_is_left_alone() -> None:
    """A jittery capture (two frames, then none) keeps one frame waiting half the time:
    that is not a standing backlog."""
    backlog = LiveBacklog()
    for number in range(0, 4 * STANDING_FRAMES, 2):
        backlog.push(frame(number, loud=False))
        backlog.push(frame(number + 1, loud=False))
        assert backlog.take() is not None  # one left waiting
        assert backlog.take() is not None  # and then none
    assert backlog.dropped_ms == 0
