"""Scripted websocket servers that are also the widget page's origin.

The product's CSP lets the widget connect to its own origin only (``connect-src 'self'``),
so a test that scripts the server side must serve the page from that same origin: this
answers plain HTTP requests for ``/widget/<file>`` with the widget's files."""

from __future__ import annotations

import mimetypes
from http import HTTPStatus

from websockets.asyncio.server import ServerConnection
from websockets.datastructures import Headers
from websockets.http11 import Request, Response

from softphone.resources import resource_path

WIDGET_DIR = resource_path("widget")


def serve_widget_files(connection: ServerConnection, request: Request) -> Response | None:
    """``process_request`` for ``websockets.serve``: websocket upgrades pass through."""
    if request.headers.get("Upgrade", "").lower() == "websocket":
        return None
    name = request.path.split("?", 1)[0].removeprefix("/widget/")
    path = WIDGET_DIR / name
    if not request.path.startswith("/widget/") or "/" in name or not path.is_file():
        return connection.respond(HTTPStatus.NOT_FOUND, "not found\n")
    content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    headers = Headers([("Content-Type", content_type), ("Cache-Control", "no-store")])
    return Response(HTTPStatus.OK, "OK", headers, path.read_bytes())
