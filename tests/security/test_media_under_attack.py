"""The whole product under fire: while attackers flood call requests, guess an agent's
secret and hog connections, a real AgentSession and a real headless visitor (aiortc) sign
in, ring, answer and exchange video and audio both ways through the attacked server."""

from __future__ import annotations

import asyncio
import contextlib

import pytest
import websockets
from websockets.asyncio.client import ClientConnection

from softphone.agent import AgentConfig, AgentSession, CallInfo
from softphone.rtc.ice import LOOPBACK
from softphone.signaling.protocol import CallRequest, Error, ErrorCode, Hangup, Queued, encode
from softphone.visitor.peer import VisitorConfig, VisitorPeer

from .conftest import AGENTS, SITE, LiveServer, raw, raw_visitor, recv
from .test_attacks import agent_hello

pytestmark = pytest.mark.timeout(120)


async def flood_calls(server: LiveServer, stop: asyncio.Event) -> list[str]:
    token = await asyncio.to_thread(server.mint, "127.0.0.2")
    ws = await raw_visitor(server, "127.0.0.2", token)
    outcomes: list[str] = []
    try:
        while not stop.is_set() and len(outcomes) < 200:
            await ws.send(encode(CallRequest()))
            while not isinstance(answer := await recv(ws, 10), Queued | Error):
                pass
            if isinstance(answer, Queued):
                await ws.send(encode(Hangup(call_id=answer.call_id, reason="cancelled")))
            outcomes.append("queued" if isinstance(answer, Queued) else answer.code)
            await asyncio.sleep(0.02)
    except websockets.ConnectionClosed as closed:
        # A socket that never gets a call is idle to the server (visitor_idle_timeout, 2 s
        # here): being shut out is one more door holding, not a failure of the test.
        outcomes.append(f"closed:{closed.rcvd.reason if closed.rcvd else ''}")
    finally:
        await ws.close()
    return outcomes


async def guess_secrets(server: LiveServer, stop: asyncio.Event) -> list[str]:
    verdicts: list[str] = []
    while not stop.is_set() and len(verdicts) < 200:
        verdicts.append(await agent_hello(server, "127.0.0.3", "bob", f"guess-{len(verdicts)}"))
        await asyncio.sleep(0.02)
    return verdicts


async def hog_connections(server: LiveServer, hog: list[ClientConnection]) -> int:
    refused = 0
    for _ in range(30):
        try:
            hog.append(await raw(server.url, "127.0.0.4"))
        except Exception:
            refused += 1
    return refused


async def test_a_real_media_call_while_the_server_is_attacked(live_server: LiveServer) -> None:
    stop, hog = asyncio.Event(), []
    attacks = asyncio.gather(flood_calls(live_server, stop), guess_secrets(live_server, stop))
    refused = await hog_connections(live_server, hog)
    agent = AgentSession(AgentConfig(live_server.url, AGENTS["bob"], name="bob", ice=LOOPBACK))
    rings: asyncio.Queue[CallInfo] = asyncio.Queue()
    agent.incoming_call.connect(rings.put_nowait)
    visitor = VisitorPeer(VisitorConfig(live_server.url, SITE, "Real visitor", ice=LOOPBACK))
    run: asyncio.Task[object] | None = None
    try:
        await agent.start()
        await agent.set_available(True)
        run = asyncio.create_task(visitor.run())
        async with asyncio.timeout(30):
            while (ring := await rings.get()).visitor_name != "Real visitor":
                pass  # an attacker's call: its caller hangs up at once anyway
            await agent.accept(ring.call_id)
            await visitor.connected.wait()
            assert agent.call is not None and visitor.call is not None
            peers = (agent.call.peer, visitor.call.peer)
            while not all(  # noqa: ASYNC110 - frame counters have no event to wait on
                p.received("video").stamped_frames >= 30 and p.received("audio").frames >= 20
                for p in peers
            ):
                await asyncio.sleep(0.1)
    finally:
        stop.set()
        if run is not None:
            visitor.hangup()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(run, 10)
        await agent.stop()
        for ws in hog:
            ws.transport.abort()
        outcomes, verdicts = await attacks  # last: the call's cleanup never waits on it
    assert refused == 20  # 10 per address
    assert outcomes.count("queued") <= 5 and ErrorCode.RATE_LIMITED in outcomes
    assert verdicts[:3] == [ErrorCode.UNAUTHORIZED] * 3
    assert set(verdicts[3:]) <= {ErrorCode.THROTTLED, ErrorCode.UNAUTHORIZED}
    assert verdicts.count(ErrorCode.UNAUTHORIZED) <= 3 + 6  # lockouts double from 1 s
