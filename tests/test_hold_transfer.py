"""Hold and transfer end to end on loopback: the real signaling server, two AgentSessions
and the headless visitor, with real media (the agent's tone and test pattern)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import secrets
from array import array
from collections.abc import AsyncIterator
from dataclasses import dataclass

import av
import pytest

from softphone.agent import AgentConfig, AgentSession
from softphone.media.hold import HOLD_FREQUENCIES
from softphone.media.pattern import read_frame_stamp
from softphone.rtc.ice import LOOPBACK
from softphone.rtc.peer import CallPeer
from softphone.signaling.client import SignalingError
from softphone.signaling.config import ServerConfig
from softphone.signaling.protocol import ErrorCode
from softphone.signaling.server import SignalingServer
from softphone.visitor.peer import VisitorConfig, VisitorPeer, VisitorSummary
from tests.test_agent import Events, wait_until

TOKENS = {"Alice": secrets.token_urlsafe(8), "Bob": secrets.token_urlsafe(8)}
SITE_KEY = secrets.token_urlsafe(8)
AGENT_TONE = 440.0  # the agent's virtual microphone (softphone.media.tone)


@dataclass
class Desk:
    server: SignalingServer
    agents: dict[str, AgentSession]
    events: dict[str, Events]

    def visitor(self) -> VisitorPeer:
        return VisitorPeer(VisitorConfig(self.server.url, SITE_KEY, "Vera", ice=LOOPBACK))


@contextlib.asynccontextmanager
async def desk(wrap_up_s: float = 0.0) -> AsyncIterator[Desk]:
    """A server with Alice and Bob signed in; Bob is away until a test needs him."""
    config = ServerConfig(
        host="127.0.0.1", port=0, agent_tokens=TOKENS, site_keys=[SITE_KEY], wrap_up_s=wrap_up_s
    )
    server = SignalingServer(config)
    await server.start()
    agents = {
        name: AgentSession(AgentConfig(server.url, t, ice=LOOPBACK)) for name, t in TOKENS.items()
    }
    events = {name: Events() for name in agents}
    try:
        for name, agent in agents.items():
            events[name].watch(agent)
            await agent.start()
            await agent.set_available(name == "Alice")
        yield Desk(server, agents, events)
    finally:
        for agent in agents.values():
            await agent.stop()
        await server.close()


async def answered(agent: AgentSession, events: Events, visitor: VisitorPeer) -> str:
    async with asyncio.timeout(15):
        ring = await events.rings.get()
        await agent.accept(ring.call_id)
        await visitor.connected.wait()
        await wait_until(lambda: "connected" in events.states)
    return ring.call_id


def peer(visitor: VisitorPeer) -> CallPeer:
    assert visitor.call is not None
    return visitor.call.peer


async def heard(visitor: VisitorPeer, seconds: float) -> dict[float, float]:
    """The power of the agent's tone and of the hold tones in what the visitor receives
    (Goertzel over ``seconds`` of decoded audio, left channel)."""
    tap = peer(visitor).monitors["audio"].tap
    samples, rate = array("h"), 48_000
    async with asyncio.timeout(seconds + 5):
        while len(samples) < seconds * rate:
            frame = await tap.recv()
            assert isinstance(frame, av.AudioFrame)
            rate, channels = frame.sample_rate, len(frame.layout.channels)
            samples.extend(array("h", bytes(frame.planes[0]))[::channels])
    return {f: _goertzel(samples, rate, f) for f in (AGENT_TONE, *HOLD_FREQUENCIES)}


def _goertzel(samples: array[int], rate: int, frequency: float) -> float:
    coefficient = 2 * math.cos(2 * math.pi * frequency / rate)
    s1 = s2 = 0.0
    for x in samples:
        s1, s2 = x + coefficient * s1 - s2, s1
    return (s1 * s1 + s2 * s2 - coefficient * s1 * s2) / len(samples)


async def seen(visitor: VisitorPeer) -> av.VideoFrame:
    frame = await asyncio.wait_for(peer(visitor).monitors["video"].tap.recv(), 5)
    assert isinstance(frame, av.VideoFrame)
    return frame


async def test_hold_sends_tone_and_picture_survives_an_ice_restart_and_resume_restores_media(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="aiortc.rtcdtlstransport")
    async with desk() as d:
        alice, events = d.agents["Alice"], d.events["Alice"]
        visitor = d.visitor()
        run = asyncio.create_task(visitor.run())
        await answered(alice, events, visitor)
        talk = await heard(visitor, 0.6)
        assert talk[AGENT_TONE] > 10 * max(talk[f] for f in HOLD_FREQUENCIES), talk

        await alice.set_on_hold(True)
        await wait_until(lambda: visitor.on_hold)
        assert events.statuses[-1].on_hold and events.states[-1] == "connected"
        await asyncio.sleep(0.3)  # what was in flight before the hold has played out
        hold = await heard(visitor, 2.0)  # one whole cycle of the pattern
        assert min(hold[f] for f in HOLD_FREQUENCIES) > 10 * hold[AGENT_TONE], hold
        picture = await seen(visitor)
        assert read_frame_stamp(picture) is None  # not the camera any more
        luma = bytes(picture.reformat(format="yuv420p").planes[0])
        assert 30 < sum(luma) / len(luma) < 90  # the dark hold picture, not black, not grey

        # An ICE restart while on hold: recovered, still on hold, still the hold tone.
        alice.restart_ice("on-hold")
        await wait_until(lambda: events.statuses[-1].recovered_after_s is not None)
        assert events.statuses[-1].on_hold
        again = await heard(visitor, 1.0)
        assert max(again[f] for f in HOLD_FREQUENCIES) > 100 * again[AGENT_TONE], again

        await alice.set_on_hold(False)
        await wait_until(lambda: not visitor.on_hold)
        assert not events.statuses[-1].on_hold
        await asyncio.sleep(0.3)
        back = await heard(visitor, 0.6)
        assert back[AGENT_TONE] > 10 * max(back[f] for f in HOLD_FREQUENCIES), back
        for _ in range(20):  # bounded: the camera's stamped frames come back
            if read_frame_stamp(await seen(visitor)) is not None:
                break
        else:
            raise AssertionError("the camera picture did not come back after resume")

        await alice.hangup()
        summary = await asyncio.wait_for(run, 10)
        assert summary.holds == 1 and summary.ended_reason == "agent-hangup:normal"
    handshakes = [r for r in caplog.records if r.getMessage().endswith("-> State.CONNECTED")]
    assert len(handshakes) == 2  # one per side: hold, resume and the restart made none


async def test_blind_transfer_hands_the_visitor_to_bob_with_the_note() -> None:
    async with desk(wrap_up_s=30.0) as d:
        alice, bob = d.agents["Alice"], d.agents["Bob"]
        visitor = d.visitor()
        run = asyncio.create_task(visitor.run())
        call_id = await answered(alice, d.events["Alice"], visitor)
        assert await alice.free_agents() == []  # Bob is away
        with pytest.raises(SignalingError) as refused:
            await alice.transfer("Bob", "refund")
        assert refused.value.code == ErrorCode.NOT_AVAILABLE and alice.call is not None

        await bob.set_available(True)
        await wait_until(lambda: bob.available)
        assert await alice.free_agents() == ["Bob"]
        await alice.transfer("Bob", "wants a refund for order 1234")
        assert alice.call is None
        assert d.events["Alice"].ended == ["transferred"]
        ring = await asyncio.wait_for(d.events["Bob"].rings.get(), 10)
        assert (ring.call_id, ring.transferred_by) == (call_id, "Alice")
        assert ring.note == "wants a refund for order 1234"
        await bob.accept(ring.call_id)
        await visitor.connected.wait()
        await wait_until(lambda: "connected" in d.events["Bob"].states)
        bob_call = bob.call
        assert bob_call is not None
        await wait_until(
            lambda: (
                bob_call.peer.received("video").stamped_frames >= 60
                and peer(visitor).received("video").stamped_frames >= 60
            )
        )
        assert d.events["Alice"].rings.empty()  # in wrap-up, never rung for it again
        await bob.hangup()
        summary: VisitorSummary = await asyncio.wait_for(run, 10)
        assert summary.transfers == 1 and summary.agent_name == "Bob"
        assert summary.ended_reason == "agent-hangup:normal" and summary.passed, summary.format()


async def test_consult_talks_to_bob_then_cancel_then_complete() -> None:
    async with desk(wrap_up_s=30.0) as d:
        alice, bob = d.agents["Alice"], d.agents["Bob"]
        consults: list[tuple[str, str]] = []
        alice.consult_state.connect(lambda who, state: consults.append((who, state)))
        visitor = d.visitor()
        run = asyncio.create_task(visitor.run())
        call_id = await answered(alice, d.events["Alice"], visitor)
        await bob.set_available(True)
        await wait_until(lambda: bob.available)

        async def talk() -> None:
            """Alice consults Bob and they see each other (the visitor waits on hold)."""
            await alice.consult("Bob", "billing question")
            ring = await asyncio.wait_for(d.events["Bob"].rings.get(), 10)
            assert (ring.visitor_name, ring.transferred_by, ring.consult) == (
                "Alice",
                "Alice",
                True,
            )
            await bob.accept(ring.call_id)
            await wait_until(lambda: alice.consult_call is not None and bob.call is not None)
            leg, bob_leg = alice.consult_call, bob.call
            assert leg is not None and bob_leg is not None
            await wait_until(
                lambda: (
                    leg.peer.received("video").stamped_frames >= 30
                    and bob_leg.peer.received("audio").frames >= 25
                )
            )
            assert visitor.on_hold and alice.call is not None

        await talk()
        await alice.cancel_consult()  # back to the visitor
        await wait_until(lambda: bob.call is None)
        assert alice.call is not None and alice.call.call_id == call_id
        assert consults[-1] == ("Bob", "ended")
        await alice.set_on_hold(False)
        await wait_until(lambda: not visitor.on_hold)
        assert d.events["Bob"].ended == ["normal"]  # Alice hung the consult call up

        await talk()
        await alice.transfer("Bob", "billing question")  # complete
        assert alice.call is None and alice.consult_call is None
        ring = await asyncio.wait_for(d.events["Bob"].rings.get(), 10)
        assert (ring.call_id, ring.transferred_by, ring.consult) == (call_id, "Alice", False)
        await bob.accept(ring.call_id)
        await visitor.connected.wait()
        bob_call = bob.call
        assert bob_call is not None
        await wait_until(lambda: bob_call.peer.received("video").stamped_frames >= 30)
        assert [state for _, state in consults] == ["ringing", "talking", "ended"] * 2
        assert d.events["Bob"].ended == ["normal", "consult-complete"]
        await bob.hangup()
        summary: VisitorSummary = await asyncio.wait_for(run, 10)
        assert summary.transfers == 1 and summary.agent_name == "Bob"
