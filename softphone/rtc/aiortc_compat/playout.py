"""When a received video frame goes to the decoder: a playout delay that adapts to lateness.

Part of seam 9 (:mod:`.video_jitter`, whose decoder queue this is). aiortc decodes a frame
the moment its last packet arrives. Under loss that makes every retransmission a visible
stall: at 30 % loss each way, a frame whose packet took three NACKs (20-300 ms) froze the
picture for that long, and the agent saw 9-15 gaps of 0.3 s or more in 20 s where
Chromium, receiving the same stream, saw 1-3 in most runs (docs/networks.md, "A playout
delay").
Chromium holds each frame until its capture time plus a delay that covers recent frames'
lateness (its ``jitterBufferDelay`` was ~0.2 s a frame at 30 % loss); a frame recovered
within that delay is shown on time and the gap disappears.

:class:`PlayoutTiming` does the same on the RTP timestamp: a frame's *offset* is its
arrival minus its capture time; the lowest offset of the last ``WINDOW_S`` is the on-time
baseline; the delay is the ``QUANTILE`` of the window's lateness, capped at
``MAX_DELAY_S`` (a bound on how far the picture may trail the voice). It rises at once and
eases down by ``EASE_PER_S``, so a clean network returns to ~10 ms without a burst.
:class:`TimedQueue` is the decoder thread's input: ``get`` hands an item out at its due
time, in order, and ``None`` (the receiver stopping) at once.
"""

from __future__ import annotations

import collections
import queue
import time
from typing import Any

WINDOW_S = 5.0
"""How much recent history sets the baseline and the delay."""
QUANTILE = 0.9
"""The share of recent frames the delay covers."""
MAX_DELAY_S = 0.3
"""The most the picture may be held back (it is not synchronised with the voice)."""
EASE_PER_S = 0.05
"""How fast the delay comes down once frames arrive on time again (seconds per second)."""
DISCONTINUITY_S = 2.0
"""An offset this far from the previous one is a new timeline (a new sender or SSRC, a
timestamp jump): the history is dropped."""


class PlayoutTiming:
    """Due times for one stream's frames, in arrival order (see the module docstring)."""

    def __init__(self, clock_rate: int = 90_000) -> None:
        self._rate = clock_rate
        self._offsets: collections.deque[tuple[float, float]] = collections.deque()
        self._delay = 0.0
        self._delay_at = 0.0
        self._last_due = float("-inf")

    def due(self, timestamp: int, now: float) -> float:
        """When the frame with this (unwrapped) RTP timestamp, complete at ``now``, is to be
        decoded: never before an earlier frame's due time."""
        captured = timestamp / self._rate
        offset = now - captured
        if self._offsets and abs(offset - self._offsets[-1][1]) > DISCONTINUITY_S:
            self._offsets.clear()
        self._offsets.append((now, offset))
        while self._offsets[0][0] < now - WINDOW_S:
            self._offsets.popleft()
        baseline = min(o for _, o in self._offsets)
        lateness = sorted(o - baseline for _, o in self._offsets)
        target = min(MAX_DELAY_S, lateness[int(QUANTILE * (len(lateness) - 1))])
        eased = self._delay - EASE_PER_S * (now - self._delay_at)
        self._delay = target if target >= self._delay else max(target, eased)
        self._delay_at = now
        self._last_due = max(baseline + captured + self._delay, self._last_due)
        return self._last_due


class TimedQueue(queue.Queue[Any]):
    """A FIFO whose consumer gets each item at the due time it was put with."""

    def put_due(self, item: Any, due: float) -> None:
        """Queue ``item`` for ``get`` at ``due`` (``time.monotonic``); a None is handed out
        at once, ahead of what waits."""
        super().put((due, item))

    def put(self, item: Any, block: bool = True, timeout: float | None = None) -> None:
        """Queue ``item``, due at once (behind what is queued, unless it is None)."""
        self.put_due(item, float("-inf"))

    def get(self, block: bool = True, timeout: float | None = None) -> Any:
        """The oldest item once it is due; None as soon as it is queued. ``queue.Empty``
        when nothing is due (``block`` False) or nothing fell due within ``timeout``."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self.not_empty:
            while True:
                if self._qsize() and self.queue[-1][1] is None:
                    self.queue.clear()
                    return None
                now = time.monotonic()
                wait = self.queue[0][0] - now if self._qsize() else None
                if wait is not None and wait <= 0:
                    break
                if not block or (deadline is not None and deadline <= now):
                    raise queue.Empty
                if deadline is not None:
                    wait = deadline - now if wait is None else min(wait, deadline - now)
                self.not_empty.wait(wait)
            _, item = self._get()
            self.not_full.notify()
            return item
