"""CallPeer on loopback: real ICE/DTLS/SRTP, real VP8/Opus, decoded frames counted."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import AsyncIterator, Callable

import pytest

from softphone.media.local import MediaChoice, open_local_media
from softphone.rtc.ice import LOOPBACK
from softphone.rtc.peer import CallPeer


async def wait_until(condition: Callable[[], bool], limit: float = 10.0) -> None:
    """Polls frame counters (plain integers, no event to wait on), bounded in time."""
    async with asyncio.timeout(limit):
        while not condition():  # noqa: ASYNC110
            await asyncio.sleep(0.05)


def worker_threads() -> set[str]:
    """Threads other than the main one and asyncio's executor pool (the loop owns those)."""
    return {
        t.name
        for t in threading.enumerate()
        if t is not threading.main_thread() and not t.name.startswith("asyncio_")
    }


def level_below(level: float | None, limit: float) -> bool:
    return level is not None and level < limit


def new_peer(call_id: str = "c1") -> CallPeer:
    return CallPeer(call_id, LOOPBACK, open_local_media(MediaChoice()))


@contextlib.asynccontextmanager
async def connected_pair() -> AsyncIterator[tuple[CallPeer, CallPeer]]:
    """A context manager, not a fixture: the leaked-task check tears down before fixtures."""
    offerer, answerer = new_peer(), new_peer()
    try:
        await offerer.accept_answer(await answerer.accept_offer(await offerer.create_offer()))
        yield offerer, answerer
    finally:
        await offerer.close()
        await answerer.close()


async def test_both_sides_decode_pattern_frames_and_audio() -> None:
    async with connected_pair() as pair:
        await check_media_both_ways(*pair)


async def check_media_both_ways(offerer: CallPeer, answerer: CallPeer) -> None:
    pair = (offerer, answerer)
    await wait_until(
        lambda: all(
            p.received("video").stamped_frames >= 60 and p.received("audio").frames >= 50
            for p in pair
        )
    )
    for peer in pair:
        video = peer.received("video")
        assert video.max_gap <= 5, video
        assert video.latency_ms is not None and video.latency_ms < 1000
        assert peer.received("audio").level is not None and peer.received("audio").level > 0.1
    await offerer.stats()  # the baseline for rates
    await asyncio.sleep(0.5)
    stats = await offerer.stats()
    assert stats.video_fps > 15
    assert stats.bitrate_in_kbps > 50 and stats.bitrate_out_kbps > 50
    assert stats.audio_level_out is not None and stats.audio_level_out > 0.1
    # Every received frame is counted as decoded audio; nothing lost, nothing made up.
    assert stats.audio_ms >= 20 * stats.audio_frames_received >= 1000
    assert stats.audio_concealed_ms == stats.audio_recovered_ms == 0
    assert answerer.state == "connected"
    # RTT needs a receiver report back (aiortc sends RTCP every 0.5-1.5 s).
    async with asyncio.timeout(5):
        while (await answerer.stats()).rtt_ms is None:  # noqa: ASYNC110 - stats are polled
            await asyncio.sleep(0.2)
    stats = await answerer.stats()
    assert stats.rtt_ms is not None and 0 <= stats.rtt_ms < 200
    assert stats.jitter_ms is not None and stats.loss_percent < 5


async def test_mute_and_camera_off_are_visible_to_the_peer() -> None:
    async with connected_pair() as (offerer, answerer):
        await check_mute_and_camera_off(offerer, answerer)


async def check_mute_and_camera_off(offerer: CallPeer, answerer: CallPeer) -> None:
    await wait_until(lambda: answerer.received("video").frames >= 10)
    offerer.set_muted(True)
    offerer.set_camera_enabled(False)
    audio, video = answerer.received("audio"), answerer.received("video")
    frames_before = video.frames
    # The jitter buffer and encoder need a moment to drain frames sent before the switch.
    await wait_until(lambda: level_below(audio.level, 0.01) and level_below(video.luma, 20))
    await wait_until(lambda: video.frames > frames_before + 20)  # black frames still flow
    offerer.set_muted(False)
    offerer.set_camera_enabled(True)
    await wait_until(lambda: not level_below(audio.level, 0.1) and not level_below(video.luma, 60))


async def test_trickled_candidates_before_the_offer_are_buffered() -> None:
    """Browsers trickle: strip candidates from the offer and send them separately, early."""
    offerer, answerer = new_peer(), new_peer()
    try:
        offer = await offerer.create_offer()
        lines = offer.splitlines()
        candidates = [line for line in lines if line.startswith("a=candidate:")]
        stripped = (
            "\r\n".join(
                line
                for line in lines
                if not line.startswith("a=candidate:") and line != "a=end-of-candidates"
            )
            + "\r\n"
        )
        assert candidates
        for line in candidates:
            await answerer.add_remote_candidate(line.removeprefix("a="), "0", 0)
        await answerer.add_remote_candidate(None, "0", 0)
        await offerer.accept_answer(await answerer.accept_offer(stripped))
        await wait_until(lambda: answerer.received("video").frames >= 5)
    finally:
        await offerer.close()
        await answerer.close()


async def test_close_leaves_no_tasks_or_threads() -> None:
    threads_before = worker_threads()
    offerer, answerer = new_peer(), new_peer()
    await offerer.accept_answer(await answerer.accept_offer(await offerer.create_offer()))
    await wait_until(lambda: answerer.received("video").frames >= 5)
    assert worker_threads() - threads_before  # decoder threads did run
    await offerer.close()
    await answerer.close()
    await offerer.close()  # idempotent
    await wait_until(lambda: len(asyncio.all_tasks()) == 1, limit=5)
    await wait_until(lambda: not worker_threads() - threads_before, limit=5)
    assert offerer.state == "closed" and answerer.state == "closed"


async def test_the_call_end_logs_the_audio_received_and_concealed(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """One line per call says how much audio came in and how much of it was made up."""
    caplog.set_level(logging.INFO, logger="softphone.rtc.peer")
    async with connected_pair() as (offerer, _answerer):
        await wait_until(lambda: offerer.received("audio").frames >= 25)
    closed = [r for r in caplog.records if r.getMessage() == "call.peer_closed"]
    assert len(closed) == 2  # one per side
    for record in map(vars, closed):
        assert record["audio_ms"] >= 25 * 20
        assert record["audio_recovered_ms"] == record["audio_concealed_ms"] == 0
