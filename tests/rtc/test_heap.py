"""softphone.rtc.heap: freed C-heap pages go back to the system (glibc Linux)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

# A child process, so the test's own heap history does not matter: it fragments its heap the
# way TLS connections do (freed buffers between blocks that stay), frees the buffers, and
# prints its RSS before and after trim_heap().
CHILD = r"""
import ctypes, ctypes.util, os
from softphone.rtc.heap import trim_heap
libc = ctypes.CDLL(ctypes.util.find_library("c"))
libc.malloc.restype = ctypes.c_void_p
libc.malloc.argtypes = [ctypes.c_size_t]
libc.free.argtypes = [ctypes.c_void_p]
# M_MMAP_THRESHOLD (at most 32 MiB): 256 KiB blocks from the heap, as after a first free
assert libc.mallopt(-3, 1 << 20) == 1
def rss_kb():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024
big, pins = [], []
for _ in range(200):
    block = libc.malloc(256 * 1024)
    ctypes.memset(block, 1, 256 * 1024)
    big.append(block)
    # Stays between the big blocks (large enough to come from the heap's top, not from a
    # free list below: freed big blocks would merge into the top and be trimmed by free()).
    pins.append(libc.malloc(128 * 1024))
for block in big:
    libc.free(block)
before = rss_kb()
trimmed = trim_heap()
print(before, rss_kb(), int(trimmed))
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="malloc_trim is glibc's")
def test_trim_heap_returns_freed_fragmented_pages() -> None:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    out = subprocess.run(
        [sys.executable, "-c", CHILD],
        check=False, capture_output=True, text=True, env=env, timeout=30,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    before, after, trimmed = map(int, out.stdout.split())
    assert trimmed, "glibc has malloc_trim"
    # 200 x 256 KiB were freed but stayed resident (held in by the pins).
    assert before - after > 30_000, (before, after)
