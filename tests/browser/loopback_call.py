"""The loopback interop pieces: the Python agent's side of a widget call, the embedding
pages the server serves for the visitor, and waits and looks at the browser page (the
fixtures that build them are in conftest.py)."""

from __future__ import annotations

import asyncio
import html
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from labnet.browsers import chromium
from softphone.agent import AgentSession, CallInfo
from softphone.call.state import CallStatus
from softphone.media.pattern import read_stamp
from softphone.signaling.server import SignalingServer

if TYPE_CHECKING:
    from tests.browser.browsers import BrowserPage

TOKEN, SITE_KEY = secrets.token_urlsafe(8), secrets.token_urlsafe(8)
BOB_TOKEN = secrets.token_urlsafe(8)  # a colleague, signed in by tests that transfer
VISITOR_NAME = "Browser Visitor"

# The widget instance of the page: the host element's handle (no page globals).
WIDGET = "document.querySelector('[data-softphone-widget]').softphone"

# A strict CSP as a customer page may set it (meta: the static handler sets no headers):
# scripts and styles only from the server, connections only to the server itself.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self'; media-src 'self' blob: mediastream:"
)
CSP_WATCH = """window.cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.cspViolations.push(e.violatedDirective + " " + e.blockedURI);
});
"""


# Page scripts that take away what a browser may lack or refuse (run before the widget).
NO_WEBRTC = "window.RTCPeerConnection = undefined;\n"
DENY_MEDIA = """navigator.mediaDevices.getUserMedia = () =>
  Promise.reject(new DOMException("Permission denied", "NotAllowedError"));
"""


def embed_page(widget_attrs: dict[str, str], csp: bool, before: str = "") -> str:
    """A customer page embedding the widget with ``widget_attrs`` (data-* markup);
    ``before``: a script of the page that runs before the widget's."""
    attrs = "".join(f' data-{k}="{html.escape(v)}"' for k, v in widget_attrs.items())
    meta = f'<meta http-equiv="Content-Security-Policy" content="{CSP}">' if csp else ""
    first = f'<script src="{before}"></script>' if before else ""
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8">{meta}'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<title>Shop</title><link rel="stylesheet" href="/widget/widget.css">'
        f'<script src="csp_watch.js"></script>{first}</head>'
        f"<body><div data-softphone-widget{attrs}></div>"
        '<script src="/widget/widget.js" defer></script></body></html>'
    )


def write_embed_pages(directory: Path, site_key: str) -> None:
    """``csp.html``: the site key in markup under a strict CSP; ``embed.html``: the same
    without a CSP (so only the widget itself stands between a crafted URL and a leak)."""
    attrs = {"site-key": site_key, "name": VISITOR_NAME}
    (directory / "csp.html").write_text(embed_page(attrs, csp=True))
    (directory / "embed.html").write_text(embed_page(attrs, csp=False))
    (directory / "wrong-key.html").write_text(embed_page({"site-key": "wrong"}, csp=True))
    (directory / "csp_watch.js").write_text(CSP_WATCH)
    (directory / "no_webrtc.js").write_text(NO_WEBRTC)
    (directory / "deny_media.js").write_text(DENY_MEDIA)
    (directory / "no-webrtc.html").write_text(embed_page(attrs, True, "no_webrtc.js"))
    (directory / "denied.html").write_text(embed_page(attrs, True, "deny_media.js"))


async def wait_until(condition: Callable[[], bool], timeout: float = 15.0) -> None:  # noqa: ASYNC109
    async with asyncio.timeout(timeout):
        while not condition():  # noqa: ASYNC110 - a plain-Python condition is polled
            await asyncio.sleep(0.05)


async def page_wait(page: BrowserPage, expression: str, timeout: float = 15.0) -> object:  # noqa: ASYNC109
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

    def __post_init__(self) -> None:
        """Record what the agent's session publishes: rings, call states and end reasons."""
        self.agent.incoming_call.connect(self.rings.put_nowait)
        self.agent.call_status.connect(self._record)

    def _record(self, status: CallStatus) -> None:
        self.states.append(str(status.state))
        if status.terminal:
            self.ended.append(status.end_reason or "")

    def url(self, page: str = "csp.html") -> str:
        return f"http://127.0.0.1:{self.server.port}/test/{page}"

    @property
    def widget_url(self) -> str:
        return self.url()


VIDEO_FRAMES_DECODED = f"""async () => {{
  const call = {WIDGET}.call;
  if (!call) return 0;
  const s = await call.transportStats();
  return s.inbound.video ? s.inbound.video.framesDecoded : 0;
}}"""


async def start_widget_call(side: AgentSide, page: BrowserPage, embed: str = "csp.html") -> str:
    """Open the widget (on the server's page ``embed``), press "Call an agent", accept as
    the agent; returns the call id."""
    await page.goto(side.url(embed))
    await page.click(".sp-call")
    ring = await asyncio.wait_for(side.rings.get(), 15)
    assert ring.visitor_name == VISITOR_NAME
    await side.agent.accept(ring.call_id)
    await page_wait(page, f"{WIDGET}.call && {WIDGET}.call.state === 'connected'")
    await wait_until(lambda: "connected" in side.states)
    assert await page.text_content(".sp-status") == "Connected"
    return ring.call_id


REMOTE_VIDEO_STATE = f"""async () => {{
  const v = document.querySelector('.sp-remote');
  return {{paused: v.paused, readyState: v.readyState, currentTime: v.currentTime,
          size: [v.videoWidth, v.videoHeight], framesDecoded: await ({VIDEO_FRAMES_DECODED})()}};
}}"""


async def assert_remote_stamps_rise(page: BrowserPage) -> None:
    """The agent's test pattern as the browser *shows* it moves on: the frame numbers read
    from the remote <video> never go back and pass the first one within 8 s.

    Looks every 0.2 s (bounded); a failure says what the element and the decoder were doing,
    since a picture frozen while frames are decoded is a display fault, not a media one.
    """
    numbers: list[int] = []
    deadline = asyncio.get_running_loop().time() + 8.0
    while asyncio.get_running_loop().time() < deadline:
        grab = await page.evaluate(chromium.GRAB_REMOTE_LUMA)
        if grab:
            luma, width, height = chromium.decode_luma(grab)
            stamp = read_stamp(luma, width, width, height)
            if stamp is not None:
                numbers.append(stamp.frame_number)
                assert numbers == sorted(numbers), f"the shown frame went back: {numbers}"
                if numbers[-1] > numbers[0]:
                    return
        await asyncio.sleep(0.2)
    state = await page.evaluate(REMOTE_VIDEO_STATE)
    raise AssertionError(f"the shown frame did not move on in 8 s: {numbers}, {state}")
