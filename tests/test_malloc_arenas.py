"""The agent's process keeps to two glibc malloc arenas however many threads allocate
(softphone/malloc_arenas.py: arenas that appear mid-call keep what ICE restarts freed)."""

from __future__ import annotations

import subprocess
import sys

import pytest

# Six threads allocating at once, then glibc's own account of its arenas (on stderr).
SCRIPT = """
import ctypes, sys, threading
from softphone.malloc_arenas import limit_malloc_arenas
if sys.argv[1] == "limit":
    assert limit_malloc_arenas()
start = threading.Barrier(6)
def allocate():
    start.wait()
    blocks = [bytearray(4096) for _ in range(2000)]
    del blocks
threads = [threading.Thread(target=allocate) for _ in range(6)]
for t in threads: t.start()
for t in threads: t.join()
ctypes.CDLL(None).malloc_stats()
"""

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc only")


def arenas(mode: str) -> int:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, mode], capture_output=True, text=True, timeout=60, check=True
    )
    return sum(line.startswith("Arena ") for line in done.stderr.splitlines())


def test_threads_share_two_arenas_once_limited() -> None:
    assert arenas("default") > 2  # glibc alone: an arena per allocating thread
    assert arenas("limit") <= 2
