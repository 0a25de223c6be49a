"""The fault harness itself: reachability through the hub and that each fault really bites."""

from __future__ import annotations

import subprocess
import sys

import pytest

from labnet.netns import (
    OWNERS,
    PREFIX,
    SERVER_PORT,
    JsonLines,
    Topology,
    healthz,
    run,
    sweep_stale,
)

pytestmark = pytest.mark.netns

PROBE = (
    "import socket, sys; "
    "socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=float(sys.argv[3])).close()"
)

LISTEN = (
    "import json, socket, sys, time; s = socket.socket(); "
    "s.bind(('0.0.0.0', int(sys.argv[1]))); s.listen(); "
    "print(json.dumps({'ev': 'listening'}), flush=True); time.sleep(60)"
)


def reachable(topo: Topology, ns: str, host: str, timeout: float = 1.0) -> bool:
    """TCP connect to the signaling port from inside ``ns`` (bounded by ``timeout``)."""
    argv = ("ip", "netns", "exec", ns, sys.executable, "-c", PROBE, host, str(SERVER_PORT))
    return run(*argv, str(timeout), check=False).returncode == 0


def test_both_endpoints_reach_the_signaling_server_in_the_hub(
    topo: Topology, server: JsonLines
) -> None:
    for side in (topo.agent, topo.visitor):
        assert healthz(topo, side.ns, side.gateway)["status"] == "ok"
    # Routed through the hub: the agent reaches the server on the visitor's link too.
    assert reachable(topo, topo.agent.ns, topo.visitor.gateway)


def test_cut_and_restore_a_link(topo: Topology, server: JsonLines) -> None:
    topo.cut(topo.agent)
    assert not reachable(topo, topo.agent.ns, topo.agent.gateway)
    assert reachable(topo, topo.visitor.ns, topo.visitor.gateway), "only one link is cut"
    topo.restore(topo.agent)
    assert reachable(topo, topo.agent.ns, topo.agent.gateway, timeout=5.0)


def test_address_switch_replaces_the_address_in_use(topo: Topology, server: JsonLines) -> None:
    old = topo.agent.address
    side, _ = topo.switch_address(topo.agent, "198.18.1.3")
    addresses = topo.ns_run(side.ns, "ip", "-4", "-o", "addr", "show", "dev", side.dev).stdout
    assert "198.18.1.3/24" in addresses
    assert f"{old}/" not in addresses
    assert topo.agent == side
    assert reachable(topo, side.ns, side.gateway)


def test_blackhole_drops_traffic_towards_an_address(topo: Topology, server: JsonLines) -> None:
    topo.blackhole(topo.hub, topo.agent.address)
    # The SYN reaches the hub, its reply is dropped: one-way loss.
    assert not reachable(topo, topo.agent.ns, topo.agent.gateway)
    route = topo.ns_run(topo.hub, "ip", "route", "show", "type", "blackhole").stdout
    assert topo.agent.address in route
    topo.unblackhole(topo.hub, topo.agent.address)
    assert reachable(topo, topo.agent.ns, topo.agent.gateway)


def test_close_kills_its_processes_and_removes_its_namespaces() -> None:
    with Topology() as topology:
        sleeper = topology.spawn(topology.hub, "sleeper", ["sleep", "60"])
        names = (topology.hub, topology.agent.ns, topology.visitor.ns)
    listing = run("ip", "netns", "list").stdout
    assert not any(name in listing for name in names)
    assert sleeper.proc.poll() is not None


def test_peer_path_cut_spares_the_signaling_server(topo: Topology, server: JsonLines) -> None:
    listener = topo.spawn(
        topo.visitor.ns,
        "listener",
        [sys.executable, "-c", LISTEN, str(SERVER_PORT)],
    )
    listener.expect(lambda e: e.get("ev") == "listening", 10.0, "listener")
    assert reachable(topo, topo.agent.ns, topo.visitor.address)
    topo.cut_peer_path()
    assert not reachable(topo, topo.agent.ns, topo.visitor.address)
    assert reachable(topo, topo.agent.ns, topo.agent.gateway)
    assert reachable(topo, topo.visitor.ns, topo.visitor.gateway)
    topo.restore_peer_path()
    assert reachable(topo, topo.agent.ns, topo.visitor.address)


def test_sweep_removes_namespaces_of_dead_runs_only() -> None:
    finished = subprocess.Popen(["true"])
    finished.wait(timeout=5)
    orphan = f"{PREFIX}dead0a"
    OWNERS.mkdir(exist_ok=True)
    (OWNERS / orphan).write_text(str(finished.pid))
    run("ip", "netns", "add", orphan)
    with Topology() as alive:
        swept = sweep_stale()
        listing = run("ip", "netns", "list").stdout
        assert alive.hub in listing, "a live run's namespaces are left alone"
    assert orphan in swept
    assert orphan not in run("ip", "netns", "list").stdout
