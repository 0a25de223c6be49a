"""The widget on a phone-sized screen, and what it says when the browser cannot call."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tests.browser.loopback_call import WIDGET, AgentSide, page_wait, start_widget_call

if TYPE_CHECKING:
    from tests.browser.browsers import BrowserPage

PHONE = {"width": 375, "height": 667}  # a small phone's CSS viewport
LAYOUT = """(selectors) => {
  const box = (s) => {
    const r = document.querySelector(s).getBoundingClientRect();
    return { left: r.left, right: r.right, width: r.width, height: r.height };
  };
  return {
    viewport: window.innerWidth,
    container: document.querySelector(".softphone-widget").parentElement.clientWidth,
    scrollWidth: document.documentElement.scrollWidth,
    boxes: Object.fromEntries(selectors.map((s) => [s, box(s)])),
  };
}"""


async def test_phone_viewport_fits_and_buttons_are_touch_sized(
    agent_side: AgentSide, page: BrowserPage
) -> None:
    await page.set_viewport_size(PHONE)
    await start_widget_call(agent_side, page)
    layout = await page.evaluate(LAYOUT, [".softphone-widget", ".sp-videos", ".sp-hangup"])
    assert layout["viewport"] == PHONE["width"]
    assert layout["scrollWidth"] <= PHONE["width"]  # no sideways scrolling
    widget, videos, hangup = (
        layout["boxes"][k] for k in (".softphone-widget", ".sp-videos", ".sp-hangup")
    )
    assert widget["left"] >= 0 and widget["right"] <= PHONE["width"]
    assert widget["width"] >= layout["container"] - 1  # the page's whole width is used
    assert videos["height"] > videos["width"]  # portrait video area on a portrait screen
    assert hangup["height"] >= 44 and hangup["width"] >= widget["width"] - 40  # thumb-sized
    await page.click(".sp-hangup")
    await page_wait(page, f"{WIDGET}.phase === 'ended'")
    call = (await page.evaluate(LAYOUT, [".sp-call"]))["boxes"][".sp-call"]
    assert call["height"] >= 44


async def test_a_browser_without_webrtc_is_told_so(
    agent_side: AgentSide, page: BrowserPage
) -> None:
    await page.goto(agent_side.url("no-webrtc.html"))
    text = await page_wait(page, f"!{WIDGET}.el.error.hidden && {WIDGET}.el.error.textContent")
    assert "cannot make video calls" in str(text)
    assert await page.evaluate(f"{WIDGET}.el.call.disabled")
    assert agent_side.rings.empty()


async def test_refused_camera_permission_is_told_so(
    agent_side: AgentSide, page: BrowserPage
) -> None:
    await page.goto(agent_side.url("denied.html"))
    await page.click(".sp-call")
    text = await page_wait(page, f"!{WIDGET}.el.error.hidden && {WIDGET}.el.error.textContent")
    assert "access was refused" in str(text) and "settings" in str(text)
    await page_wait(page, f"{WIDGET}.phase === 'idle' && !{WIDGET}.el.call.hidden")  # may retry
    assert agent_side.rings.empty()
