"""Signaling relay load: N concurrent agent-visitor pairs relaying candidates on loopback.

Prints a Markdown table: relay latency (client send -> other party receives, through the
server) p50/p99, and server memory per connection read from the server subprocess's RSS.
Not a test; the target (docs/architecture.md) is p99 <= 10 ms at 1,000 connections.

    .venv/bin/python bench/signaling_load.py                 # 1,000 and 5,000 connections
    .venv/bin/python bench/signaling_load.py --connections 200 --rate 5
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import random
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass

import websockets
from websockets.asyncio.client import ClientConnection

from softphone.signaling.protocol import (
    PROTOCOL_VERSION,
    Accept,
    Accepted,
    CallRequest,
    Candidate,
    Hello,
    Ring,
    Welcome,
    decode,
    encode,
)


@dataclass
class Result:
    connections: int
    messages: int
    seconds: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    rss_base_mib: float
    rss_mib: float
    server_cpu: float  # share of one core the server used while relaying
    client_cpu: float  # the same for this load generator

    @property
    def kib_per_connection(self) -> float:
        return (self.rss_mib - self.rss_base_mib) * 1024 / self.connections


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


def start_server(pairs: int) -> tuple[subprocess.Popen[str], str]:
    env = dict(os.environ)
    env["SOFTPHONE_AGENT_TOKENS"] = ",".join(f"a{i}:t{i}" for i in range(pairs))
    env.pop("SOFTPHONE_SITE_KEYS", None)
    with tempfile.NamedTemporaryFile("w", suffix=".toml", delete=False) as config:
        config.write(LOAD_CONFIG.format(connections=2 * pairs + 64))
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "softphone.signaling.server",
            "--config",
            config.name,
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--rate",
            "1000",
            "--rate-burst",
            "1000",
            "--log-level",
            "ERROR",
        ],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    os.unlink(config.name)
    match = re.search(r"(ws://\S+)", line)
    if not match:
        proc.kill()
        raise RuntimeError(f"server did not start: {line!r}")
    return proc, match.group(1)


async def signed_in(url: str, hello: Hello) -> ClientConnection:
    ws = await websockets.connect(url, compression=None, ping_interval=None, max_queue=None)
    await ws.send(encode(hello))
    assert isinstance(decode(await ws.recv()), Welcome)
    return ws


async def open_pair(url: str, i: int) -> tuple[ClientConnection, ClientConnection, str]:
    """Each new agent is the only free one, so the visitor's call rings it."""
    agent = await signed_in(
        url, Hello(protocol=PROTOCOL_VERSION, role="agent", name=f"a{i}", token=f"t{i}")
    )
    visitor = await signed_in(url, Hello(protocol=PROTOCOL_VERSION, role="visitor"))
    await visitor.send(encode(CallRequest()))
    ring = decode(await agent.recv())
    assert isinstance(ring, Ring), ring
    await agent.send(encode(Accept(call_id=ring.call_id)))
    while not isinstance(decode(await visitor.recv()), Accepted):
        pass
    return agent, visitor, ring.call_id


async def receive(ws: ClientConnection, latencies: list[float], expected: int) -> None:
    for _ in range(expected):
        msg = decode(await ws.recv())
        if isinstance(msg, Candidate) and msg.ufrag:
            latencies.append((time.perf_counter_ns() - int(msg.ufrag)) / 1e6)


async def send(ws: ClientConnection, call_id: str, count: int, interval: float) -> None:
    await asyncio.sleep(random.uniform(0, interval))  # spread the pairs over the interval
    for n in range(count):
        candidate = f"candidate:{n} 1 udp 2122260223 127.0.0.1 {40000 + n} typ host"
        msg = Candidate(
            call_id=call_id,
            candidate=candidate,
            sdp_mid="0",
            sdp_mline_index=0,
            ufrag=str(time.perf_counter_ns()),
        )
        await ws.send(encode(msg))
        await asyncio.sleep(interval)


async def run(connections: int, per_direction: int, rate: float) -> Result:
    pairs = connections // 2
    proc, url = start_server(pairs)
    try:
        base = rss_mib(proc.pid)
        opened = [await open_pair(url, i) for i in range(pairs)]
        await asyncio.sleep(0.5)
        rss_idle = rss_mib(proc.pid)
        latencies: list[float] = []
        # The load generator's own GC pauses (5,000 sockets' objects) would be billed to the
        # server: keep its collector out of the measured phase.
        gc.freeze()
        gc.disable()
        started, cpu_before = time.perf_counter(), cpu_seconds(proc.pid)
        own_before = time.process_time()
        tasks = []
        for agent, visitor, call_id in opened:
            for ws in (agent, visitor):
                tasks.append(receive(ws, latencies, per_direction))
                tasks.append(send(ws, call_id, per_direction, 1 / rate))
        await asyncio.gather(*tasks)
        seconds = time.perf_counter() - started
        server_cpu = (cpu_seconds(proc.pid) - cpu_before) / seconds
        client_cpu = (time.process_time() - own_before) / seconds
        gc.enable()
        gc.unfreeze()
        for agent, visitor, _ in opened:
            await agent.close()
            await visitor.close()
    finally:
        proc.terminate()
        proc.wait(10)
    q = statistics.quantiles(latencies, n=100)
    return Result(
        connections,
        len(latencies),
        seconds,
        q[49],
        q[98],
        max(latencies),
        base,
        rss_idle,
        server_cpu,
        client_cpu,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connections", type=int, nargs="+", default=[1000, 5000])
    parser.add_argument(
        "--rate", type=float, default=2.0, help="messages per second each party sends (default 2)"
    )
    parser.add_argument(
        "--messages", type=int, default=20, help="messages each party sends (default 20)"
    )
    args = parser.parse_args()
    raise_fd_limit(2 * max(args.connections) + 256)
    rows = [asyncio.run(run(n, args.messages, args.rate)) for n in args.connections]
    print(
        f"Relay of candidate messages, {args.rate:g} msg/s per party, "
        f"{args.messages} per party; server and clients on one {os.cpu_count()}-core host.\n"
    )
    print(
        "| connections | messages | msg/s | p50 ms | p99 ms | max ms "
        "| server CPU | client CPU | server RSS MiB | RSS per connection KiB |"
    )
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in rows:
        print(
            f"| {r.connections:,} | {r.messages:,} | {r.messages / r.seconds:,.0f} "
            f"| {r.p50_ms:.2f} | {r.p99_ms:.2f} | {r.max_ms:.1f} "
            f"| {r.server_cpu:.0%} | {r.client_cpu:.0%} "
            f"| {r.rss_mib:.1f} | {r.kib_per_connection:.1f} |"
        )


if __name__ == "__main__":
    main()
