"""No message lost or duplicated when the node holding a session dies (issue 13): real node
processes on loopback sharing Debian's redis-server, raw protocol peers.

The agent reads only part of what the visitor sent it, then its node (the leader) is
SIGKILLed: what it had not read comes again on the other node, restored from Redis, each
``seq`` exactly once and in order, and numbering goes on from there (no ``seq`` reused).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
import websockets

from labnet.nodes import LoopbackNode, start_nodes
from labnet.redis_server import RedisServer
from softphone.signaling.protocol import (
    PROTOCOL_VERSION,
    Accept,
    Accepted,
    CallRequest,
    CallTicketMsg,
    Candidate,
    Error,
    ErrorCode,
    Hello,
    Message,
    Notice,
    Queue,
    Queued,
    Reattached,
    RestartOffer,
    Resume,
    Ring,
    Ringing,
    Welcome,
)
from tests.signaling.conftest import RawPeer, _start_call

TOKEN = "replay-agent-token"
ENV = {"SOFTPHONE_AGENT_TOKENS": f"alice:{TOKEN}", "SOFTPHONE_CALL_TICKET_SECRET": "s" * 32}
CONFIG = 'no_origin_visitors = "allow"\n[limits]\nwrap_up_s = 0.0\n'
SENT = 20
READ = 8


@pytest.fixture
def nodes() -> Iterator[list[LoopbackNode]]:
    with RedisServer() as redis:
        started = start_nodes(["node-a", "node-b"], redis.url, config=CONFIG, env=ENV)
        yield started
        for node in started:
            node.close()


async def open_peer(url: str, hello: Hello | Resume) -> RawPeer:
    peer = RawPeer(await websockets.connect(url, compression=None))
    await peer.send(hello)
    peer.welcome = await peer.expect(Welcome, 5.0)
    return peer


def candidate(call_id: str, n: int) -> Candidate:
    return Candidate(call_id=call_id, candidate=f"candidate:{n} 1 udp 1 127.0.0.1 {n} typ host")


async def test_replay_after_the_leader_died_is_complete_and_exactly_once(
    nodes: list[LoopbackNode],
) -> None:
    node_a, node_b = nodes
    agent = await open_peer(
        node_a.url, Hello(protocol=PROTOCOL_VERSION, role="agent", name="alice", token=TOKEN)
    )
    visitor = await open_peer(node_b.url, Hello(protocol=PROTOCOL_VERSION, role="visitor"))
    call_id = await _start_call(agent, visitor)  # across the nodes: B forwards to A
    for n in range(SENT):
        await visitor.send(candidate(call_id, n))
    seen: list[Message] = [await agent.expect(Candidate) for _ in range(READ)]
    last_seq = seen[-1].seq
    assert last_seq is not None
    await asyncio.sleep(0.5)  # what A sent is written behind to Redis by now

    node_a.kill()  # the rest sits unread in the dead socket
    await agent.ws.close()
    assert agent.welcome is not None
    resume = Resume(
        protocol=PROTOCOL_VERSION, resume_token=agent.welcome.resume_token, last_seq=last_seq
    )
    agent = await open_peer(node_b.url, resume)
    assert agent.welcome is not None and agent.welcome.resumed
    assert not agent.welcome.replay_gap
    replayed = [await agent.expect(Candidate) for _ in range(SENT - READ)]
    seen += replayed
    assert [c.candidate for c in seen] == [candidate(call_id, n).candidate for n in range(SENT)]
    seqs = [m.seq for m in seen]
    assert seqs == list(range(seqs[0], seqs[0] + SENT)), seqs  # each once, in order
    rebuilt = await agent.expect(Reattached)  # its call came back with it
    assert rebuilt.call_id == call_id and rebuilt.seq == seqs[-1] + 1

    # The visitor's socket crossed to the dead leader: B closes it, the visitor resumes.
    with pytest.raises(websockets.ConnectionClosed):
        async with asyncio.timeout(5.0):
            while True:
                await visitor.recv(5.0)
    assert visitor.welcome is not None
    visitor = await open_peer(
        node_b.url,
        Resume(protocol=PROTOCOL_VERSION, resume_token=visitor.welcome.resume_token, last_seq=0),
    )
    assert visitor.welcome is not None and visitor.welcome.resumed
    await visitor.send(RestartOffer(call_id=call_id, sdp="v=0", attempt=1, reason="test"))
    while not isinstance(msg := await agent.recv(), RestartOffer):
        assert isinstance(msg, Reattached), msg  # the visitor's return, nothing else
    assert msg.seq is not None and msg.seq > rebuilt.seq
    node_b_log = node_b.log_text()
    assert node_b_log.count("signaling.session_restored") == 2


async def test_a_draining_forwarder_tells_its_clients_to_move(nodes: list[LoopbackNode]) -> None:
    """SIGTERM on a node that only forwards: its clients hear ``server_draining`` before the
    1012 close (so they move without a backoff), and resume on the leader."""
    node_a, node_b = nodes
    agent = await open_peer(
        node_b.url, Hello(protocol=PROTOCOL_VERSION, role="agent", name="alice", token=TOKEN)
    )
    assert node_b.proc is not None
    node_b.proc.terminate()
    notice = await agent.expect(Notice, 5.0)
    assert notice.code == ErrorCode.SERVER_DRAINING
    with pytest.raises(websockets.ConnectionClosed) as closed:
        await agent.recv(5.0)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1012
    assert agent.welcome is not None
    resume = Resume(protocol=PROTOCOL_VERSION, resume_token=agent.welcome.resume_token)
    moved = await open_peer(node_a.url, resume)
    assert moved.welcome is not None and moved.welcome.resumed


@pytest.mark.parametrize("stop", ["kill", "drain"])
async def test_the_waiting_line_survives_the_leader_stopped(
    nodes: list[LoopbackNode], stop: str
) -> None:
    """The line is in Redis too: one caller ringing and one waiting when the leader is
    SIGKILLed or drained both resume on the other node with their calls back in their
    places (the one that was ringing first, though it resumes last), and the agent, back
    too, is rung for the first and connects it."""
    node_a, node_b = nodes
    agent = await open_peer(
        node_a.url, Hello(protocol=PROTOCOL_VERSION, role="agent", name="alice", token=TOKEN)
    )
    first = await open_peer(node_b.url, Hello(protocol=PROTOCOL_VERSION, role="visitor"))
    await first.send(CallRequest())
    first_call = (await first.expect_ringing()).call_id
    assert (await agent.expect(Ring)).call_id == first_call
    second = await open_peer(node_b.url, Hello(protocol=PROTOCOL_VERSION, role="visitor"))
    await second.send(CallRequest())
    second_call = (await second.expect(Queued)).call_id
    await asyncio.sleep(0.5)  # written behind by now
    assert node_a.proc is not None
    if stop == "kill":
        node_a.kill()
    else:
        node_a.proc.terminate()
        while not isinstance(await agent.recv(5.0), Notice):  # draining: the agent stays
            pass
    for peer in (agent, first, second):
        await peer.ws.close()
    assert await asyncio.to_thread(node_a.proc.wait, 10) is not None

    async def resume(peer: RawPeer) -> RawPeer:
        assert peer.welcome is not None
        token = peer.welcome.resume_token
        back = await open_peer(node_b.url, Resume(protocol=PROTOCOL_VERSION, resume_token=token))
        assert back.welcome is not None and back.welcome.resumed
        return back

    second = await resume(second)  # no agent yet: it waits for them, first in line for now
    placed = await second.expect(Queued, 5.0)
    assert (placed.call_id, placed.position) == (second_call, 1)
    first = await resume(first)  # queued before: in front of it again
    placed = await first.expect(Queued, 5.0)
    assert (placed.call_id, placed.position) == (first_call, 1)
    moved = await second.expect(Queued, 5.0)
    assert (moved.call_id, moved.position) == (second_call, 2)

    agent = await resume(agent)
    ring = await agent.expect(Ring, 5.0)
    assert ring.call_id == first_call
    await first.expect(Ringing, 5.0)
    await agent.send(Accept(call_id=first_call))
    accepted = await first.expect(Accepted, 5.0)
    assert accepted.call_id == first_call and accepted.ticket
    while not isinstance(msg := await agent.recv(5.0), CallTicketMsg):
        assert isinstance(msg, Queue), msg  # the line's length (the second caller waits)
    assert msg.call_id == first_call
    await first.send(candidate(first_call, 1))
    assert (await agent.expect(Candidate, 5.0)).candidate == candidate(first_call, 1).candidate
    assert node_b.log_text().count("signaling.call_requeued") == 2


async def test_a_visitor_without_a_call_is_not_restored(nodes: list[LoopbackNode]) -> None:
    """Only call parties and agents are kept for resume, as on one node."""
    node_a, node_b = nodes
    visitor = await open_peer(node_b.url, Hello(protocol=PROTOCOL_VERSION, role="visitor"))
    await asyncio.sleep(0.5)
    node_a.kill()
    await visitor.ws.close()
    refused = RawPeer(await websockets.connect(node_b.url, compression=None))
    assert visitor.welcome is not None
    await refused.send(Resume(protocol=PROTOCOL_VERSION, resume_token=visitor.welcome.resume_token))
    error = await refused.expect(Error, 5.0)
    assert error.code == ErrorCode.RESUME_FAILED
