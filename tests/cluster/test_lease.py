"""A leader that is only late keeps its lease (issue 13): stalled past the lease's TTL
while still subscribed to the bus (SIGSTOP: a loop busy for seconds under load), it is
waited for, not replaced, and the sockets another node forwards to it stay open. Sockets
signing in together share their lease checks. Real node processes on loopback sharing
Debian's redis-server."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Iterator

import pytest
from redis.asyncio import Redis

from labnet.nodes import LoopbackNode, start_nodes
from labnet.redis_server import RedisServer
from softphone.signaling.protocol import PROTOCOL_VERSION, Hello, Ping, Pong
from tests.cluster.test_redis_replay import CONFIG, ENV, TOKEN, open_peer

STALL_S = 7.5  # past the 5 s lease, short of the liveness key's 10 s (lease_ttl defaults)
HEARTBEAT_S = 0.25  # the default: each node reads the lease once per heartbeat
TOGETHER = 40  # sockets signing in at once on the node that forwards them


@pytest.fixture
def redis() -> Iterator[RedisServer]:
    with RedisServer() as server:
        yield server


@pytest.fixture
def nodes(redis: RedisServer) -> Iterator[list[LoopbackNode]]:
    config = CONFIG + f"max_connections_per_ip = {TOGETHER + 10}\n"
    started = start_nodes(["node-a", "node-b"], redis.url, config=config, env=ENV)
    yield started
    for node in started:
        node.close()


async def test_a_stalled_leader_keeps_its_lease(nodes: list[LoopbackNode]) -> None:
    node_a, node_b = nodes
    hello = Hello(protocol=PROTOCOL_VERSION, role="agent", name="alice", token=TOKEN)
    agent = await open_peer(node_b.url, hello)  # forwarded: its session is on A
    os.kill(node_a.pid, signal.SIGSTOP)
    try:
        await asyncio.sleep(STALL_S)
    finally:
        os.kill(node_a.pid, signal.SIGCONT)
    await asyncio.sleep(1.0)  # a few heartbeats of each
    assert "leader node-a" in node_b.health()
    await agent.send(Ping(id="p1"))
    assert (await agent.expect(Pong, 5.0)).ref == "p1"  # never closed: no resume needed
    assert "cluster.stepped_down" not in node_a.log_text()


async def test_sockets_signing_in_together_share_their_lease_checks(
    nodes: list[LoopbackNode], redis: RedisServer
) -> None:
    """Each socket checks the lease (fresh: the leader may just have left), but those that
    come together share a check: before, a forwarding node made three round trips per
    socket, one socket at a time, and 1,000 sign-ins queued behind each other."""
    _, node_b = nodes
    client = Redis.from_url(redis.url)
    try:
        await client.config_resetstat()
        started = time.monotonic()
        visitors = await asyncio.gather(
            *(
                open_peer(node_b.url, Hello(protocol=PROTOCOL_VERSION, role="visitor"))
                for _ in range(TOGETHER)
            )
        )
        elapsed = time.monotonic() - started
        reads = (await client.info("commandstats")).get("cmdstat_get", {}).get("calls", 0)
    finally:
        await client.aclose()
    for visitor in visitors:
        await visitor.ws.close()
    heartbeats = 2 * (elapsed / HEARTBEAT_S + 2)  # both nodes' own, generously
    assert reads - heartbeats < TOGETHER / 4, (reads, elapsed)
