"""The visitor widget, in each browser, calls the Python agent (AgentSession) on loopback."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import av
import pytest
from aiortc.rtp import RTCP_PSFB_APP, RtcpPsfbPacket

from softphone.rtc.aiortc_compat.transport_cc import TRANSPORT_CC_URI
from tests.browser.loopback_call import (
    VIDEO_FRAMES_DECODED,
    WIDGET,
    AgentSide,
    assert_remote_stamps_rise,
    page_wait,
    start_widget_call,
    wait_until,
)
from tests.rtc.test_transport_cc import decode

if TYPE_CHECKING:
    from tests.browser.browsers import BrowserPage


async def test_widget_call_decodes_frames_both_ways(
    agent_side: AgentSide, page: BrowserPage
) -> None:
    await start_widget_call(agent_side, page)
    call = agent_side.agent.call
    assert call is not None

    # The browser decodes the agent's test pattern: counters, and the stamps themselves.
    assert await page_wait(page, f"({VIDEO_FRAMES_DECODED})().then(n => n > 60)", 20)
    await assert_remote_stamps_rise(page)

    # The agent decodes the browser's fake camera (a moving, non-black picture) and audio.
    video, audio = call.peer.received("video"), call.peer.received("audio")
    await wait_until(lambda: video.frames >= 60 and audio.frames >= 50, 20)
    tap = call.peer.monitors["video"].tap
    first = await asyncio.wait_for(tap.recv(), 5)
    await asyncio.sleep(1.0)
    later = await asyncio.wait_for(tap.recv(), 5)
    assert isinstance(first, av.VideoFrame) and isinstance(later, av.VideoFrame)
    # Both browsers' fake camera is 640x480; Firefox starts at 320x240 and steps up over
    # ~10 s as its transport-cc estimate ramps up from 300 kbps (seam 10).
    assert first.width * 3 == first.height * 4 and 320 <= first.width <= 640
    luma = [bytes(f.reformat(format="yuv420p").planes[0]) for f in (first, later)]
    assert max(luma[1]) > 100 and luma[0] != luma[1]
    stats = await agent_side.agent.stats()
    assert stats is not None and stats.video_frames_decoded >= 60

    # A healthy call never looked silent to the widget's watchdog (Firefox's transport
    # stats carry no byte counts: counting those alone restarted the call every 1.2 s).
    events = await page.evaluate(f"{WIDGET}.events.items.map(e => e.event)")
    assert "call.silence" not in events and "call.reconnecting" not in events

    # The strict CSP of the embedding page held and did not get in the way.
    assert await page.evaluate("window.cspViolations") == []

    # The visitor hangs up: the agent's call ends, the widget is back to idle.
    await page.click(".sp-hangup")
    await wait_until(lambda: agent_side.ended == ["normal"])
    assert agent_side.agent.call is None
    assert await page.get_attribute("[data-softphone-widget]", "data-phase") == "ended"


async def test_agent_hangup_ends_the_widget_call(agent_side: AgentSide, page: BrowserPage) -> None:
    await start_widget_call(agent_side, page)
    await agent_side.agent.hangup()
    await page_wait(
        page, "document.querySelector('[data-softphone-widget]').dataset.phase === 'ended'"
    )
    assert await page.is_visible(".sp-call")
    assert not await page.is_visible(".sp-error")  # a normal hangup is no error


async def error_shown(page: BrowserPage) -> str:
    text = await page_wait(
        page,
        "!document.querySelector('.sp-error').hidden && "
        "document.querySelector('.sp-error').textContent",
    )
    await page_wait(page, "!document.querySelector('.sp-call').hidden")  # may call again
    return str(text)


async def test_no_available_agent_is_a_clear_message(
    agent_side: AgentSide, page: BrowserPage
) -> None:
    await agent_side.agent.set_available(False)
    await page.goto(agent_side.widget_url)
    await page.click(".sp-call")
    assert "No agent is available" in await error_shown(page)


async def test_a_wrong_site_key_is_refused(agent_side: AgentSide, page: BrowserPage) -> None:
    await page.goto(agent_side.url("wrong-key.html"))
    await page.click(".sp-call")
    assert "not allowed to call" in await error_shown(page)
    assert agent_side.rings.empty()


async def test_the_browser_gets_transport_cc_feedback_for_its_video(
    agent_side: AgentSide, page: BrowserPage, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Seam 10 with a real sender: the agent's answer accepts transport-cc for video, the
    browser's packets carry the transport-wide numbers, and the agent reports their
    arrivals (every ~50 ms) instead of REMB."""
    await start_widget_call(agent_side, page)
    call = agent_side.agent.call
    assert call is not None and call.peer.pc.localDescription is not None
    answer = call.peer.pc.localDescription.sdp
    video = answer[answer.index("m=video") :]
    assert TRANSPORT_CC_URI in video and " transport-cc" in video
    assert TRANSPORT_CC_URI not in answer[: answer.index("m=video")]
    await wait_until(lambda: call.peer.received("video").frames >= 30, 20)  # video flowing
    (receiver,) = [r for r in call.peer.pc.getReceivers() if r.track.kind == "video"]
    sent: list[object] = []
    original = receiver._send_rtcp

    async def record(packet: Any) -> None:
        sent.append(packet)
        await original(packet)

    monkeypatch.setattr(receiver, "_send_rtcp", record)
    await wait_until(lambda: sum(isinstance(p, bytes) for p in sent) >= 10, 10)
    feedback = [decode(p) for p in sent if isinstance(p, bytes)]
    received = [a for f in feedback for a in f.arrivals_us if a is not None]
    assert len(received) >= 20 and len({f.count for f in feedback}) == len(feedback)
    remb = [p for p in sent if isinstance(p, RtcpPsfbPacket) and p.fmt == RTCP_PSFB_APP]
    assert remb == []
