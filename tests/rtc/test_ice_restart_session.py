"""Call recovery through the real signaling server: AgentSession (impolite) + headless visitor.

Loss is simulated by dropping everything the visitor's ICE transport sends (the visitor's
uplink dies); real link/address faults in network namespaces live in tests/net.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest

from softphone.agent import AgentConfig, AgentSession, CallInfo
from softphone.call.reconnect import ReconnectFailure, ReconnectPolicy
from softphone.call.state import CallState, CallStatus, RestartOrigin
from softphone.rtc.ice import LOOPBACK
from softphone.signaling.config import ServerConfig
from softphone.signaling.server import SignalingServer
from softphone.visitor.peer import VisitorConfig, VisitorPeer, VisitorSummary
from tests.rtc.faults import LossyIceTransport, install_lossy_transport

pytestmark = pytest.mark.timeout(90)

TOKEN, SITE_KEY = secrets.token_urlsafe(8), secrets.token_urlsafe(8)


@dataclass
class Call:
    agent: AgentSession
    visitor: VisitorPeer
    run: asyncio.Task[VisitorSummary]
    statuses: list[CallStatus] = field(default_factory=list)
    failures: list[ReconnectFailure] = field(default_factory=list)
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def states(self) -> list[CallState]:
        return [status.state for status in self.statuses]

    def visitor_ice(self) -> LossyIceTransport:
        assert self.visitor.call is not None and self.visitor.call.peer.restarter is not None
        (transport,) = self.visitor.call.peer.restarter.transports
        assert isinstance(transport, LossyIceTransport)
        return transport

    async def wait_state(self, state: str, within_s: float, after: int | None = None) -> float:
        """Seconds until the agent's call shows ``state`` after ``states[:after]`` (default:
        from now on)."""
        started = time.monotonic()
        seen = len(self.states) if after is None else after
        async with asyncio.timeout(within_s):
            while state not in self.states[seen:]:
                self.changed.clear()
                await self.changed.wait()
        return time.monotonic() - started


@contextlib.asynccontextmanager
async def connected_call(policy: ReconnectPolicy | None = None) -> AsyncIterator[Call]:
    install_lossy_transport()
    server = SignalingServer(
        ServerConfig(host="127.0.0.1", port=0, agent_tokens={"Alice": TOKEN}, site_keys=[SITE_KEY])
    )
    await server.start()
    agent = AgentSession(
        AgentConfig(server.url, TOKEN, ice=LOOPBACK, reconnect=policy or ReconnectPolicy())
    )
    rings: asyncio.Queue[CallInfo] = asyncio.Queue()
    agent.incoming_call.connect(rings.put_nowait)
    visitor = VisitorPeer(VisitorConfig(server.url, SITE_KEY, "Vera", ice=LOOPBACK))
    run: asyncio.Task[VisitorSummary] | None = None
    try:
        await agent.start()
        await agent.set_available(True)
        run = asyncio.create_task(visitor.run())
        ring = await asyncio.wait_for(rings.get(), 10)
        call = Call(agent, visitor, run)
        agent.call_status.connect(call.statuses.append)
        agent.call_status.connect(lambda status: call.changed.set())
        agent.call_failed.connect(call.failures.append)
        await agent.accept(ring.call_id)
        await call.wait_state("connected", within_s=10, after=0)
        await asyncio.wait_for(visitor.connected.wait(), 10)
        yield call
    finally:
        await agent.stop()
        if run is not None:
            visitor.hangup()
            await asyncio.wait_for(run, 10)
        await server.close()


async def frames_flowing(call: Call, within_s: float) -> None:
    """Fresh video frames arrive on both sides."""
    assert call.agent.call is not None and call.visitor.call is not None
    peers = (call.agent.call.peer, call.visitor.call.peer)
    before = [p.received("video").frames for p in peers]
    async with asyncio.timeout(within_s):
        # Frame counters are plain integers with no event to wait on: poll, bounded.
        while any(p.received("video").frames < b + 5 for p, b in zip(peers, before, strict=True)):  # noqa: ASYNC110
            await asyncio.sleep(0.05)


async def test_visitor_uplink_cut_then_back_call_recovers() -> None:
    async with connected_call() as call:
        await frames_flowing(call, within_s=10)
        assert call.agent.call is not None
        agent_dtls = call.agent.call.peer.pc.getTransceivers()[0].receiver.transport
        call.visitor_ice().set_dropping(True)
        detected = await call.wait_state("reconnecting", within_s=5)
        mark = len(call.states)
        await asyncio.sleep(max(0.0, 2.0 - detected))  # a 2 s outage
        call.visitor_ice().set_dropping(False)
        restored = time.monotonic()
        await frames_flowing(call, within_s=10)
        recovered = time.monotonic() - restored
        connected = await call.wait_state("connected", within_s=10, after=mark) + recovered
        print(
            f"reconnecting shown after {detected * 1000:.0f} ms; media {recovered * 1000:.0f} ms;"
            f" connected shown {connected * 1000:.0f} ms after the link came back"
        )

        assert call.states[:3] == ["connecting", "connected", "reconnecting"]
        assert call.states[-1] == "connected"
        assert detected <= 2.0
        assert call.agent.call is not None
        assert call.agent.call.peer.pc.getTransceivers()[0].receiver.transport is agent_dtls
        assert agent_dtls._ssl is not None and agent_dtls.state == "connected"


async def test_manual_restart_keeps_the_call_flowing() -> None:
    async with connected_call() as call:
        await frames_flowing(call, within_s=10)
        mark = len(call.states)
        call.agent.restart_ice("manual")
        await frames_flowing(call, within_s=5)
        await call.wait_state("connected", within_s=5, after=mark)
        assert call.states[mark:] == ["reconnecting", "connected"]
        assert call.agent.call is not None and call.agent.call.peer.restarter is not None
        assert call.agent.call.peer.restarter.transports[0].generation >= 1


async def test_exhausted_attempts_end_the_call_for_both_sides() -> None:
    policy = ReconnectPolicy(max_attempts=2, attempt_timeout_s=1.5, backoff_s=(0.2,))
    async with connected_call(policy) as call:
        call.visitor_ice().set_dropping(True)  # for good
        mark = len(call.states)
        await call.wait_state("failed", within_s=15, after=mark)
        summary = await asyncio.wait_for(call.run, 10)
        assert call.states[-1] is CallState.FAILED  # terminal: no ENDED after it

        assert [f.attempts for f in call.failures] == [2]
        assert summary.ended_reason == "agent-hangup:reconnect-failed"
        assert call.agent.call is None


@pytest.mark.parametrize("visitor_delay_s", [0.0, 0.001, 0.003])
async def test_both_sides_restarting_at_once_keep_the_call(
    visitor_delay_s: float, caplog: pytest.LogCaptureFixture
) -> None:
    """Glare through the real server, with the offers a few ms apart (a call was once lost
    this way: the agent's offer reached the visitor while its own was half-built; the
    deterministic version is in test_ice_restart.py)."""
    caplog.set_level(logging.INFO, logger="softphone")
    async with connected_call() as call:
        await frames_flowing(call, within_s=10)
        assert call.visitor.call is not None and call.visitor.call.recovery is not None
        visitor_controller = call.visitor.call.recovery.controller
        mark = len(call.states)
        call.agent.restart_ice("manual")
        await asyncio.sleep(visitor_delay_s)
        visitor_controller.restart_ice("manual")
        await call.wait_state("connected", within_s=5, after=mark)
        await frames_flowing(call, within_s=5)
        assert call.states[mark:] == ["reconnecting", "connected"]
        assert not call.run.done(), "the visitor's call must still be up"
        failures = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
        assert failures == []


async def test_a_restart_the_visitor_starts_shows_origin_peer() -> None:
    """No "attempt 0 of 3": the agent answers the visitor's restart, it counts nothing."""
    async with connected_call() as call:
        await frames_flowing(call, within_s=10)
        assert call.visitor.restart_ice("manual")
        mark = len(call.statuses)
        await call.wait_state("connected", within_s=5, after=mark)
        reconnecting = [s for s in call.statuses[mark:] if s.state is CallState.RECONNECTING]
        assert reconnecting, call.statuses[mark:]
        assert {(s.origin, s.attempt, s.max_attempts) for s in reconnecting} == {
            (RestartOrigin.PEER, 0, 0)
        }
        assert call.statuses[-1].recovered_after_s is not None


async def test_the_failure_names_the_call_and_comes_before_the_end() -> None:
    policy = ReconnectPolicy(max_attempts=1, attempt_timeout_s=1.5, backoff_s=(0.2,))
    async with connected_call(policy) as call:
        events: list[str] = []
        call.agent.call_failed.connect(lambda failure: events.append("failed"))
        call.agent.call_status.connect(lambda status: events.append(str(status.state)))
        call_id = call.statuses[0].call_id
        call.visitor_ice().set_dropping(True)  # for good
        async with asyncio.timeout(15):
            while "failed" not in events:  # noqa: ASYNC110
                await asyncio.sleep(0.05)
        assert [f.call_id for f in call.failures] == [call_id]
        assert events[-2:] == ["failed", "failed"]  # the FAILED status, then the modal's facts
        assert call.statuses[-1].end_reason == "reconnect-failed"
