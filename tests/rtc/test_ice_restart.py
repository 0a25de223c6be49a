"""ICE restart over real aiortc peers on 127.0.0.1: DTLS/SRTP survive, media keeps flowing."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Iterator

import pytest
from aiortc.rtcdtlstransport import RTCDtlsTransport
from aiortc.rtcrtpsender import RTCRtpSender

from softphone.rtc.aiortc_compat.transport import RestartableIceTransport
from softphone.rtc.ice_restart import IceRestarter
from softphone.rtc.sdp_stability import ice_credentials
from tests.rtc.loopback import LoopbackPair, connected_pair

pytestmark = pytest.mark.timeout(60)

# Healthy-network target is <= 100 ms (docs/architecture.md "Targets"); the assert leaves
# room for a busy CI box.
MAX_FRAME_GAP_S = 0.25


@pytest.fixture
def handshakes(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[RTCDtlsTransport]]:
    """Every DTLS handshake started in the test, by transport."""
    started: list[RTCDtlsTransport] = []
    original = RTCDtlsTransport._do_handshake

    async def counting(self: RTCDtlsTransport) -> None:
        started.append(self)
        await original(self)

    monkeypatch.setattr(RTCDtlsTransport, "_do_handshake", counting)
    yield started


def dtls_state(pair: LoopbackPair) -> list[tuple[object, ...]]:
    """Identity of each side's DTLS transport, SSL connection and SRTP sessions."""
    state = []
    for side in (pair.offerer, pair.answerer):
        dtls = side.pc.getTransceivers()[0].receiver.transport
        state.append((dtls, dtls._ssl, dtls._rx_srtp, dtls._tx_srtp, dtls.state))
    return state


async def restart(initiator: IceRestarter, responder: IceRestarter) -> None:
    offer = await initiator.create_restart_offer()
    answer = await responder.handle_remote_offer(offer)
    assert answer is not None
    await initiator.accept_restart_answer(answer)


async def wait_connected_again(*restarters: IceRestarter, within_s: float = 5.0) -> None:
    events = []
    for restarter in restarters:
        event = asyncio.Event()
        restarter.ice_connected_again.connect(event.set)
        events.append(event)
    async with asyncio.timeout(within_s):
        await asyncio.gather(*(e.wait() for e in events))


@pytest.mark.parametrize("initiator", ["offerer", "answerer"])
async def test_restart_keeps_dtls_and_media(
    initiator: str, handshakes: list[RTCDtlsTransport]
) -> None:
    pair = await connected_pair()
    sides = {"offerer": pair.offerer, "answerer": pair.answerer}
    local = sides[initiator]
    remote = pair.answerer if local is pair.offerer else pair.offerer
    ours, theirs = IceRestarter(local.pc, polite=False), IceRestarter(remote.pc, polite=True)
    try:
        before = dtls_state(pair)
        old_credentials = [
            ice_credentials(side.pc.localDescription.sdp) for side in (local, remote)
        ]
        connected = asyncio.ensure_future(wait_connected_again(ours, theirs))
        media = asyncio.Event()
        ours.media_received.connect(media.set)
        started = time.monotonic()
        ours.watch_media()
        await restart(ours, theirs)
        await connected
        async with asyncio.timeout(5):
            await media.wait()
        restart_s = time.monotonic() - started
        await pair.wait_media(since=time.monotonic(), frames=10)
        finished = time.monotonic()

        assert dtls_state(pair) == before
        assert len(handshakes) == 2  # one per peer, at call setup only
        for side, old in zip((local, remote), old_credentials, strict=True):
            ufrag, pwd = ice_credentials(side.pc.localDescription.sdp)[0]
            assert (ufrag, pwd) not in old
            assert ufrag is not None and len(ufrag) >= 4
            assert pwd is not None and len(pwd) >= 22
            assert side.ice.generation == 1
            assert side.pc.connectionState == "connected"
        gaps = {
            f"{name}.{kind}": log.longest_gap(started, finished)
            for name, side in (("local", local), ("remote", remote))
            for kind, log in side.received.items()
        }
        print(f"restart {restart_s * 1000:.0f} ms, longest frame gaps {gaps}")
        assert max(gaps.values()) <= MAX_FRAME_GAP_S, gaps
    finally:
        await ours.close()
        await theirs.close()
        await pair.close()


async def test_restart_offer_keeps_dtls_identity_and_bundle() -> None:
    pair = await connected_pair()
    ours = IceRestarter(pair.answerer.pc, polite=False)
    theirs = IceRestarter(pair.offerer.pc, polite=True)
    try:
        first = pair.answerer.pc.localDescription.sdp
        offer = await ours.create_restart_offer()

        def lines(sdp: str, prefixes: tuple[str, ...]) -> list[str]:
            return [line for line in sdp.splitlines() if line.startswith(prefixes)]

        stable = ("a=fingerprint:", "a=setup:", "a=mid:", "a=group:BUNDLE")
        assert lines(offer, stable) == lines(first, stable)
        assert lines(offer, ("a=setup:",)) == ["a=setup:active"] * 2  # the answerer's role
        assert lines(offer, ("a=candidate:",))
        await theirs.accept_restart_answer(offer)  # not an answer we are waiting for: ignored
        assert pair.offerer.pc.signalingState == "stable"
    finally:
        await ours.close()
        await theirs.close()
        await pair.close()


async def test_glare_converges_in_one_round(handshakes: list[RTCDtlsTransport]) -> None:
    pair = await connected_pair()
    agent = IceRestarter(pair.answerer.pc, polite=False)
    visitor = IceRestarter(pair.offerer.pc, polite=True)
    try:
        connected = asyncio.ensure_future(wait_connected_again(agent, visitor))
        agent_offer = await agent.create_restart_offer()
        visitor_offer = await visitor.create_restart_offer()

        assert await agent.handle_remote_offer(visitor_offer) is None  # impolite keeps its own
        answer = await visitor.handle_remote_offer(agent_offer)  # polite drops its own
        assert answer is not None
        await agent.accept_restart_answer(answer)
        await connected

        since = time.monotonic()
        await pair.wait_media(since=since, frames=5)
        assert pair.answerer.pc.signalingState == pair.offerer.pc.signalingState == "stable"
        assert len(handshakes) == 2
    finally:
        await agent.close()
        await visitor.close()
        await pair.close()


def entering_prepare_restart(transport: RestartableIceTransport) -> asyncio.Event:
    """Set when ``transport`` starts gathering a new ICE agent (the first await of a restart)."""
    entered = asyncio.Event()
    original = transport.prepare_restart

    async def prepare_restart() -> None:
        entered.set()
        await original()

    transport.prepare_restart = prepare_restart  # type: ignore[method-assign]
    return entered


async def test_glare_while_the_polite_side_is_still_building_its_offer(
    handshakes: list[RTCDtlsTransport],
) -> None:
    """The network race behind a lost call: both sides detect the loss within a few ms and
    the agent's offer reaches the visitor while the visitor's own restart is half-built
    (gathering). The offer must wait for it, then glare resolves as usual in one round."""
    pair = await connected_pair()
    agent = IceRestarter(pair.answerer.pc, polite=False)
    visitor = IceRestarter(pair.offerer.pc, polite=True)
    closed: list[str] = []
    for side in (pair.offerer, pair.answerer):
        side.pc.on("connectionstatechange", lambda pc=side.pc: closed.append(pc.connectionState))
    try:
        connected = asyncio.ensure_future(wait_connected_again(agent, visitor))
        agent_offer = await agent.create_restart_offer()
        assert agent_offer is not None
        building = entering_prepare_restart(pair.offerer.ice)
        visitor_offer_task = asyncio.ensure_future(visitor.create_restart_offer())
        await building.wait()
        answer = await visitor.handle_remote_offer(agent_offer)  # raised InvalidStateError
        visitor_offer = await visitor_offer_task

        assert visitor_offer is not None  # it went out before the agent's offer was applied
        assert await agent.handle_remote_offer(visitor_offer) is None
        assert answer is not None
        await agent.accept_restart_answer(answer)
        await connected
        await pair.wait_media(since=time.monotonic(), frames=5)
        assert pair.answerer.pc.signalingState == pair.offerer.pc.signalingState == "stable"
        assert "closed" not in closed
        assert len(handshakes) == 2
    finally:
        await agent.close()
        await visitor.close()
        await pair.close()


async def test_own_restart_overtaken_by_the_peers_is_not_sent() -> None:
    """The peer's offer is answered while our restart waits its turn: that fresh generation
    is the restart we wanted, so ours is dropped instead of costing a second round."""
    pair = await connected_pair(audio=True, video=False)
    agent = IceRestarter(pair.answerer.pc, polite=False)
    visitor = IceRestarter(pair.offerer.pc, polite=True)
    try:
        connected = asyncio.ensure_future(wait_connected_again(agent, visitor))
        visitor_offer = await visitor.create_restart_offer()
        assert visitor_offer is not None
        answering = entering_prepare_restart(pair.answerer.ice)
        answer_task = asyncio.ensure_future(agent.handle_remote_offer(visitor_offer))
        await answering.wait()
        assert await agent.create_restart_offer() is None
        answer = await answer_task
        assert answer is not None
        await visitor.accept_restart_answer(answer)
        await connected
        await pair.wait_media(since=time.monotonic(), frames=1)
        assert pair.answerer.ice.generation == pair.offerer.ice.generation == 1
    finally:
        await agent.close()
        await visitor.close()
        await pair.close()


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


async def test_ten_restarts_leak_no_tasks_or_sockets() -> None:
    pair = await connected_pair(audio=True, video=False)
    ours = IceRestarter(pair.offerer.pc, polite=False)
    theirs = IceRestarter(pair.answerer.pc, polite=True)
    try:
        await restart(ours, theirs)  # warm-up: first retirement timers, executor threads
        await asyncio.sleep(2.3)
        tasks, fds = len(asyncio.all_tasks()), open_fds()
        durations = []
        for _ in range(10):
            started = time.monotonic()
            connected = asyncio.ensure_future(wait_connected_again(ours, theirs))
            await restart(ours, theirs)
            await connected
            durations.append(time.monotonic() - started)
        await asyncio.sleep(2.3)  # the last replaced agents finish their grace period
        await pair.wait_media(since=time.monotonic(), frames=1)

        assert pair.offerer.ice.generation == 11
        assert len(asyncio.all_tasks()) <= tasks
        assert open_fds() <= fds
        print(f"10 restarts: median {sorted(durations)[5] * 1000:.0f} ms")
    finally:
        await ours.close()
        await theirs.close()
        await pair.close()


async def test_video_resumes_with_audio_after_outage(monkeypatch: pytest.MonkeyPatch) -> None:
    keyframe_requests: list[str] = []
    original = RTCRtpSender._send_keyframe

    def counting(self: RTCRtpSender) -> None:
        keyframe_requests.append(self.kind)
        original(self)

    monkeypatch.setattr(RTCRtpSender, "_send_keyframe", counting)
    pair = await connected_pair()
    visitor = IceRestarter(pair.offerer.pc, polite=True)
    agent = IceRestarter(pair.answerer.pc, polite=False)
    try:
        # The visitor's uplink dies with its senders still running (lost sequence numbers,
        # then NACKed retransmissions); the agent must reset its video receiver after the
        # >= 1 s silence and ask for a keyframe, so video resumes as fast as audio.
        pair.offerer.ice.set_dropping(True)
        await asyncio.sleep(4.0)
        keyframe_requests.clear()
        pair.offerer.ice.set_dropping(False)
        restored = time.monotonic()
        connected = asyncio.ensure_future(wait_connected_again(agent, visitor))
        await restart(agent, visitor)
        await connected
        await asyncio.sleep(2.0)

        received = pair.answerer.received
        audio_gap = received["audio"].longest_gap(restored, restored + 2.0)
        video_gap = received["video"].longest_gap(restored, restored + 2.0)
        print(f"after outage: longest gap audio {audio_gap:.3f} s, video {video_gap:.3f} s")
        assert "video" in keyframe_requests
        assert video_gap < 0.5
    finally:
        await visitor.close()
        await agent.close()
        await pair.close()


async def test_keyframe_request_lost_on_a_dropped_generation_is_sent_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Glare after a symmetric cut: the visitor's keyframe request, sent as the agent's media
    came back, leaves on an ICE generation the agent has already dropped. The restart that
    follows must carry it again, or the visitor decodes frames predicted from a reference it
    lacks and its video never comes back (tests/cluster, "visitor: no media")."""
    pair = await connected_pair()
    visitor = IceRestarter(pair.offerer.pc, polite=True)
    agent = IceRestarter(pair.answerer.pc, polite=False)
    agent_video = next(s for s in pair.answerer.pc.getSenders() if s.kind == "video")
    agent_keyframes: list[float] = []
    original = RTCRtpSender._send_keyframe

    def counting(self: RTCRtpSender) -> None:
        if self is agent_video:
            agent_keyframes.append(time.monotonic())
        original(self)

    monkeypatch.setattr(RTCRtpSender, "_send_keyframe", counting)
    reset = asyncio.Event()
    pair.offerer.ice.inbound.resumed.connect(lambda gap_s: reset.set())
    try:
        pair.answerer.ice.set_dropping(True)  # the visitor hears nothing for 1.5 s
        await asyncio.sleep(1.5)
        pair.offerer.ice.set_dropping(True)  # what the visitor sends now is lost
        pair.answerer.ice.set_dropping(False)
        await asyncio.wait_for(reset.wait(), 5.0)  # video receiver reset, request sent
        await asyncio.sleep(0.3)
        pair.offerer.ice.set_dropping(False)
        assert agent_keyframes == []  # the request was lost

        connected = asyncio.ensure_future(wait_connected_again(agent, visitor))
        await restart(agent, visitor)
        await connected
        await asyncio.sleep(0.5)
        assert agent_keyframes, "the agent was never asked for a keyframe again"
    finally:
        await visitor.close()
        await agent.close()
        await pair.close()


async def test_reissued_offer_with_late_answer_asks_for_fresh_restart() -> None:
    pair = await connected_pair(audio=True, video=False)
    agent = IceRestarter(pair.answerer.pc, polite=False)
    visitor = IceRestarter(pair.offerer.pc, polite=True)
    needed: list[str] = []
    agent.restart_needed.connect(needed.append)
    try:
        first = await agent.create_restart_offer()
        second = await agent.create_restart_offer()  # re-issued before any answer came
        first_answer = await visitor.handle_remote_offer(first)
        second_answer = await visitor.handle_remote_offer(second)
        assert first_answer is not None and second_answer is not None
        await agent.accept_restart_answer(first_answer)  # taken for the newer offer
        await agent.accept_restart_answer(second_answer)
        assert needed == ["late-answer"]

        connected = asyncio.ensure_future(wait_connected_again(agent, visitor))
        await restart(agent, visitor)  # what the controller does on restart_needed
        await connected
        await pair.wait_media(since=time.monotonic(), frames=1)
    finally:
        await agent.close()
        await visitor.close()
        await pair.close()


async def test_failed_new_agent_keeps_the_working_old_path() -> None:
    pair = await connected_pair(audio=True, video=False)
    agent = IceRestarter(pair.answerer.pc, polite=False)
    visitor = IceRestarter(pair.offerer.pc, polite=True)
    try:
        old_agent = pair.answerer.ice.sending_connection()
        answer = await visitor.handle_remote_offer(await agent.create_restart_offer())
        assert answer is not None
        await agent.accept_restart_answer(answer)
        await pair.answerer.ice._connection.close()  # the new agent fails (e.g. no pair works)
        await asyncio.sleep(0.2)

        # Not "failed": media goes on over the old pair, the connectivity monitor judges it.
        assert pair.answerer.ice.state == "completed"
        assert pair.answerer.pc.connectionState == "connected"
        assert pair.answerer.ice.sending_connection() is old_agent
        await pair.offerer.received["audio"].wait_for(1, since=time.monotonic(), within_s=1.0)
    finally:
        await agent.close()
        await visitor.close()
        await pair.close()
