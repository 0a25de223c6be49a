"""A private X server (Xvfb) for tests that need real X input: XTest key presses, another
client holding the focus. Standard library only; the display number is the server's own
free pick (``-displayfd``), so parallel runs never collide."""

from __future__ import annotations

import contextlib
import os
import select
import shutil
import subprocess
from collections.abc import Iterator

START_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 5.0


def xvfb_available() -> bool:
    return shutil.which("Xvfb") is not None


@contextlib.contextmanager
def private_xvfb(*options: str) -> Iterator[str]:
    """Start Xvfb on a free display and yield its name (":N"); killed by PID on exit.
    ``options`` go to Xvfb, e.g. ("-extension", "RECORD") for a server without it."""
    read_fd, write_fd = os.pipe()
    server = subprocess.Popen(
        [
            "Xvfb",
            "-displayfd",
            str(write_fd),
            "-screen",
            "0",
            "800x600x24",
            "-nolisten",
            "tcp",
            *options,
        ],
        pass_fds=(write_fd,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write_fd)
    try:
        ready, _, _ = select.select([read_fd], [], [], START_TIMEOUT_S)
        number = os.read(read_fd, 16).decode().strip() if ready else ""
        if not number.isdigit():
            raise RuntimeError(f"Xvfb did not start within {START_TIMEOUT_S:g} s")
        yield f":{number}"
    finally:
        os.close(read_fd)
        server.terminate()
        try:
            server.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(STOP_TIMEOUT_S)
