"""The adaptive playout buffer with a fake clock: depth follows jitter, corrections happen
in silence, clock drift does not creep over an hour, gaps are concealed, reconnects flush."""

from __future__ import annotations

import random
from array import array
from collections.abc import Callable

from softphone.media.jitter_buffer import BufferPolicy, JitterBuffer, peak

RATE_KHZ = 8  # 8 kHz mono s16 keeps the one-hour simulation fast; the logic is rate-free
BYTES_PER_MS = RATE_KHZ * 2
FRAME_MS = 20
LOUD = array("h", [8000, -8000] * (RATE_KHZ * FRAME_MS // 2)).tobytes()  # a 20 ms "speech" frame
QUIET = bytes(len(LOUD))


def talk(seconds: float) -> bytes:
    """1.5 s of speech, then 0.5 s of pause, repeating: what a conversation gives."""
    return LOUD if seconds % 2.0 < 1.5 else QUIET


def simulate(
    buffer: JitterBuffer,
    seconds: float,
    *,
    start: float = 0.0,
    jitter_ms: Callable[[float], float] = lambda _t: 0.0,
    sender_ppm: float = 0.0,
    frames: Callable[[float], bytes] = talk,
    on_second: Callable[[float], None] | None = None,
    played: bytearray | None = None,
) -> None:
    """A sender of 20 ms frames (its clock off by ``sender_ppm``), a network adding
    ``jitter_ms(t)`` of delay, and a sink pulling 20 ms every 20 ms of real time."""
    arrivals: list[tuple[float, float, bytes]] = []
    index = first = round(start * 1000 / FRAME_MS)
    tick = 0
    ticks = round(seconds * 1000 / FRAME_MS)
    sink_t = start
    next_second = start + 1.0
    scale = 1.0 / (1.0 + sender_ppm / 1e6)  # a fast sender sends its frames sooner
    while tick < ticks:
        while not arrivals or arrivals[-1][0] - 0.001 < sink_t:
            sent = start + (index - first) * FRAME_MS / 1000 * scale
            arrivals.append((sent + jitter_ms(sent) / 1000, index * FRAME_MS, frames(sent)))
            index += 1
        arrivals.sort(key=lambda a: a[0])
        due = [a for a in arrivals if a[0] <= sink_t]
        arrivals = arrivals[len(due) :]
        for at, pts, pcm in sorted(due, key=lambda a: a[1]):
            buffer.push(pcm, at, pts)
        chunk = buffer.pull(FRAME_MS * BYTES_PER_MS)
        if played is not None:
            played += chunk
        tick += 1
        sink_t = start + tick * FRAME_MS / 1000
        if on_second is not None and sink_t >= next_second:
            next_second += 1.0
            on_second(sink_t)


def new_buffer(**policy: float) -> JitterBuffer:
    return JitterBuffer(BYTES_PER_MS, 2, BufferPolicy(**policy))  # type: ignore[arg-type]


def test_calm_network_plays_at_the_minimum_depth() -> None:
    buffer = new_buffer()
    depths = depth_each_second(buffer, 20)
    assert buffer.target_ms == buffer.policy.min_ms
    assert max(depths[5:]) <= buffer.policy.min_ms + buffer.policy.hysteresis_ms + FRAME_MS
    assert buffer.counters.underruns <= 2  # only while starting


def test_grows_under_jitter_and_drains_back_when_calm() -> None:
    buffer = new_buffer()
    rng = random.Random(7)
    simulate(buffer, 20, jitter_ms=lambda _t: rng.uniform(0, 60))
    grown = buffer.target_ms
    assert grown >= 50  # absorbs the 60 ms spread instead of underrunning
    underruns = buffer.counters.underruns
    simulate(buffer, 10, start=20, jitter_ms=lambda _t: rng.uniform(0, 60))
    assert buffer.counters.underruns - underruns <= 2  # once grown, jitter no longer starves it
    simulate(buffer, 60, start=30)
    assert buffer.target_ms <= buffer.policy.min_ms + 1
    assert buffer.depth_ms <= buffer.policy.min_ms + buffer.policy.hysteresis_ms + FRAME_MS


def test_depth_changes_never_cut_speech() -> None:
    """Shrinking after a jittery spell only drops pauses: every loud slice is played."""
    buffer = new_buffer()
    rng = random.Random(3)
    played = bytearray()

    def jitter(t: float) -> float:
        return rng.uniform(0, 80) if t < 10 else 0.0

    simulate(buffer, 40, jitter_ms=jitter, played=played)
    assert buffer.counters.dropped_ms > 0  # it did shrink
    assert buffer.counters.cut_ms == 0
    # Audio that came after its time (before the depth had grown) was concealed instead:
    # that is the only speech missing.
    late_slices = round(buffer.counters.late_ms / 10)
    slice_bytes = 10 * BYTES_PER_MS
    loud_in = sum(talk(i * FRAME_MS / 1000) is LOUD for i in range(40 * 1000 // FRAME_MS)) * 2
    loud_out = sum(
        peak(played[i : i + slice_bytes]) > 4000 for i in range(0, len(played), slice_bytes)
    )
    assert loud_out >= loud_in - late_slices - 4  # and the last frames still queued


def depth_each_second(buffer: JitterBuffer, seconds: float, **kwargs: object) -> list[float]:
    depths: list[float] = []
    simulate(buffer, seconds, on_second=lambda _t: depths.append(buffer.depth_ms), **kwargs)  # type: ignore[arg-type]
    return depths


def test_clock_drift_does_not_creep_over_an_hour() -> None:
    for ppm in (+150.0, -150.0):  # worse than a cheap sound card against an RTP clock
        buffer = new_buffer()
        depths = depth_each_second(buffer, 3600, sender_ppm=ppm)
        first, last = depths[10:70], depths[-60:]
        creep = sum(last) / len(last) - sum(first) / len(first)
        assert abs(creep) < 20, f"{ppm} ppm: the delay crept by {creep:.1f} ms in an hour"
        # Uncorrected, 150 ppm is 540 ms an hour: corrections happened, all in silence.
        corrected = buffer.counters.dropped_ms + buffer.counters.inserted_ms
        assert corrected >= 400 and buffer.counters.cut_ms == 0


def test_a_lost_packet_is_concealed_by_fading_the_last_audio() -> None:
    buffer = new_buffer(min_ms=0.0, margin_ms=0.0)
    buffer.push(LOUD, 0.0, 0)
    buffer.push(LOUD, 0.04, 40)  # the frame at 20 ms was lost
    assert buffer.counters.concealed_ms == 20
    audio = buffer.pull(10_000)
    gap = audio[FRAME_MS * BYTES_PER_MS : 2 * FRAME_MS * BYTES_PER_MS]
    assert 0 < peak(gap) < peak(LOUD)  # neither a hard silence nor full-level repetition
    assert len(audio) == 3 * FRAME_MS * BYTES_PER_MS  # the timeline stays intact


def test_a_long_timestamp_jump_is_a_new_stream_not_a_loss() -> None:
    buffer = new_buffer()
    buffer.push(LOUD, 0.0, 0)
    buffer.push(LOUD, 0.02, 5_000)  # e.g. the sender's timestamps after a restart
    assert buffer.counters.concealed_ms == 0


def test_flush_drops_old_speech() -> None:
    buffer = new_buffer()
    for i in range(10):
        buffer.push(LOUD, i * 0.02, i * 20)
    buffer.flush()
    assert len(buffer) == 0 and not buffer.primed
    buffer.push(QUIET, 1.0, 5_000)
    assert buffer.counters.concealed_ms == 0  # no "gap" bridged across the flush


def test_a_burst_after_a_reconnect_never_replays_seconds_of_old_speech() -> None:
    """The path was cut for 5 s; then 3 s of stale audio arrive at once, then live audio."""
    buffer = new_buffer()
    simulate(buffer, 5)
    for i in range(150):  # the burst: 3 s of old frames within a few milliseconds
        buffer.push(LOUD, 10.0 + i * 0.00002, 5_000 + i * 20)
    assert buffer.depth_ms <= buffer.policy.cap_ms
    played = bytearray()
    simulate(buffer, 5, start=10.0, frames=lambda _t: QUIET, played=played)
    # At most cap_ms of the stale speech is played before live audio (silence) follows.
    slice_bytes = 10 * BYTES_PER_MS
    stale_ms = 10 * sum(
        peak(played[i : i + slice_bytes]) > 4000 for i in range(0, len(played), slice_bytes)
    )
    assert stale_ms <= buffer.policy.cap_ms
    assert buffer.depth_ms <= buffer.policy.min_ms + buffer.policy.hysteresis_ms + FRAME_MS


def test_late_audio_is_concealed_in_time_and_not_played_behind_time() -> None:
    buffer = new_buffer(min_ms=20.0, margin_ms=0.0)
    frame_bytes = FRAME_MS * BYTES_PER_MS
    buffer.push(LOUD, 0.00, 0)
    buffer.push(LOUD, 0.02, 20)
    assert len(buffer.pull(frame_bytes)) == frame_bytes
    assert len(buffer.pull(frame_bytes)) == frame_bytes
    # The frame for 40-60 ms is late: the sink gets concealment, not a hole.
    filler = buffer.pull(frame_bytes)
    assert len(filler) == frame_bytes and 0 < peak(filler) < peak(LOUD)
    buffer.push(LOUD, 0.07, 40)  # it arrives after its time: dropped
    buffer.push(LOUD, 0.07, 60)  # the next one is on time again
    assert buffer.counters.late_ms == FRAME_MS
    assert buffer.depth_ms == FRAME_MS  # the timeline did not slip behind


def test_an_outage_is_not_concealed_forever() -> None:
    buffer = new_buffer()
    for i in range(3):
        buffer.push(LOUD, i * 0.02, i * 20)
    played = b"".join(buffer.pull(FRAME_MS * BYTES_PER_MS) for _ in range(20))  # 400 ms
    assert len(played) <= (60 + buffer.policy.max_conceal_ms) * BYTES_PER_MS
    assert not buffer.primed  # waits for audio, then re-primes to the target


def test_topping_up_a_sink_that_still_has_audio_conceals_nothing() -> None:
    buffer = new_buffer(min_ms=20.0, margin_ms=0.0)
    buffer.push(LOUD, 0.0, 0)
    chunk = buffer.pull(5 * FRAME_MS * BYTES_PER_MS, starving=False)
    assert chunk == LOUD  # what there is, no concealment appended
    assert buffer.counters.concealed_ms == 0 and buffer.counters.underruns == 0


def test_no_depth_correction_inside_a_word() -> None:
    """A 10 ms dip between loud stretches is speech, not a pause: it is never dropped."""
    buffer = new_buffer(min_ms=20.0, margin_ms=0.0, hysteresis_ms=1.0)
    dip = LOUD[: 10 * BYTES_PER_MS] + bytes(10 * BYTES_PER_MS)  # 10 ms loud, 10 ms quiet
    for i in range(20):
        buffer.push(dip, 0.0, i * FRAME_MS)  # 400 ms at once: far above the target
    played = b"".join(buffer.pull(FRAME_MS * BYTES_PER_MS) for _ in range(20))
    assert buffer.counters.dropped_ms == 0
    assert played == dip * 20
