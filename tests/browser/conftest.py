"""Fixtures for widget interop: the signaling server serving the widget, a signed-in
AgentSession (the Python agent), and headless Chromium (the visitor) through playwright.

Everything is on 127.0.0.1 with ephemeral ports; Chromium is killed by its run tag even
when playwright fails.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from softphone.agent import AgentConfig, AgentSession
from softphone.rtc.ice import LOOPBACK
from softphone.signaling.config import ServerConfig
from softphone.signaling.server import SignalingServer
from tests.browser import chromium
from tests.browser.loopback_call import SITE_KEY, TOKEN, AgentSide, write_embed_pages

if TYPE_CHECKING:
    from playwright.async_api import Page


@pytest.fixture
async def agent_side(_no_leaked_tasks: None, tmp_path: Path) -> AsyncIterator[AgentSide]:
    """Depends on the leaked-task check so that it is torn down before the check runs.

    The server serves the widget at /widget/ (by default) and the embedding pages of
    loopback_call.write_embed_pages at /test/.
    """
    write_embed_pages(tmp_path, SITE_KEY)
    server = SignalingServer(
        ServerConfig(
            host="127.0.0.1",
            port=0,
            agent_tokens={"Alice": TOKEN},
            site_keys=[SITE_KEY],
            static_dirs={"/test": str(tmp_path)},
        )
    )
    await server.start()
    agent = AgentSession(AgentConfig(server.url, TOKEN, ice=LOOPBACK))
    side = AgentSide(server, agent)
    agent.incoming_call.connect(side.rings.put_nowait)
    agent.call_state.connect(side.states.append)
    agent.call_ended.connect(side.ended.append)
    try:
        await agent.start()
        await agent.set_available(True)
        yield side
    finally:
        await agent.stop()
        await server.close()


@pytest.fixture
async def page(_no_leaked_tasks: None) -> AsyncIterator[Page]:
    """A fresh headless Chromium page with fake camera/microphone; killed afterwards.

    Torn down before the leaked-task check: Chromium's idle preconnect sockets hold
    server handshake tasks open until the browser is gone.
    """
    chromium.require()
    from playwright.async_api import async_playwright

    tag = chromium.new_tag()
    try:
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(
                executable_path=str(chromium.CHROMIUM),
                args=chromium.flags(tag),
                timeout=30_000,
            )
            try:
                context = await browser.new_context()
                await context.grant_permissions(["camera", "microphone"])
                await context.add_init_script(path=chromium.MEDIA_PROBE)
                yield await context.new_page()
            finally:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(browser.close(), 10)
    finally:
        chromium.kill_run(tag)
