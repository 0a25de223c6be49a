"""Real network faults for tests and benchmarks: namespaces, veth links, cuts, handovers.

Layout (one per test; root only; addresses from 198.18.0.0/15, docs/architecture.md
"Network rules")::

    agent ns                hub ns (signaling server, ip_forward=1)          visitor ns
    eth0 198.18.1.2/24 ---- agent0 198.18.1.1/24 | visitor0 198.18.2.1/24 ---- eth0 198.18.2.2/24

Faults are the ones real networks have and this machine can make (no tc/netem here):
a cut (the hub side of a link goes down: the endpoint sees carrier loss, like a pulled
cable or a dead Wi-Fi), an address switch (handover), a blackhole route (one-way loss)
and a cut of the forwarded peer-to-peer path only (media dies, signaling lives).
Processes run inside a namespace and report JSON lines on stdout (:class:`JsonLines`).

Everything is bounded and cleaned up: :class:`Topology` is a context manager that kills
the processes it started (by PID) and deletes its namespaces; :func:`sweep_stale` removes
what a crashed run left behind. Standard library only, so bench scripts and tests share it.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from types import TracebackType
from typing import Any

PREFIX = "spn"  # softphone netns; + 5 hex + role letter = 9 chars (IFNAMSIZ is 15)
OWNERS = Path(tempfile.gettempdir()) / "softphone-netns"  # name -> creator pid
# `ip netns exec NS` bind-mounts the files in /etc/netns/NS/ over /etc/ for what it starts:
# a namespace's own /etc/hosts, i.e. host names only that namespace resolves (name_hosts()).
NETNS_ETC = Path("/etc/netns")
COMMAND_TIMEOUT_S = 10.0

Event = dict[str, Any]


def run(*argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        argv, check=check, capture_output=True, text=True, timeout=COMMAND_TIMEOUT_S
    )


def can_create_namespaces() -> bool:
    return os.geteuid() == 0 and run("ip", "netns", "list", check=False).returncode == 0


@dataclass(frozen=True)
class Side:
    """One endpoint namespace and its link to the hub."""

    ns: str
    hub_dev: str  # the hub end of the veth: cutting it is a cable pull for the endpoint
    dev: str  # the endpoint's end
    address: str
    gateway: str  # the hub's address on this link
    prefix: int = 24
    server: str | None = None  # the signaling server's address when not the gateway (NAT)


class JsonLines:
    """A process's stdout as parsed JSON events, collected by a thread; waits are bounded."""

    def __init__(self, proc: subprocess.Popen[str], name: str, stderr: Path) -> None:
        self.proc, self.name, self.stderr = proc, name, stderr
        self.events: list[Event] = []
        self._cond = threading.Condition()
        self._thread = threading.Thread(target=self._read, name=f"jsonlines-{name}", daemon=True)
        self._thread.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            try:
                event = json.loads(line)
            except ValueError:
                event = None
            if not isinstance(event, dict):
                event = {"text": line.rstrip()}  # e.g. a server's "listening on" banner
            with self._cond:
                self.events.append(event)
                self._cond.notify_all()
        with self._cond:
            self._cond.notify_all()

    def send(self, command: str) -> None:
        """A command line on the process's stdin (see labnet/call_runner.py)."""
        assert self.proc.stdin is not None
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()

    def snapshot(self) -> list[Event]:
        with self._cond:
            return list(self.events)

    def wait_for(
        self, predicate: Callable[[Event], bool], timeout: float, *, after: int = 0
    ) -> Event | None:
        """The first event at index >= ``after`` that matches, or None after ``timeout`` s."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for event in self.events[after:]:
                    if predicate(event):
                        return event
                remaining = deadline - time.monotonic()
                if remaining <= 0 or (self.proc.poll() is not None and not self._thread.is_alive()):
                    return None
                self._cond.wait(min(remaining, 0.2))

    def expect(
        self, predicate: Callable[[Event], bool], timeout: float, what: str, *, after: int = 0
    ) -> Event:
        event = self.wait_for(predicate, timeout, after=after)
        if event is None:
            raise AssertionError(f"{self.name}: no {what} within {timeout} s; {self.describe()}")
        return event

    def describe(self) -> str:
        with self._cond:
            tail = [json.dumps(e) for e in self.events[-8:]]
        stderr = self.stderr.read_text(errors="replace")[-1500:] if self.stderr.exists() else ""
        return f"exit={self.proc.poll()} last output: {' | '.join(tail)}\nstderr: {stderr}"


class Topology:
    """Hub + agent + visitor namespaces; use as a context manager."""

    def __init__(self) -> None:
        tag = secrets.token_hex(3)[:5]
        self.hub = f"{PREFIX}{tag}h"
        self.agent = Side(f"{PREFIX}{tag}a", "agent0", "eth0", "198.18.1.2", "198.18.1.1")
        self.visitor = Side(f"{PREFIX}{tag}v", "visitor0", "eth0", "198.18.2.2", "198.18.2.1")
        self._processes: list[JsonLines] = []
        self._created: list[str] = []
        self._logdir = Path(tempfile.mkdtemp(prefix="softphone-netns-"))

    # --- lifecycle ---------------------------------------------------------------------

    def __enter__(self) -> Topology:
        try:
            self.create()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def create(self) -> None:
        OWNERS.mkdir(exist_ok=True)
        for ns in (self.hub, self.agent.ns, self.visitor.ns):
            (OWNERS / ns).write_text(str(os.getpid()))  # before the ns exists: sweep-safe
            run("ip", "netns", "add", ns)
            self._created.append(ns)
            self.ns_run(ns, "ip", "link", "set", "lo", "up")
        self.ns_run(self.hub, "sysctl", "-qw", "net.ipv4.ip_forward=1")
        for side in (self.agent, self.visitor):
            run(
                "ip", "link", "add", side.hub_dev, "netns", self.hub, "type", "veth",
                "peer", "name", side.dev, "netns", side.ns,
            )  # fmt: skip
            # Deleting the primary address must keep a new one (handover), not drop both.
            self.ns_run(side.ns, "sysctl", "-qw", f"net.ipv4.conf.{side.dev}.promote_secondaries=1")
            self.ns_run(
                self.hub, "ip", "addr", "add", f"{side.gateway}/{side.prefix}", "dev", side.hub_dev
            )
            self.ns_run(
                side.ns, "ip", "addr", "add", f"{side.address}/{side.prefix}", "dev", side.dev
            )
            self.ns_run(self.hub, "ip", "link", "set", side.hub_dev, "up")
            self.ns_run(side.ns, "ip", "link", "set", side.dev, "up")
            self.ns_run(side.ns, "ip", "route", "add", "default", "via", side.gateway)

    def close(self) -> None:
        for lines in self._processes:
            stop_process(lines.proc)
        self._processes.clear()
        for ns in reversed(self._created):
            _delete_namespace(ns)
        self._created.clear()
        shutil.rmtree(self._logdir, ignore_errors=True)  # failures quote it (describe())

    def name_hosts(self, name: str, addresses: Sequence[str]) -> None:
        """``name`` resolves to ``addresses`` (in that order, like DNS round robin) for what
        is started in the agent's and the visitor's namespaces from now on."""
        lines = "".join(f"{address} {name}\n" for address in addresses)
        for ns in (self.agent.ns, self.visitor.ns):
            (NETNS_ETC / ns).mkdir(parents=True, exist_ok=True)
            (NETNS_ETC / ns / "hosts").write_text(f"127.0.0.1 localhost\n{lines}")

    def add_hub_address(self, address: str) -> None:
        """One more address of the hub (on its loopback), reached from both ends through
        their default routes: a second host for a service in the hub."""
        self.ns_run(self.hub, "ip", "addr", "add", f"{address}/32", "dev", "lo")

    # --- processes ---------------------------------------------------------------------

    def ns_run(self, ns: str, *argv: str) -> subprocess.CompletedProcess[str]:
        return run("ip", "netns", "exec", ns, *argv)

    def spawn(
        self, ns: str, name: str, argv: Sequence[str], env: Mapping[str, str] | None = None
    ) -> JsonLines:
        """Start ``argv`` inside ``ns``; stderr goes to a log file named after ``name``."""
        log_path = self._logdir / f"{name}.log"
        stderr = open(log_path, "w")  # noqa: SIM115 - lives with the process
        proc = subprocess.Popen(
            ["ip", "netns", "exec", ns, *argv],  # exec's in place: proc.pid is the program
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            bufsize=1,
            cwd=Path(__file__).resolve().parent.parent,
            env={**os.environ, **(env or {})},
        )
        stderr.close()
        lines = JsonLines(proc, name, log_path)
        self._processes.append(lines)
        return lines

    def spawn_python(
        self, ns: str, name: str, module: str, *args: str, env: Mapping[str, str] | None = None
    ) -> JsonLines:
        return self.spawn(ns, name, [sys.executable, "-u", "-m", module, *args], env)

    # --- faults --------------------------------------------------------------------------

    def cut(self, side: Side) -> float:
        """Pull the cable: the hub end goes down, the endpoint loses carrier. Returns when."""
        self.ns_run(self.hub, "ip", "link", "set", side.hub_dev, "down")
        return time.time()

    def restore(self, side: Side) -> float:
        self.ns_run(self.hub, "ip", "link", "set", side.hub_dev, "up")
        return time.time()

    def switch_address(self, side: Side, new_address: str) -> tuple[Side, float]:
        """Handover: the address in use disappears and another appears on the same link."""
        self.ns_run(side.ns, "ip", "addr", "add", f"{new_address}/{side.prefix}", "dev", side.dev)
        self.ns_run(side.ns, "ip", "addr", "del", f"{side.address}/{side.prefix}", "dev", side.dev)
        self.ns_run(side.ns, "ip", "route", "replace", "default", "via", side.gateway)
        switched = replace(side, address=new_address)
        if side == self.agent:
            self.agent = switched
        elif side == self.visitor:
            self.visitor = switched
        return switched, time.time()

    def cut_peer_path(self) -> float:
        """Media dies, signaling lives: the hub drops what it would forward between the ends.

        Policy rules match forwarded packets by inbound device, so the server's own traffic
        to both ends (it runs in the hub) is untouched.
        """
        for rule in self._peer_path_rules():
            self.ns_run(self.hub, "ip", "rule", "add", *rule)
        return time.time()

    def restore_peer_path(self) -> float:
        for rule in self._peer_path_rules():
            self.ns_run(self.hub, "ip", "rule", "del", *rule)
        return time.time()

    def _peer_path_rules(self) -> list[tuple[str, ...]]:
        return [
            ("iif", src.hub_dev, "to", f"{dst.address}/32", "blackhole")
            for src, dst in ((self.agent, self.visitor), (self.visitor, self.agent))
        ]

    def blackhole(self, ns: str, address: str) -> float:
        """One-way loss: ``ns`` silently drops everything it would send/forward to ``address``."""
        self.ns_run(ns, "ip", "route", "add", "blackhole", f"{address}/32")
        return time.time()

    def unblackhole(self, ns: str, address: str) -> float:
        self.ns_run(ns, "ip", "route", "del", "blackhole", f"{address}/32")
        return time.time()


def stop_process(proc: subprocess.Popen[str], grace_s: float = 3.0) -> None:
    """SIGTERM, then SIGKILL after ``grace_s``; by PID, only a process we started."""
    if proc.stdin is not None:
        with contextlib.suppress(OSError):
            proc.stdin.close()
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=grace_s)
    if proc.stdout is not None:
        proc.stdout.close()


def _owner_alive(ns: str) -> bool:
    try:
        pid = int((OWNERS / ns).read_text())
    except (FileNotFoundError, ValueError):
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def sweep_stale() -> list[str]:
    """Delete namespaces a crashed run left behind (their creator is gone); returns them."""
    listing = run("ip", "netns", "list", check=False).stdout
    stale = [
        line.split()[0]
        for line in listing.splitlines()
        if line.startswith(PREFIX) and len(line.split()[0]) == len(PREFIX) + 6
    ]
    stale = [ns for ns in stale if not _owner_alive(ns)]
    for ns in stale:
        for pid in run("ip", "netns", "pids", ns, check=False).stdout.split():
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.kill(int(pid), signal.SIGKILL)  # orphans of our own dead run
        _delete_namespace(ns)
    return stale


def _delete_namespace(ns: str) -> None:
    run("ip", "netns", "del", ns, check=False)
    shutil.rmtree(NETNS_ETC / ns, ignore_errors=True)
    with contextlib.suppress(FileNotFoundError):
        (OWNERS / ns).unlink()


# --- the signaling server in the hub ---------------------------------------------------------

SERVER_PORT = 8765
AGENT_NAME, AGENT_TOKEN = "agent", "netns-agent-token"
METRICS_TOKEN = "netns-metrics-token"
CALL_TICKET_SECRET = "netns-call-ticket-secret-of-the-service"


def signaling_url(side: Side, ports: Sequence[int] = (SERVER_PORT,)) -> str:
    """The server as seen from ``side`` (its gateway, i.e. the hub's address on that link);
    several nodes' ports give the comma-separated list clients try in order."""
    host = side.server or side.gateway
    return ",".join(f"ws://{host}:{port}/ws" for port in ports)


def start_signaling(
    topo: Topology,
    *args: str,
    name: str = "server",
    host: str = "0.0.0.0",  # every address of the hub
    port: int = SERVER_PORT,
    timeout: float = 20.0,
) -> JsonLines:
    """A signaling node in the hub; every node shares the call-ticket secret, so a call
    re-attaches on any of them (or on a restarted one)."""
    server = topo.spawn_python(
        topo.hub,
        name,
        "softphone.signaling.server",
        "--host", host, "--port", str(port), "--node", name, *args,  # only the hub's links
        env={
            "SOFTPHONE_AGENT_TOKENS": f"{AGENT_NAME}:{AGENT_TOKEN}",
            "SOFTPHONE_METRICS_TOKEN": METRICS_TOKEN,
            "SOFTPHONE_CALL_TICKET_SECRET": CALL_TICKET_SECRET,
        },
    )  # fmt: skip
    server.expect(lambda e: "listening on" in e.get("text", ""), timeout, "listening banner")
    return server


def wait_log(node: JsonLines, text: str, timeout: float, what: str, after: int = 0) -> int:
    """Wait for ``text`` in a process's log (its stderr file: a server's log lines) past
    character ``after``; returns where the log ends then."""
    deadline = time.monotonic() + timeout
    while True:
        log = node.stderr.read_text(errors="replace")
        if text in log[after:]:
            return len(log)
        if time.monotonic() > deadline:
            raise AssertionError(f"{node.name}: no {what} ({text!r}) within {timeout} s")
        time.sleep(0.05)


def healthz(topo: Topology, ns: str, host: str) -> dict[str, Any]:
    """/healthz ("ok") and the authenticated /metrics from inside ``ns``: status, sessions
    and calls of the server."""
    script = (
        "import sys, urllib.request as u; h = {'Authorization': 'Bearer ' + sys.argv[2]}; "
        "ok = u.urlopen(sys.argv[1] + '/healthz', timeout=5).read().decode().strip(); "
        "m = u.urlopen(u.Request(sys.argv[1] + '/metrics', headers=h), timeout=5).read(); "
        "sys.stdout.write(ok + '\\n' + m.decode())"
    )
    url = f"http://{host}:{SERVER_PORT}"
    out = topo.ns_run(ns, sys.executable, "-c", script, url, METRICS_TOKEN).stdout.splitlines()
    # Prometheus' text format: "# HELP/TYPE" lines, then 'name{node="..."} value'.
    samples = (line.rsplit(" ", 1) for line in out[1:] if line and not line.startswith("#"))
    gauges = {name.partition("{")[0]: float(value) for name, value in samples}
    return {
        "status": out[0],
        "sessions": int(gauges["softphone_sessions"]),
        "calls": int(gauges["softphone_calls"]),
    }


def start_call(
    topo: Topology,
    module: str,
    *,
    agent_args: Sequence[str] = (),
    visitor_args: Sequence[str] = (),
    ports: Sequence[int] = (SERVER_PORT,),
    visitor_ports: Sequence[int] | None = None,
    url: str | None = None,
    timeout: float = 30.0,
) -> tuple[JsonLines, JsonLines]:
    """Agent and visitor runners (``module``) in their namespaces, in a call with video flowing;
    both are given the nodes on ``ports``, in order (the visitor ``visitor_ports`` if given:
    the two parties on different nodes), or both the server ``url`` if given.

    A runner takes ``--url --role [--token]`` and prints ``{"ev": "signed_in"}`` and
    ``{"ev": "frame", "n": <decoded frame number>}`` lines (see labnet/aiortc_peer.py).
    """
    agent = topo.spawn_python(
        topo.agent.ns, "agent", module,
        "--url", url or signaling_url(topo.agent, ports), "--role", "agent", "--token", AGENT_TOKEN,
        *agent_args,
    )  # fmt: skip
    agent.expect(lambda e: e.get("ev") == "signed_in", timeout, "agent sign-in")
    visitor = topo.spawn_python(
        topo.visitor.ns, "visitor", module,
        "--url", url or signaling_url(topo.visitor, visitor_ports or ports), "--role", "visitor",
        *visitor_args,
    )  # fmt: skip
    for lines in (agent, visitor):
        lines.expect(is_frame, timeout, "first decoded frame")
    return agent, visitor


def is_frame(event: Event) -> bool:
    return event.get("ev") == "frame" and event.get("n") is not None


def captured_after(moment: float) -> Callable[[Event], bool]:
    """A decoded frame that was captured after ``moment``: media flows again since then."""

    def predicate(event: Event) -> bool:
        return is_frame(event) and event["t"] - float(event.get("lat") or 0) / 1000 >= moment

    return predicate


# Outages into a reconnect attempt (issue 12; docs/networks.md "Recoveries on attempts 2
# and 3"): the product's policy starts attempt 2 ~12 s and attempt 3 ~24 s after detection.
INTO_ATTEMPT_S = 2.0
ATTEMPT_STARTS_WITHIN_S = 40.0  # attempt 3 starts ~25 s after the cut; room for load


def runner_attempt(agent: JsonLines, attempt: int, after: int) -> Callable[[float], object]:
    """For :func:`cut_into_attempt`: waits until a runner (labnet/call_runner.py) logs the
    start of its reconnect attempt ``attempt`` of 3 (at event index ``after`` or later)."""

    def started(e: Event) -> bool:
        return e.get("msg") == "reconnect.start" and e.get("attempt") == f"{attempt}/3"

    return lambda timeout: agent.expect(started, timeout, f"attempt {attempt}/3", after=after)


def cut_into_attempt(
    topo: Topology, side: Side, wait_attempt: Callable[[float], object]
) -> tuple[float, float]:
    """Pull ``side``'s cable and keep it pulled until the agent has started the wanted
    reconnect attempt (``wait_attempt(timeout)`` returns then, or raises AssertionError) and
    for ``INTO_ATTEMPT_S`` more: the restore lands inside that attempt whatever the machine's
    load does to the timing (fixed outage lengths could fall into a backoff). Returns when
    the cable was pulled and when it was back."""
    cut_at = topo.cut(side)
    wait_attempt(ATTEMPT_STARTS_WITHIN_S)
    time.sleep(INTO_ATTEMPT_S)
    return cut_at, topo.restore(side)
