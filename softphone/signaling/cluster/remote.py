"""Sockets on one node, sessions on the leader: frames cross over Redis pub/sub.

A node that is not the leader accepts the websocket (TLS, Origin, connection limits and
heartbeats stay at the door the client knocked on) and forwards each text frame to the
leader's channel; the leader serves it through a :class:`RemoteSocket`, which looks to the
server like any other socket, and its frames come back on the forwarding node's channel.

Pub/sub, not streams: delivery is at most once, but the protocol already replays what a
client missed (``resume`` with ``last_seq``, the history kept in the store), so the bus
needs no log of its own. Whenever the bus may have lost a frame (Redis down, a node or the
leader gone) the sockets that crossed it are closed, and their clients resume.

Wire format, one pub/sub message per event: ``kind|node|conn|payload`` where kind is
``o`` (open; payload: the client's address and headers as JSON), ``f`` (a frame) or ``x``
(closed; payload from the leader: ``code reason``).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from websockets.asyncio.server import ServerConnection
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request

from softphone.signaling.cluster.node import ClusterNode
from softphone.signaling.sessions import ClientSocket, spawn

log = logging.getLogger(__name__)
LEADER_WAIT_S = 5.0  # a new socket waits at most this long for a leader, then goes (1013)
QUEUE_LIMIT = 1024  # frames waiting for one socket; beyond, the socket goes (it resumes)
Serve = Callable[[ClientSocket], Awaitable[None]]
_ids = itertools.count(1)


class RemoteSocket:
    """The leader's end of a socket held by another node."""

    def __init__(
        self,
        node: ClusterNode,
        owner: str,
        conn_id: str,
        address: tuple[str, int],
        request: Request,
    ) -> None:
        self._node = node
        self.owner = owner
        self.conn_id = conn_id
        self.remote_address = address
        self.request: Request | None = request
        self.closed = False
        self._inbox: deque[str] = deque()
        self._wakeup = asyncio.Event()

    def __aiter__(self) -> AsyncIterator[str]:
        return self._frames()

    async def _frames(self) -> AsyncIterator[str]:
        while True:
            if self._inbox:
                yield self._inbox.popleft()
            elif self.closed:
                return
            else:
                self._wakeup.clear()
                await self._wakeup.wait()

    def feed(self, frame: str) -> None:
        if len(self._inbox) >= QUEUE_LIMIT:
            self.gone()
        elif not self.closed:
            self._inbox.append(frame)
            self._wakeup.set()

    def gone(self) -> None:
        """The client (or the node holding it, or the bus) is gone: reading ends."""
        self.closed = True
        self._inbox.clear()
        self._wakeup.set()

    async def send(self, message: str | bytes, *, text: bool | None = None) -> None:
        data = message.encode() if isinstance(message, str) else message
        if self.closed or not self._node.publish(self.owner, self._event(b"f", data), None):
            self.gone()
            raise ConnectionClosed(None, None)

    async def close(self, code: int = 1000, reason: str = "") -> None:
        if not self.closed:
            self._node.publish(self.owner, self._event(b"x", f"{code} {reason}".encode()), None)
            self.gone()

    def _event(self, kind: bytes, payload: bytes) -> bytes:
        return b"|".join((kind, self._node.id.encode(), self.conn_id.encode(), payload))


class Forwarded:
    """A socket on this node whose session lives on ``leader``: its send queue."""

    def __init__(self, ws: ServerConnection, leader: str) -> None:
        self.ws = ws
        self.leader = leader
        self.outbox: deque[bytes] = deque()
        self.wakeup = asyncio.Event()

    async def drain(self) -> None:
        with contextlib.suppress(ConnectionClosed):
            while True:
                if self.outbox:
                    await self.ws.send(self.outbox.popleft(), text=True)
                else:
                    self.wakeup.clear()
                    await self.wakeup.wait()


class Bus:
    """Both ends: what this node forwards, and (when leader) what others forward to it."""

    def __init__(self, node: ClusterNode, serve: Serve) -> None:
        self.node = node
        self._serve = serve
        self.remote: dict[tuple[str, str], RemoteSocket] = {}  # (node, conn) -> socket
        self.forwarded: dict[str, Forwarded] = {}

    async def accept(self, ws: ServerConnection) -> None:
        """Serve ``ws`` here if this node leads, else forward it to the live leader."""
        for _ in range(3):  # a dead leader found: one takeover, then look again
            await self.node.check_leader()  # fresh: a drained leader has just left
            leader = await self.node.wait_leader(LEADER_WAIT_S)
            if leader is None:
                await ws.close(1013, "no signaling leader, try again later")
                return
            if leader == self.node.id:
                await self._serve(ws)
                return
            if self.node.on_bus(leader):  # the check looked (a dead one it took over from)
                await self._forward(ws, leader)
                return
        await ws.close(1013, "no signaling leader, try again later")

    async def _forward(self, ws: ServerConnection, leader: str) -> None:
        conn_id = f"c{next(_ids)}"
        link = Forwarded(ws, leader)
        self.forwarded[conn_id] = link
        writer = asyncio.create_task(link.drain())
        address = ws.remote_address or ("?", 0)
        given = ws.request.headers if ws.request else {}
        headers = {k: given[k] for k in ("Origin", "Host") if k in given}
        meta = json.dumps({"ip": address[0], "port": address[1], "headers": headers})

        def reached(receivers: Any) -> None:
            if receivers == 0 and self.forwarded.get(conn_id) is link:  # nobody listens
                log.warning("cluster.leader_unreachable", extra={"leader": leader})
                spawn(ws.close(1012, "signaling leader gone"))
                spawn(self.node.check_leader())

        try:
            if not self.node.publish(leader, self._event(b"o", conn_id, meta.encode()), reached):
                await ws.close(1013, "signaling bus down")
                return
            async for frame in ws:
                data = frame.encode() if isinstance(frame, str) else b""  # text frames only
                if not self.node.publish(leader, self._event(b"f", conn_id, data), reached):
                    await ws.close(1012, "signaling bus down")
        except ConnectionClosed:
            pass
        finally:
            writer.cancel()
            if self.forwarded.pop(conn_id, None) is link:
                self.node.publish(link.leader, self._event(b"x", conn_id, b""), None)

    def _event(self, kind: bytes, conn_id: str, payload: bytes) -> bytes:
        return b"|".join((kind, self.node.id.encode(), conn_id.encode(), payload))

    def message(self, data: bytes) -> None:
        """One bus message for this node."""
        try:
            kind, owner, conn, payload = data.split(b"|", 3)
            node, conn_id = owner.decode(), conn.decode()
        except ValueError:
            log.warning("cluster.bad_bus_message", extra={"size": len(data)})
            return
        if kind == b"o":
            self._opened(node, conn_id, payload)
        elif kind == b"f" and (node, conn_id) in self.remote:
            self.remote[node, conn_id].feed(payload.decode(errors="replace"))
        elif kind == b"f" and conn_id in self.forwarded:
            link = self.forwarded[conn_id]
            if len(link.outbox) >= QUEUE_LIMIT:
                spawn(link.ws.close(1008, "too slow"))
            else:
                link.outbox.append(payload)
                link.wakeup.set()
        elif kind == b"x" and (node, conn_id) in self.remote:
            self.remote.pop((node, conn_id)).gone()
        elif kind == b"x" and conn_id in self.forwarded:
            code, _, reason = payload.decode(errors="replace").partition(" ")
            spawn(self.forwarded[conn_id].ws.close(int(code or 1000), reason))

    def _opened(self, node: str, conn_id: str, payload: bytes) -> None:
        if not self.node.is_leader:  # meant for the leader we were: the sender will see
            refusal = (b"x", self.node.id.encode(), conn_id.encode(), b"1012 not the leader")
            self.node.publish(node, b"|".join(refusal), None)
            return
        try:
            meta = json.loads(payload)
            address = (str(meta["ip"]), int(meta["port"]))
            headers = Headers({str(k): str(v) for k, v in dict(meta["headers"]).items()})
        except (ValueError, KeyError, TypeError):
            log.warning("cluster.bad_open", extra={"from": node})
            return
        sock = RemoteSocket(self.node, node, conn_id, address, Request("/ws", headers))
        self.remote[node, conn_id] = sock
        spawn(self._serve_remote(sock))

    async def _serve_remote(self, sock: RemoteSocket) -> None:
        try:
            await self._serve(sock)
        finally:
            self.remote.pop((sock.owner, sock.conn_id), None)

    def remote_nodes(self) -> list[str]:
        return sorted({node for node, _ in self.remote})

    def drop_remote(self, nodes: list[str] | None = None) -> None:
        """Sockets of ``nodes`` (all if None) are gone: their sessions wait for a resume."""
        for key, sock in list(self.remote.items()):
            if nodes is None or key[0] in nodes:
                del self.remote[key]
                sock.gone()

    def notify_forwarded(self, frame: bytes) -> None:
        """A frame from this node itself to every socket it forwards (a drain notice)."""
        for link in self.forwarded.values():
            link.outbox.append(frame)
            link.wakeup.set()

    def drop_forwarded(self, keep: str | None = None) -> None:
        """Close the forwarded sockets (but those to ``keep``): their clients resume."""
        for conn_id, link in list(self.forwarded.items()):
            if link.leader != keep:
                del self.forwarded[conn_id]
                spawn(link.ws.close(1012, "signaling leader changed"))
