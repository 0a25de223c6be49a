"""Plain HTTP beside the websocket endpoint, through websockets' ``process_request`` hook.

Exact paths map to handlers (``/healthz``); URL prefixes map to static directories (the
visitor widget will be mounted here). Everything else but the websocket path is a 404.
"""

from __future__ import annotations

import email.utils
import http
import json
import mimetypes
from collections.abc import Callable
from pathlib import Path
from urllib.parse import unquote, urlsplit

from websockets.asyncio.server import ServerConnection
from websockets.datastructures import Headers
from websockets.http11 import Request, Response

Handler = Callable[[ServerConnection, Request], Response]


def make_response(status: int, body: bytes, content_type: str) -> Response:
    status_ = http.HTTPStatus(status)
    headers = Headers(
        [
            ("Date", email.utils.formatdate(usegmt=True)),
            ("Content-Length", str(len(body))),
            ("Content-Type", content_type),
            ("Cache-Control", "no-store"),
        ]
    )
    return Response(status_.value, status_.phrase, headers, body)


def json_response(payload: object, status: int = 200) -> Response:
    return make_response(status, json.dumps(payload).encode(), "application/json")


class HttpRoutes:
    def __init__(self, websocket_path: str = "/ws") -> None:
        self.websocket_path = websocket_path
        self._exact: dict[str, Handler] = {}
        self._static: list[tuple[str, Path]] = []

    def add(self, path: str, handler: Handler) -> None:
        self._exact[path] = handler

    def mount_static(self, prefix: str, directory: str | Path) -> None:
        """Serve files under ``directory`` at ``prefix/...`` (``prefix/`` gives index.html)."""
        self._static.append((prefix.rstrip("/") + "/", Path(directory).resolve()))

    def __call__(self, conn: ServerConnection, request: Request) -> Response | None:
        path = urlsplit(request.path).path
        if path == self.websocket_path:
            return None  # go on with the websocket handshake
        handler = self._exact.get(path)
        if handler is not None:
            return handler(conn, request)
        for prefix, root in self._static:
            if path.startswith(prefix):
                return self._static_file(root, unquote(path[len(prefix) :]) or "index.html")
        return make_response(404, b"not found\n", "text/plain; charset=utf-8")

    @staticmethod
    def _static_file(root: Path, relative: str) -> Response:
        target = (root / relative).resolve()
        if not target.is_relative_to(root) or not target.is_file():
            return make_response(404, b"not found\n", "text/plain; charset=utf-8")
        kind = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
        return make_response(200, target.read_bytes(), kind)
