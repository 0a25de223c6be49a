"""The signaling server serves the widget: right content types, nothing outside its folder."""

from __future__ import annotations

import asyncio
import http.client
from collections.abc import AsyncIterator

import pytest

from softphone.signaling.config import ServerConfig
from softphone.signaling.server import SignalingServer


def http_get(port: int, path: str) -> tuple[int, str, bytes]:
    """Raw GET: urllib would normalise ``..`` away before the server ever saw it."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.getheader("Content-Type") or "", response.read()
    finally:
        conn.close()


@pytest.fixture
async def server() -> AsyncIterator[SignalingServer]:
    async with SignalingServer(ServerConfig(host="127.0.0.1", port=0)) as server:
        yield server


@pytest.mark.parametrize(
    ("path", "kind", "needle"),
    [
        ("/widget/", "text/html", b"data-softphone-widget"),
        ("/widget/index.html", "text/html", b"widget.js"),
        ("/widget/widget.js", "javascript", b"restart_offer"),
        ("/widget/widget.css", "text/css", b".softphone-widget"),
    ],
)
async def test_widget_files_are_served_by_default(
    server: SignalingServer, path: str, kind: str, needle: bytes
) -> None:
    status, content_type, body = await asyncio.to_thread(http_get, server.port, path)
    assert status == 200 and kind in content_type and needle in body


@pytest.mark.parametrize(
    "path",
    [
        "/widget/../softphone/signaling/server.py",
        "/widget/..%2f..%2fpyproject.toml",
        "/widget/%2e%2e/%2e%2e/pyproject.toml",
        "/widget//etc/passwd",
        "/widget/nope.js",
        "/widgetx/widget.js",
    ],
)
async def test_nothing_outside_the_widget_folder(server: SignalingServer, path: str) -> None:
    status, _, body = await asyncio.to_thread(http_get, server.port, path)
    assert status == 404 and b"root:" not in body and b"[project]" not in body
