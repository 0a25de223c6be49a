"""Counting doors: failed sign-ins with an exponential lockout, and per-minute windows.

Both are bounded (least recently used keys go first), so an attacker cycling addresses
cannot grow them without limit.
"""

from __future__ import annotations

import time
from collections import OrderedDict, deque

_MAX_KEYS = 20_000


class SignInThrottle:
    """The ``free``-th failure for a key (an address, an agent name) locks it for 1 s, each
    further one for twice as long as the last, up to ``max_lockout``. A success forgets the
    key."""

    def __init__(self, free: int, max_lockout: float) -> None:
        self.free, self.max_lockout = free, max_lockout
        self._keys: OrderedDict[str, tuple[int, float]] = OrderedDict()  # failures, until

    def retry_after(self, key: str) -> float:
        """Seconds until ``key`` may try again (0: now)."""
        entry = self._keys.get(key)
        return max(0.0, entry[1] - time.monotonic()) if entry else 0.0

    def failed(self, key: str) -> float:
        """Count a failure; returns the lockout it earned (0: none yet)."""
        failures = self._keys.pop(key, (0, 0.0))[0] + 1
        over = failures - self.free
        lockout = min(self.max_lockout, 2.0**over) if over >= 0 else 0.0
        self._keys[key] = (failures, time.monotonic() + lockout)
        if len(self._keys) > _MAX_KEYS:
            self._keys.popitem(last=False)
        return lockout

    def succeeded(self, key: str) -> None:
        self._keys.pop(key, None)


class RateWindow:
    """At most ``limit`` events per key in any ``window`` seconds."""

    def __init__(self, limit: int, window: float = 60.0) -> None:
        self.limit, self.window = limit, window
        self._events: OrderedDict[str, deque[float]] = OrderedDict()

    def allow(self, key: str) -> bool:
        """Count one event for ``key`` if it stays within the limit."""
        now = time.monotonic()
        events = self._events.pop(key, None) or deque()
        while events and events[0] <= now - self.window:
            events.popleft()
        self._events[key] = events
        if len(self._events) > _MAX_KEYS:
            self._events.popitem(last=False)
        if len(events) >= self.limit:
            return False
        events.append(now)
        return True
