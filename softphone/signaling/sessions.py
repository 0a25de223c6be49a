"""Sessions outlive their sockets: a dropped client keeps its session (and call) for a grace
period, during which messages for it wait in its outbox and are delivered in order when
it resumes with its token. The outbox is also the live send queue, so a resumed socket
simply continues draining it.

A socket can die without the server noticing for a while (the client's address vanished),
and whatever is written into it meanwhile is lost. So every message gets a per-session
``seq`` and the last ``outbox_limit`` of them stay in ``history``: a resume that says which
``seq`` it saw last gets everything after it again (:meth:`Session.rewind`). Clients
acknowledge what they received (``ping.ack``), and the history forgets it (:meth:`trim`).
A replay leaves out restart offers and answers that newer ones or their episode's end made
moot (:mod:`.superseded`): late, they would only restart ICE again.

Only call parties (and agents) are kept for resume, and at most ``max_detached`` at once;
which session is a call party is the switchboard's business, so the server decides.
Sessions hold no routing state (availability, call membership): that is the switchboard's;
they only carry what another node needs to rebuild it (the live call's ticket, an agent's
presence, a visitor's place in the line) into their :class:`SessionRecord`, which the
:class:`SessionStore` keeps with the history (Redis when there are several nodes,
:mod:`.cluster`).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import secrets
from collections import deque
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any, Protocol

import msgspec
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request

from softphone.signaling.cluster.store import (
    LocalStore,
    Restored,
    SessionRecord,
    SessionStore,
    WaitingEntry,
)
from softphone.signaling.protocol import Error, Message, Role, decode, encode_bytes
from softphone.signaling.superseded import Key, drop_superseded, replay_key

log = logging.getLogger(__name__)
_ids = itertools.count(1)
_process = secrets.token_hex(3)  # session ids stay unique across nodes and restarts
_background: set[asyncio.Task[None]] = set()


def spawn(coro: Coroutine[object, object, None]) -> None:
    """Run ``coro`` in the background, holding a reference until it is done."""
    task = asyncio.ensure_future(coro)
    _background.add(task)
    task.add_done_callback(_background.discard)


class ClientSocket(Protocol):
    """A websocket here, or one another node holds (:class:`.cluster.remote.RemoteSocket`)."""

    @property
    def remote_address(self) -> Any: ...
    @property
    def request(self) -> Request | None: ...
    def __aiter__(self) -> AsyncIterator[str | bytes]: ...
    async def send(self, message: str | bytes, *, text: bool | None = None) -> None: ...
    async def close(self, code: int = 1000, reason: str = "") -> None: ...


class Session:
    def __init__(
        self,
        role: Role,
        name: str,
        outbox_limit: int,
        page: str | None,
        *,
        peer_ip: str = "",
        site: str = "",
        store: SessionStore | None = None,
        session_id: str | None = None,
    ) -> None:
        self.id = session_id or f"s{next(_ids)}-{_process}"
        self.role: Role = role
        self.name = name
        self.page = page
        self.peer_ip = peer_ip  # where the hello came from (per-address limits)
        self.site = site  # the visitor's site key ("" for agents and open servers)
        self.resume_token = secrets.token_urlsafe(24)
        self.conn: ClientSocket | None = None
        self.outbox: deque[bytes] = deque()
        self.outbox_limit = outbox_limit
        self.seq = 0  # of the last sequenced message queued
        # (seq, frame, replay key) of the last sequenced messages, sent or not; shares the
        # outbox's bytes.
        self.history: deque[tuple[int, bytes, Key | None]] = deque(maxlen=outbox_limit)
        self.replay_dropped = 0  # superseded restart messages left out of replays
        self.wakeup = asyncio.Event()
        self.grace: asyncio.TimerHandle | None = None
        self.on_overflow: Callable[[Session], None] = lambda s: None
        self.store: SessionStore = store or LocalStore()
        self.call_ticket: str | None = None  # of its live call (set by the switchboard)
        self._ticket_call: str | None = None  # which call that ticket is for
        self.away = False  # an agent's presence (the switchboard's, kept for a restore)
        self.waiting: WaitingEntry | None = None  # a visitor's call in the line (likewise)

    def record(self) -> SessionRecord:
        return SessionRecord(
            id=self.id,
            role=self.role,
            name=self.name,
            resume_token=self.resume_token,
            page=self.page,
            peer_ip=self.peer_ip,
            site=self.site,
            call_ticket=self.call_ticket,
            away=self.away,
            waiting=self.waiting,
        )

    def save(self) -> None:
        """Tell the store what changed in the record (call ticket, presence)."""
        self.store.saved(self.record())

    def hold_ticket(self, call_id: str, ticket: str) -> None:
        """The ticket of the live call this session is a party of (kept for a restore)."""
        if (self._ticket_call, self.call_ticket) != (call_id, ticket):
            self._ticket_call, self.call_ticket = call_id, ticket
            self.save()

    def drop_ticket(self, call_id: str) -> None:
        """That call is over for this session (not another one it is in)."""
        if self._ticket_call == call_id or (self._ticket_call is None and self.call_ticket):
            self._ticket_call = self.call_ticket = None
            self.save()

    def hold_place(self, entry: WaitingEntry | None) -> None:
        """This visitor's call is in the line (``None``: no longer): kept for a restore."""
        if entry != self.waiting:
            self.waiting = entry
            self.save()

    def __repr__(self) -> str:
        return f"<Session {self.id} {self.role} {self.name!r}>"

    def deliver(self, msg: Message, *, sequenced: bool = True) -> None:
        """Queue ``msg`` for this client, sent now if connected or on resume otherwise.

        ``sequenced=False`` is for answers that only mean something on the socket that asked
        (a pong): no ``seq``, never replayed. Errors are never sequenced: they may echo the
        client's input, and keeping them would let a client fill the server's memory.
        """
        sequenced = sequenced and not isinstance(msg, Error)
        if len(self.outbox) >= self.outbox_limit:
            # Dropping one message would silently break the in-order promise: lose the session.
            log.warning("signaling.outbox_overflow", extra={"session": self.id})
            self.on_overflow(self)
            return
        if sequenced:
            self.seq += 1
            frame = encode_bytes(msgspec.structs.replace(msg, seq=self.seq))
            self.history.append((self.seq, frame, replay_key(msg)))
            self.store.appended(self.id, self.seq, frame)
        else:
            frame = encode_bytes(msg)
        self.outbox.append(frame)
        self.wakeup.set()

    def rewind(self, last_seq: int) -> bool:
        """Requeue every message after ``last_seq`` (the client's highest seen), in order.

        Replaces the outbox: what it held is either in the replay (sequenced) or was meant
        for the old socket (pongs, an unsent welcome). Returns False if messages after
        ``last_seq`` are gone from the history (a gap the client has to live with).
        """
        if last_seq > self.seq:
            # Never sent: a confused client. Keep the queue as it is, as without last_seq.
            log.warning(
                "signaling.replay_seq_ahead",
                extra={"session": self.id, "last_seq": last_seq, "seq": self.seq},
            )
            return False
        first = self.history[0][0] if self.history else self.seq + 1
        wanted = [entry for entry in self.history if entry[0] > last_seq]
        replay = drop_superseded(wanted, lambda entry: entry[2])
        if len(replay) < len(wanted):
            self.replay_dropped += len(wanted) - len(replay)
            log.info(
                "signaling.replay_superseded_dropped",
                extra={"session": self.id, "dropped": len(wanted) - len(replay)},
            )
        self.outbox = deque(frame for _, frame, _ in replay)
        self.wakeup.set()
        complete = last_seq + 1 >= first
        if not complete:
            log.warning(
                "signaling.replay_gap",
                extra={
                    "session": self.id,
                    "last_seq": last_seq,
                    "first_available": first,
                    "missing": first - last_seq - 1,
                },
            )
        return complete

    def trim(self, ack: int) -> None:
        """The client has everything up to ``ack``: no replay will need it."""
        while self.history and self.history[0][0] <= min(ack, self.seq):
            self.history.popleft()

    async def drain(self, conn: ClientSocket) -> None:
        """Writer task of one socket: send the outbox in order while it is ours."""
        with contextlib.suppress(ConnectionClosed):
            while self.conn is conn:
                if self.outbox:
                    # Popped before sending: a frame mid-send when the socket dies is lost
                    # like one in the kernel's buffer (the history keeps it for a replay),
                    # and a resume's welcome may go in front.
                    await conn.send(self.outbox.popleft(), text=True)
                else:
                    self.wakeup.clear()
                    await self.wakeup.wait()


class SessionRegistry:
    def __init__(
        self,
        grace: float,
        outbox_limit: int,
        max_detached: int,
        on_expired: Callable[[Session], None],
        store: SessionStore | None = None,
    ) -> None:
        self.store: SessionStore = store or LocalStore()
        self.grace = grace
        self.outbox_limit = outbox_limit
        self.max_detached = max_detached
        self.detached = 0
        self._on_expired = on_expired
        self.by_id: dict[str, Session] = {}
        self._by_token: dict[str, Session] = {}
        self._agents: dict[str, Session] = {}  # by name: one session per agent

    def __len__(self) -> int:
        return len(self.by_id)

    def create(
        self, role: Role, name: str, page: str | None = None, peer_ip: str = "", site: str = ""
    ) -> Session:
        session = Session(
            role, name, self.outbox_limit, page, peer_ip=peer_ip, site=site, store=self.store
        )
        self._add(session)
        session.save()
        return session

    def restore(self, restored: Restored, last_seq: int | None) -> Session:
        """A session another node held (it died): its record and history from the store.
        Counting goes on from what the client saw if that is more than was stored (the
        old node sent it but died before it was written)."""
        record = restored.record
        session = Session(
            record.role,
            record.name,
            self.outbox_limit,
            record.page,
            peer_ip=record.peer_ip,
            site=record.site,
            store=self.store,
            session_id=record.id,
        )
        session.resume_token = record.resume_token
        session.call_ticket, session.away = record.call_ticket, record.away
        session.waiting = record.waiting
        for frame in restored.history:
            msg = decode(frame)
            if msg.seq is not None:
                session.history.append((msg.seq, frame, replay_key(msg)))
        session.seq = max(restored.seq, last_seq or 0, *(e[0] for e in session.history))
        old = self._agents.get(record.name) if record.role == "agent" else None
        if old is not None:
            self.expire(old)
        self._add(session)
        log.info(
            "signaling.session_restored",
            extra={"session": session.id, "seq": session.seq, "history": len(session.history)},
        )
        return session

    def _add(self, session: Session) -> None:
        session.on_overflow = self.expire
        self.by_id[session.id] = session
        self._by_token[session.resume_token] = session
        if session.role == "agent":
            assert session.name not in self._agents, "expire the old session first"
            self._agents[session.name] = session

    def agents(self) -> list[Session]:
        return list(self._agents.values())

    def find_agent(self, name: str) -> Session | None:
        return self._agents.get(name)

    def resume(self, token: str) -> Session | None:
        session = self._by_token.get(token)
        if session is not None and session.grace is not None:
            session.grace.cancel()
            session.grace = None
            self.detached -= 1
        return session

    def detach(self, session: Session, keep: bool) -> None:
        """The socket is gone: keep the session for the grace period if ``keep`` (a call
        party) and there is room, else forget it now."""
        session.conn = None
        if not keep or self.detached >= self.max_detached:
            if keep:
                log.warning("signaling.detached_cap", extra={"session": session.id})
            self.expire(session)
            return
        loop = asyncio.get_running_loop()
        session.grace = loop.call_later(self.grace, self.expire, session)
        self.detached += 1
        log.info("signaling.session_detached", extra={"session": session.id})

    def expire(self, session: Session) -> None:
        if self.by_id.pop(session.id, None) is None:
            return
        self._by_token.pop(session.resume_token, None)
        if self._agents.get(session.name) is session:
            del self._agents[session.name]
        if session.grace is not None:
            session.grace.cancel()
            session.grace = None
            self.detached -= 1
        log.info("signaling.session_expired", extra={"session": session.id})
        if session.conn is not None:
            spawn(session.conn.close(1008, "session lost"))
            session.conn = None
        session.outbox.clear()
        session.history.clear()
        self._on_expired(session)  # before the store forgets: ending its call saves it
        self.store.forgotten(session.id, session.resume_token)

    def snapshot(self) -> list[tuple[SessionRecord, int, list[bytes]]]:
        """Every session as the store keeps it (rewritten after Redis lost it all)."""
        return [(s.record(), s.seq, [e[1] for e in s.history]) for s in self.by_id.values()]

    def close_all(self) -> None:
        for session in list(self.by_id.values()):
            if session.grace is not None:
                session.grace.cancel()
