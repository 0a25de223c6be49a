"""Signaling nodes as processes on the host's loopback (no namespaces): for the cluster
tests that need only sockets, and the load bench. Each takes a free port, logs to a file,
and is stopped by PID (:func:`labnet.netns.stop_process`)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path

from labnet.netns import stop_process


class LoopbackNode:
    def __init__(
        self,
        name: str,
        *args: str,
        config: str = "",
        env: Mapping[str, str] | None = None,
        redis_url: str | None = None,
    ) -> None:
        self.name = name
        self._dir = tempfile.TemporaryDirectory(prefix=f"softphone-{name}-")
        self.log = Path(self._dir.name) / "server.log"
        argv = [sys.executable, "-m", "softphone.signaling.server", "--node", name]
        argv += ["--host", "127.0.0.1", "--port", "0", *args]
        if config:
            path = Path(self._dir.name) / "server.toml"
            path.write_text(config)
            argv += ["--config", str(path)]
        if redis_url:
            argv += ["--redis-url", redis_url]
        self._argv = argv
        self._env = {**os.environ, **(env or {})}
        self.proc: subprocess.Popen[str] | None = None
        self.url = ""

    def start(self, timeout: float = 20.0) -> LoopbackNode:
        with open(self.log, "a") as log:
            self.proc = subprocess.Popen(
                self._argv, env=self._env, stdout=subprocess.PIPE, stderr=log, text=True
            )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()  # the banner; bounded by the server's own start
        match = re.search(r"(ws://\S+)", line)
        if not match:
            self.stop()
            raise RuntimeError(f"{self.name} did not start: {line!r} {self.log_text()[-800:]}")
        self.url = match.group(1)
        return self

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def wait_log(self, text: str, timeout: float, after: int = 0) -> int:
        """Wait for ``text`` in the log past character ``after``; returns the log's end."""
        deadline = time.monotonic() + timeout
        while True:
            log = self.log_text()
            if text in log[after:]:
                return len(log)
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.name}: no {text!r} within {timeout} s: {log[-800:]}")
            time.sleep(0.05)

    def health(self) -> str:
        """``/healthz``'s body (on a cluster node: Redis up or down, the leader)."""
        url = self.url.replace("ws://", "http://").removesuffix("/ws") + "/healthz"
        try:
            with urllib.request.urlopen(url, timeout=2.0) as answer:
                return str(answer.read().decode())
        except urllib.error.HTTPError as refused:  # 503: neither leading nor on Redis
            return str(refused.read().decode())

    def wait_health(self, text: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while text not in (body := self.health()):
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.name}: /healthz {body!r}, not {text!r}")
            time.sleep(0.1)

    def kill(self) -> None:
        """SIGKILL: no drain, no goodbye."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc)
            self.proc = None

    def close(self) -> None:
        self.stop()
        self._dir.cleanup()


def start_nodes(
    names: Sequence[str],
    redis_url: str,
    *args: str,
    config: str = "",
    env: Mapping[str, str] | None = None,
    leader_wait: float = 10.0,
) -> list[LoopbackNode]:
    """Nodes started in order, the first one leading (it takes the lease before the next
    one starts)."""
    nodes: list[LoopbackNode] = []
    try:
        for name in names:
            node = LoopbackNode(name, *args, config=config, env=env, redis_url=redis_url)
            nodes.append(node)
            node.start()
            node.wait_health(f"leader {names[0]}", leader_wait)
    except BaseException:
        for node in nodes:  # none is left behind
            node.close()
        raise
    return nodes
