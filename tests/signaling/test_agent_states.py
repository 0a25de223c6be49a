"""Agent states on the real server: away agents are never rung, and after a call the agent
is in wrap-up (after-call work) until it says Ready or ``wrap_up_s`` runs out."""

from __future__ import annotations

import asyncio
import time

import pytest

from softphone.signaling.protocol import (
    CallRequest,
    Error,
    ErrorCode,
    Hangup,
    NoAgent,
    Presence,
    Queue,
    Queued,
    Ring,
    Ringing,
    WrapUp,
)
from tests.signaling.conftest import next_message as _next


@pytest.mark.server_config(ring_timeout=5.0)
async def test_an_away_agent_with_a_reason_is_not_rung_until_available(connect):
    alice = await connect("agent", "alice")
    bob = await connect("agent", "bob")
    await alice.send(Presence(status="away", reason="Lunch"))
    await bob.send(Presence(status="away"))
    await asyncio.sleep(0.05)
    visitor = await connect("visitor")
    await visitor.send(CallRequest())
    await visitor.expect(Queued)
    assert (await visitor.expect(NoAgent)).reason == "no-agent-available"
    await alice.send(Presence(status="available"))
    await asyncio.sleep(0.05)
    again = await connect("visitor")
    await again.send(CallRequest())
    call_id = (await again.expect_ringing()).call_id
    assert (await _next(alice, Ring)).call_id == call_id
    await bob.silent(0.2)  # nothing was rung on the away one


async def test_an_away_reason_is_bounded(connect):
    alice = await connect("agent", "alice")
    await alice.send(Presence(status="away", reason="x" * 65))
    assert (await alice.expect(Error)).code == ErrorCode.INVALID_MESSAGE


@pytest.mark.server_config(ring_timeout=5.0, wrap_up_s=30.0)
async def test_wrap_up_holds_rings_until_ready(connect, start_call):
    alice = await connect("agent", "alice")
    call_id = await start_call(alice, await connect("visitor"))
    await alice.send(Hangup(call_id=call_id))
    wrap = await _next(alice, WrapUp)
    assert (wrap.call_id, wrap.seconds) == (call_id, 30.0)
    waiting = await connect("visitor")
    await waiting.send(CallRequest())
    queued = await waiting.expect(Queued)
    assert queued.position == 1  # it waits for the agent in wrap-up, not turned away
    assert (await alice.expect(Queue)).waiting == 1
    await alice.silent(0.3)
    await waiting.silent(0.05)
    await alice.send(Presence(status="available"))  # Ready
    assert (await _next(alice, Ring)).call_id == queued.call_id
    assert (await waiting.expect(Ringing)).call_id == queued.call_id


@pytest.mark.server_config(ring_timeout=5.0, wrap_up_s=0.5)
async def test_wrap_up_ends_by_itself_after_wrap_up_s(connect, start_call):
    alice = await connect("agent", "alice")
    visitor = await connect("visitor")
    call_id = await start_call(alice, visitor)
    await visitor.send(Hangup(call_id=call_id))  # the visitor ends it: wrap-up all the same
    ended = time.monotonic()
    await _next(alice, Hangup)
    await _next(alice, WrapUp)
    waiting = await connect("visitor")
    await waiting.send(CallRequest())
    queued = await waiting.expect(Queued)
    assert (await _next(alice, Ring, within=3.0)).call_id == queued.call_id
    assert time.monotonic() - ended >= 0.45


@pytest.mark.server_config(ring_timeout=5.0, wrap_up_s=30.0)
async def test_going_away_during_wrap_up_stays_away(connect, start_call):
    alice = await connect("agent", "alice")
    call_id = await start_call(alice, await connect("visitor"))
    await alice.send(Hangup(call_id=call_id))
    await _next(alice, WrapUp)
    await alice.send(Presence(status="away", reason="Break"))
    waiting = await connect("visitor")
    await waiting.send(CallRequest())
    await waiting.expect(Queued)
    assert (await waiting.expect(NoAgent)).reason == "no-agent-available"


@pytest.mark.server_config(ring_timeout=5.0, wrap_up_s=30.0)
async def test_a_free_agent_takes_the_call_while_another_wraps_up(connect, start_call):
    alice = await connect("agent", "alice")
    call_id = await start_call(alice, await connect("visitor"))
    bob = await connect("agent", "bob")
    await alice.send(Hangup(call_id=call_id))
    await _next(alice, WrapUp)
    waiting = await connect("visitor")
    await waiting.send(CallRequest())
    call_2 = (await waiting.expect_ringing()).call_id
    assert (await _next(bob, Ring)).call_id == call_2
    await alice.silent(0.2)
