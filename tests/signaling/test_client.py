"""SignalingClient against real servers: sign-in, state, resume with queued sends, server
restart on the same port, a missed pong, and a rejected hello that does not retry."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest
import websockets
from websockets.asyncio.server import ServerConnection

from softphone.signaling.client import ConnectionState, SignalingClient, SignalingRejected
from softphone.signaling.protocol import (
    Accept,
    Accepted,
    CallRequest,
    Limits,
    Message,
    Offer,
    Ring,
    Welcome,
    decode,
    encode,
)
from softphone.signaling.server import ServerConfig, SignalingServer

from .conftest import AGENTS, SITE_KEY

FAST = {"backoff_initial": 0.05, "backoff_max": 0.2}


@contextlib.asynccontextmanager
async def running(client: SignalingClient) -> AsyncIterator[SignalingClient]:
    try:
        yield client
    finally:
        await client.close()


def agent_client(url: str, **kwargs: object) -> SignalingClient:
    return SignalingClient(url, "agent", token=AGENTS["alice"], **FAST, **kwargs)  # type: ignore[arg-type]


async def left_connected(client: SignalingClient) -> None:
    """Wait (at most 2 s) until the client notices its socket is gone."""
    changed = asyncio.Event()
    client.state_changed.connect(lambda state: changed.set())
    async with asyncio.timeout(2):
        while client.state is ConnectionState.CONNECTED:
            await changed.wait()
            changed.clear()


async def next_of(client_messages: AsyncIterator[Message], kind: type) -> Message:
    async with asyncio.timeout(2):
        async for msg in client_messages:
            if isinstance(msg, kind):
                return msg
    raise AssertionError("iterator ended")


async def accept_a_visitor_call(
    client: SignalingClient, incoming: AsyncIterator[Message], connect: Any
) -> tuple[Any, str]:
    """A visitor calls, the client (an agent) is rung and accepts: (visitor, call id)."""
    visitor = await connect("visitor")
    await visitor.send(CallRequest())
    call_id = (await visitor.expect_ringing()).call_id
    assert (await next_of(incoming, Ring)).call_id == call_id
    await client.send(Accept(call_id=call_id))
    await visitor.expect(Accepted)
    return visitor, call_id


async def test_connect_states_messages_and_signal(server, connect):
    states: list[ConnectionState] = []
    received: list[Message] = []
    async with running(agent_client(server.url)) as client:
        client.state_changed.connect(states.append)
        client.message_received.connect(received.append)
        incoming = client.messages()
        welcome = await client.connect(timeout=2)
        assert welcome.name == "alice" and client.state is ConnectionState.CONNECTED
        await accept_a_visitor_call(client, incoming, connect)
        assert [type(m) for m in received] == [Ring]
        await incoming.aclose()
    assert states == [ConnectionState.CONNECTING, ConnectionState.CONNECTED, ConnectionState.CLOSED]


async def test_resume_flushes_sends_queued_while_down(server, connect, start_call):
    lost: list[None] = []
    async with running(agent_client(server.url)) as client:
        client.session_lost.connect(lambda: lost.append(None))
        incoming = client.messages()
        await client.connect(timeout=2)
        visitor, call_id = await accept_a_visitor_call(client, incoming, connect)

        session = server.sessions.by_id[client.welcome.session_id]
        session.conn.transport.abort()  # the network drops the socket
        await left_connected(client)
        for i in range(3):
            await client.send(Offer(call_id=call_id, sdp=f"queued {i}"))
        await client.wait_connected(timeout=3)
        assert client.welcome.resumed and client.welcome.call_id == call_id
        assert [(await visitor.expect(Offer)).sdp for _ in range(3)] == [
            "queued 0",
            "queued 1",
            "queued 2",
        ]
        assert lost == []
        await incoming.aclose()


async def test_reconnects_after_the_server_restarts_on_the_same_port(
    server_config: ServerConfig, _no_leaked_tasks: None
):
    lost: list[None] = []
    first = SignalingServer(server_config)
    await first.start()
    port = first.port
    async with running(agent_client(first.url)) as client:
        client.session_lost.connect(lambda: lost.append(None))
        await client.connect(timeout=2)
        await first.close()
        await left_connected(client)
        assert client.state is ConnectionState.RECONNECTING
        with pytest.raises(TimeoutError):
            await client.wait_connected(timeout=0.3)  # "signaling is down": callers wait

        server_config.port = port
        async with SignalingServer(server_config):
            await client.wait_connected(timeout=3)
            # The new server never knew the session: a fresh hello, and listeners are told.
            assert lost == [None]
            assert client.welcome.resumed is False


async def test_rejected_hello_closes_without_retrying(server, caplog):
    client = SignalingClient(server.url, "agent", token="wrong", **FAST)
    with caplog.at_level(logging.WARNING, logger="softphone.signaling.server"):
        with pytest.raises(SignalingRejected) as rejected:
            await client.connect(timeout=2)
        assert rejected.value.code == "unauthorized"
        assert client.state is ConnectionState.CLOSED
        await asyncio.sleep(0.5)  # ten backoff periods: a retry would show up in the log
    attempts = [r for r in caplog.records if r.getMessage() == "signaling.agent_unauthorized"]
    assert len(attempts) == 1
    with pytest.raises(SignalingRejected):
        await client.wait_connected(timeout=0.1)
    await client.close()


async def test_missed_pong_means_a_dead_socket(_no_leaked_tasks: None):
    """A server that welcomes then goes silent (a half-dead path): the client notices."""
    connections: list[ServerConnection] = []
    reconnected = asyncio.Event()

    async def mute(conn: ServerConnection) -> None:
        connections.append(conn)
        if len(connections) == 2:
            reconnected.set()
        decode(await conn.recv())
        await conn.send(
            encode(
                Welcome(
                    session_id="s",
                    resume_token="t",
                    heartbeat_interval=0.1,
                    limits=Limits(max_frame_bytes=65536, messages_per_second=50),
                )
            )
        )
        await conn.wait_closed()

    async with websockets.serve(mute, "127.0.0.1", 0) as mute_server:
        port = mute_server.sockets[0].getsockname()[1]
        client = SignalingClient(f"ws://127.0.0.1:{port}/ws", "visitor", site_key=SITE_KEY, **FAST)
        async with running(client):
            await client.connect(timeout=2)
            loop = asyncio.get_running_loop()
            started = loop.time()
            await left_connected(client)
            assert loop.time() - started < 0.5  # two heartbeat intervals, not a TCP timeout
            await asyncio.wait_for(reconnected.wait(), 2)  # it reconnects (and resumes)


async def test_cancelling_a_task_inside_close_still_cancels_it(server) -> None:
    """close() must not swallow a cancel aimed at its caller (a demo shutdown hung on it)."""
    client = SignalingClient(server.url, "agent", token=AGENTS["alice"], **FAST)
    await client.connect(timeout=5)
    closer = asyncio.create_task(client.close())
    await asyncio.sleep(0)
    closer.cancel()
    with pytest.raises(asyncio.CancelledError):
        await closer
    await client.close()


async def test_reconnect_now_resumes_at_once_and_delivers_queued_sends_in_order(server, connect):
    """A local network change: the socket may hang on a vanished address; reconnect_now()
    drops it without waiting for the heartbeat or the backoff (5 s here), and the session
    resumes with the call and with what was sent meanwhile, in order."""
    lost: list[None] = []
    states: list[ConnectionState] = []
    slow = {"backoff_initial": 5.0, "backoff_max": 5.0}
    client = SignalingClient(server.url, "agent", token=AGENTS["alice"], **slow)
    async with running(client):
        client.session_lost.connect(lambda: lost.append(None))
        incoming = client.messages()
        await client.connect(timeout=2)
        visitor, call_id = await accept_a_visitor_call(client, incoming, connect)
        first_session = client.welcome.session_id
        client.state_changed.connect(states.append)

        loop = asyncio.get_running_loop()
        started = loop.time()
        client.reconnect_now("address-lost")
        assert client.state is ConnectionState.RECONNECTING  # at once: sends queue from now
        for i in range(3):
            await client.send(Offer(call_id=call_id, sdp=f"queued {i}"))
        await client.wait_connected(timeout=2)
        assert loop.time() - started < 1.0, "no backoff, no heartbeat wait"
        assert client.welcome.resumed and client.welcome.session_id == first_session
        assert client.welcome.call_id == call_id
        assert [(await visitor.expect(Offer)).sdp for _ in range(3)] == [
            "queued 0",
            "queued 1",
            "queued 2",
        ]
        assert states == [ConnectionState.RECONNECTING, ConnectionState.CONNECTED]
        assert lost == []
        await incoming.aclose()


async def test_reconnect_now_abandons_a_connection_attempt_that_hangs(_no_leaked_tasks: None):
    """An attempt opened from the old address may hang until open_timeout (10 s)."""
    attempts: list[asyncio.StreamWriter] = []
    second = asyncio.Event()

    async def swallow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        attempts.append(writer)  # TCP accepted, websocket handshake never answered
        if len(attempts) == 2:
            second.set()

    listener = await asyncio.start_server(swallow, "127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    client = SignalingClient(f"ws://127.0.0.1:{port}/ws", "visitor", site_key=SITE_KEY, **FAST)
    try:
        async with running(client):
            with pytest.raises(TimeoutError):
                await client.connect(timeout=0.3)
            assert len(attempts) == 1
            client.reconnect_now("address-added")
            await asyncio.wait_for(second.wait(), 1.0)
            assert client.state is ConnectionState.RECONNECTING
    finally:
        for writer in attempts:
            writer.close()
        listener.close()
        await listener.wait_closed()


async def test_reconnect_now_does_nothing_on_a_closed_client(server) -> None:
    client = agent_client(server.url)
    client.reconnect_now("address-lost")
    assert client.state is ConnectionState.CLOSED


async def test_silent_s_counts_from_the_last_frame_and_is_infinite_without_a_socket(server):
    """What the call's recovery reads to tell a socket waiting out a TCP backoff."""
    client = agent_client(server.url)
    assert client.silent_s == float("inf")  # never connected
    async with running(client):
        await client.connect(timeout=2)
        assert client.silent_s < 0.5  # the welcome just arrived
        await asyncio.sleep(0.3)
        assert client.silent_s >= 0.3  # nothing since (the heartbeat is 10 s away)
    assert client.silent_s == float("inf")  # closed
