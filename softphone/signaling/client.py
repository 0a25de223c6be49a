"""SignalingClient: one resilient signaling connection for the agent app or a visitor peer.

It signs in, keeps a heartbeat (a missed pong means a dead socket), reconnects with
exponential backoff and jitter, resumes the session with its token, and queues outgoing
messages while the socket is down. When the local network changes, :meth:`reconnect_now`
drops the socket at once instead of waiting for the heartbeat to find it dead. A rejected
hello is final (state ``closed``, no retry storm); a refused resume falls back to a fresh
hello and emits ``session_lost``. The resume names the highest ``seq`` received, so the
server replays what the dead socket swallowed; a message seen before is dropped; each
heartbeat acknowledges that ``seq`` so the server can forget what arrived.

Several server URLs (homogeneous nodes; a comma-separated string or a list) are tried in
turn: a node that cannot be reached, or says it is draining (``notice{server_draining}``),
is left for the next one at once. A resume on a node that does not know the session is
refused like any other, and the call's owner re-attaches its live call with its ticket.

A visitor given a ``site_key`` (and no token) asks the server for a short-lived visitor
token before each fresh hello (``POST /visitor-token``), as the widget does, and like the
widget it presents the server's own origin.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import itertools
import json
import logging
import math
import random
import ssl
import urllib.error
import urllib.request
from collections import deque
from collections.abc import AsyncIterator, Sequence
from urllib.parse import quote, urlsplit

import msgspec
import websockets
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed, InvalidHandshake
from websockets.typing import Origin

from softphone.events import Signal
from softphone.signaling.protocol import (
    PROTOCOL_VERSION,
    Error,
    ErrorCode,
    Hello,
    Message,
    Notice,
    Ping,
    Pong,
    ProtocolError,
    Resume,
    Role,
    Welcome,
    decode,
    encode,
)

log = logging.getLogger(__name__)
HAPPY_EYEBALLS_DELAY_S = 0.25  # RFC 8305's recommended connection attempt delay


class ConnectionState(enum.StrEnum):
    CONNECTING = "connecting"
    CONNECTED = "connected"
    RECONNECTING = "reconnecting"
    CLOSED = "closed"


class SignalingError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code


class SignalingRejected(SignalingError):  # noqa: N818 - reads as what happened
    """The server refused the hello (bad credentials, wrong version): retrying won't help."""


def server_urls(urls: str | Sequence[str]) -> list[str]:
    """``"ws://a/ws, ws://b/ws"`` or a list: the nodes to try, in order."""
    found = [u.strip() for u in (urls.split(",") if isinstance(urls, str) else urls)]
    if not any(found):
        raise ValueError("no signaling server URL")
    return [u for u in found if u]


class SignalingClient:
    def __init__(
        self,
        url: str | Sequence[str],
        role: Role,
        *,
        token: str | None = None,
        site_key: str | None = None,
        name: str | None = None,
        page: str | None = None,
        backoff_initial: float = 0.25,
        backoff_max: float = 2.0,  # a restarted server is found within 2 s of listening
        queue_limit: int = 256,
        heartbeat_interval: float | None = None,  # None: the interval the welcome gives
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.urls = server_urls(url)
        self._node = 0  # index in urls of the node to use
        self._site_key = site_key if role == "visitor" and token is None else None
        self._hello = Hello(
            protocol=PROTOCOL_VERSION,
            role=role,
            name=name,
            token=token,
            site_key=site_key,
            page=page,
        )
        self.backoff_initial, self.backoff_max = backoff_initial, backoff_max
        self._heartbeat_override = heartbeat_interval
        self._ssl = ssl_context
        self._outgoing: deque[str] = deque()
        self._queue_limit = queue_limit
        self._state = ConnectionState.CLOSED
        self._state_event = asyncio.Event()
        self._ws: ClientConnection | None = None
        self._task: asyncio.Task[None] | None = None
        self._subscribers: list[asyncio.Queue[Message | None]] = []
        self._ping_ids = itertools.count(1)
        self._awaiting_pong = False
        self._received_at = 0.0  # loop time of the last frame from the server
        self._opening: asyncio.Future[ClientConnection] | None = None
        self._hurry = asyncio.Event()  # reconnect_now(): skip the backoff
        self._last_seq = 0  # highest seq received in this session: the resume's last_seq
        self._draining = False  # the node said it is going away
        self._misses = 0  # nodes that failed us since the last sign-in
        self.welcome: Welcome | None = None
        self.error: SignalingError | None = None  # why the client closed, if it did
        self.state_changed: Signal[[ConnectionState]] = Signal("signaling.state_changed")
        self.message_received: Signal[[Message]] = Signal("signaling.message_received")
        self.session_lost: Signal[[]] = Signal("signaling.session_lost")

    # --- public API ---------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The node in use (or tried next)."""
        return self.urls[self._node]

    @property
    def state(self) -> ConnectionState:
        return self._state

    @property
    def silent_s(self) -> float:
        """Seconds since the server last sent anything on the open socket (inf: none open)."""
        if self._ws is None or self._state is not ConnectionState.CONNECTED:
            return math.inf
        return asyncio.get_running_loop().time() - self._received_at

    @property
    def local_address(self) -> str | None:
        """The local IP address of the open socket, if there is one."""
        sockname = self._ws.local_address if self._ws is not None else None
        return str(sockname[0]) if sockname else None

    async def connect(self, timeout: float | None = None) -> Welcome:  # noqa: ASYNC109
        """Start (if needed) and wait for the first welcome; raises SignalingRejected.

        On TimeoutError the client keeps trying in the background until :meth:`close`.
        """
        if self._task is None or self._task.done():
            self.error = None
            self._set_state(ConnectionState.CONNECTING)
            self._task = asyncio.create_task(self._run(), name=f"signaling {self.url}")
        await self.wait_connected(timeout)
        assert self.welcome is not None
        return self.welcome

    async def wait_connected(self, timeout: float | None = None) -> None:  # noqa: ASYNC109
        """Return once connected; TimeoutError after ``timeout``; the close reason if closed."""
        async with asyncio.timeout(timeout):
            while self._state is not ConnectionState.CONNECTED:
                if self._state is ConnectionState.CLOSED:
                    raise self.error or SignalingError("closed", "client is closed")
                await self._state_event.wait()

    async def send(self, msg: Message) -> None:
        """Send now, or queue until the session is back (raises if the queue is full)."""
        text = encode(msg)
        if self._state is ConnectionState.CONNECTED and self._ws is not None:
            with contextlib.suppress(ConnectionClosed):
                await self._ws.send(text)
                return
        if self._state is ConnectionState.CLOSED:
            raise self.error or SignalingError("closed", "client is closed")
        if len(self._outgoing) >= self._queue_limit:
            raise SignalingError(
                ErrorCode.QUEUE_FULL, "signaling is down and the send queue is full"
            )
        self._outgoing.append(text)

    async def messages(self) -> AsyncIterator[Message]:
        """Incoming messages from now on (pongs excluded) until the client closes."""
        queue: asyncio.Queue[Message | None] = asyncio.Queue()
        self._subscribers.append(queue)
        try:
            while (msg := await queue.get()) is not None:
                yield msg
        finally:
            self._subscribers.remove(queue)

    def __aiter__(self) -> AsyncIterator[Message]:
        return self.messages()

    def reconnect_now(self, reason: str) -> None:
        """Drop the connection and reconnect at once, skipping backoff; the session resumes
        and queued sends go out in order.

        For a local network change: a socket bound to an address that is gone looks alive
        until the heartbeat misses (two intervals), and what is sent meanwhile is lost.
        """
        if self._task is None or self._task.done():
            return
        log.info("signaling.reconnect_now", extra={"reason": reason, "state": str(self._state)})
        self._hurry.set()
        ws, self._ws = self._ws, None  # sends from now on queue for the resumed session
        if ws is not None:
            ws.transport.abort()
        if self._opening is not None:
            self._opening.cancel()  # it may be trying from the old address
        if self._state is ConnectionState.CONNECTED:
            self._set_state(ConnectionState.RECONNECTING)

    async def close(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            # gather, not suppress(CancelledError): a cancel aimed at our caller must propagate.
            await asyncio.gather(task, return_exceptions=True)
        self._set_state(ConnectionState.CLOSED)

    # --- connection loop ----------------------------------------------------------------

    async def _run(self) -> None:
        failures = 0
        try:
            while True:
                self._hurry.clear()
                signed_in = False
                try:
                    async with await self._open() as ws:
                        self._ws = ws
                        await self._sign_in(ws)
                        failures, signed_in, self._misses = 0, True, 0
                        await self._serve(ws)
                except SignalingRejected as exc:
                    log.error("signaling.rejected", extra={"code": exc.code, "url": self.url})
                    self.error = exc
                    return
                except (
                    OSError,
                    TimeoutError,
                    ConnectionClosed,
                    InvalidHandshake,
                    ProtocolError,
                ) as exc:
                    log.info("signaling.connection_lost", extra={"error": type(exc).__name__})
                finally:
                    self._ws = None
                moved = (not signed_in or self._draining) and self._next_node()
                self._set_state(ConnectionState.RECONNECTING)
                if self._hurry.is_set():
                    failures = 0  # a new network: start over from the shortest backoff
                    continue
                if moved:
                    continue
                delay = min(self.backoff_max, self.backoff_initial * 2**failures)
                failures += 1
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(delay * random.uniform(0.5, 1.0)):
                        await self._hurry.wait()
        finally:
            self._set_state(ConnectionState.CLOSED)

    def _next_node(self) -> bool:
        """Unreachable or draining: on to the next node; True to try it without a backoff
        (until a whole round of nodes failed)."""
        self._draining = False
        if len(self.urls) == 1:
            return False
        self._node = (self._node + 1) % len(self.urls)
        self._misses += 1
        log.info("signaling.next_node", extra={"url": self.url})
        return self._misses % len(self.urls) != 0

    async def _open(self) -> ClientConnection:
        """Open the websocket; reconnect_now() abandons an attempt in progress."""
        self._opening = asyncio.ensure_future(
            websockets.connect(
                self.url,
                ssl=self._ssl,
                open_timeout=10,
                # A name with several addresses (DNS round robin over nodes): one whose host
                # is down is passed after this long, not after the whole open_timeout.
                happy_eyeballs_delay=HAPPY_EYEBALLS_DELAY_S,
                origin=Origin(self._origin) if self._hello.role == "visitor" else None,
                ping_interval=None,
                compression=None,
                close_timeout=1,
            )
        )
        try:
            return await self._opening
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                raise  # close(): we are cancelled ourselves
            raise OSError("connection attempt abandoned: the network changed") from None
        finally:
            self._opening = None

    async def _sign_in(self, ws: ClientConnection) -> None:
        if self.welcome is not None:
            resume = Resume(
                protocol=PROTOCOL_VERSION,
                resume_token=self.welcome.resume_token,
                last_seq=self._last_seq,
            )
            await ws.send(encode(resume))
            reply = await self._reply(ws)
            if isinstance(reply, Welcome):
                return await self._connected(ws, reply)
            if reply.code != ErrorCode.RESUME_FAILED:
                raise SignalingRejected(reply.code, reply.message)
            log.warning("signaling.session_lost", extra={"dropped": len(self._outgoing)})
            self._outgoing.clear()  # those messages were about the lost session
            self.welcome = None
            self.session_lost.emit()
        await ws.send(encode(await self._fresh_hello()))
        reply = await self._reply(ws)
        if isinstance(reply, Error):
            raise SignalingRejected(reply.code, reply.message)
        await self._connected(ws, reply)

    async def _reply(self, ws: ClientConnection) -> Welcome | Error:
        async with asyncio.timeout(10):
            while True:
                msg = decode(await ws.recv())
                if isinstance(msg, Welcome | Error):
                    return msg

    @property
    def _origin(self) -> str:
        parts = urlsplit(self.url)
        return f"{'https' if parts.scheme == 'wss' else 'http'}://{parts.netloc}"

    async def _fresh_hello(self) -> Hello:
        """The hello to send; a visitor with a site key gets a new visitor token first."""
        if self._site_key is None:
            return self._hello
        token = await asyncio.to_thread(self._mint_visitor_token, self._site_key)
        if token is None:  # the site takes a bare site key (legacy) or the server has no sites
            return self._hello
        return msgspec.structs.replace(self._hello, token=token, site_key=None)

    def _mint_visitor_token(self, site_key: str) -> str | None:
        url = f"{self._origin}/visitor-token?site_key={quote(site_key)}"
        request = urllib.request.Request(url, method="POST", headers={"Origin": self._origin})
        try:
            with urllib.request.urlopen(request, timeout=10, context=self._ssl) as response:
                return str(json.loads(response.read(4096))["token"])
        except urllib.error.HTTPError as exc:
            if 400 <= exc.code < 500 and exc.code != 429:  # no self-minting here: the bare key
                return None
            raise OSError(f"visitor token: HTTP {exc.code}") from None
        except (ValueError, KeyError) as exc:
            raise OSError(f"visitor token: bad answer ({exc})") from None

    async def _connected(self, ws: ClientConnection, welcome: Welcome) -> None:
        self.welcome = welcome
        if not welcome.resumed:
            self._last_seq = 0  # a new session counts from 1
        elif welcome.replay_gap:
            # Not fatal: the call's own recovery (ICE restart, hangup) covers what is lost.
            log.warning(
                "signaling.replay_gap",
                extra={"session": welcome.session_id, "last_seq": self._last_seq},
            )
        while self._outgoing:  # flush in order; new sends queue behind until we are done
            await ws.send(self._outgoing[0])
            self._check_current(ws)  # dropped mid-send: the message may be lost, keep it
            self._outgoing.popleft()
        self._check_current(ws)
        self._set_state(ConnectionState.CONNECTED)

    def _check_current(self, ws: ClientConnection) -> None:
        if ws is not self._ws:
            raise OSError("connection dropped by reconnect_now() while signing in")

    async def _serve(self, ws: ClientConnection) -> None:
        assert self.welcome is not None
        interval = self._heartbeat_override or self.welcome.heartbeat_interval
        heartbeat = asyncio.create_task(self._heartbeat(ws, interval))
        loop = asyncio.get_running_loop()
        self._received_at = loop.time()  # the welcome just arrived
        try:
            async for frame in ws:
                self._received_at = loop.time()
                try:
                    msg = decode(frame)
                except ProtocolError as exc:
                    log.warning("signaling.bad_frame", extra={"code": exc.code})
                    continue
                if isinstance(msg, Pong):
                    self._awaiting_pong = False
                    continue
                if msg.seq is not None:
                    if msg.seq <= self._last_seq:
                        # A replay racing a late delivery: never apply a message twice.
                        log.debug(
                            "signaling.duplicate_dropped",
                            extra={"seq": msg.seq, "last_seq": self._last_seq},
                        )
                        continue
                    self._last_seq = msg.seq
                self._deliver(msg)
        finally:
            heartbeat.cancel()

    async def _heartbeat(self, ws: ClientConnection, interval: float) -> None:
        self._awaiting_pong = False
        while True:
            await asyncio.sleep(interval)
            if self._awaiting_pong:
                log.warning("signaling.heartbeat_missed", extra={"interval": interval})
                ws.transport.abort()
                return
            self._awaiting_pong = True
            with contextlib.suppress(ConnectionClosed):
                ping = Ping(id=f"hb{next(self._ping_ids)}", ack=self._last_seq)
                await ws.send(encode(ping))

    def _deliver(self, msg: Message) -> None:
        if isinstance(msg, Error) and msg.code == ErrorCode.RATE_LIMITED:
            log.warning("signaling.rate_limited")
        if isinstance(msg, Notice) and msg.code == ErrorCode.SERVER_DRAINING:
            log.info("signaling.server_draining", extra={"url": self.url})
            self._draining = True  # its close follows: move on without a backoff
        for queue in self._subscribers:
            queue.put_nowait(msg)
        self.message_received.emit(msg)

    def _set_state(self, state: ConnectionState) -> None:
        if state is self._state:
            return
        self._state = state
        event, self._state_event = self._state_event, asyncio.Event()
        event.set()
        if state is ConnectionState.CLOSED:
            for queue in self._subscribers:
                queue.put_nowait(None)
        log.info("signaling.state", extra={"state": str(state)})
        self.state_changed.emit(state)
