"""At most two glibc malloc arenas for the agent's process.

glibc gives every thread that first allocates an arena of its own (up to eight per core),
and what is freed in one arena is only reused by the threads of that arena. In a call,
asyncio's default executor adds worker threads as the load comes and goes (aiortc encodes
every frame there, aioice resolves STUN/TURN hosts there), so over a day of ICE restarts new
arenas appear and keep the pages the restarts freed: over 100 restarts in one call the agent
grew +9.7 to +11.4 MiB with glibc's default and +8.1 to +9.4 MiB with two arenas
(bench/restart_memory.py, docs/networks.md "Memory across restarts"). Two arenas are plenty
for a process whose threads mostly wait (the event loop and a couple of codec workers).
Must run before those threads exist: the entry points call it first.
"""

from __future__ import annotations

import ctypes
import logging
import sys

log = logging.getLogger(__name__)
M_ARENA_MAX = -8  # glibc's malloc.h
ARENAS = 2


def limit_malloc_arenas() -> bool:
    """Cap glibc's arenas at ``ARENAS``; False where there is no glibc to tell (not Linux,
    or a libc without ``mallopt``)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    done = bool(mallopt(M_ARENA_MAX, ARENAS))
    log.debug("malloc.arenas", extra={"max": ARENAS, "applied": done})
    return done
