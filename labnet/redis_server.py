"""Debian's ``redis-server`` for tests and benches: no persistence, one loopback port.

In a topology's namespace (the hub, where the signaling nodes run) or on the host's
loopback. ``--save '' --appendonly no`` and a throw-away ``--dir``: a restart starts empty,
as a Redis restarted without persistence does, which is the case the nodes must survive.
Stopped by PID (:func:`labnet.netns.stop_process`), never by name.
"""

from __future__ import annotations

import socket
import subprocess
import tempfile
from pathlib import Path

from labnet.netns import JsonLines, Topology, stop_process


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class RedisServer:
    def __init__(self, topo: Topology | None = None, port: int | None = None) -> None:
        self.topo = topo
        self.port = port or free_port()
        self.process: JsonLines | None = None
        self._dir = tempfile.TemporaryDirectory(prefix="softphone-redis-")

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def pid(self) -> int:
        assert self.process is not None, "start() first"
        return self.process.proc.pid

    def start(self, timeout: float = 10.0) -> RedisServer:
        argv = [
            "redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
            "--save", "", "--appendonly", "no", "--dir", self._dir.name,
            "--daemonize", "no", "--logfile", "", "--protected-mode", "yes",
        ]  # fmt: skip
        if self.topo is not None:
            self.process = self.topo.spawn(self.topo.hub, "redis", argv)
        else:
            log = Path(self._dir.name) / "stderr.log"
            with open(log, "w") as stderr:
                proc = subprocess.Popen(
                    argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr, text=True
                )
            self.process = JsonLines(proc, "redis", log)
        self.process.expect(
            lambda e: "Ready to accept connections" in e.get("text", ""), timeout, "redis ready"
        )
        return self

    def stop(self, kill: bool = False) -> None:
        """SIGKILL (a crash) or SIGTERM, by PID."""
        if self.process is None:
            return
        if kill:
            self.process.proc.kill()
            self.process.proc.wait(5)
        stop_process(self.process.proc)
        self.process = None

    def close(self) -> None:
        self.stop()
        self._dir.cleanup()

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()
