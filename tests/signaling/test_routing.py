"""Routing a visitor to an agent: longest idle first, busy agents, ring timeout, decline,
and the relay between the two parties only."""

from __future__ import annotations

import asyncio

import pytest

from softphone.signaling.protocol import (
    PROTOCOL_VERSION,
    Accept,
    Accepted,
    Answer,
    CallRequest,
    CallTicketMsg,
    Candidate,
    Decline,
    Error,
    ErrorCode,
    Hangup,
    Hello,
    NoAgent,
    Offer,
    Presence,
    Queue,
    Queued,
    Ring,
    Ringing,
    RingTimeout,
)
from tests.signaling.conftest import AGENTS


@pytest.mark.server_config(ring_timeout=5.0)
async def test_longest_idle_agent_rings_first(connect):
    alice = await connect("agent", "alice")
    bob = await connect("agent", "bob")
    carol = await connect("agent", "carol")

    v1 = await connect("visitor")
    await v1.send(CallRequest())
    call_1 = (await v1.expect_ringing()).call_id
    assert (await alice.expect(Ring)).call_id == call_1
    await bob.silent()
    await carol.silent()

    # Alice is ringing (busy): the next visitor goes to Bob, who has waited longest now.
    v2 = await connect("visitor")
    await v2.send(CallRequest())
    await v2.expect_ringing()
    await bob.expect(Ring)

    # A finished call makes Alice the most recently idle: after Carol in line.
    await alice.send(Accept(call_id=call_1))
    await v1.expect(Accepted)
    await alice.expect(CallTicketMsg)
    await v1.send(Hangup(call_id=call_1))
    await alice.expect(Hangup)
    v3 = await connect("visitor")
    await v3.send(CallRequest())
    await v3.expect_ringing()
    await carol.expect(Ring)
    await alice.silent()


async def test_agent_in_a_call_is_busy(connect, start_call):
    alice = await connect("agent", "alice")
    v1 = await connect("visitor")
    call_1 = await start_call(alice, v1)
    v2 = await connect("visitor")
    await v2.send(CallRequest(id="r2"))
    queued = await v2.expect(Queued)
    assert (queued.ref, queued.position) == ("r2", 1)
    # Alice is not rung while in a call; she sees the line; v2 waits (no no_agent).
    assert (await alice.expect(Queue)).waiting == 1
    await v2.silent()
    await alice.send(Hangup(call_id=call_1))
    await v1.expect(Hangup)
    assert (await alice.expect(Ring)).call_id == queued.call_id
    assert (await v2.expect(Ringing)).call_id == queued.call_id


async def test_away_agent_is_not_rung(connect):
    alice = await connect("agent", "alice")
    await alice.send(Presence(status="away"))
    visitor = await connect("visitor")
    await visitor.send(CallRequest())
    await visitor.expect(Queued)
    await visitor.expect(NoAgent)


async def test_ring_timeout_moves_on_then_no_agent(connect):
    alice = await connect("agent", "alice")
    bob = await connect("agent", "bob")
    visitor = await connect("visitor")
    await visitor.send(CallRequest())
    call_id = (await visitor.expect_ringing()).call_id
    loop = asyncio.get_running_loop()
    started = loop.time()
    await alice.expect(Ring)
    assert (await alice.expect(RingTimeout, within=1)).call_id == call_id
    assert 0.25 < loop.time() - started < 0.6  # ring_timeout=0.3 in the test config
    await bob.expect(Ring)
    assert (await visitor.expect(Ringing)).call_id == call_id  # now Bob's phone rings
    await bob.expect(RingTimeout, within=1)
    assert (await visitor.expect(NoAgent, within=1)).call_id == call_id
    # A late accept finds nothing.
    await alice.send(Accept(call_id=call_id, id="7"))
    error = await alice.expect(Error)
    assert (error.code, error.ref) == (ErrorCode.UNKNOWN_CALL, "7")


async def test_decline_rings_the_next_agent(connect):
    alice = await connect("agent", "alice")
    bob = await connect("agent", "bob")
    visitor = await connect("visitor")
    await visitor.send(CallRequest())
    call_id = (await visitor.expect_ringing()).call_id
    await alice.expect(Ring)
    await alice.send(Decline(call_id=call_id))
    await bob.expect(Ring)
    await visitor.expect(Ringing)
    await bob.send(Accept(call_id=call_id))
    assert (await visitor.expect(Accepted)).agent_name == "bob"


async def test_visitor_hangup_while_ringing_cancels_the_ring(connect):
    alice = await connect("agent", "alice")
    visitor = await connect("visitor")
    await visitor.send(CallRequest())
    call_id = (await visitor.expect_ringing()).call_id
    await alice.expect(Ring)
    await visitor.send(Hangup(call_id=call_id, reason="cancelled"))
    assert (await alice.expect(Hangup)).reason == "cancelled"
    await alice.silent(0.4)  # no ring_timeout after a cancel


async def test_relay_only_between_the_parties(connect, start_call):
    alice = await connect("agent", "alice")
    bob = await connect("agent", "bob")
    v1 = await connect("visitor")
    v2 = await connect("visitor")
    call_1 = await start_call(alice, v1)
    call_2 = await start_call(bob, v2)

    await alice.send(Offer(call_id=call_1, sdp="v=0 alice"))
    assert (await v1.expect(Offer)).sdp == "v=0 alice"
    await v1.send(Answer(call_id=call_1, sdp="v=0 v1"))
    assert (await alice.expect(Answer)).sdp == "v=0 v1"
    await v1.send(Candidate(call_id=call_1, candidate="candidate:1", sdp_mid="0"))
    assert (await alice.expect(Candidate)).sdp_mid == "0"

    # Another call's id: refused, nothing reaches that call's parties.
    await v2.send(Offer(call_id=call_1, sdp="intruder", id="x"))
    error = await v2.expect(Error)
    assert (error.code, error.ref) == (ErrorCode.NOT_IN_CALL, "x")
    await bob.send(Hangup(call_id=call_1))
    assert (await bob.expect(Error)).code == ErrorCode.NOT_IN_CALL
    await alice.silent()
    await v1.silent()

    await bob.send(Offer(call_id=call_2, sdp="v=0 bob"))
    assert (await v2.expect(Offer)).sdp == "v=0 bob"


async def test_visitor_cannot_act_as_agent(connect):
    alice = await connect("agent", "alice")
    v1 = await connect("visitor")
    v2 = await connect("visitor")
    await v1.send(CallRequest())
    call_id = (await v1.expect_ringing()).call_id
    await alice.expect(Ring)
    for msg in (Accept(call_id=call_id), Decline(call_id=call_id), Presence(status="away")):
        await v2.send(msg)
        assert (await v2.expect(Error)).code == ErrorCode.FORBIDDEN
        await v1.send(msg)
        assert (await v1.expect(Error)).code == ErrorCode.FORBIDDEN
    await alice.send(CallRequest())
    assert (await alice.expect(Error)).code == ErrorCode.FORBIDDEN


async def test_a_fresh_agent_sign_in_replaces_an_idle_session(connect, server):
    old = await connect("agent", "alice")
    new = await connect("agent", "alice")
    assert [s.name for s in server.sessions.agents()] == ["alice"]
    assert new.welcome.session_id != old.welcome.session_id


async def test_a_second_sign_in_never_evicts_an_agent_mid_call(connect, start_call, server):
    old = await connect("agent", "alice")
    visitor = await connect("visitor")
    call_id = await start_call(old, visitor)
    second = await connect()
    await second.send(
        Hello(protocol=PROTOCOL_VERSION, role="agent", name="alice", token=AGENTS["alice"])
    )
    assert (await second.expect(Error)).code == ErrorCode.ALREADY_SIGNED_IN
    await visitor.silent()  # no peer-lost: the call goes on
    await old.send(Offer(call_id=call_id, sdp="v=0 still here"))
    assert (await visitor.expect(Offer)).sdp == "v=0 still here"


@pytest.mark.server_config(ring_timeout=5.0)
async def test_the_line_moves_up_and_agents_see_it(connect, start_call):
    alice = await connect("agent", "alice")
    call_1 = await start_call(alice, await connect("visitor"))
    v2, v3 = await connect("visitor"), await connect("visitor")
    await v2.send(CallRequest())
    c2 = await v2.expect(Queued)
    await v3.send(CallRequest())
    assert (await v3.expect(Queued)).position == 2
    assert [(await alice.expect(Queue)).waiting for _ in range(2)] == [1, 2]
    await v2.send(Hangup(call_id=c2.call_id, reason="cancelled"))  # gives up waiting
    assert (await v3.expect(Queued)).position == 1
    assert (await alice.expect(Queue)).waiting == 1
    await alice.send(Hangup(call_id=call_1))
    await alice.expect(Ring)  # v3, first in line now
    assert (await alice.expect(Queue)).waiting == 0
    await v3.expect(Ringing)


@pytest.mark.server_config(queue_timeout=0.4)
async def test_a_call_waits_at_most_the_queue_timeout(connect, start_call):
    alice = await connect("agent", "alice")
    await start_call(alice, await connect("visitor"))
    waiting = await connect("visitor")
    await waiting.send(CallRequest())
    await waiting.expect(Queued)
    no_agent = await waiting.expect(NoAgent, within=2.0)
    assert no_agent.reason == "queue-timeout"
