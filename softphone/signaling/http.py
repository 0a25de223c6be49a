"""Plain HTTP beside the websocket endpoint, through websockets' ``process_request`` hook.

Exact paths map to handlers (``/healthz``); URL prefixes map to static directories (the
visitor widget is mounted here). Everything else but the websocket path is a 404, and so
is any path a file cannot have (a NUL, a name too long, a way out of the directory).
Every response, the handshake's refusals included, carries the security headers.
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
MAX_STATIC_PATH = 255


def security_headers(frame_ancestors: list[str]) -> list[tuple[str, str]]:
    """The page may load only this server's scripts and styles and talk only to it
    (``connect-src 'self'`` covers ws:/wss: to the same host); who may frame it is
    configured."""
    csp = "; ".join(
        [
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            "media-src 'self' blob:",
            "connect-src 'self'",
            "base-uri 'none'",
            "form-action 'none'",
            "frame-ancestors " + (" ".join(frame_ancestors) or "'none'"),
        ]
    )
    return [
        ("Content-Security-Policy", csp),
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "no-referrer"),
        ("Cross-Origin-Opener-Policy", "same-origin"),
    ]


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


def text_response(text: str, status: int = 200) -> Response:
    return make_response(status, text.encode(), "text/plain; charset=utf-8")


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
        return not_found()

    @staticmethod
    def _static_file(root: Path, relative: str) -> Response:
        if len(relative) > MAX_STATIC_PATH or "\x00" in relative:
            return not_found()
        try:
            target = (root / relative).resolve()
            if not target.is_relative_to(root) or not target.is_file():
                return not_found()
            body = target.read_bytes()
        except (OSError, ValueError):  # a name the file system refuses is simply not there
            return not_found()
        kind = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
        return make_response(200, body, kind)


def not_found() -> Response:
    return make_response(404, b"not found\n", "text/plain; charset=utf-8")
