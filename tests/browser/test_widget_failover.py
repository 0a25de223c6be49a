"""The widget (in each browser) and the Python agent through a signaling server that goes
away mid-call: killed and started again on the same port, or drained with a second node
listed (docs/operations.md "What a client must do"). The media never touches the server,
so the call must go on, be re-attached with its tickets, and recover through the new one."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import AsyncIterator
from http import HTTPStatus
from pathlib import Path
from typing import TYPE_CHECKING

from websockets.asyncio.server import ServerConnection, serve
from websockets.datastructures import Headers
from websockets.http11 import Request, Response

from softphone.agent import AgentConfig, AgentSession
from softphone.rtc.ice import LOOPBACK
from softphone.signaling.config import ServerConfig, SiteConfig
from softphone.signaling.server import SignalingServer
from softphone.signaling.visitor_tokens import mint_token
from tests.browser.loopback_call import (
    SITE_KEY,
    TOKEN,
    VIDEO_FRAMES_DECODED,
    VISITOR_NAME,
    WIDGET,
    AgentSide,
    assert_remote_stamps_rise,
    embed_page,
    page_wait,
    start_widget_call,
    wait_until,
    write_embed_pages,
)

if TYPE_CHECKING:
    from tests.browser.browsers import BrowserPage

# Shared by every node of the service: call tickets and visitor tokens from one node are
# good on the next (docs/operations.md "Running more than one server").
TICKET_SECRET, SITE_SECRET = secrets.token_urlsafe(24), secrets.token_urlsafe(24)


def node_config(pages: Path, port: int = 0) -> ServerConfig:
    site = SiteConfig(SITE_KEY, secret=SITE_SECRET, self_mint=True)
    return ServerConfig(
        host="127.0.0.1",
        port=port,
        agent_tokens={"Alice": TOKEN},
        sites={SITE_KEY: site},
        call_ticket_secret=TICKET_SECRET,
        static_dirs={"/test": str(pages)},
    )


@contextlib.asynccontextmanager
async def service(
    pages: Path, nodes: int
) -> AsyncIterator[tuple[AgentSide, list[SignalingServer]]]:
    """``nodes`` servers and an available agent that lists them all, in order; every server
    the test adds to the list is closed at the end."""
    write_embed_pages(pages, SITE_KEY)
    servers = [SignalingServer(node_config(pages)) for _ in range(nodes)]
    try:
        for server in servers:
            await server.start()
        urls = ",".join(s.url for s in servers)
        agent = AgentSession(AgentConfig(urls, TOKEN, ice=LOOPBACK))
        side = AgentSide(servers[0], agent)
        try:
            await agent.start()
            await agent.set_available(True)
            yield side, servers
        finally:
            await agent.stop()
    finally:
        for server in servers:
            await server.close()


async def media_flows(side: AgentSide, page: BrowserPage) -> None:
    """Both directions keep decoding: 10 more frames each way within 5 s."""
    call = side.agent.call
    assert call is not None
    video = call.peer.received("video")
    at_agent = video.frames
    at_widget = int(await page.evaluate(f"({VIDEO_FRAMES_DECODED})()"))  # type: ignore[call-overload]
    await wait_until(lambda: video.frames > at_agent + 10, 5)
    await page_wait(page, f"({VIDEO_FRAMES_DECODED})().then(n => n > {at_widget + 10})", 5)


async def reattached(page: BrowserPage, server: SignalingServer, call_id: str) -> None:
    """Both parties are back on ``server`` with their call (and the widget was told)."""
    await wait_until(lambda: call_id in server.switchboard.calls, 10)
    call = server.switchboard.calls[call_id]
    await wait_until(lambda: call.agent is not None and call.visitor is not None, 10)
    await page_wait(page, f"{WIDGET}.events.items.some(e => e.event === 'widget.reattached')", 5)


async def no_interruption(side: AgentSide, page: BrowserPage) -> None:
    """Neither side saw a reconnect episode, nor ended the call."""
    assert side.ended == [] and "reconnecting" not in side.states
    events = await page.evaluate(f"{WIDGET}.events.items.map(e => e.event)")
    assert "call.reconnecting" not in events and "widget.error" not in events, events
    assert await page.evaluate(f"{WIDGET}.call.state") == "connected"


async def episodes_reported(server: SignalingServer) -> str:
    """The widget's hangup sends its call_report; both parties' episodes reach /metrics."""
    expected = ('outcome="recovered",role="agent"} 1.0', 'outcome="recovered",role="visitor"} 1.0')
    await wait_until(lambda: all(e in server.metrics.render() for e in expected), 10)
    return server.metrics.render()


async def test_a_call_survives_a_restarted_server_and_recovers_through_it(
    page: BrowserPage, tmp_path: Path
) -> None:
    async with service(tmp_path, 1) as (side, servers):
        call_id = await start_widget_call(side, page)
        port = servers[0].port
        await servers[0].close()  # gone without a word, as after kill -9
        await page_wait(page, f"{WIDGET}.signaling.state === 'reconnecting'", 5)
        await media_flows(side, page)  # no server: the media goes on
        await asyncio.sleep(1.0)  # the new process takes a moment to come up
        new = SignalingServer(node_config(tmp_path, port))
        await new.start()
        servers.append(new)
        await reattached(page, new, call_id)
        events = await page.evaluate(f"{WIDGET}.events.items.map(e => e.event)")
        # The resume was refused, a fresh visitor token bought the new session.
        assert "signaling.resume_failed" in events
        assert events.count("widget.token_minted") == 2
        await media_flows(side, page)
        await no_interruption(side, page)

        # The new server relays an ICE restart: the widget answers, both are connected.
        side.agent.restart_ice("manual")
        await page_wait(page, f"{WIDGET}.call.restarts >= 1", 15)
        await wait_until(lambda: side.states[-2:] == ["reconnecting", "connected"], 15)
        await media_flows(side, page)
        assert side.ended == []

        await page.click(".sp-hangup")
        await wait_until(lambda: side.ended == ["normal"])
        text = await episodes_reported(new)
        assert "softphone_calls_reattached_total" in text


async def test_a_restart_the_server_cannot_relay_ends_as_recovered_once_media_flows(
    page: BrowserPage, tmp_path: Path
) -> None:
    """The new server was started with another call-ticket secret (misconfigured): the
    re-attach is refused, so the widget's restart offer gets ``unknown_call``. The media
    flows, so the episode ends as recovered: the call is not torn down for want of
    signaling, and the report says so."""
    async with service(tmp_path, 1) as (side, servers):
        await start_widget_call(side, page)
        port = servers[0].port
        await servers[0].close()
        await page_wait(page, f"{WIDGET}.signaling.state === 'reconnecting'", 5)
        config = node_config(tmp_path, port)
        config.call_ticket_secret = secrets.token_urlsafe(24)  # not the service's secret
        new = SignalingServer(config)
        await new.start()
        servers.append(new)
        await page_wait(page, f"{WIDGET}.signaling.state === 'open'", 10)
        await page_wait(page, f"{WIDGET}.events.items.some(e => e.event === 'widget.reattach')", 5)
        await page.evaluate(f"{WIDGET}.call.restart('manual')")
        await page_wait(
            page, f"{WIDGET}.events.items.some(e => e.event === 'call.peer_unreachable')", 10
        )
        await page_wait(page, f"{WIDGET}.call.state === 'connected'", 15)
        report = await page.evaluate(f"{WIDGET}.call.report()")
        assert [(e["trigger"], e["outcome"], e["origin"]) for e in report["episodes"]] == [
            ("manual", "recovered", "local")
        ]
        assert report["episodes"][0]["attempts"] >= 1
        events = await page.evaluate(f"{WIDGET}.events.items.map(e => e.event)")
        assert "call.failed" not in events and "widget.error" not in events
        # The agent's stamped frames keep coming (Firefox's inbound-rtp counters are no
        # measure here: after an unanswered restart offer they restart at every look).
        await assert_remote_stamps_rise(page)
        call = side.agent.call
        assert call is not None
        video = call.peer.received("video")
        frames = video.frames
        await wait_until(lambda: video.frames > frames + 10, 5)

        await page.click(".sp-hangup")
        await wait_until(
            lambda: 'outcome="recovered",role="visitor"} 1.0' in new.metrics.render(), 10
        )


class ShopPage:
    """The customer's own page on its own origin, embedding the widget from a call server.
    (A page the call server serves itself may connect to that server only: its CSP.)"""

    def __init__(self) -> None:
        self.html = ""
        self.origin = ""

    def embed(self, widget_origin: str, attrs: dict[str, str]) -> None:
        html = embed_page(attrs, csp=False).replace('"/widget/', f'"{widget_origin}/widget/')
        self.html = html.replace('<script src="csp_watch.js"></script>', "")

    def _answer(self, connection: ServerConnection, request: Request) -> Response:
        headers = Headers([("Content-Type", "text/html; charset=utf-8")])
        return Response(HTTPStatus.OK, "OK", headers, self.html.encode())

    @contextlib.asynccontextmanager
    async def served(self) -> AsyncIterator[None]:
        async with serve(_unused, "127.0.0.1", 0, process_request=self._answer) as server:
            self.origin = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
            yield


async def _unused(connection: ServerConnection) -> None:
    await connection.close()


async def test_a_draining_server_moves_the_widget_to_the_next_one(
    page: BrowserPage, tmp_path: Path
) -> None:
    shop = ShopPage()
    async with service(tmp_path, 2) as (side, (first, second)), shop.served():
        # The shop's page lists both nodes; its visitor token (minted by the shop's backend
        # with the site's shared secret, for the page's origin) is good on either.
        token = mint_token(SITE_SECRET, SITE_KEY, shop.origin, 600)
        attrs = {"server": f"{first.url}, {second.url}", "visitor-token": token}
        shop.embed(f"http://127.0.0.1:{first.port}", attrs | {"name": VISITOR_NAME})
        await page.goto(shop.origin + "/")
        await page.click(".sp-call")
        ring = await asyncio.wait_for(side.rings.get(), 15)
        await side.agent.accept(ring.call_id)
        await page_wait(page, f"{WIDGET}.call && {WIDGET}.call.state === 'connected'")
        call_id = ring.call_id
        assert await page.evaluate(f"{WIDGET}.signaling.url") == first.url

        await first.drain()  # notice{server_draining}, then close 1012
        await reattached(page, second, call_id)
        assert await page.evaluate(f"{WIDGET}.signaling.url") == second.url
        lost = await page.evaluate(
            f"{WIDGET}.events.items.filter(e => e.event === 'signaling.lost')"
        )
        assert [e["retry_ms"] for e in lost] == [0]  # straight to the next node, no backoff
        await media_flows(side, page)
        await no_interruption(side, page)

        side.agent.restart_ice("manual")
        await wait_until(lambda: side.states[-2:] == ["reconnecting", "connected"], 15)
        await page.click(".sp-hangup")
        await wait_until(lambda: side.ended == ["normal"])
        await episodes_reported(second)


def available_on(server: SignalingServer) -> bool:
    agent = server.sessions.find_agent("Alice")
    return agent is not None and server.switchboard.is_available(agent)


async def test_an_unreachable_first_server_is_skipped_without_a_backoff(
    page: BrowserPage, tmp_path: Path
) -> None:
    shop = ShopPage()
    async with service(tmp_path, 2) as (side, (first, second)), shop.served():
        token = mint_token(SITE_SECRET, SITE_KEY, shop.origin, 600)
        attrs = {"server": f"{first.url},{second.url}", "visitor-token": token}
        shop.embed(f"http://127.0.0.1:{second.port}", attrs | {"name": VISITOR_NAME})
        await first.close()  # down before the visitor comes
        # The agent moves to the second server too; under load that takes a moment, and a
        # visitor who calls before any agent is signed in there would rightly get no_agent.
        await wait_until(lambda: available_on(second))
        await page.goto(shop.origin + "/")
        await page.click(".sp-call")
        ring = await asyncio.wait_for(side.rings.get(), 15)
        await side.agent.accept(ring.call_id)
        await page_wait(page, f"{WIDGET}.call && {WIDGET}.call.state === 'connected'")
        assert await page.evaluate(f"{WIDGET}.signaling.url") == second.url
        lost = await page.evaluate(
            f"{WIDGET}.events.items.filter(e => e.event === 'signaling.lost')"
        )
        assert [(e["retry_ms"], e["next"]) for e in lost] == [(0, second.url)]
        await page.click(".sp-hangup")
        await wait_until(lambda: side.ended == ["normal"])
