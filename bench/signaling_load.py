"""Signaling relay load: N concurrent agent-visitor pairs relaying candidates on loopback.

Prints a Markdown table: relay latency (client send -> other party receives, through the
server) p50/p99, CPU and memory of each node (its subprocess's RSS), per setup: one node
in memory, one node + Redis, two nodes + Redis (Debian's redis-server on loopback, started
here; each pair's agent on one node and its visitor on the other, so every relay crosses
the bus). Not a test; targets (docs/architecture.md, docs/scale-out.md): p99 <= 10 ms at
1,000 connections in memory; Redis adds <= 1 ms to that; two nodes carry 5,000 with
p99 <= 50 ms. The load generator runs on the same cores as the nodes and Redis, so what
it saves is left to the nodes: it runs on uvloop, and its measured phase on bare sockets
(labnet/raw_links.py; websockets spent ~65 µs of CPU per message, enough to take most of a
core at 10,000 msg/s).

    .venv/bin/python bench/signaling_load.py                 # 1,000 and 5,000, in memory
    .venv/bin/python bench/signaling_load.py --setup memory redis 2-nodes --connections 1000
    .venv/bin/python bench/signaling_load.py --connections 200 --rate 5
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import gc
import os
import re
import resource
import statistics
import sys
import time
from dataclasses import dataclass

import uvloop
import websockets
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import WebSocketException

from labnet.nodes import LoopbackNode, start_nodes
from labnet.raw_links import relay
from labnet.redis_server import RedisServer
from softphone.signaling.protocol import (
    PROTOCOL_VERSION,
    Accept,
    Accepted,
    CallRequest,
    Hello,
    Ring,
    Welcome,
    decode,
    encode,
)

SETUPS = {"memory": "1 node in memory", "redis": "1 node + Redis", "2-nodes": "2 nodes + Redis"}
# A run whose messages do not all arrive by then is not valid, nor one where a socket
# closed (a leader change).
RECEIVE_TIMEOUT_S = 120.0
OPENING = 16  # pairs signing in at once
OPEN_TIMEOUT_S = 60.0  # a sign-in (not measured) on a loaded host: websockets' 10 s is short


@dataclass
class Result:
    setup: str
    connections: int
    messages: int
    seconds: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    rss_base_mib: list[float]  # per node, before any connection
    rss_mib: list[float]  # per node, with every connection open
    server_cpu: list[float]  # share of one core each node used while relaying
    redis_cpu: float | None
    client_cpu: float  # the same for this load generator

    @property
    def kib_per_connection(self) -> float:
        return (sum(self.rss_mib) - sum(self.rss_base_mib)) * 1024 / self.connections


def raise_fd_limit(needed: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < needed:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(needed, soft)), hard))


def rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as fh:
        kib = int(re.search(r"VmRSS:\s+(\d+) kB", fh.read()).group(1))  # type: ignore[union-attr]
    return kib / 1024


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# Every client comes from 127.0.0.1 and visitors bring no Origin or token: open the doors
# meant for the public internet wide, since this measures the relay, not the doors.
LOAD_CONFIG = """
no_origin_visitors = "allow"
[limits]
max_connections = {connections}
max_connections_per_ip = {connections}
calls_per_minute_per_ip = {connections}
calls_per_minute_per_site = {connections}
waiting_per_ip = {connections}
waiting_per_site = {connections}
max_waiting = {connections}
"""


def start_servers(setup: str, pairs: int, redis: RedisServer | None) -> list[LoopbackNode]:
    env = {"SOFTPHONE_AGENT_TOKENS": ",".join(f"a{i}:t{i}" for i in range(pairs))}
    os.environ.pop("SOFTPHONE_SITE_KEYS", None)
    config = LOAD_CONFIG.format(connections=2 * pairs + 64)
    args = ("--rate", "1000", "--rate-burst", "1000", "--log-level", "ERROR")
    if redis is None:
        return [LoopbackNode("node-a", *args, config=config, env=env).start()]
    names = ["node-a", "node-b"] if setup == "2-nodes" else ["node-a"]
    return start_nodes(names, redis.url, *args, config=config, env=env)


async def signed_in(url: str, hello: Hello) -> ClientConnection:
    ws = await websockets.connect(
        url, compression=None, ping_interval=None, max_queue=None, open_timeout=OPEN_TIMEOUT_S
    )
    await ws.send(encode(hello))
    assert isinstance(decode(await ws.recv()), Welcome)
    return ws


async def answer(agent: ClientConnection) -> str:
    """The first call that rings this agent, accepted."""
    ring = decode(await agent.recv())
    assert isinstance(ring, Ring), ring
    await agent.send(encode(Accept(call_id=ring.call_id)))
    return ring.call_id


async def open_visitor(url: str) -> tuple[ClientConnection, str]:
    visitor = await signed_in(url, Hello(protocol=PROTOCOL_VERSION, role="visitor"))
    await visitor.send(encode(CallRequest()))
    while not isinstance(accepted := decode(await visitor.recv()), Accepted):
        pass
    return visitor, accepted.call_id


async def open_pairs(
    agent_url: str, visitor_url: str, agents: range
) -> list[tuple[ClientConnection, ClientConnection, str]]:
    """Calls between agents on one node and visitors on another, ``OPENING`` at a time
    (one by one, 5,000 connections took minutes to set up on a loaded host). Each visitor
    calls after an agent signed in, so its call finds a free agent at once (nobody waits in
    the line, no agent hears about one), and its agent is whichever the server rang."""
    limit = asyncio.Semaphore(OPENING)

    async def pair(i: int) -> tuple[tuple[ClientConnection, str], tuple[ClientConnection, str]]:
        async with limit:
            agent = await signed_in(
                agent_url,
                Hello(protocol=PROTOCOL_VERSION, role="agent", name=f"a{i}", token=f"t{i}"),
            )
            answering = asyncio.create_task(answer(agent))
            visitor = await open_visitor(visitor_url)
            return (agent, await answering), visitor

    opened = await asyncio.gather(*(pair(i) for i in agents))
    agent_of = {call_id: agent for (agent, call_id), _ in opened}
    return [(agent_of[call_id], visitor, call_id) for _, (visitor, call_id) in opened]


async def run(setup: str, connections: int, per_direction: int, rate: float) -> Result | None:
    """One run; None if not every message arrived (not a valid run)."""
    pairs = connections // 2
    redis = RedisServer() if setup != "memory" else None
    nodes: list[LoopbackNode] = []
    try:
        if redis is not None:
            redis.start()
        nodes = start_servers(setup, pairs, redis)
        pids = [n.pid for n in nodes]
        base = [rss_mib(pid) for pid in pids]
        urls = [n.url for n in nodes]
        half = pairs // 2 if len(urls) > 1 else pairs  # agents on each node in turn
        try:
            opened = await open_pairs(urls[0], urls[-1], range(half))
            opened += await open_pairs(urls[-1], urls[0], range(half, pairs))
        except (WebSocketException, OSError, TimeoutError) as exc:  # a node too slow to let in
            print(f"{SETUPS[setup]}, {connections:,}: setup failed: {exc!r}", file=sys.stderr)
            return None
        await asyncio.sleep(0.5)
        rss_idle = [rss_mib(pid) for pid in pids]
        latencies: list[float] = []
        others: list[str] = []
        # The load generator's own GC pauses (5,000 sockets' objects) would be billed to the
        # server: keep its collector out of the measured phase.
        gc.freeze()
        gc.disable()
        started, cpu_before = time.perf_counter(), [cpu_seconds(pid) for pid in pids]
        redis_before = cpu_seconds(redis.pid) if redis else 0.0
        own_before = time.process_time()
        parties = [
            (ws.transport, call_id) for agent, visitor, call_id in opened for ws in (agent, visitor)
        ]
        try:
            async with asyncio.timeout(RECEIVE_TIMEOUT_S):
                await relay(parties, per_direction, 1 / rate, latencies, others)
        except (TimeoutError, OSError) as exc:
            print(f"{SETUPS[setup]}, {connections:,}: not valid: {exc!r}", file=sys.stderr)
            return None
        finally:
            gc.enable()
            gc.unfreeze()
            for transport, _ in parties:
                transport.close()
        seconds = time.perf_counter() - started
        server_cpu = [(cpu_seconds(p) - b) / seconds for p, b in zip(pids, cpu_before, strict=True)]
        redis_cpu = (cpu_seconds(redis.pid) - redis_before) / seconds if redis else None
        client_cpu = (time.process_time() - own_before) / seconds
    finally:
        for node in nodes:
            node.close()
        if redis is not None:
            redis.close()
    q = statistics.quantiles(latencies, n=100)
    # Each run as it ends (a long table stopped early still tells what it measured).
    print(
        f"{SETUPS[setup]}, {connections:,}: {len(latencies) / seconds:,.0f} msg/s, "
        f"p50 {q[49]:.2f} ms, p99 {q[98]:.2f} ms, node CPU "
        + " / ".join(f"{c:.0%}" for c in server_cpu)
        + f", client CPU {client_cpu:.0%}, load average {os.getloadavg()[0]:.1f}"
        + (f", other frames: {dict(collections.Counter(others))}" if others else ""),
        file=sys.stderr,
        flush=True,
    )
    return Result(
        SETUPS[setup],
        connections,
        len(latencies),
        seconds,
        q[49],
        q[98],
        max(latencies),
        base,
        rss_idle,
        server_cpu,
        redis_cpu,
        client_cpu,
    )


def target(setup: str, connections: int) -> str:
    if setup == "memory":
        return "p99 ≤ 10 ms" if connections <= 1000 else "-"
    if setup == "redis":
        return "p99 ≤ in-memory + 1 ms" if connections <= 1000 else "-"
    return "p99 ≤ 50 ms" if connections >= 5000 else "-"


def median_of(runs: list[Result]) -> Result:
    """The run with the median p99 (a whole run, so its figures belong together)."""
    return sorted(runs, key=lambda r: r.p99_ms)[len(runs) // 2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connections", type=int, nargs="+", default=[1000, 5000])
    parser.add_argument(
        "--rate", type=float, default=2.0, help="messages per second each party sends (default 2)"
    )
    parser.add_argument(
        "--messages", type=int, default=20, help="messages each party sends (default 20)"
    )
    parser.add_argument("--setup", nargs="+", choices=list(SETUPS), default=["memory"])
    parser.add_argument("--runs", type=int, default=1, help="runs per row (median p99 shown)")
    args = parser.parse_args()
    raise_fd_limit(2 * max(args.connections) + 256)
    # Runs interleave the setups: load from elsewhere on the host drifts, and each setup
    # should see the same drift.
    runs: dict[tuple[str, int], list[Result | None]] = {}
    for _ in range(args.runs):
        for n in args.connections:
            for setup in args.setup:
                result = uvloop.run(run(setup, n, args.messages, args.rate))
                runs.setdefault((setup, n), []).append(result)
    rows: list[tuple[str, int, int, Result | None]] = []
    for (setup, n), results in runs.items():
        valid = [r for r in results if r is not None]
        rows.append((setup, n, len(valid), median_of(valid) if valid else None))
    print(
        f"Relay of candidate messages, {args.rate:g} msg/s per party, "
        f"{args.messages} per party; nodes, Redis and this load generator share one "
        f"{os.cpu_count()}-core host.\n"
    )
    print(
        "| setup | connections | valid/total | msg/s | p50 ms | p99 ms | max ms | target "
        "| CPU per node | Redis CPU | client CPU | RSS per node MiB | RSS per connection KiB |"
    )
    print(
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: |"
    )
    for setup, n, valid, r in rows:
        head = f"| {SETUPS[setup]} | {n:,} | {valid}/{args.runs} "
        if r is None:
            print(head + "| - " * 10 + "|")
            continue
        cpu = " / ".join(f"{c:.0%}" for c in r.server_cpu)
        rss = " / ".join(f"{m:.0f}" for m in r.rss_mib)
        redis = f"{r.redis_cpu:.0%}" if r.redis_cpu is not None else "-"
        print(
            head + f"| {r.messages / r.seconds:,.0f} | {r.p50_ms:.2f} | {r.p99_ms:.2f} "
            f"| {r.max_ms:.1f} | {target(setup, n)} | {cpu} | {redis} | {r.client_cpu:.0%} "
            f"| {rss} | {r.kib_per_connection:.1f} |"
        )


if __name__ == "__main__":
    main()
