"""Replay on resume: what the server wrote into a socket that was already dead (the client's
address vanished, the frames never read) comes again, in order and exactly once, when the
resume names the last ``seq`` it saw; a buffer that no longer reaches back says so; a resume
without ``last_seq`` (an older client) gets only what was still queued, as before."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

import msgspec
import pytest
import websockets
from websockets.asyncio.server import ServerConnection

from softphone.signaling.client import ConnectionState, SignalingClient
from softphone.signaling.protocol import (
    PROTOCOL_VERSION,
    Accept,
    Accepted,
    CallRequest,
    CallState,
    CallTicketMsg,
    Candidate,
    Error,
    ErrorCode,
    Hangup,
    Limits,
    Message,
    Offer,
    Ping,
    Pong,
    RestartOffer,
    Resume,
    Ring,
    Welcome,
    decode,
    encode,
)
from softphone.signaling.server import SignalingServer
from softphone.signaling.sessions import Session

from .conftest import AGENTS, SITE_KEY, Connect, RawPeer

StartCall = Callable[[RawPeer, RawPeer], Awaitable[str]]
FAST = {"backoff_initial": 0.05, "backoff_max": 0.2}


async def until(condition: Callable[[], object], within: float = 2.0) -> None:
    """Poll ``condition()`` until true: server state has no events to wait on."""
    async with asyncio.timeout(within):
        while not condition():  # noqa: ASYNC110
            await asyncio.sleep(0.005)


def session_of(server: SignalingServer, peer: RawPeer) -> Session:
    assert peer.welcome is not None
    return server.sessions.by_id[peer.welcome.session_id]


async def written(session: Session) -> None:
    """Wait until the server has handed every queued frame to the socket."""
    await until(lambda: not session.outbox)
    await asyncio.sleep(0.02)  # the frame last popped is mid-send until the next turn


async def swallow(server: SignalingServer, peer: RawPeer, *msgs: Message, sender: RawPeer) -> None:
    """``sender`` sends ``msgs``; the server writes them into ``peer``'s socket, which then
    dies without a close handshake before ``peer`` read any of them."""
    session = session_of(server, peer)
    for msg in msgs:
        relayed = session.seq + 1
        await sender.send(msg)
        await until(lambda n=relayed: session.seq >= n)  # type: ignore[misc]
        await written(session)
    peer.ws.transport.abort()
    await until(lambda: session.conn is None)  # the server noticed: from now on it queues


async def resume(connect: Connect, token: str, last_seq: int | None) -> tuple[RawPeer, Welcome]:
    again = await connect()
    await again.send(
        Resume(protocol=PROTOCOL_VERSION, resume_token=token, last_seq=last_seq, id="r")
    )
    return again, await again.expect(Welcome)


@pytest.mark.server_config(resume_grace=5.0)
async def test_resume_replays_what_a_dead_socket_swallowed_then_the_queue(
    connect: Connect, start_call: StartCall, server: SignalingServer
) -> None:
    alice = await connect("agent", "alice")
    visitor = await connect("visitor")
    call_id = await start_call(alice, visitor)  # alice read the ring and her ticket: 1, 2
    swallowed = [Offer(call_id=call_id, sdp="v=0 lost")] + [
        Candidate(call_id=call_id, candidate=f"candidate:{i}") for i in range(3)
    ]
    await swallow(server, alice, *swallowed, sender=visitor)
    # Sent while the session has no socket: queued, as before.
    await visitor.send(Candidate(call_id=call_id, candidate="candidate:queued"))
    await visitor.silent(0.1)

    again, welcome = await resume(connect, alice.resume_token, last_seq=2)
    assert (welcome.resumed, welcome.replay_gap, welcome.seq) == (True, False, None)
    offer = await again.expect(Offer)
    assert (offer.sdp, offer.seq) == ("v=0 lost", 3)
    got = [await again.expect(Candidate) for _ in range(4)]
    assert [(c.candidate, c.seq) for c in got] == [
        ("candidate:0", 4),
        ("candidate:1", 5),
        ("candidate:2", 6),
        ("candidate:queued", 7),
    ]
    await again.silent(0.2)  # exactly once

    # The session carries on, still counting.
    await visitor.send(Candidate(call_id=call_id, candidate="after"))
    after = await again.expect(Candidate)
    assert (after.candidate, after.seq) == ("after", 8)
    await again.send(Hangup(call_id=call_id))
    await visitor.expect(Hangup)


@pytest.mark.server_config(resume_grace=5.0)
async def test_resume_over_a_half_open_socket_replays_what_was_written_into_it(
    connect: Connect, start_call: StartCall, server: SignalingServer
) -> None:
    """The server has not noticed yet: it keeps writing into the old socket until the
    resuming one takes over, and the client never reads those frames."""
    alice = await connect("agent", "alice")
    visitor = await connect("visitor")
    call_id = await start_call(alice, visitor)
    session = session_of(server, alice)
    await visitor.send(Offer(call_id=call_id, sdp="into the void"))
    await until(lambda: session.seq == 3)
    await written(session)
    assert session.conn is not None  # still believed alive

    again, welcome = await resume(connect, alice.resume_token, last_seq=2)
    assert welcome.resumed and not welcome.replay_gap
    assert (await again.expect(Offer)).sdp == "into the void"
    await again.silent(0.2)
    await asyncio.wait_for(alice.ws.wait_closed(), 2)  # the old socket is closed by the server


@pytest.mark.server_config(resume_grace=5.0, resume_queue=3)
async def test_a_replay_buffer_that_no_longer_reaches_back_says_so(
    connect: Connect,
    start_call: StartCall,
    server: SignalingServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    alice = await connect("agent", "alice")
    visitor = await connect("visitor")
    call_id = await start_call(alice, visitor)  # seq 1, 2
    lost = [Candidate(call_id=call_id, candidate=f"candidate:{i}") for i in range(5)]
    await swallow(server, alice, *lost, sender=visitor)  # seq 3..7; the buffer holds 5..7

    with caplog.at_level(logging.WARNING, logger="softphone.signaling.sessions"):
        again, welcome = await resume(connect, alice.resume_token, last_seq=2)
    assert welcome.resumed and welcome.replay_gap
    # What is still there comes, in order; seqs 3 and 4 are gone.
    got = [await again.expect(Candidate) for _ in range(3)]
    assert [c.seq for c in got] == [5, 6, 7]
    await again.silent(0.2)
    gap = [r for r in caplog.records if r.getMessage() == "signaling.replay_gap"]
    assert len(gap) == 1
    assert (gap[0].last_seq, gap[0].first_available, gap[0].missing) == (2, 5, 2)  # type: ignore[attr-defined]


@pytest.mark.server_config(resume_grace=5.0)
async def test_resume_without_last_seq_only_delivers_the_queue_as_before(
    connect: Connect, start_call: StartCall, server: SignalingServer
) -> None:
    alice = await connect("agent", "alice")
    visitor = await connect("visitor")
    call_id = await start_call(alice, visitor)
    await swallow(server, alice, Offer(call_id=call_id, sdp="lost for good"), sender=visitor)
    await visitor.send(Candidate(call_id=call_id, candidate="queued"))
    await visitor.silent(0.1)

    again, welcome = await resume(connect, alice.resume_token, last_seq=None)
    assert welcome.resumed and not welcome.replay_gap
    queued = await again.expect(Candidate)
    assert (queued.candidate, queued.seq) == ("queued", 4)  # seq 3 went into the dead socket
    await again.silent(0.2)


@pytest.mark.server_config(resume_grace=5.0)
async def test_a_pong_answers_one_socket_and_is_neither_numbered_nor_replayed(
    connect: Connect, server: SignalingServer
) -> None:
    alice = await connect("agent", "alice")
    await alice.send(Ping(id="p"))
    pong = await alice.expect(Pong)
    assert (pong.ref, pong.seq) == ("p", None)
    alice.ws.transport.abort()
    session = session_of(server, alice)
    await until(lambda: session.conn is None)
    again, welcome = await resume(connect, alice.resume_token, last_seq=0)
    assert welcome.resumed and not welcome.replay_gap
    await again.silent(0.2)


# --- SignalingClient --------------------------------------------------------------------


@contextlib.asynccontextmanager
async def running(client: SignalingClient) -> AsyncIterator[SignalingClient]:
    try:
        yield client
    finally:
        await client.close()


async def collect(incoming: AsyncIterator[Message], count: int) -> list[Message]:
    got: list[Message] = []
    async with asyncio.timeout(2):
        async for msg in incoming:
            got.append(msg)
            if len(got) == count:
                break
    return got


@pytest.mark.server_config(resume_grace=5.0)
async def test_client_resumes_with_last_seq_and_gets_what_its_dead_socket_swallowed(
    server: SignalingServer, connect: Connect
) -> None:
    """The client's socket stops reading (a vanished address), the server writes into it;
    reconnect_now() then resumes and every message arrives exactly once, in order."""
    client = SignalingClient(server.url, "agent", token=AGENTS["alice"], **FAST)  # type: ignore[arg-type]
    async with running(client):
        incoming = client.messages()
        await client.connect(timeout=2)
        visitor = await connect("visitor")
        await visitor.send(CallRequest())
        call_id = (await visitor.expect_ringing()).call_id
        assert isinstance((await collect(incoming, 1))[0], Ring)
        await client.send(Accept(call_id=call_id))
        await visitor.expect(Accepted)
        assert isinstance((await collect(incoming, 1))[0], CallTicketMsg)
        session = server.sessions.by_id[client.welcome.session_id]  # type: ignore[union-attr]

        assert client._ws is not None
        client._ws.transport.pause_reading()  # frames from now on stay in the kernel
        for i in range(3):
            await visitor.send(Offer(call_id=call_id, sdp=f"swallowed {i}"))
        await until(lambda: session.seq == 5)
        await written(session)
        client.reconnect_now("address-lost")  # abort: the unread frames are gone
        await client.wait_connected(timeout=2)
        assert client.welcome.resumed and not client.welcome.replay_gap  # type: ignore[union-attr]

        got = await collect(incoming, 3)
        assert [(m.sdp, m.seq) for m in got if isinstance(m, Offer)] == [
            ("swallowed 0", 3),
            ("swallowed 1", 4),
            ("swallowed 2", 5),
        ]
        await visitor.send(Candidate(call_id=call_id, candidate="next"))
        nxt = (await collect(incoming, 1))[0]
        assert isinstance(nxt, Candidate) and nxt.candidate == "next"  # nothing twice before
        await incoming.aclose()  # type: ignore[attr-defined]


async def test_client_drops_duplicates_and_sends_its_last_seq(_no_leaked_tasks: None) -> None:
    """A scripted server: repeats and replays what the client already has."""
    resumes: list[Resume] = []
    welcome = Welcome(
        session_id="s",
        resume_token="t",
        heartbeat_interval=5.0,
        limits=Limits(max_frame_bytes=65536, messages_per_second=50),
    )

    def offer(seq: int) -> str:
        return encode(Offer(call_id="c", sdp=f"o{seq}", seq=seq))

    async def scripted(conn: ServerConnection) -> None:
        first = decode(await conn.recv())
        if isinstance(first, Resume):
            resumes.append(first)
            await conn.send(encode(msgspec.structs.replace(welcome, resumed=True)))
            for seq in (2, 3, 4):  # 2 arrived before the drop: a duplicate
                await conn.send(offer(seq))
        else:
            await conn.send(encode(welcome))
            for seq in (1, 2, 2, 1):
                await conn.send(offer(seq))
            await asyncio.sleep(0.1)
            conn.transport.abort()
        await conn.wait_closed()

    async with websockets.serve(scripted, "127.0.0.1", 0) as fake:
        port = fake.sockets[0].getsockname()[1]
        client = SignalingClient(f"ws://127.0.0.1:{port}/ws", "visitor", site_key=SITE_KEY, **FAST)  # type: ignore[arg-type]
        async with running(client):
            got: list[Message] = []
            client.message_received.connect(got.append)  # from the first frame on
            await client.connect(timeout=2)
            await until(lambda: len(got) >= 4 and client.state is ConnectionState.CONNECTED)
            await asyncio.sleep(0.1)  # nothing more trickles in
            assert [m.seq for m in got] == [1, 2, 3, 4]
            assert [r.last_seq for r in resumes] == [2]


async def test_acks_trim_the_history_and_errors_are_never_kept(
    connect: Connect, server: SignalingServer, start_call: StartCall
) -> None:
    alice = await connect("agent", "alice")
    visitor = await connect("visitor")
    call_id = await start_call(alice, visitor)
    session = session_of(server, alice)
    for n in range(5):
        await visitor.send(Offer(call_id=call_id, sdp=f"v=0 {n}"))
        await alice.expect(Offer)
    kept = [seq for seq, *_ in session.history]
    assert kept == list(range(1, session.seq + 1))
    # Errors echo input: none gets a seq or a place in the history.
    for _ in range(20):
        await alice.ws.send('{"type": "offer", "call_id": "' + "x" * 40 + '"}')
        error = await alice.expect(Error)
        assert error.seq is None
    assert [seq for seq, *_ in session.history] == kept
    # The ack on the heartbeat: the history forgets what the client has.
    await alice.send(Ping(id="hb", ack=session.seq - 1))
    await alice.expect(Pong)
    assert [seq for seq, *_ in session.history] == [session.seq]
    await alice.send(Ping(id="hb2", ack=10**6))  # an ack from the future trims what exists
    await alice.expect(Pong)
    assert not session.history


async def test_only_call_parties_are_kept_for_resume(
    connect: Connect, server: SignalingServer, start_call: StartCall
) -> None:
    idle = await connect("visitor")
    token = idle.resume_token
    await idle.ws.close()
    await until(lambda: len(server.sessions) == 0)
    again = await connect()
    await again.send(Resume(protocol=PROTOCOL_VERSION, resume_token=token))
    assert (await again.expect(Error)).code == ErrorCode.RESUME_FAILED
    alice = await connect("agent", "alice")
    caller = await connect("visitor")
    await start_call(alice, caller)
    await caller.ws.close()
    await until(lambda: server.sessions.detached == 1)  # the live call's party waits


@pytest.mark.server_config(max_detached_sessions=1, resume_grace=5.0)
async def test_sessions_kept_for_resume_are_capped(
    connect: Connect, server: SignalingServer
) -> None:
    agents = [await connect("agent", name) for name in ("alice", "bob")]
    for agent in agents:
        await agent.ws.close()
    await until(lambda: len(server.sessions) == 1)
    assert server.sessions.detached == 1


async def test_client_acks_on_its_heartbeat(server: SignalingServer) -> None:
    client = SignalingClient(
        server.url, "agent", name="alice", token=AGENTS["alice"], heartbeat_interval=0.05, **FAST
    )
    try:
        await client.connect(timeout=2)
        session = server.sessions.find_agent("alice")
        assert session is not None
        session.deliver(Candidate(call_id="c", candidate="x"))
        await until(lambda: len(session.history) == 1)
        await until(lambda: not session.history)  # acked on a heartbeat, then trimmed
    finally:
        await client.close()


@pytest.mark.server_config(resume_grace=5.0)
async def test_a_replay_leaves_out_restart_offers_that_newer_ones_or_the_episode_end_made_moot(
    connect: Connect, start_call: StartCall, server: SignalingServer
) -> None:
    """After a long outage the peer's periodic re-issues pile up: a resume gets the newest
    restart offer of an open episode, none of a closed one, and everything else."""
    alice = await connect("agent", "alice")
    visitor = await connect("visitor")
    call_id = await start_call(alice, visitor)  # seq 1, 2

    def offer(attempt: int, n: int) -> RestartOffer:
        return RestartOffer(call_id=call_id, sdp=f"v=0 {attempt}.{n}", attempt=attempt)

    episode_1 = [offer(1, n) for n in range(4)] + [offer(2, 0)]
    closed = CallState(call_id=call_id, state="connected")  # the visitor recovered
    episode_2 = [offer(1, n) for n in range(6)]
    middle = Candidate(call_id=call_id, candidate="candidate:kept")
    await swallow(
        server, alice, *episode_1, closed, *episode_2[:3], middle, *episode_2[3:], sender=visitor
    )
    session = session_of(server, alice)
    assert session.seq == 2 + 5 + 1 + 6 + 1

    again, welcome = await resume(connect, alice.resume_token, last_seq=2)
    assert welcome.resumed and not welcome.replay_gap
    got = [await again.recv() for _ in range(3)]
    await again.silent(0.2)
    assert [type(m).__name__ for m in got] == ["CallState", "Candidate", "RestartOffer"]
    last = got[2]
    assert isinstance(last, RestartOffer) and last.sdp == "v=0 1.5"
    assert session.replay_dropped == 5 + 5
    # The live relay is untouched: a new offer after the resume goes through.
    await visitor.send(offer(2, 9))
    assert (await again.expect(RestartOffer)).sdp == "v=0 2.9"
