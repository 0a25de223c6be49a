"""One small page interface over the browsers the widget is tested in.

Chromium is driven by playwright (its Page already is this interface); Firefox ESR by our
WebDriver BiDi client (labnet/browsers/firefox.py). Browser tests take the ``page`` fixture,
which is parametrised over both, so every test runs in each.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator
from typing import Any, Protocol

from labnet.browsers import chromium, firefox

BROWSERS = ("chromium", "firefox")


class BrowserPage(Protocol):
    async def goto(self, url: str) -> Any: ...

    async def evaluate(self, expression: str, arg: Any = None) -> Any: ...

    async def click(self, selector: str) -> None: ...

    async def text_content(self, selector: str) -> str | None: ...

    async def get_attribute(self, selector: str, name: str) -> str | None: ...

    async def is_visible(self, selector: str) -> bool: ...

    async def set_viewport_size(self, viewport_size: Any) -> None: ...

    async def close(self) -> None: ...


def require(browser: str) -> None:
    """Skip without ``browser``; fail instead if SOFTPHONE_REQUIRE_BROWSER=1 (CI)."""
    if browser == "chromium":
        chromium.require()
        return
    if firefox.available():
        return
    import pytest

    why = f"needs Debian's firefox-esr ({firefox.FIREFOX})"
    if os.environ.get("SOFTPHONE_REQUIRE_BROWSER") == "1":
        pytest.fail(f"SOFTPHONE_REQUIRE_BROWSER=1 but this machine {why}")
    pytest.skip(why)


@contextlib.asynccontextmanager
async def chromium_page(locale: str | None = None) -> AsyncIterator[Any]:
    """A fresh headless Chromium page (playwright) with fake camera/microphone; ``locale``:
    the browser's language (navigator.languages), e.g. "de-DE"."""
    from playwright.async_api import async_playwright

    tag = chromium.new_tag()
    try:
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(
                executable_path=str(chromium.CHROMIUM), args=chromium.flags(tag), timeout=30_000
            )
            try:
                context = await browser.new_context(locale=locale)
                await context.grant_permissions(["camera", "microphone"])
                await context.add_init_script(path=chromium.MEDIA_PROBE)
                yield await context.new_page()
            finally:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(browser.close(), 10)
    finally:
        chromium.kill_run(tag)


@contextlib.asynccontextmanager
async def open_page(browser: str, locale: str = "en-US") -> AsyncIterator[BrowserPage]:
    """A page of ``browser`` whose language is ``locale``: English unless a test asks, so
    the widget's texts do not depend on the machine's language settings."""
    require(browser)
    if browser == "chromium":
        async with chromium_page(locale) as page:
            yield page
    else:
        async with firefox.launch(locale=locale) as page:
            yield page
