"""Operating the server: a draining node sends its clients to the next one (with their
calls), and what both parties report about a call's interruptions reaches /metrics."""

from __future__ import annotations

import asyncio
import time

import pytest

from softphone.signaling.client import ConnectionState, SignalingClient, server_urls
from softphone.signaling.protocol import (
    CallReport,
    CallState,
    Episode,
    Error,
    ErrorCode,
    Notice,
)
from softphone.signaling.server import SignalingServer

from .conftest import AGENTS, Connect
from .test_http import base, http_get_auth
from .test_reattach import node_config

FAST = {"backoff_initial": 0.05, "backoff_max": 0.2}


def test_server_urls_take_a_list_or_commas() -> None:
    assert server_urls("ws://a/ws, ws://b/ws") == ["ws://a/ws", "ws://b/ws"]
    assert server_urls(["ws://a/ws"]) == ["ws://a/ws"]
    with pytest.raises(ValueError):
        server_urls(" , ")


async def test_a_draining_node_sends_its_clients_and_their_calls_to_the_next() -> None:
    async with SignalingServer(node_config()) as a, SignalingServer(node_config()) as b:
        agent = SignalingClient([a.url, b.url], "agent", token=AGENTS["alice"], **FAST)  # type: ignore[arg-type]
        try:
            seen: list[object] = []
            agent.message_received.connect(seen.append)
            await agent.connect(timeout=2)
            assert agent.url == a.url
            lost: list[None] = []
            agent.session_lost.connect(lambda: lost.append(None))

            started = time.monotonic()
            await asyncio.wait_for(a.drain(), 5)
            notices = [m for m in seen if isinstance(m, Notice)]
            assert [n.code for n in notices] == [ErrorCode.SERVER_DRAINING]
            await asyncio.wait_for(_connected_to(agent, b.url), 2)
            assert time.monotonic() - started < 2
            # b never knew the session: a fresh one (the call, had there been one, re-attaches)
            assert lost == [None] and not agent.welcome.resumed  # type: ignore[union-attr]
            assert [s.name for s in b.sessions.agents()] == ["alice"]
        finally:
            await agent.close()


async def _connected_to(client: SignalingClient, url: str) -> None:
    while not (client.state is ConnectionState.CONNECTED and client.url == url):  # noqa: ASYNC110
        await asyncio.sleep(0.01)


@pytest.mark.server_config(metrics_token="m", call_ticket_secret="s" * 32)
async def test_call_reports_of_both_parties_reach_the_metrics(
    server: SignalingServer, connect: Connect, start_call
) -> None:
    alice = await connect("agent", "alice")
    visitor = await connect("visitor")
    call_id = await start_call(alice, visitor)
    await alice.send(CallState(call_id=call_id, state="connected"))
    report = CallReport(
        call_id=call_id,
        episodes=[
            Episode(trigger="disconnected", outcome="recovered", duration_s=1.5, attempts=1),
            Episode(trigger="network-change", outcome="failed", duration_s=31.0, attempts=3),
        ],
    )
    await alice.send(report)
    await visitor.send(
        CallReport(
            call_id=call_id,
            episodes=[
                Episode(
                    trigger="remote-restart",
                    outcome="recovered",
                    duration_s=1.2,
                    attempts=0,
                    origin="peer",
                )
            ],
        )
    )
    await visitor.expect(CallState)
    await alice.silent(0.2)  # no error: reports are taken after the call too
    _, body = await asyncio.to_thread(http_get_auth, base(server) + "/metrics", "m")
    text = body.decode()
    node = 'node="127.0.0.1:0"'
    for role, outcome, count in (
        ("agent", "recovered", 1),
        ("agent", "failed", 1),
        ("visitor", "recovered", 1),
    ):
        line = f'softphone_reconnect_episodes_total{{{node},outcome="{outcome}",role="{role}"}}'
        assert f"\n{line} {count}.0\n" in text, line
    assert f"softphone_reconnect_episode_seconds_count{{{node}}} 3.0" in text
    # A bad report earns an error frame, nothing else.
    await alice.ws.send('{"type": "call_report", "call_id": "x", "episodes": [{"trigger": 1}]}')
    assert (await alice.expect(Error)).code == ErrorCode.INVALID_MESSAGE


async def test_an_unreachable_first_node_is_skipped_at_once(server: SignalingServer) -> None:
    dead = "ws://127.0.0.1:9/ws"  # discard port: nothing listens
    client = SignalingClient([dead, server.url], "agent", token=AGENTS["alice"])
    try:
        started = time.monotonic()
        await client.connect(timeout=3)
        assert client.url == server.url
        assert time.monotonic() - started < 1.0, "no backoff before trying the next node"
    finally:
        await client.close()
