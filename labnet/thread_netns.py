"""Run this thread inside a network namespace of labnet/netns.py for a while (setns(2)).

For a GUI under test or a screenshot: Qt, the asyncio loop and every socket the session
opens stay in this process (so widgets can be read directly), yet the session's traffic
goes over the namespace's link, which the harness can cut. Threads started meanwhile
inherit the namespace; sockets keep the one they were created in. Linux, root only.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
from collections.abc import Iterator

CLONE_NEWNET = 0x40000000


def _setns(fd: int) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.setns(fd, CLONE_NEWNET) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"setns: {os.strerror(errno)}")


@contextlib.contextmanager
def network_namespace(ns: str) -> Iterator[None]:
    """This thread in ``ns`` (an ``ip netns`` name) until the block ends, then back."""
    home = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    try:
        target = os.open(f"/run/netns/{ns}", os.O_RDONLY)
        try:
            _setns(target)
        finally:
            os.close(target)
        try:
            yield
        finally:
            _setns(home)
    finally:
        os.close(home)
