"""Hold and transfer as the visitor sees them in the widget, in each browser: "On hold"
while the agent holds (the media keeps flowing, so no reconnect), and a blind transfer to
a colleague that builds a new peer connection on the same camera/microphone stream,
without asking for them again."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from softphone.agent import AgentConfig, AgentSession
from softphone.rtc.ice import LOOPBACK
from tests.browser.loopback_call import (
    BOB_TOKEN,
    VIDEO_FRAMES_DECODED,
    WIDGET,
    AgentSide,
    page_wait,
    start_widget_call,
    wait_until,
)

if TYPE_CHECKING:
    from tests.browser.browsers import BrowserPage

PHASE = "document.querySelector('[data-softphone-widget]').dataset.phase"
# Counts getUserMedia calls from now on (a prompt in a real browser each time).
COUNT_MEDIA_PROMPTS = """() => {
  const media = navigator.mediaDevices;
  const original = media.getUserMedia.bind(media);
  window.mediaPrompts = 0;
  media.getUserMedia = (constraints) => {
    window.mediaPrompts += 1;
    return original(constraints);
  };
}"""


async def test_hold_shows_on_hold_and_resume_shows_connected(
    agent_side: AgentSide, page: BrowserPage
) -> None:
    await start_widget_call(agent_side, page)
    await agent_side.agent.set_on_hold(True)
    await page_wait(page, f"{PHASE} === 'on_hold'")
    assert await page.text_content(".sp-status") == "On hold \u2014 please stay on the line."
    assert await page.is_visible(".sp-hangup")  # the visitor may still hang up
    # The hold picture and tone keep arriving: frames are decoded, no silence alarm.
    before = await page.evaluate(f"({VIDEO_FRAMES_DECODED})()")
    await asyncio.sleep(1.5)
    assert await page.evaluate(f"({VIDEO_FRAMES_DECODED})()") > before + 10
    events = await page.evaluate(f"{WIDGET}.events.items.map(e => e.event)")
    assert "call.silence" not in events and "call.reconnecting" not in events
    await agent_side.agent.set_on_hold(False)
    await page_wait(page, f"{PHASE} === 'connected'")
    assert await page.text_content(".sp-status") == "Connected"


async def test_blind_transfer_reconnects_to_bob_on_the_same_stream(
    agent_side: AgentSide, page: BrowserPage
) -> None:
    bob = AgentSession(AgentConfig(agent_side.server.url, BOB_TOKEN, ice=LOOPBACK))
    rings = asyncio.Queue[str]()
    bob.incoming_call.connect(lambda info: rings.put_nowait(info.call_id))
    try:
        await bob.start()
        await bob.set_available(True)
        await page.goto(agent_side.widget_url)
        await page.evaluate(COUNT_MEDIA_PROMPTS)
        await page.click(".sp-call")
        call_id = (await asyncio.wait_for(agent_side.rings.get(), 15)).call_id
        await agent_side.agent.accept(call_id)
        await page_wait(page, f"{WIDGET}.call && {WIDGET}.call.state === 'connected'")
        await page.evaluate(f"window.firstStream = {WIDGET}.stream.id")

        await agent_side.agent.transfer("Bob", "wants a refund")
        await page_wait(page, f"['transferring', 'ringing'].includes({PHASE})")
        assert await asyncio.wait_for(rings.get(), 15) == call_id
        await bob.accept(call_id)
        await page_wait(page, f"{WIDGET}.call && {WIDGET}.call.state === 'connected'", 20)
        assert await page.text_content(".sp-status") == "Connected"
        assert await page.evaluate(f"{WIDGET}.stream.id === window.firstStream")
        assert await page.evaluate("window.mediaPrompts") == 1
        # Bob sees and hears the visitor on the new leg.
        call = bob.call
        assert call is not None
        video, audio = call.peer.received("video"), call.peer.received("audio")
        await wait_until(lambda: video.frames >= 30 and audio.frames >= 25, 20)
        assert agent_side.ended == ["transferred"]
        await bob.hangup()
        await page_wait(page, f"{PHASE} === 'ended'")
    finally:
        await bob.stop()
