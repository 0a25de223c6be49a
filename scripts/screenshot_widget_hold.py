"""docs/screenshots/[de/]widget-on-hold.png: the visitor's widget while the agent holds the call.

A real call on loopback (no root, no X): an embedded signaling server serving the widget
at /widget/, a signed-in Python agent, and headless Chromium (fake camera and microphone)
as the visitor. The agent presses hold; the widget shows "On hold" and keeps playing the
agent's hold picture and tone.
The browser's language picks the widget's (``--language de``: German, and only the widget is
shot, since the demo page around it is the site's own English text).
Run: PYTHONPATH=$PWD .venv/bin/python scripts/screenshot_widget_hold.py [--language de]
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from playwright.async_api import Page, async_playwright

from labnet.browsers import chromium
from softphone.agent import AgentConfig, AgentSession, CallInfo
from softphone.rtc.ice import LOOPBACK
from softphone.signaling.config import ServerConfig
from softphone.signaling.server import SignalingServer

SHOTS = Path(__file__).resolve().parent.parent / "docs" / "screenshots"
LOCALES = {"en": "en-US", "de": "de-DE"}  # the widget's TEXTS tables
PHASE = "document.querySelector('[data-softphone-widget]').dataset.phase"


async def phase(page: Page, wanted: str, limit_s: float = 20.0) -> None:
    """Poll the widget's phase (the page's CSP forbids wait_for_function's eval)."""
    async with asyncio.timeout(limit_s):
        while await page.evaluate(PHASE) != wanted:  # noqa: ASYNC110 - a page is polled
            await asyncio.sleep(0.1)


async def main(language: str) -> None:
    tokens = {"Grace Hopper": "grace-token"}
    async with SignalingServer(ServerConfig(port=0, agent_tokens=tokens)) as server:
        agent = AgentSession(AgentConfig(server.url, "grace-token", ice=LOOPBACK))
        rings: asyncio.Queue[CallInfo] = asyncio.Queue()
        agent.incoming_call.connect(rings.put_nowait)
        tag = chromium.new_tag()
        try:
            await agent.start()
            await agent.set_available(True)
            async with async_playwright() as pw:
                browser = await pw.chromium.launch(
                    executable_path=str(chromium.CHROMIUM), args=chromium.flags(tag)
                )
                context = await browser.new_context(
                    locale=LOCALES[language], viewport={"width": 720, "height": 620}
                )
                await context.grant_permissions(["camera", "microphone"])
                page = await context.new_page()
                await page.goto(f"http://127.0.0.1:{server.port}/widget/")
                await page.click(".sp-call")
                ring = await asyncio.wait_for(rings.get(), 20)
                await agent.accept(ring.call_id)
                await phase(page, "connected")
                await agent.set_on_hold(True)
                await phase(page, "on_hold")
                await asyncio.sleep(1.5)  # the hold picture has replaced the camera
                if language == "en":
                    out = SHOTS / "widget-on-hold.png"
                    await page.screenshot(path=str(out))
                else:
                    out = SHOTS / language / "widget-on-hold.png"
                    await page.locator("[data-softphone-widget]").screenshot(path=str(out))
                print(f"saved {out}")
                await agent.hangup()
                await browser.close()
        finally:
            await agent.stop()
            chromium.kill_run(tag)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--language", default="en", choices=sorted(LOCALES))
    asyncio.run(main(parser.parse_args().language))
