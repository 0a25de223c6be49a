"""Real-time pacing for generated media, so virtual sources behave like devices."""

from __future__ import annotations

import asyncio
import fractions
import time


class FramePacer:
    """Hands out presentation timestamps at ``rate`` frames/s and sleeps until each is due.

    Sleeping against an absolute start time (not a fixed delay per frame) keeps long
    calls from drifting when the loop is briefly late.
    """

    def __init__(self, clock_rate: int, frames_per_second: float) -> None:
        self.time_base = fractions.Fraction(1, clock_rate)
        self._ticks_per_frame = clock_rate / frames_per_second
        self._period = 1.0 / frames_per_second
        self._start: float | None = None
        self._index = 0

    async def next_pts(self) -> int:
        now = time.monotonic()
        if self._start is None:
            self._start = now
        else:
            self._index += 1
            due = self._start + self._index * self._period
            if due > now:
                await asyncio.sleep(due - now)
        return round(self._index * self._ticks_per_frame)
