"""A node never dies of Redis (issue 13): started while Redis is down it serves nobody and
says so (/healthz 503, "redis down"), then connects by itself when Redis comes up, leads,
and signs clients in; Redis killed under it is logged and shown, and it comes back alone.
Real processes on loopback: a signaling node and Debian's redis-server."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
import websockets

from labnet.nodes import LoopbackNode
from labnet.redis_server import RedisServer, free_port
from softphone.signaling.protocol import PROTOCOL_VERSION, Hello, Welcome, decode, encode

TOKEN = "outage-agent-token"


@pytest.fixture
def redis() -> Iterator[RedisServer]:
    server = RedisServer(port=free_port())  # not started: the test does
    yield server
    server.close()


@pytest.fixture
def node(redis: RedisServer) -> Iterator[LoopbackNode]:
    node = LoopbackNode(
        "node-a", env={"SOFTPHONE_AGENT_TOKENS": f"alice:{TOKEN}"}, redis_url=redis.url
    ).start()
    yield node
    node.close()


async def sign_in(url: str) -> Welcome:
    async with websockets.connect(url, compression=None) as ws:
        hello = Hello(protocol=PROTOCOL_VERSION, role="agent", name="alice", token=TOKEN)
        await ws.send(encode(hello))
        async with asyncio.timeout(5.0):
            reply = decode(await ws.recv())
        assert isinstance(reply, Welcome), reply
        return reply


def test_a_node_outlives_redis_and_reconnects_by_itself(
    node: LoopbackNode, redis: RedisServer
) -> None:
    node.wait_health("redis down", 5.0)
    assert node.health().startswith("unavailable")  # 503: a proxy sends nobody here

    redis.start()
    node.wait_health("leader node-a", 10.0)  # no restart, no operator
    assert node.health().startswith("ok")
    assert asyncio.run(sign_in(node.url)).name == "alice"

    redis.stop(kill=True)
    node.wait_log("cluster.redis_down", 5.0)
    node.wait_health("redis down", 5.0)
    # Still the leader (no one else could take over): its own clients are served.
    assert node.health().startswith("ok")
    assert asyncio.run(sign_in(node.url)).name == "alice"

    redis.start()
    node.wait_health("redis up", 10.0)
    assert node.log_text().count("cluster.redis_up") == 2
    assert node.proc is not None and node.proc.poll() is None
