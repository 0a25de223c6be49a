"""Failover benchmark: a signaling node dies mid-call; how fast are both clients back, with
their call (root; builds and removes its own namespaces).

    sudo .venv/bin/python -m bench.failover --runs 5 [--store memory|redis|both]

Two nodes in the hub (same call-ticket secret), agent and visitor runners
(labnet/call_runner.py) in their namespaces, each given both nodes' URLs. Without Redis
both are in a call on node A; with Redis (Debian's redis-server in the hub, node A leading)
the agent is on node A and the visitor on node B, and node A holds both sessions. Per run,
after a random 1-3 s of call, node A is stopped (``--stop sigkill`` or ``sigterm``, the
graceful drain); each run has its own namespaces and nodes. Measured per client: node stop
→ ``call.reattached`` (the call relayed again on node B). A call is *kept* when both
clients re-attached within 10 s, neither call ended, and media captured after the stop
arrived at both ends. The load generator (the runners, with their media) shares the
machine's cores with the servers: timings are upper bounds.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time

from labnet.netns import (
    SERVER_PORT,
    Topology,
    can_create_namespaces,
    captured_after,
    start_call,
    start_signaling,
    sweep_stale,
    wait_log,
)
from labnet.redis_server import RedisServer

RUNNER = "labnet.call_runner"
TARGET_S = 2.0


def reattached(event: dict[str, object]) -> bool:
    return event.get("ev") == "log" and event.get("msg") == "call.reattached"


def one_run(stop: str, rng: random.Random, store: str) -> tuple[list[float], bool]:
    """(seconds from the stop to each client's re-attach, call kept)."""
    nodes = (SERVER_PORT, SERVER_PORT + 1)
    with Topology() as topo:
        args: list[str] = []
        if store == "redis":
            args = ["--redis-url", RedisServer(topo).start().url]  # stops with topo
        node_a = start_signaling(topo, *args, name="node-a")
        if args:
            wait_log(node_a, "leader='node-a'", 10.0, "node A leading")
        start_signaling(topo, *args, name="node-b", port=nodes[1])
        visitor_ports = nodes[::-1] if args else nodes
        call = start_call(topo, RUNNER, ports=nodes, visitor_ports=visitor_ports)
        time.sleep(rng.uniform(1.0, 3.0))
        marks = [len(p.snapshot()) for p in call]
        stopped_at = time.time()
        if stop == "sigkill":
            node_a.proc.kill()
        else:
            node_a.proc.terminate()
        node_a.proc.wait(15)
        back: list[float] = []
        for peer, mark in zip(call, marks, strict=True):
            event = peer.wait_for(reattached, 10.0, after=mark)
            if event is not None:
                back.append(float(event["t"]) - stopped_at)
        media = all(p.wait_for(captured_after(stopped_at), 5.0) is not None for p in call)
        ended = any(e.get("ev") == "ended" for p in call for e in p.snapshot())
        return back, len(back) == 2 and media and not ended


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--stop", choices=["sigkill", "sigterm", "both"], default="both")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--store", choices=["memory", "redis", "both"], default="both")
    args = parser.parse_args(argv)
    if not can_create_namespaces():
        print("needs root (network namespaces)", file=sys.stderr)
        return 2
    sweep_stale()
    rng = random.Random(args.seed)
    stops = ["sigkill", "sigterm"] if args.stop == "both" else [args.stop]
    stores = ["memory", "redis"] if args.store == "both" else [args.store]
    print(
        "| nodes | node A stopped by | clients back on B: median | max | target "
        "| calls kept / total |"
    )
    print("|---|---|---|---|---|---|")
    for store in stores:
        for stop in stops:
            times: list[float] = []
            kept = 0
            for _ in range(args.runs):
                back, ok = one_run(stop, rng, store)
                times.extend(back)
                kept += ok
            median = f"{statistics.median(times):.2f} s" if times else "-"
            worst = f"{max(times):.2f} s" if times else "-"
            setup = "2 + Redis (A leads)" if store == "redis" else "2, no shared state"
            print(
                f"| {setup} | {stop} | {median} | {worst} | ≤ {TARGET_S:.0f} s "
                f"| {kept} / {args.runs} |"
            )
    print(f"\n({args.runs} runs each; both clients measured per run; 1 call per run; the")
    print("runners' media shares the 2 cores with both nodes.)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
