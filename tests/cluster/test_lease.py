"""A leader that is only late keeps its lease (issue 13): stalled past the lease's TTL
while still subscribed to the bus (SIGSTOP: a loop busy for seconds under load), it is
waited for, not replaced, and the sockets another node forwards to it stay open. Real
node processes on loopback sharing Debian's redis-server."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Iterator

import pytest

from labnet.nodes import LoopbackNode, start_nodes
from labnet.redis_server import RedisServer
from softphone.signaling.protocol import PROTOCOL_VERSION, Hello, Ping, Pong
from tests.cluster.test_redis_replay import ENV, TOKEN, open_peer

STALL_S = 7.5  # past the 5 s lease, short of the liveness key's 10 s (lease_ttl defaults)


@pytest.fixture
def nodes() -> Iterator[list[LoopbackNode]]:
    with RedisServer() as redis:
        started = start_nodes(["node-a", "node-b"], redis.url, env=ENV)
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
