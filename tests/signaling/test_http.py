"""Plain HTTP beside the websocket: /healthz, static mounts, 404s, the Origin allowlist."""

from __future__ import annotations

import asyncio
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import websockets
from websockets.exceptions import InvalidStatus

from softphone.signaling.server import ServerConfig, SignalingServer


def http_get(url: str) -> tuple[int, str, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status, response.headers["Content-Type"], response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers["Content-Type"], error.read()


def base(server: SignalingServer) -> str:
    return f"http://127.0.0.1:{server.port}"


def http_get_auth(url: str, token: str | None) -> tuple[int, bytes]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=2) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


@pytest.mark.server_config(metrics_token="metrics-secret")
async def test_healthz_says_ok_and_counts_need_the_metrics_token(server, connect, start_call):
    status, _, body = await asyncio.to_thread(http_get, base(server) + "/healthz")
    assert (status, body) == (200, b"ok\n")
    alice = await connect("agent", "alice")
    visitor = await connect("visitor")
    await start_call(alice, visitor)
    _, _, body = await asyncio.to_thread(http_get, base(server) + "/healthz")
    assert body == b"ok\n"
    for token in (None, "wrong"):
        status, body = await asyncio.to_thread(http_get_auth, base(server) + "/metrics", token)
        assert status == 401 and b"softphone" not in body
    status, body = await asyncio.to_thread(
        http_get_auth, base(server) + "/metrics", "metrics-secret"
    )
    assert status == 200
    text = body.decode()
    assert '\nsoftphone_sessions{node="127.0.0.1:0"} 2.0\n' in text
    assert '\nsoftphone_calls{node="127.0.0.1:0"} 1.0\n' in text
    assert '\nsoftphone_calls_started_total{node="127.0.0.1:0"} 1.0\n' in text
    assert "# TYPE softphone_answer_seconds histogram" in text  # Prometheus' own format


async def test_no_metrics_without_a_configured_token(server):
    status, _ = await asyncio.to_thread(http_get_auth, base(server) + "/metrics", "")
    assert status == 404


async def test_unknown_paths_are_404(server):
    status, _, _ = await asyncio.to_thread(http_get, base(server) + "/admin")
    assert status == 404


async def test_static_files_under_a_mount(tmp_path: Path, _no_leaked_tasks: None):
    (tmp_path / "widget").mkdir()
    (tmp_path / "widget" / "index.html").write_text("<p>call us</p>")
    (tmp_path / "secret.txt").write_text("no")
    config = ServerConfig(port=0, static_dirs={"/widget": str(tmp_path / "widget")})
    async with SignalingServer(config) as server:
        status, kind, body = await asyncio.to_thread(http_get, base(server) + "/widget/")
        assert (status, kind, body) == (200, "text/html", b"<p>call us</p>")
        status, _, _ = await asyncio.to_thread(http_get, base(server) + "/widget/..%2Fsecret.txt")
        assert status == 404


@pytest.mark.server_config(origins=["https://shop.test"])
async def test_origin_allowlist(server):
    with pytest.raises(InvalidStatus) as refused:
        await websockets.connect(server.url, origin="https://evil.test")
    assert refused.value.response.status_code == 403
    for origin in ("https://shop.test", None):  # no Origin: not a browser (the agent app)
        async with websockets.connect(server.url, origin=origin):
            pass
