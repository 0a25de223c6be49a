"""The adaptive playout buffer between the Opus decoder and the sound card.

Why adaptive: a fixed depth is either too deep on a calm network (every millisecond of it
is mouth-to-ear delay) or too shallow under jitter (underruns, i.e. clicks and gaps). The
target depth follows the measured arrival spread: it grows at once when audio arrives late
and drains back slowly when the network calms down.

Depth changes, and the slow creep between the sender's clock and the sound card's (drift),
are corrected in silence: whole 10 ms slices of silence are dropped or inserted, never
speech. Only a runaway backlog (beyond ``cap_ms``, e.g. a burst after a reconnect) is cut
in speech, oldest first: live audio beats old audio. A gap in the media timestamps (lost
packets) is concealed with the last audio fading out, not a hard click of silence.

Pure logic on bytes with the caller's clock, so it is tested with a fake one.
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass

CONCEAL_GAINS = (0.8, 0.55, 0.35, 0.2, 0.1)  # per 10 ms of a gap, then silence
PAUSE_SLICES = 3  # a pause: what was just played and the next 3 slices are all quiet
LEVEL_SMOOTHING = 0.1  # per pull: pulls come every 10-20 ms, so ~0.1-0.2 s of memory


class Spread:
    """How late things have been lately: jumps up to any new lateness at once, decays with
    time constant ``release_s`` when calm. Sizes the jitter buffer and the sink's lead."""

    def __init__(self, release_s: float) -> None:
        self.release_s = release_s
        self.ms = 0.0

    def observe(self, late_ms: float, elapsed_s: float) -> float:
        self.ms *= max(0.0, 1 - elapsed_s / self.release_s)
        self.ms = max(late_ms, self.ms)
        return self.ms


@dataclass(frozen=True)
class BufferPolicy:
    min_ms: float = 20.0  # target depth on a calm network
    max_ms: float = 200.0  # target depth never grows beyond this
    cap_ms: float = 600.0  # beyond this the oldest audio goes, even speech
    margin_ms: float = 10.0  # added to the measured spread
    release_s: float = 8.0  # time constant of draining back when calm
    hysteresis_ms: float = 6.0  # no correction within target ± this (a slice is 10 ms)
    slice_ms: int = 10  # unit of drops, insertions and concealment
    silence_peak: int = 800  # s16 peak below which a slice counts as silence (≈ -32 dBFS)
    max_conceal_ms: float = 120.0  # a longer timestamp gap is a new talkspurt, not a loss
    outage_s: float = 0.3  # nothing arrived for this long: restart the timing reference


@dataclass
class BufferCounters:
    dropped_ms: float = 0.0  # silence dropped to shrink the depth
    inserted_ms: float = 0.0  # silence inserted to grow it
    cut_ms: float = 0.0  # audio cut because the backlog passed cap_ms
    concealed_ms: float = 0.0  # gaps filled by concealment (lost or late audio)
    late_ms: float = 0.0  # audio that came after its time had been concealed
    underruns: int = 0
    flushes: int = 0


class JitterBuffer:
    """PCM in the sink's format (interleaved s16): ``push`` decoded audio, ``pull`` for the
    sink. ``now`` is seconds on any monotonic clock; ``pts_ms`` the media timestamp."""

    def __init__(
        self, bytes_per_ms: int, frame_bytes: int, policy: BufferPolicy | None = None
    ) -> None:
        self.bytes_per_ms = bytes_per_ms
        self.frame_bytes = frame_bytes  # never split a sample frame
        self.policy = policy or BufferPolicy()
        self.counters = BufferCounters()
        self.primed = False
        self._data = bytearray()
        self._slice = self.policy.slice_ms * bytes_per_ms
        self._last_slice = bytes(self._slice)
        self._spread = Spread(self.policy.release_s)
        self._base_transit: float | None = None  # smallest now - media time seen lately
        self._next_pts_ms: float | None = None
        self._last_push: float | None = None
        self._level_ms = 0.0  # what stays queued after a pull, smoothed over a few pulls
        self._expanded_ms = 0.0  # concealment played since the last real audio
        self._quiet_out = True  # the end of the last pull was silence

    # --- state -----------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._data)

    @property
    def depth_ms(self) -> float:
        return len(self._data) / self.bytes_per_ms

    @property
    def target_ms(self) -> float:
        p = self.policy
        return min(p.max_ms, max(p.min_ms, self._spread.ms + p.margin_ms))

    # --- input -----------------------------------------------------------------------------

    def push(self, pcm: bytes, now: float, pts_ms: float | None = None) -> None:
        p = self.policy
        if self._last_push is not None and now - self._last_push > p.outage_s:
            self._restart_timing()  # after an outage the old reference means nothing
        self._last_push = now
        duration_ms = len(pcm) / self.bytes_per_ms
        if pts_ms is None:
            pts_ms = self._next_pts_ms if self._next_pts_ms is not None else 0.0
        if self._next_pts_ms is not None:
            gap_ms = pts_ms - self._next_pts_ms
            if abs(gap_ms) > p.max_conceal_ms:
                self._restart_timing()  # a new stream or talkspurt: new reference
            elif gap_ms >= p.slice_ms / 2:
                self._conceal(gap_ms)
            elif gap_ms <= -p.slice_ms / 2:
                # Too late: its time was concealed already. Play only what is still ahead.
                late = min(len(pcm), int(-gap_ms * self.bytes_per_ms))
                late -= late % self.frame_bytes
                self.counters.late_ms += late / self.bytes_per_ms
                pcm, pts_ms = pcm[late:], pts_ms + late / self.bytes_per_ms
                duration_ms = len(pcm) / self.bytes_per_ms
                if not pcm:
                    return
        self._expanded_ms = 0.0
        self._next_pts_ms = pts_ms + duration_ms
        self._measure(now, pts_ms + duration_ms, duration_ms / 1000)
        self._data += pcm[: len(pcm) - len(pcm) % self.frame_bytes]
        if len(pcm) >= self._slice:
            self._last_slice = bytes(pcm[-self._slice :])
        self._cap()
        if self.depth_ms >= self.target_ms:
            self.primed = True

    def flush(self) -> None:
        """Back to live audio, e.g. after a reconnect: whatever is queued is old speech."""
        self._data.clear()
        self.primed = False
        self._level_ms = 0.0
        self.counters.flushes += 1
        self._restart_timing()

    def _restart_timing(self) -> None:
        self._base_transit = None
        self._next_pts_ms = None

    def _measure(self, now: float, end_pts_ms: float, seconds: float) -> None:
        """Arrival spread: how much later than the earliest-arriving audio this audio is.

        The spread jumps up at once and decays with ``release_s``; the base creeps up by
        0.2 ms/s so that clock drift (up to 200 ppm) never reads as lateness.
        """
        transit = now * 1000 - end_pts_ms
        if self._base_transit is None or transit < self._base_transit:
            self._base_transit = transit
        self._spread.observe(transit - self._base_transit, seconds)
        self._base_transit += 0.2 * seconds

    def _conceal(self, gap_ms: float) -> None:
        """Fill a gap of lost audio: the last slice again, fading out, then silence."""
        slices = max(1, round(gap_ms / self.policy.slice_ms))
        self._data += self._concealment(0, slices * self._slice)
        self.counters.concealed_ms += slices * self.policy.slice_ms

    def _concealment(self, first_slice: int, size: int) -> bytes:
        out = bytearray()
        index = first_slice
        while len(out) < size:
            gain = CONCEAL_GAINS[index] if index < len(CONCEAL_GAINS) else 0.0
            out += scaled(self._last_slice, gain)
            index += 1
        return bytes(out[:size])

    def _cap(self) -> None:
        excess = len(self._data) - int(self.policy.cap_ms * self.bytes_per_ms)
        if excess > 0:
            keep = int(self.target_ms * self.bytes_per_ms)
            cut = len(self._data) - keep
            cut -= cut % self.frame_bytes
            del self._data[:cut]
            self.counters.cut_ms += cut / self.bytes_per_ms

    # --- output ----------------------------------------------------------------------------

    def pull(self, max_bytes: int, *, starving: bool = True) -> bytes:
        """Up to ``max_bytes`` for the sink (what it plays next), after at most one depth
        correction in silence. ``starving``: the sink is about to run dry, so what has not
        arrived is concealed now; otherwise it just gets what there is (topping up)."""
        if not self.primed:
            return b""
        if not starving:
            max_bytes = min(max_bytes, len(self._data) - len(self._data) % self.frame_bytes)
        remaining_ms = (len(self._data) - max_bytes) / self.bytes_per_ms
        self._level_ms += LEVEL_SMOOTHING * (remaining_ms - self._level_ms)
        self._correct_depth()
        count = min(max_bytes, len(self._data))
        count -= count % self.frame_bytes
        chunk = bytes(self._data[:count])
        del self._data[:count]
        short = max_bytes - max_bytes % self.frame_bytes - count
        if short > 0:
            self.counters.underruns += 1
            chunk += self._expand(short)
        if chunk:
            self._quiet_out = peak(chunk[-self._slice :]) <= self.policy.silence_peak
        return chunk

    def _expand(self, size: int) -> bytes:
        """The sink needs audio that has not arrived (late or lost): conceal it now and move
        the timeline on, so the late audio is not played behind time. After ``max_conceal_ms``
        of that, it is an outage: stop, and re-prime when audio comes back."""
        size_ms = size / self.bytes_per_ms
        if self._next_pts_ms is None or self._expanded_ms + size_ms > self.policy.max_conceal_ms:
            self.primed = False
            return b""
        first = int(self._expanded_ms // self.policy.slice_ms)
        self._expanded_ms += size_ms
        self._next_pts_ms += size_ms
        self.counters.concealed_ms += size_ms
        return self._concealment(first, size)

    def _correct_depth(self) -> None:
        """Steer the smoothed level (not one sawtooth sample of it) towards the target."""
        error = self._level_ms - self.target_ms
        if abs(error) <= self.policy.hysteresis_ms or len(self._data) < self._slice:
            return
        ahead = self._data[: PAUSE_SLICES * self._slice]
        if not self._quiet_out or peak(ahead) > self.policy.silence_peak:
            return  # speech, or a short dip inside a word: wait for a real pause
        if error > 0:
            del self._data[: self._slice]
            self.counters.dropped_ms += self.policy.slice_ms
            self._level_ms -= self.policy.slice_ms
        else:
            self._data[:0] = bytes(self._slice)
            self.counters.inserted_ms += self.policy.slice_ms
            self._level_ms += self.policy.slice_ms


def peak(pcm: bytes | bytearray) -> int:
    samples = array("h", bytes(pcm[: len(pcm) - len(pcm) % 2]))
    return max(max(samples, default=0), -min(samples, default=0))


def scaled(pcm: bytes, gain: float) -> bytes:
    if gain == 0.0:
        return bytes(len(pcm))
    samples = array("h", pcm)
    return array("h", (int(s * gain) for s in samples)).tobytes()
