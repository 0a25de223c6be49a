"""Sessions outlive their sockets: a dropped client keeps its session (and call) for a grace
period, during which messages for it wait in its outbox and are delivered in order when
it resumes with its token. The outbox is also the live send queue, so a resumed socket
simply continues draining it.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import secrets
import time
from collections import deque
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING

from websockets.exceptions import ConnectionClosed

from softphone.signaling.protocol import Message, Role, encode_bytes

if TYPE_CHECKING:
    from websockets.asyncio.server import ServerConnection

    from softphone.signaling.routing import Call

log = logging.getLogger(__name__)
_ids = itertools.count(1)
_background: set[asyncio.Task[None]] = set()


def spawn(coro: Coroutine[object, object, None]) -> None:
    """Run ``coro`` in the background, holding a reference until it is done."""
    task = asyncio.ensure_future(coro)
    _background.add(task)
    task.add_done_callback(_background.discard)


class Session:
    def __init__(self, role: Role, name: str, outbox_limit: int, page: str | None) -> None:
        self.id = f"s{next(_ids)}"
        self.role: Role = role
        self.name = name
        self.page = page
        self.resume_token = secrets.token_urlsafe(24)
        self.conn: ServerConnection | None = None
        self.call: Call | None = None
        self.available = role == "agent"
        self.idle_since = time.monotonic()
        self.outbox: deque[bytes] = deque()
        self.outbox_limit = outbox_limit
        self.wakeup = asyncio.Event()
        self.grace: asyncio.TimerHandle | None = None
        self.on_overflow: Callable[[Session], None] = lambda s: None

    def __repr__(self) -> str:
        return f"<Session {self.id} {self.role} {self.name!r}>"

    def deliver(self, msg: Message) -> None:
        """Queue ``msg`` for this client, sent now if connected or on resume otherwise."""
        if len(self.outbox) >= self.outbox_limit:
            # Dropping one message would silently break the in-order promise: lose the session.
            log.warning("signaling.outbox_overflow", extra={"session": self.id})
            self.on_overflow(self)
            return
        self.outbox.append(encode_bytes(msg))
        self.wakeup.set()

    async def drain(self, conn: ServerConnection) -> None:
        """Writer task of one socket: send the outbox in order while it is ours."""
        with contextlib.suppress(ConnectionClosed):
            while self.conn is conn:
                if self.outbox:
                    # Popped before sending: a frame mid-send when the socket dies is lost
                    # like one in the kernel's buffer, and a resume's welcome may go in front.
                    await conn.send(self.outbox.popleft(), text=True)
                else:
                    self.wakeup.clear()
                    await self.wakeup.wait()


class SessionRegistry:
    def __init__(
        self, grace: float, outbox_limit: int, on_expired: Callable[[Session], None]
    ) -> None:
        self.grace = grace
        self.outbox_limit = outbox_limit
        self._on_expired = on_expired
        self.by_id: dict[str, Session] = {}
        self._by_token: dict[str, Session] = {}
        self._agents: dict[str, Session] = {}  # by name: one session per agent

    def __len__(self) -> int:
        return len(self.by_id)

    def create(self, role: Role, name: str, page: str | None = None) -> Session:
        session = Session(role, name, self.outbox_limit, page)
        session.on_overflow = self.expire
        self.by_id[session.id] = session
        self._by_token[session.resume_token] = session
        if role == "agent":
            assert name not in self._agents, "expire the old session first"
            self._agents[name] = session
        return session

    def agents(self) -> list[Session]:
        return list(self._agents.values())

    def find_agent(self, name: str) -> Session | None:
        return self._agents.get(name)

    def resume(self, token: str) -> Session | None:
        session = self._by_token.get(token)
        if session is not None and session.grace is not None:
            session.grace.cancel()
            session.grace = None
        return session

    def detach(self, session: Session) -> None:
        """The socket is gone: keep the session for the grace period."""
        session.conn = None
        loop = asyncio.get_running_loop()
        session.grace = loop.call_later(self.grace, self.expire, session)
        log.info("signaling.session_detached", extra={"session": session.id})

    def expire(self, session: Session) -> None:
        if self.by_id.pop(session.id, None) is None:
            return
        self._by_token.pop(session.resume_token, None)
        if self._agents.get(session.name) is session:
            del self._agents[session.name]
        if session.grace is not None:
            session.grace.cancel()
        log.info("signaling.session_expired", extra={"session": session.id})
        if session.conn is not None:
            spawn(session.conn.close(1008, "session lost"))
            session.conn = None
        session.outbox.clear()
        self._on_expired(session)

    def close_all(self) -> None:
        for session in list(self.by_id.values()):
            if session.grace is not None:
                session.grace.cancel()
