"""Fixtures for widget interop: the signaling server serving the widget, a signed-in
AgentSession (the Python agent), and a headless browser (the visitor).

Everything is on 127.0.0.1 with ephemeral ports. The ``page`` fixture runs each test in
Chromium (playwright) and in Firefox (WebDriver BiDi): tests/browser/browsers.py.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from labnet.browsers import chromium
from softphone.agent import AgentConfig, AgentSession
from softphone.rtc.ice import LOOPBACK
from softphone.signaling.config import ServerConfig
from softphone.signaling.server import SignalingServer
from tests.browser import browsers
from tests.browser.browsers import BROWSERS, BrowserPage, open_page
from tests.browser.loopback_call import (
    BOB_TOKEN,
    SITE_KEY,
    TOKEN,
    AgentSide,
    write_embed_pages,
)

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
            agent_tokens={"Alice": TOKEN, "Bob": BOB_TOKEN},
            site_keys=[SITE_KEY],
            static_dirs={"/test": str(tmp_path)},
        )
    )
    await server.start()
    agent = AgentSession(AgentConfig(server.url, TOKEN, ice=LOOPBACK))
    side = AgentSide(server, agent)
    try:
        await agent.start()
        await agent.set_available(True)
        yield side
    finally:
        await agent.stop()
        await server.close()


@pytest.fixture(params=BROWSERS)
async def page(
    request: pytest.FixtureRequest, _no_leaked_tasks: None
) -> AsyncIterator[BrowserPage]:
    """A fresh headless page with fake camera/microphone, in each browser; killed afterwards.

    Torn down before the leaked-task check: a browser's idle preconnect sockets hold
    server handshake tasks open until the browser is gone.
    """
    async with open_page(request.param) as browser_page:
        yield browser_page


@pytest.fixture(params=BROWSERS)
async def german_page(
    request: pytest.FixtureRequest, _no_leaked_tasks: None
) -> AsyncIterator[BrowserPage]:
    """The ``page`` fixture in a browser whose language is German (navigator.languages):
    playwright's ``locale`` in Chromium, ``intl.accept_languages`` in Firefox."""
    async with open_page(request.param, locale="de-DE") as browser_page:
        yield browser_page


@pytest.fixture
async def chromium_page(_no_leaked_tasks: None) -> AsyncIterator[Page]:
    """Chromium only: for tests that intercept requests (playwright's page.route)."""
    chromium.require()
    async with browsers.chromium_page() as page:
        yield page
