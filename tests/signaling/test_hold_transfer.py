"""Hold and transfer on the real server, driven by raw peers: what is relayed, what is
refused (with which stable code), and where a handed-on call rings."""

from __future__ import annotations

import pytest

from softphone.signaling.protocol import (
    Accept,
    Accepted,
    AgentList,
    AgentsRequest,
    Answer,
    CallRequest,
    CallTicketMsg,
    Consult,
    Consulting,
    Decline,
    Error,
    ErrorCode,
    Hangup,
    Hold,
    Offer,
    Presence,
    Reattach,
    Ring,
    Ringing,
    Transfer,
    Transferred,
    Transferring,
    WrapUp,
)
from tests.signaling.conftest import next_message as _next


async def test_hold_is_relayed_to_the_visitor_and_only_the_agent_may_hold(connect, start_call):
    alice = await connect("agent", "alice")
    visitor = await connect("visitor")
    call_id = await start_call(alice, visitor)
    await alice.send(Hold(call_id=call_id, on=True, id="h1"))
    held = await visitor.expect(Hold)
    assert (held.call_id, held.on, held.id) == (call_id, True, None)
    await alice.send(Hold(call_id=call_id, on=False))
    assert (await visitor.expect(Hold)).on is False

    await visitor.send(Hold(call_id=call_id, on=True, id="v1"))
    refused = await visitor.expect(Error)
    assert (refused.code, refused.ref) == (ErrorCode.FORBIDDEN, "v1")
    await alice.silent()
    bob = await connect("agent", "bob")
    await bob.send(Hold(call_id=call_id, on=True, id="b1"))
    assert (await _next(bob, Error)).code == ErrorCode.NOT_IN_CALL
    await visitor.silent()


async def test_hold_of_a_call_not_yet_live_is_refused(connect):
    alice = await connect("agent", "alice")
    visitor = await connect("visitor")
    await visitor.send(CallRequest())
    call_id = (await visitor.expect_ringing()).call_id
    await _next(alice, Ring)
    await alice.send(Hold(call_id=call_id, on=True, id="h"))
    assert (await _next(alice, Error)).code == ErrorCode.NOT_AVAILABLE


@pytest.mark.server_config(ring_timeout=5.0, wrap_up_s=30.0)
async def test_blind_transfer_rings_the_colleague_with_the_note(connect, start_call):
    alice = await connect("agent", "alice")
    visitor = await connect("visitor")
    call_id = await start_call(alice, visitor)
    bob = await connect("agent", "bob")
    carol = await connect("agent", "carol")
    await carol.send(Presence(status="away"))
    await alice.send(AgentsRequest(id="who"))
    listed = await _next(alice, AgentList)
    assert (listed.agents, listed.ref) == (["bob"], "who")  # not herself, not the away one

    # Refusals keep the call where it is.
    await alice.send(Transfer(call_id=call_id, to="carol", id="t0"))
    assert (await _next(alice, Error)).code == ErrorCode.NOT_AVAILABLE
    await alice.send(Transfer(call_id=call_id, to="nobody", id="t1"))
    assert (await _next(alice, Error)).code == ErrorCode.NOT_AVAILABLE
    await alice.send(Transfer(call_id=call_id, to="bob", note="x" * 201, id="t2"))
    assert (await _next(alice, Error)).code == ErrorCode.INVALID_MESSAGE
    await bob.send(Transfer(call_id=call_id, to="bob", id="t3"))
    assert (await _next(bob, Error)).code == ErrorCode.NOT_IN_CALL
    await visitor.send(Transfer(call_id=call_id, to="bob", id="t4"))
    assert (await visitor.expect(Error)).code == ErrorCode.FORBIDDEN
    await visitor.silent()

    await alice.send(Transfer(call_id=call_id, to="bob", note="<b>wants a refund</b>", id="t5"))
    done = await _next(alice, Transferred)
    assert (done.call_id, done.to, done.ref) == (call_id, "bob", "t5")
    assert (await _next(alice, WrapUp)).call_id == call_id
    assert (await visitor.expect(Transferring)).call_id == call_id
    assert (await visitor.expect(Ringing)).call_id == call_id
    ring = await _next(bob, Ring)
    assert ring.call_id == call_id and ring.transfer is not None
    assert (ring.transfer.from_agent, ring.transfer.note) == ("alice", "<b>wants a refund</b>")
    assert ring.visitor.name == "Vera"

    # Alice is out of the call: her messages for it are refused, her ticket no longer works.
    await alice.send(Hold(call_id=call_id, on=True, id="late"))
    assert (await _next(alice, Error)).code == ErrorCode.NOT_IN_CALL
    await bob.send(Accept(call_id=call_id))
    accepted = await visitor.expect(Accepted)
    assert accepted.agent_name == "bob" and accepted.ticket
    await _next(bob, CallTicketMsg)
    await visitor.send(Offer(call_id=call_id, sdp="v=0 new leg"))
    assert (await _next(bob, Offer)).sdp == "v=0 new leg"
    await bob.send(Answer(call_id=call_id, sdp="v=0 answer"))
    assert (await visitor.expect(Answer)).sdp == "v=0 answer"
    await alice.silent()


@pytest.mark.server_config(ring_timeout=5.0)
async def test_transfer_back_to_the_queue_rings_the_next_free_agent(connect, start_call):
    alice = await connect("agent", "alice")
    visitor = await connect("visitor")
    call_id = await start_call(alice, visitor)
    await alice.send(Transfer(call_id=call_id, id="alone"))
    refused = await _next(alice, Error)  # nobody else signed in: she keeps the call
    assert (refused.code, refused.ref) == (ErrorCode.NOT_AVAILABLE, "alone")
    bob = await connect("agent", "bob")
    await bob.send(Presence(status="away"))
    await alice.send(Transfer(call_id=call_id, id="away"))  # away agents count as nobody
    assert (await _next(alice, Error)).code == ErrorCode.NOT_AVAILABLE
    await visitor.silent()
    await bob.send(Presence(status="available"))
    await alice.send(Transfer(call_id=call_id, note="billing"))
    assert (await _next(alice, Transferred)).to is None
    assert (await visitor.expect(Transferring)).call_id == call_id
    ring = await _next(bob, Ring)
    assert ring.call_id == call_id and ring.transfer is not None
    assert (ring.transfer.from_agent, ring.transfer.note) == ("alice", "billing")
    assert (await visitor.expect(Ringing)).call_id == call_id
    await alice.silent(0.2)  # never rung again for the call she handed on


@pytest.mark.server_config(ring_timeout=5.0, transfers_per_call=1)
async def test_transfers_per_call_are_limited_and_old_tickets_do_not_reattach(connect, start_call):
    alice = await connect("agent", "alice")
    visitor = await connect("visitor")
    call_id = await start_call(alice, visitor)
    bob = await connect("agent", "bob")
    await alice.send(Transfer(call_id=call_id, to="bob"))
    await _next(alice, Transferred)
    await _next(bob, Ring)
    await bob.send(Accept(call_id=call_id))
    await visitor.expect(Transferring)
    await visitor.expect(Ringing)
    await visitor.expect(Accepted)
    await _next(bob, CallTicketMsg)
    await bob.send(Transfer(call_id=call_id, id="again"))
    assert (await _next(bob, Error)).code == ErrorCode.TRANSFER_LIMIT


async def test_the_old_agent_ticket_cannot_take_back_a_handed_on_call(connect):
    alice = await connect("agent", "alice")
    visitor = await connect("visitor")
    await visitor.send(CallRequest())
    call_id = (await visitor.expect_ringing()).call_id
    await _next(alice, Ring)
    await alice.send(Accept(call_id=call_id))
    await visitor.expect(Accepted)
    ticket = (await _next(alice, CallTicketMsg)).ticket
    bob = await connect("agent", "bob")
    await alice.send(Transfer(call_id=call_id, to="bob"))
    await _next(alice, Transferred)
    await _next(bob, Ring)
    await bob.send(Accept(call_id=call_id))
    await _next(bob, CallTicketMsg)
    await alice.send(Reattach(ticket=ticket, id="r"))
    assert (await _next(alice, Error)).code == ErrorCode.FORBIDDEN


@pytest.mark.server_config(ring_timeout=5.0, wrap_up_s=30.0)
async def test_consult_then_complete_hands_the_call_to_the_consulted_colleague(connect, start_call):
    alice = await connect("agent", "alice")
    visitor = await connect("visitor")
    call_id = await start_call(alice, visitor)
    bob = await connect("agent", "bob")
    await alice.send(Consult(call_id=call_id, to="bob", note="billing question", id="k"))
    consulting = await _next(alice, Consulting)
    assert (consulting.for_call, consulting.to, consulting.ref) == (call_id, "bob", "k")
    kid = consulting.call_id
    ring = await _next(bob, Ring)
    assert ring.call_id == kid and ring.visitor.name == "alice" and ring.transfer is not None
    assert (ring.transfer.from_agent, ring.transfer.consult) == ("alice", True)
    await alice.send(Consult(call_id=call_id, to="bob", id="twice"))
    assert (await _next(alice, Error)).code == ErrorCode.ALREADY_IN_CALL
    await bob.send(Accept(call_id=kid))
    accepted = await _next(alice, Accepted)
    assert (accepted.call_id, accepted.agent_name, accepted.ticket) == (kid, "bob", None)
    await alice.send(Offer(call_id=kid, sdp="v=0 consult"))  # the agents talk
    assert (await _next(bob, Offer)).sdp == "v=0 consult"
    await bob.send(Transfer(call_id=kid, id="no"))  # a consult call is never handed on
    assert (await _next(bob, Error)).code == ErrorCode.FORBIDDEN
    await alice.send(Transfer(call_id=kid, id="nor"))
    assert (await _next(alice, Error)).code == ErrorCode.FORBIDDEN
    await visitor.silent()  # the visitor hears nothing of it

    await alice.send(Transfer(call_id=call_id, to="bob", note="billing question", id="done"))
    assert (await _next(bob, Hangup)).reason == "consult-complete"
    assert (await _next(alice, Hangup)).call_id == kid
    assert (await _next(alice, Transferred)).ref == "done"
    assert (await visitor.expect(Transferring)).call_id == call_id
    ring = await _next(bob, Ring)  # no wrap-up after a consult: bob rings at once
    assert ring.call_id == call_id and ring.transfer is not None and not ring.transfer.consult
    assert (await visitor.expect(Ringing)).call_id == call_id


@pytest.mark.server_config(ring_timeout=5.0, wrap_up_s=30.0)
async def test_a_declined_or_cancelled_consult_leaves_the_visitor_with_the_agent(
    connect, start_call
):
    alice = await connect("agent", "alice")
    visitor = await connect("visitor")
    call_id = await start_call(alice, visitor)
    bob = await connect("agent", "bob")
    await alice.send(Consult(call_id=call_id, to="bob"))
    kid = (await _next(alice, Consulting)).call_id
    await _next(bob, Ring)
    await bob.send(Decline(call_id=kid))
    declined = await _next(alice, Hangup)
    assert (declined.call_id, declined.reason) == (kid, "declined")

    await alice.send(Consult(call_id=call_id, to="bob"))
    kid = (await _next(alice, Consulting)).call_id
    await _next(bob, Ring)
    await bob.send(Accept(call_id=kid))
    await _next(alice, Accepted)
    await alice.send(Hangup(call_id=kid))  # cancel: back to the visitor
    assert (await _next(bob, Hangup)).call_id == kid
    await bob.silent(0.2)  # no wrap-up after a consult
    await alice.send(Hold(call_id=call_id, on=False))  # the visitor's call is still hers
    assert (await visitor.expect(Hold)).on is False
