"""The widget's side of replay on resume, in Chromium against a scripted server: its resume
names the highest ``seq`` it received, and a message it has seen already is dropped."""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING, Any

import websockets
from websockets.asyncio.server import ServerConnection

from tests.browser.loopback_call import page_wait
from tests.browser.widget_origin import serve_widget_files

if TYPE_CHECKING:
    from tests.browser.browsers import BrowserPage

WELCOME = {
    "type": "welcome",
    "session_id": "s",
    "resume_token": "t",
    "heartbeat_interval": 5.0,
    "limits": {"max_frame_bytes": 65536, "messages_per_second": 50},
}
START = """(url) => {
  window.got = [];
  const signaling = new SoftphoneWidget.Signaling({
    url: url,
    hello: { role: "visitor", site_key: "k" },
    log: new SoftphoneWidget.EventLog(),
    onMessage: (msg) => window.got.push([msg.type, msg.seq === undefined ? null : msg.seq]),
  });
  signaling.connect();
}"""


async def test_widget_resumes_with_last_seq_and_drops_duplicates(page: BrowserPage) -> None:
    firsts: list[dict[str, Any]] = []

    def offer(seq: int) -> str:
        return json.dumps({"type": "offer", "call_id": "c", "sdp": f"o{seq}", "seq": seq})

    async def scripted(conn: ServerConnection) -> None:
        first = json.loads(await conn.recv())
        firsts.append(first)
        if first["type"] == "resume":
            await conn.send(json.dumps({**WELCOME, "resumed": True}))
            for seq in (2, 3):  # 2 arrived before the drop: a duplicate
                await conn.send(offer(seq))
        else:
            await conn.send(json.dumps(WELCOME))
            for seq in (1, 2, 2, 1):
                await conn.send(offer(seq))
            await asyncio.sleep(0.2)
            conn.transport.abort()  # no close handshake: the widget reconnects and resumes
        await conn.wait_closed()

    async with websockets.serve(
        scripted, "127.0.0.1", 0, process_request=serve_widget_files
    ) as fake:
        port = fake.sockets[0].getsockname()[1]
        await page.goto(f"http://127.0.0.1:{port}/widget/index.html")
        await page_wait(page, "!!window.SoftphoneWidget", timeout=10)
        await page.evaluate(START, f"ws://127.0.0.1:{port}/ws")
        await page_wait(page, "window.got.length >= 4", timeout=10)
        await asyncio.sleep(0.2)  # nothing more trickles in
        got = await page.evaluate("window.got")
        await page.close()  # before the fake server: the widget would reconnect
    assert got == [["offer", 1], ["offer", 2], ["resumed", None], ["offer", 3]]
    assert [f["type"] for f in firsts] == ["hello", "resume"]
    assert (firsts[1]["resume_token"], firsts[1]["last_seq"]) == ("t", 2)
