"""Session resume: a dropped socket keeps its session and call for the grace period,
messages sent to it meanwhile arrive in order on resume; after the grace, ``peer-lost``."""

from __future__ import annotations

import asyncio

import pytest

from softphone.signaling.protocol import (
    PROTOCOL_VERSION,
    Candidate,
    Error,
    ErrorCode,
    Hangup,
    HangupReason,
    Hello,
    Offer,
    Resume,
    Welcome,
)


@pytest.mark.server_config(resume_grace=5.0)
async def test_resume_within_grace_delivers_queued_messages_in_order(connect, start_call):
    alice = await connect("agent", "alice")
    visitor = await connect("visitor")
    call_id = await start_call(alice, visitor)
    await alice.ws.close()

    await visitor.send(Offer(call_id=call_id, sdp="v=0 queued"))
    for i in range(5):
        await visitor.send(Candidate(call_id=call_id, candidate=f"candidate:{i}"))
    await visitor.silent(0.1)  # relayed into the outbox, no error for the sender

    again = await connect()
    await again.send(Resume(protocol=PROTOCOL_VERSION, resume_token=alice.resume_token, id="r"))
    welcome = await again.expect(Welcome)
    assert (welcome.resumed, welcome.call_id, welcome.ref) == (True, call_id, "r")
    assert welcome.session_id == alice.welcome.session_id
    assert (await again.expect(Offer)).sdp == "v=0 queued"
    got = [(await again.expect(Candidate)).candidate for _ in range(5)]
    assert got == [f"candidate:{i}" for i in range(5)]

    # The call carries on both ways.
    await again.send(Hangup(call_id=call_id))
    await visitor.expect(Hangup)


async def test_after_grace_the_other_party_gets_peer_lost(connect, start_call, server):
    alice = await connect("agent", "alice")
    visitor = await connect("visitor")
    call_id = await start_call(alice, visitor)
    await visitor.ws.close()
    await alice.silent(0.3)  # within the 0.5 s grace: nothing yet

    hangup = await alice.expect(Hangup, within=1.0)
    assert (hangup.call_id, hangup.reason) == (call_id, HangupReason.PEER_LOST)
    assert server.switchboard.calls == {}

    late = await connect()
    await late.send(Resume(protocol=PROTOCOL_VERSION, resume_token=visitor.resume_token))
    assert (await late.expect(Error)).code == ErrorCode.RESUME_FAILED
    # The same socket may still sign in afresh.
    token = server.sign_in.visitor_tokens.mint("site-key-1")
    await late.send(Hello(protocol=PROTOCOL_VERSION, role="visitor", token=token))
    assert (await late.expect(Welcome)).resumed is False


@pytest.mark.server_config(resume_grace=5.0)
async def test_resume_takes_over_a_half_open_socket(connect, start_call):
    alice = await connect("agent", "alice")
    visitor = await connect("visitor")
    call_id = await start_call(alice, visitor)
    again = await connect()
    await again.send(Resume(protocol=PROTOCOL_VERSION, resume_token=alice.resume_token))
    await again.expect(Welcome)
    await asyncio.wait_for(alice.ws.wait_closed(), 2)
    await visitor.send(Offer(call_id=call_id, sdp="to the new socket"))
    assert (await again.expect(Offer)).sdp == "to the new socket"
