"""AgentSession against the real signaling server and the headless visitor, on loopback."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

from aiortc import MediaStreamTrack

from softphone.agent import ACCEPT_FAILED, SESSION_LOST, AgentConfig, AgentSession, CallInfo
from softphone.call.state import CallState, CallStatus
from softphone.demo import start_demo
from softphone.media.local import MediaChoice
from softphone.media.pattern import read_frame_stamp
from softphone.rtc.ice import LOOPBACK
from softphone.signaling.client import SignalingError
from softphone.signaling.config import ServerConfig
from softphone.signaling.protocol import ErrorCode, Message
from softphone.signaling.server import SignalingServer
from softphone.visitor.peer import VisitorConfig, VisitorPeer, VisitorSummary

TOKEN, SITE_KEY = secrets.token_urlsafe(8), secrets.token_urlsafe(8)
TICKET_SECRET = secrets.token_urlsafe(32)


async def wait_until(condition: Callable[[], bool], limit: float = 10.0) -> None:
    """Polls frame counters (plain integers, no event to wait on), bounded in time."""
    async with asyncio.timeout(limit):
        while not condition():  # noqa: ASYNC110
            await asyncio.sleep(0.05)


@dataclass
class Events:
    rings: asyncio.Queue[CallInfo] = field(default_factory=asyncio.Queue)
    statuses: list[CallStatus] = field(default_factory=list)
    cancelled: list[tuple[str, str]] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)
    tracks: list[MediaStreamTrack] = field(default_factory=list)
    previews: list[MediaStreamTrack] = field(default_factory=list)

    @property
    def states(self) -> list[str]:
        return [str(status.state) for status in self.statuses]

    @property
    def ended(self) -> list[str | None]:
        return [status.end_reason for status in self.statuses if status.terminal]

    def watch(self, agent: AgentSession) -> None:
        agent.incoming_call.connect(self.rings.put_nowait)
        agent.call_status.connect(self.statuses.append)
        agent.call_cancelled.connect(lambda cid, why: self.cancelled.append((cid, why)))
        agent.media_notice.connect(self.notices.append)
        agent.remote_video_track.connect(self.tracks.append)
        agent.remote_audio_track.connect(self.tracks.append)
        agent.local_video_track.connect(self.previews.append)


@dataclass
class Setup:
    server: SignalingServer
    agent: AgentSession
    events: Events

    def visitor(self) -> VisitorPeer:
        return VisitorPeer(
            VisitorConfig(self.server.url, SITE_KEY, "Vera", page="/pricing", ice=LOOPBACK)
        )


def server_config(port: int = 0) -> ServerConfig:
    return ServerConfig(
        host="127.0.0.1",
        port=port,
        agent_tokens={"Alice": TOKEN},
        site_keys=[SITE_KEY],
        call_ticket_secret=TICKET_SECRET,
        metrics_token=TOKEN,
    )


@contextlib.asynccontextmanager
async def signed_in_agent(media: MediaChoice | None = None) -> AsyncIterator[Setup]:
    server = SignalingServer(server_config())
    await server.start()
    agent = AgentSession(AgentConfig(server.url, TOKEN, ice=LOOPBACK, media=media or MediaChoice()))
    events = Events()
    events.watch(agent)
    try:
        await agent.start()
        await agent.set_available(True)
        yield Setup(server, agent, events)
    finally:
        await agent.stop()
        await server.close()


async def connect_call(setup: Setup, visitor: VisitorPeer) -> asyncio.Task[VisitorSummary]:
    run = asyncio.create_task(visitor.run())
    async with asyncio.timeout(10):
        ring = await setup.events.rings.get()
        assert (ring.visitor_name, ring.page) == ("Vera", "/pricing")
        await setup.agent.accept(ring.call_id)
        await visitor.connected.wait()
        await wait_until(lambda: "connected" in setup.events.states)
    return run


async def test_call_media_both_ways_then_agent_hangs_up() -> None:
    async with signed_in_agent() as setup:
        visitor = setup.visitor()
        run = await connect_call(setup, visitor)
        assert setup.agent.call is not None and visitor.call is not None
        agent_peer, visitor_peer = setup.agent.call.peer, visitor.call.peer
        await wait_until(
            lambda: all(
                p.received("video").stamped_frames >= 60 and p.received("audio").frames >= 20
                for p in (agent_peer, visitor_peer)
            )
        )
        assert max(p.received("video").max_gap for p in (agent_peer, visitor_peer)) <= 10
        stats = await setup.agent.stats()
        assert stats is not None and stats.video_frames_decoded >= 60
        assert {t.kind for t in setup.events.tracks} == {"audio", "video"}
        video_tap = next(t for t in setup.events.tracks if t.kind == "video")
        frame = await asyncio.wait_for(video_tap.recv(), 5)
        assert (frame.width, frame.height) == (640, 360)
        preview = await asyncio.wait_for(setup.events.previews[0].recv(), 5)
        assert read_frame_stamp(preview) is not None  # the agent's own test pattern

        await setup.agent.hangup()
        summary = await asyncio.wait_for(run, 10)
        assert summary.ended_reason == "agent-hangup:normal"
        assert summary.passed, summary.format()
        assert setup.events.states == ["connecting", "connected", "ended"]
        assert setup.events.ended == ["local-hangup"]
        assert setup.agent.call is None and agent_peer.state == "closed"


async def test_visitor_hangs_up_and_the_agent_call_ends() -> None:
    async with signed_in_agent() as setup:
        visitor = setup.visitor()
        run = await connect_call(setup, visitor)
        peer = setup.agent.call.peer if setup.agent.call else None
        visitor.hangup()
        summary = await asyncio.wait_for(run, 10)
        await wait_until(lambda: setup.events.ended == ["normal"])
        assert summary.ended_reason == "visitor-hangup"
        assert setup.agent.call is None and peer is not None and peer.state == "closed"


async def test_visitor_cancels_while_ringing() -> None:
    async with signed_in_agent() as setup:
        visitor = setup.visitor()
        run = asyncio.create_task(visitor.run())
        ring = await asyncio.wait_for(setup.events.rings.get(), 10)
        visitor.hangup()
        await asyncio.wait_for(run, 10)
        await wait_until(lambda: bool(setup.events.cancelled))
        assert setup.events.cancelled[0][0] == ring.call_id
        assert ring.call_id not in setup.agent.ringing


async def test_declined_call_tells_the_visitor_nobody_is_available() -> None:
    async with signed_in_agent() as setup:
        run = asyncio.create_task(setup.visitor().run())
        ring = await asyncio.wait_for(setup.events.rings.get(), 10)
        await setup.agent.decline(ring.call_id)
        summary = await asyncio.wait_for(run, 10)
        assert summary.ended_reason == "no-agent-available" and not summary.passed


async def test_broken_camera_falls_back_to_black_video_and_the_call_goes_on() -> None:
    async with signed_in_agent(MediaChoice(camera="/dev/no-such-camera")) as setup:
        visitor = setup.visitor()
        run = await connect_call(setup, visitor)
        assert len(setup.events.notices) == 1 and "camera" in setup.events.notices[0]
        assert visitor.call is not None
        seen = visitor.call.peer.received("video")
        await wait_until(lambda: seen.frames >= 10)
        assert seen.luma is not None and seen.luma < 20 and seen.stamped_frames == 0
        setup.agent.set_muted(True)  # applied to the live call
        heard = visitor.call.peer.received("audio")
        await wait_until(lambda: heard.level is not None and heard.level < 0.01)
        await setup.agent.hangup()
        await asyncio.wait_for(run, 10)


async def test_demo_visitor_calls_the_agent() -> None:
    demo = await start_demo(pause=0.2)
    agent = AgentSession(demo.agent_config())
    events = Events()
    events.watch(agent)
    try:
        await agent.start()
        await agent.set_available(True)
        ring = await asyncio.wait_for(events.rings.get(), 10)
        await agent.accept(ring.call_id)
        await wait_until(lambda: "connected" in events.states)
        await agent.hangup()
    finally:
        await agent.stop()
        await demo.stop()


def test_media_choice_applies_to_the_next_call() -> None:
    from softphone.agent import AgentConfig, AgentSession
    from softphone.media.local import MediaChoice

    session = AgentSession(AgentConfig(server_url="ws://127.0.0.1:9/ws", token="t"))
    choice = MediaChoice(camera="test-pattern", microphone="tone", width=320, height=180)
    session.set_media_choice(choice)
    assert session.config.media == choice
    assert "token" not in repr(session.config)


async def test_a_failed_accept_leaves_the_session_free_for_the_next_one() -> None:
    """The accept could not be sent: the call is closed again, not kept as "in a call"."""
    async with signed_in_agent() as setup:
        visitor = setup.visitor()
        run = asyncio.create_task(visitor.run())
        ring = await asyncio.wait_for(setup.events.rings.get(), 10)
        send = setup.agent.client.send

        async def refused(msg: Message) -> None:
            raise SignalingError(ErrorCode.QUEUE_FULL, "signaling is down")

        setup.agent.client.send = refused  # type: ignore[method-assign]
        try:
            await setup.agent.accept(ring.call_id)
        except SignalingError:
            pass
        else:
            raise AssertionError("the failed send must reach the caller")
        setup.agent.client.send = send  # type: ignore[method-assign]

        assert setup.agent.call is None
        assert setup.events.statuses[-1].state is CallState.ENDED
        assert setup.events.statuses[-1].end_reason == ACCEPT_FAILED
        await setup.agent.accept(ring.call_id)  # the ring is still up: this time it works
        await asyncio.wait_for(visitor.connected.wait(), 10)
        await wait_until(lambda: setup.events.states[-1] == "connected")
        visitor.hangup()
        await asyncio.wait_for(run, 10)


async def test_a_lost_session_clears_stale_rings_and_says_why() -> None:
    async with signed_in_agent() as setup:
        visitor = setup.visitor()
        run = asyncio.create_task(visitor.run())
        ring = await asyncio.wait_for(setup.events.rings.get(), 10)
        assert ring.call_id in setup.agent.ringing
        session = setup.server.sessions.find_agent("Alice")
        assert session is not None
        setup.server.sessions.expire(session)  # the server forgets us (e.g. grace ran out)

        await wait_until(lambda: setup.events.cancelled != [])
        assert setup.events.cancelled == [(ring.call_id, SESSION_LOST)]
        assert setup.agent.ringing == {}
        # Presence is announced again on the fresh session: the next visitor rings us.
        visitor.hangup()
        await asyncio.wait_for(run, 10)
        second = setup.visitor()
        second_run = asyncio.create_task(second.run())
        again = await asyncio.wait_for(setup.events.rings.get(), 10)
        assert again.call_id != ring.call_id
        second.hangup()
        await asyncio.wait_for(second_run, 10)


async def test_away_with_a_reason_is_announced_again_on_a_fresh_session() -> None:
    """Away must survive the server forgetting us: a fresh session starts available."""
    async with signed_in_agent() as setup:
        await setup.agent.set_available(False, "lunch")
        session = setup.server.sessions.find_agent("Alice")
        assert session is not None
        await wait_until(lambda: not setup.server.switchboard.is_available(session))
        setup.server.sessions.expire(session)
        await wait_until(lambda: setup.server.sessions.find_agent("Alice") not in (None, session))
        summary = await asyncio.wait_for(setup.visitor().run(), 10)
        assert summary.ended_reason == "no-agent-available"
        assert setup.events.rings.empty()


async def test_wrap_up_and_the_line_reach_the_session_and_ready_ends_the_wrap_up() -> None:
    async with signed_in_agent() as setup:
        wraps: list[tuple[str, float]] = []
        lines: list[tuple[int, float]] = []
        setup.agent.wrap_up.connect(lambda call_id, s: wraps.append((call_id, s)))
        setup.agent.queue.connect(lambda waiting, longest: lines.append((waiting, longest)))
        visitor = setup.visitor()
        run = await connect_call(setup, visitor)
        call_id = setup.agent.call.call_id if setup.agent.call else ""
        await setup.agent.hangup()
        await asyncio.wait_for(run, 10)
        await wait_until(lambda: wraps == [(call_id, 30.0)])  # the server's default
        second = setup.visitor()
        waiting = asyncio.create_task(second.run())
        await wait_until(lambda: bool(lines) and lines[-1][0] == 1)
        await asyncio.sleep(0.3)
        assert setup.events.rings.empty()  # in wrap-up: not rung
        await setup.agent.set_available(True)  # Ready
        ring = await asyncio.wait_for(setup.events.rings.get(), 10)
        await setup.agent.decline(ring.call_id)
        await asyncio.wait_for(waiting, 10)


async def test_a_call_survives_a_server_that_forgot_it_and_recovers_through_the_new_one() -> None:
    """The server goes (a crash, a deploy) and a new one with no memory takes its port:
    the call goes on, both parties re-attach it with their tickets, an ICE restart works
    through the new server, and at the end both report their reconnect episodes to it."""
    async with signed_in_agent() as setup:
        visitor = setup.visitor()
        run = await connect_call(setup, visitor)
        assert setup.agent.call is not None and visitor.call is not None
        agent_peer = setup.agent.call.peer
        port = setup.server.port
        await setup.server.close()
        frames = agent_peer.received("video").frames
        await wait_until(lambda: agent_peer.received("video").frames > frames + 10)  # no server
        new = SignalingServer(server_config(port))
        await new.start()
        try:
            await wait_until(lambda: len(new.switchboard.calls) == 1, 10)
            call = next(iter(new.switchboard.calls.values()))
            await wait_until(lambda: call.agent is not None and call.visitor is not None, 5)
            assert call.id == setup.agent.call.call_id
            assert "The signaling server restarted: the call goes on." in setup.events.notices
            assert setup.events.ended == [] and setup.events.cancelled == []

            setup.agent.restart_ice("manual")  # relayed by the new server, answered, done
            await wait_until(lambda: setup.events.statuses[-1].recovered_after_s is not None)
            assert setup.events.states[-1] == "connected"
            await setup.agent.hangup()
            summary = await asyncio.wait_for(run, 10)
            assert summary.ended_reason == "agent-hangup:normal"
            assert summary.max_gap <= 10 and summary.audio_frames > 0, summary.format()
            await wait_until(lambda: "softphone_reconnect_episodes_total{" in metrics(new), 5)
            text = metrics(new)
            assert 'outcome="recovered",role="agent"} 1.0' in text
            assert 'outcome="recovered",role="visitor"} 1.0' in text
        finally:
            await new.close()


def metrics(server: SignalingServer) -> str:
    return server.metrics.render()
