"""The loopback interop pieces: the Python agent's side of a widget call, and waits and
looks at the Chromium page (the fixtures that build them are in conftest.py)."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from softphone.agent import AgentSession, CallInfo
from softphone.media.pattern import read_stamp
from softphone.signaling.server import SignalingServer
from tests.browser import chromium

if TYPE_CHECKING:
    from playwright.async_api import Page

TOKEN, SITE_KEY = secrets.token_urlsafe(8), secrets.token_urlsafe(8)


async def wait_until(condition: Callable[[], bool], timeout: float = 15.0) -> None:  # noqa: ASYNC109
    async with asyncio.timeout(timeout):
        while not condition():  # noqa: ASYNC110 - a plain-Python condition is polled
            await asyncio.sleep(0.05)


async def page_wait(page: Page, expression: str, timeout: float = 15.0) -> object:  # noqa: ASYNC109
    """Poll a (possibly async) JS expression until truthy; bounded by ``timeout`` s."""
    async with asyncio.timeout(timeout):
        while True:
            value = await page.evaluate(expression)
            if value:
                return value
            await asyncio.sleep(0.1)


@dataclass
class AgentSide:
    server: SignalingServer
    agent: AgentSession
    rings: asyncio.Queue[CallInfo] = field(default_factory=asyncio.Queue)
    states: list[str] = field(default_factory=list)
    ended: list[str] = field(default_factory=list)

    @property
    def widget_url(self) -> str:
        return f"http://127.0.0.1:{self.server.port}/widget/?site_key={SITE_KEY}&name=Chromium"


VIDEO_FRAMES_DECODED = """async () => {
  const call = window.softphone && window.softphone.call;
  if (!call) return 0;
  const s = await call.transportStats();
  return s.inbound.video ? s.inbound.video.framesDecoded : 0;
}"""


async def start_widget_call(side: AgentSide, page: Page) -> str:
    """Open the widget, press "Call an agent", accept as the agent; returns the call id."""
    await page.goto(side.widget_url)
    await page.click(".sp-call")
    ring = await asyncio.wait_for(side.rings.get(), 15)
    assert ring.visitor_name == "Chromium"
    await side.agent.accept(ring.call_id)
    await page_wait(page, "window.softphone.call && window.softphone.call.state === 'connected'")
    await wait_until(lambda: "connected" in side.states)
    assert await page.text_content(".sp-status") == "Connected"
    return ring.call_id


async def remote_stamps(page: Page, count: int) -> list[int]:
    """Frame numbers of the agent's test pattern as Chromium shows them, ``count`` looks."""
    numbers = []
    for _ in range(count * 5):  # bounded: some grabs may catch no readable stamp
        grab = await page.evaluate(chromium.GRAB_REMOTE_LUMA)
        if grab:
            luma, width, height = chromium.decode_luma(grab)
            stamp = read_stamp(luma, width, width, height)
            if stamp is not None:
                numbers.append(stamp.frame_number)
                if len(numbers) == count:
                    break
        await asyncio.sleep(0.2)
    return numbers
