"""The widget's side of this round's protocol additions, in a browser against a scripted
server (no agent, no media): queue position, error codes as clear text, ``ack`` on each
heartbeat, the reconnect policy and TURN servers from the server, the outgoing queue's
semantics (refuse when full, cleared after ``resume_failed``), and visitor tokens."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pytest
import websockets
from websockets.asyncio.server import ServerConnection

from tests.browser.loopback_call import page_wait
from tests.browser.widget_origin import serve_widget_files

if TYPE_CHECKING:
    from playwright.async_api import Page, Route

    from tests.browser.browsers import BrowserPage

WELCOME = {
    "type": "welcome",
    "session_id": "s",
    "resume_token": "t",
    "heartbeat_interval": 1.0,
    "limits": {"max_frame_bytes": 65536, "messages_per_second": 50},
}
POLICY = {
    "max_attempts": 5,
    "attempt_timeout_s": 4.0,
    "backoff_s": [0.25],
    "reissue_interval_s": 1.5,
}
TURN = {"urls": ["turn:127.0.0.1:3478"], "username": "1700000000:c1", "credential": "cred"}
W = "document.getElementById('w').softphone"
STATUS = f"{W}.el.status.textContent"
ERROR = f"!{W}.el.error.hidden && {W}.el.error.textContent"

Script = Callable[[ServerConnection, dict[str, Any]], Awaitable[None]]


@dataclass
class Scripted:
    """A websocket server that runs ``script`` per connection and records what came in."""

    script: Script
    received: list[dict[str, Any]] = field(default_factory=list)
    connections: list[ServerConnection] = field(default_factory=list)
    port: int = 0

    async def handle(self, conn: ServerConnection) -> None:
        self.connections.append(conn)
        with contextlib.suppress(websockets.ConnectionClosed):
            first = await self.recv(conn)
            await self.script(conn, first)
            while True:
                await self.recv(conn)

    async def recv(self, conn: ServerConnection) -> dict[str, Any]:
        msg: dict[str, Any] = json.loads(await conn.recv())
        self.received.append(msg)
        return msg

    async def push(self, msg: dict[str, Any]) -> None:
        """Send ``msg`` on the newest connection."""
        await self.connections[-1].send(json.dumps(msg))

    def types(self) -> list[str]:
        return [m["type"] for m in self.received]


@contextlib.asynccontextmanager
async def scripted(script: Script | None = None) -> AsyncIterator[Scripted]:
    async def welcome(conn: ServerConnection, first: dict[str, Any]) -> None:
        await conn.send(json.dumps(WELCOME))

    fake = Scripted(script or welcome)
    async with websockets.serve(
        fake.handle, "127.0.0.1", 0, process_request=serve_widget_files
    ) as server:
        fake.port = server.sockets[0].getsockname()[1]
        yield fake


MOUNT = """([url, options]) => {
  const el = document.createElement("div");
  el.id = "w";
  document.body.appendChild(el);
  SoftphoneWidget.mount(el, Object.assign({ server: url, name: "Tess" }, options));
}"""


async def open_widget(page: BrowserPage, fake: Scripted, **options: object) -> None:
    await page.goto(f"http://127.0.0.1:{fake.port}/widget/index.html")
    await page.evaluate(MOUNT, [f"ws://127.0.0.1:{fake.port}/ws", options])


async def wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> None:  # noqa: ASYNC109
    async with asyncio.timeout(timeout):
        while not condition():  # noqa: ASYNC110 - a plain-Python condition is polled
            await asyncio.sleep(0.05)


async def test_queue_position_then_a_refusal_in_clear_text(page: BrowserPage) -> None:
    async with scripted() as fake:
        await open_widget(page, fake)
        await page.click("#w .sp-call")
        await wait_for(lambda: "call_request" in fake.types())
        hello = fake.received[0]
        assert (hello["type"], hello["role"], hello["name"]) == ("hello", "visitor", "Tess")
        assert "token" not in hello and "site_key" not in hello  # nothing configured

        await fake.push({"type": "queued", "call_id": "c1", "position": 3, "seq": 1})
        shown = await page_wait(page, f"{STATUS}.includes('3') && {STATUS}")
        assert "number 3 in line" in str(shown)
        await fake.push({"type": "queued", "call_id": "c1", "position": 1, "seq": 2})
        await page_wait(page, STATUS + ".includes('next in line')")
        await fake.push({"type": "ringing", "call_id": "c1", "seq": 3})
        await page_wait(page, STATUS + " === 'Calling an agent\u2026'")
        # A refused request: the server's stable code becomes a sentence, set as plain text.
        await fake.push({"type": "error", "code": "too_many_calls", "message": "<b>x</b>"})
        text = str(await page_wait(page, ERROR))
        assert text.startswith("Too many calls are waiting") and "<b>" not in text
        assert await page.evaluate(f"{W}.el.error.children.length") == 0
        await page_wait(page, f"{W}.phase === 'idle' && !{W}.el.call.hidden")


@pytest.mark.parametrize(
    ("code", "text"),
    [
        ("rate_limited", "Too many call attempts"),
        ("queue_full", "waiting line is full"),
        ("unauthorized", "not allowed to call"),
        ("something_new", "The call failed (something_new)."),
    ],
)
async def test_a_refused_hello_says_why(page: BrowserPage, code: str, text: str) -> None:
    async def refuse(conn: ServerConnection, first: dict[str, Any]) -> None:
        await conn.send(json.dumps({"type": "error", "code": code, "message": "no"}))
        await conn.close()

    async with scripted(refuse) as fake:
        await open_widget(page, fake)
        await page.click("#w .sp-call")
        assert text in str(await page_wait(page, ERROR))
        await page_wait(page, f"{W}.phase === 'idle'")
        assert fake.types() == ["hello"]  # no reconnect loop after a refusal


async def test_every_heartbeat_acknowledges_the_highest_seq(page: BrowserPage) -> None:
    async with scripted() as fake:
        await open_widget(page, fake)
        await page.click("#w .sp-call")
        await wait_for(lambda: "call_request" in fake.types())
        for seq in (1, 2, 3):
            await fake.push({"type": "queued", "call_id": "c1", "position": 4 - seq, "seq": seq})
        await wait_for(lambda: any(m.get("ack") == 3 for m in fake.received), 5)
        pings = [m for m in fake.received if m["type"] == "ping"]
        assert pings and all("ack" in m for m in pings)
        assert [m["ack"] for m in pings] == sorted(m["ack"] or 0 for m in pings)


@pytest.mark.parametrize("policy", [POLICY, None], ids=["server-policy", "no-policy"])
async def test_policy_from_welcome_and_turn_from_accepted(
    page: BrowserPage, policy: dict[str, Any] | None
) -> None:
    async def welcome(conn: ServerConnection, first: dict[str, Any]) -> None:
        reconnect = {"reconnect": policy} if policy else {}
        await conn.send(json.dumps({**WELCOME, **reconnect}))

    async with scripted(welcome) as fake:
        # The page's own fallbacks lose against the server's policy.
        await open_widget(page, fake, config={"maxAttempts": 9})
        await page.click("#w .sp-call")
        await wait_for(lambda: "call_request" in fake.types())
        accepted = {"type": "accepted", "call_id": "c1", "agent_name": "A", "ice_servers": [TURN]}
        await fake.push({**accepted, "seq": 1})
        await wait_for(lambda: "offer" in fake.types())
        cfg = await page.evaluate(
            f"(({{cfg, pc}}) => [cfg.maxAttempts, cfg.attemptTimeoutMs, cfg.backoffMs,"
            f" cfg.reissueIntervalMs, pc.getConfiguration().iceServers])({W}.call)"
        )
        if policy:
            assert cfg[:4] == [5, 4000, [250], 1500]
        else:
            assert cfg[:4] == [9, 10000, [1000, 2000], 2500]  # the page's fallback, defaults
        servers = cfg[4]
        assert len(servers) == 1 and servers[0]["username"] == TURN["username"]
        assert servers[0]["urls"] == TURN["urls"] or servers[0]["urls"] == TURN["urls"][0]


SIGNALING = """([url]) => {
  window.got = [];
  window.sig = new SoftphoneWidget.Signaling({
    url: url,
    hello: { type: "hello", role: "visitor" },
    log: new SoftphoneWidget.EventLog(),
    config: { queueLimit: 2, reconnectBackoffMs: [1500] },
    onMessage: (msg) => window.got.push(msg.type),
  });
  return window.sig.connect().then(() => true);
}"""
SEND = """(type) => {
  try {
    window.sig.send({ type: type, call_id: "c1" });
    return "queued";
  } catch (err) {
    return err.code;
  }
}"""


async def test_a_full_queue_refuses_and_resume_failed_clears_it(page: BrowserPage) -> None:
    async def resume_fails(conn: ServerConnection, first: dict[str, Any]) -> None:
        if first["type"] == "resume":
            await conn.send(json.dumps({"type": "error", "code": "resume_failed", "message": ""}))
            assert (await fake.recv(conn))["type"] == "hello"  # afresh, at once
        await conn.send(json.dumps(WELCOME))

    async with scripted(resume_fails) as fake:
        await page.goto(f"http://127.0.0.1:{fake.port}/widget/index.html")
        assert await page.evaluate(SIGNALING, [f"ws://127.0.0.1:{fake.port}/ws"])
        fake.connections[-1].transport.abort()  # no close handshake
        await page_wait(page, "window.sig.state === 'reconnecting'")
        sent = [await page.evaluate(SEND, kind) for kind in ("hangup", "candidate", "offer")]
        assert sent == ["queued", "queued", "queue_full"]  # refused, not the oldest dropped
        await page_wait(page, "window.got.includes('session_lost') && window.sig.state === 'open'")
        await asyncio.sleep(0.3)
        after = fake.types()[fake.types().index("resume") :]
        assert after[:2] == ["resume", "hello"]
        assert not {"hangup", "candidate", "offer"} & set(after)  # the stale queue was cleared
        await page.evaluate("window.sig.close()")


# --- visitor tokens (Chromium's request interception stands in for the server's endpoint) ---


async def test_a_token_from_the_page_goes_in_the_hello(chromium_page: Page) -> None:
    page = chromium_page
    minted: list[str] = []
    await page.route("**/visitor-token*", lambda route: minted.append(route.request.url))
    async with scripted() as fake:
        await open_widget(page, fake, visitorToken="backend.jwt", siteKey="k")
        await page.click("#w .sp-call")
        await wait_for(lambda: "call_request" in fake.types())
        assert fake.received[0]["token"] == "backend.jwt" and "site_key" not in fake.received[0]
        assert minted == []  # the site's backend minted it: no request to the server


def token_route(status: int, body: object) -> Callable[[Route], Awaitable[None]]:
    async def fulfill(route: Route) -> None:
        await route.fulfill(
            status=status,
            content_type="application/json",
            headers={"Access-Control-Allow-Origin": "*"},
            body=json.dumps(body),
        )

    return fulfill


async def test_the_site_key_buys_a_token_from_the_server(chromium_page: Page) -> None:
    page = chromium_page
    requests: list[tuple[str, str]] = []
    fulfill = token_route(200, {"token": "minted.jwt", "expires_in": 600})

    async def mint(route: Route) -> None:
        requests.append((route.request.method, route.request.url))
        await fulfill(route)

    await page.route("**/visitor-token*", mint)
    async with scripted() as fake:
        await open_widget(page, fake, siteKey="shop key")
        await page.click("#w .sp-call")
        await wait_for(lambda: "call_request" in fake.types())
    assert requests == [("POST", f"http://127.0.0.1:{fake.port}/visitor-token?site_key=shop%20key")]
    assert fake.received[0]["token"] == "minted.jwt" and "site_key" not in fake.received[0]


async def test_a_refused_token_is_a_clear_error_and_no_connection(chromium_page: Page) -> None:
    page = chromium_page
    await page.route("**/visitor-token*", token_route(403, {"error": "origin_not_allowed"}))
    async with scripted() as fake:
        await open_widget(page, fake, siteKey="k")
        await page.click("#w .sp-call")
        assert "from this address" in str(await page_wait(page, ERROR))
        await asyncio.sleep(0.3)
        assert fake.received == []


async def test_a_server_without_token_minting_gets_the_site_key(chromium_page: Page) -> None:
    page = chromium_page
    await page.route("**/visitor-token*", lambda route: route.abort())
    async with scripted() as fake:
        await open_widget(page, fake, siteKey="k")
        await page.click("#w .sp-call")
        await wait_for(lambda: "call_request" in fake.types())
        assert fake.received[0]["site_key"] == "k" and "token" not in fake.received[0]
