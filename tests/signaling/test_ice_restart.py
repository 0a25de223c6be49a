"""The server's ICE-restart handler: relay between the parties of a live call only,
a capped count per reconnect episode, reset by ``call_state connected``."""

from __future__ import annotations

import logging

import pytest

from softphone.signaling.protocol import (
    CallRequest,
    CallState,
    Error,
    ErrorCode,
    RestartAnswer,
    RestartOffer,
    Ring,
)


async def test_restart_offer_and_answer_are_relayed_and_logged(connect, start_call, caplog):
    alice = await connect("agent", "alice")
    visitor = await connect("visitor")
    call_id = await start_call(alice, visitor)
    with caplog.at_level(logging.INFO, logger="softphone.signaling.routing"):
        await alice.send(RestartOffer(call_id=call_id, sdp="o1", attempt=1, reason="ice-failed"))
        offer = await visitor.expect(RestartOffer)
        assert (offer.sdp, offer.attempt, offer.reason) == ("o1", 1, "ice-failed")
        await visitor.send(RestartAnswer(call_id=call_id, sdp="a1", attempt=1))
        assert (await alice.expect(RestartAnswer)).sdp == "a1"
    logged = [r for r in caplog.records if r.getMessage() == "signaling.ice_restart"]
    assert [(r.call_id, r.kind, r.__dict__["from"], r.attempt) for r in logged] == [
        (call_id, "restart_offer", "agent", 1),
        (call_id, "restart_answer", "visitor", 1),
    ]
    assert logged[0].reason == "ice-failed"


async def test_restart_from_a_non_party_is_refused(connect, start_call):
    alice = await connect("agent", "alice")
    bob = await connect("agent", "bob")
    visitor = await connect("visitor")
    stranger = await connect("visitor")
    call_id = await start_call(alice, visitor)
    for intruder in (bob, stranger):
        await intruder.send(RestartOffer(call_id=call_id, sdp="x", attempt=1, id="r1"))
        error = await intruder.expect(Error)
        assert (error.code, error.ref) == (ErrorCode.NOT_IN_CALL, "r1")
        await intruder.send(RestartAnswer(call_id=call_id, sdp="x", attempt=1))
        assert (await intruder.expect(Error)).code == ErrorCode.NOT_IN_CALL
    await alice.silent()
    await visitor.silent()


async def test_restart_for_an_unknown_call_is_refused(connect):
    alice = await connect("agent", "alice")
    await alice.send(RestartOffer(call_id="c-nope", sdp="x", attempt=1, id="r"))
    error = await alice.expect(Error)
    assert (error.code, error.ref) == (ErrorCode.UNKNOWN_CALL, "r")


@pytest.mark.server_config(ring_timeout=5.0)
async def test_restart_before_the_call_is_live_is_refused(connect):
    alice = await connect("agent", "alice")
    visitor = await connect("visitor")
    await visitor.send(CallRequest())
    call_id = (await visitor.expect_ringing()).call_id
    await alice.expect(Ring)
    await visitor.send(RestartOffer(call_id=call_id, sdp="x", attempt=1))
    assert (await visitor.expect(Error)).code == ErrorCode.NOT_AVAILABLE
    await alice.silent()


@pytest.mark.server_config(restart_cap=2)
async def test_restart_cap_and_its_reset_on_connected(connect, start_call):
    alice = await connect("agent", "alice")
    visitor = await connect("visitor")
    call_id = await start_call(alice, visitor)

    async def episode() -> None:
        for attempt in (1, 2):
            await alice.send(RestartOffer(call_id=call_id, sdp=f"o{attempt}", attempt=attempt))
            assert (await visitor.expect(RestartOffer)).attempt == attempt
        # Re-issuing attempt 2 while the network is down, and the visitor's glaring offer,
        # are not new attempts: both are relayed.
        await alice.send(RestartOffer(call_id=call_id, sdp="o2-again", attempt=2))
        assert (await visitor.expect(RestartOffer)).sdp == "o2-again"
        await visitor.send(RestartOffer(call_id=call_id, sdp="glare", attempt=1))
        assert (await alice.expect(RestartOffer)).sdp == "glare"
        await alice.send(RestartOffer(call_id=call_id, sdp="o3", attempt=3, id="third"))
        error = await alice.expect(Error)
        assert (error.code, error.ref) == (ErrorCode.RESTART_CAP, "third")
        await visitor.silent()

    await episode()
    await visitor.send(CallState(call_id=call_id, state="connected"))
    assert (await alice.expect(CallState)).state == "connected"
    await episode()  # a new reconnect episode gets the full allowance again
