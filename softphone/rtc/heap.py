"""Give the C heap's free pages back to the system after an ICE restart (glibc only).

Every restart over TURN/TLS opens a TLS connection and closes the replaced one. What
OpenSSL and asyncio's SSL layer free (a 256 KiB read buffer per connection among many small
blocks) stays in glibc's heap, fragmented, and the process grew ~0.1-0.2 MiB per restart
for good although no Python object survived (bench/restart_memory.py: +23 MiB over 100
restarts). ``malloc_trim(0)`` returns every whole free page of every arena to the system
(``madvise``); it costs a few milliseconds, once per restart. Elsewhere (macOS, Windows,
musl) there is no such call and nothing is done.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import sys
from collections.abc import Callable


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        trim = libc.malloc_trim
    except (OSError, AttributeError):  # not glibc
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return trim


def trim_heap() -> bool:
    """Return free heap pages to the system; False where the C library cannot."""
    trim = _malloc_trim()
    if trim is None:
        return False
    trim(0)
    return True
