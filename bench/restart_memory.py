"""Memory across ICE restarts: 100 restarts in one call, the agent's RSS, tasks and fds (root).

    sudo .venv/bin/python -m bench.restart_memory --restarts 100 --network nat+turn

One call (labnet/call_runner.py, topologies of bench/networks.py); the agent restarts ICE
``--restarts`` times (the ``restart`` command: a whole reconnect episode each, the next one
only after its ``reconnect.success``), or with ``--flaps`` its link is cut for 1 s and
restored instead. At the checkpoints (start, then after 20, 50, 100 restarts) the call settles
for ``SETTLE_S`` and the row shows the agent's lowest RSS, tasks and fds in the settled
window (an old agent in its grace period is not a leak), coturn's allocation count, and
``valid/total``: restarts that succeeded with media flowing. Target: RSS grows <= 10 MiB
over 100 restarts; tasks, fds and allocations flat.

``--diagnose`` prints, at each checkpoint after the first, the object types the garbage
collector counts that grew most since the previous one; with ``--trace-frames N`` the agent
also runs tracemalloc and the allocation sites that grew most are printed (what a growth is
made of). Tracing slows the agent (deep traces too much for a 30 fps call on a loaded
machine) and costs memory itself: RSS figures of a diagnose run are not the bench figures.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace

from bench.networks import NETWORKS, RUNNER
from labnet.netns import (
    Event,
    JsonLines,
    Topology,
    can_create_namespaces,
    captured_after,
    start_call,
    start_signaling,
    stop_process,
    sweep_stale,
)
from labnet.turn import Coturn, TurnUrls

SETTLE_S = 4.0  # > RESTART_GRACE_S (2 s): replaced agents are closed, then 2 s sampled
RESTART_TIMEOUT_S = 15.0
TOP_TYPES = 30
TARGET = "RSS growth <= 10 MiB over 100 restarts; tasks, fds, allocations flat"


def settled(agent: JsonLines) -> dict[str, int]:
    """The lowest metrics sampled in a quiet window (sampled every second by the runner)."""
    time.sleep(SETTLE_S - 2.0)
    start = time.time()
    time.sleep(2.0)
    samples: list[Event] = []
    deadline = time.monotonic() + 30.0  # a traced agent samples late
    while len(samples) < 2 and time.monotonic() < deadline:
        time.sleep(0.5)
        samples = [e for e in agent.snapshot() if e.get("ev") == "metrics" and e["t"] >= start]
    if not samples:
        raise RuntimeError(f"the agent reports no metrics: {agent.describe()}")
    return {key: min(s[key] for s in samples) for key in ("rss_kb", "tasks", "fds")}


def one_restart(topo: Topology, agent: JsonLines, visitor: JsonLines, flap: bool) -> bool:
    """A restart (or a 1 s link flap) that ends with the episode's success and fresh media."""
    mark = len(agent.snapshot())
    if flap:
        topo.cut(topo.agent)
        time.sleep(1.0)
        since = topo.restore(topo.agent)
    else:
        since = time.time()
        agent.send("restart")
    success = agent.wait_for(
        lambda e: e.get("ev") == "log" and e.get("msg") == "reconnect.success",
        RESTART_TIMEOUT_S,
        after=mark,
    )
    media = all(p.wait_for(captured_after(since), RESTART_TIMEOUT_S) for p in (agent, visitor))
    return success is not None and media


def diagnose(agent: JsonLines, label: str, previous: dict[str, int]) -> dict[str, int]:
    """Print what grew since the previous checkpoint; returns the live objects per type."""
    mark = len(agent.snapshot())
    agent.send("memory")
    report = agent.wait_for(lambda e: e.get("ev") == "memory", 60.0, after=mark)
    if report is None:
        print(f"{label}: no memory report", file=sys.stderr)
        return previous
    types: dict[str, int] = report["types"]
    if report["grown"]:
        print(f"--- {label}: allocation sites grown since the last checkpoint", file=sys.stderr)
        for line in report["grown"]:
            print("  " + line, file=sys.stderr)
    if previous:
        grown = sorted(types, key=lambda t: previous.get(t, 0) - types[t])[:TOP_TYPES]
        print(f"--- {label}: live objects per type (gc), growth since the last checkpoint")
        print(
            "  " + ", ".join(f"{t}={types[t]} ({types[t] - previous.get(t, 0):+d})" for t in grown)
        )
    return types


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--restarts", type=int, default=100)
    parser.add_argument("--network", choices=sorted(NETWORKS), default="nat+turn")
    parser.add_argument(
        "--turn", help="the agent's TURN transports, e.g. udp,tls (default: the network's)"
    )
    parser.add_argument("--flaps", action="store_true", help="1 s link cuts, not restarts")
    parser.add_argument("--diagnose", action="store_true", help="objects per type (gc)")
    parser.add_argument(
        "--trace-frames", type=int, default=0, help="with --diagnose: tracemalloc this deep"
    )
    args = parser.parse_args(argv)
    if not can_create_namespaces():
        parser.error("needs root and a working `ip netns`")
    if not 1 <= args.restarts <= 500:
        parser.error("--restarts must be 1..500")
    network = NETWORKS[args.network]
    if args.turn and network.turn is not None:
        kinds = set(args.turn.split(","))
        if not kinds <= {"udp", "tcp", "tls"}:
            parser.error("--turn takes udp, tcp and/or tls")
        turn = TurnUrls(udp="udp" in kinds, tcp="tcp" in kinds, tls="tls" in kinds)
        network = replace(network, turn=turn)
    checkpoints = sorted({0, *(n for n in (20, 50, 100) if n < args.restarts), args.restarts})
    sweep_stale()
    rows: list[str] = []
    with network.make() as topo:
        coturn = Coturn(topo).start() if network.turn is not None else None
        try:
            start_signaling(topo)
            agent_args: list[str] = []
            visitor_args: list[str] = []
            if coturn is not None and network.turn is not None:
                agent_args = coturn.runner_args("agent", network.turn)
                visitor_args = coturn.runner_args("visitor")
            if args.diagnose and args.trace_frames:
                agent_args += ["--tracemalloc", str(args.trace_frames)]
            agent, visitor = start_call(
                topo, RUNNER, agent_args=agent_args, visitor_args=visitor_args
            )
            done = ok = 0
            first: dict[str, int] | None = None
            types: dict[str, int] = {}
            for checkpoint in checkpoints:
                while done < checkpoint:
                    done += 1
                    ok += one_restart(topo, agent, visitor, args.flaps)
                    print(f"restart {done}: {ok} ok", file=sys.stderr, flush=True)
                now = settled(agent)
                first = first or now
                allocations = coturn.allocations() if coturn is not None else None
                if args.diagnose:
                    types = diagnose(agent, f"after {checkpoint} restarts", types)
                rows.append(
                    f"| {args.network} | {checkpoint} | {now['rss_kb'] / 1024:.1f} "
                    f"| {(now['rss_kb'] - first['rss_kb']) / 1024:+.1f} | {now['tasks']} "
                    f"| {now['fds']} | {'' if allocations is None else allocations} "
                    f"| {ok}/{done} | {TARGET} |"
                )
            for peer in (agent, visitor):  # before coturn, so they release their allocations
                stop_process(peer.proc)
        finally:
            if coturn is not None:
                coturn.close()
    kind = "1 s link flaps" if args.flaps else "forced ICE restarts"
    traced = " (tracemalloc on: RSS not comparable)" if args.diagnose and args.trace_frames else ""
    print(f"Agent after N {kind} in one call{traced}:")
    print("| network | restarts | rss_mib | growth_mib | tasks | fds | turn_allocations "
          "| valid/total | target |")  # fmt: skip
    print("| --- " * 9 + "|")
    for row in rows:
        print(row)
    return 0


if __name__ == "__main__":
    sys.exit(main())
