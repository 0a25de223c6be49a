"""The signaling server: one websocket per client at ``/ws``, plain HTTP beside it.

Embeddable (``async with SignalingServer(ServerConfig(port=0)) as server: server.url``)
and a console script (``softphone-server``, with ``agent add NAME`` and ``visitor-token``
beside it). Each connection is read by one task and written by another
(``Session.drain``); who may sign in is :mod:`.sign_in`, call state :mod:`.routing`,
sessions and their resume :mod:`.sessions`, live calls re-attached after a restart
:mod:`.call_tickets`, several nodes on one Redis :mod:`.cluster`. Bad input only ever earns its
sender an error frame. Who may come in
and how much each may do: docs/security.md; running it (drain, metrics, several nodes):
docs/operations.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import hmac
import logging
import signal
import ssl
import sys
from types import TracebackType
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from softphone.logging_setup import setup_logging
from softphone.signaling.admission import (
    CloseConnection,
    ConnectionCounter,
    FrameGate,
    FrameRefused,
    counted_connection,
)
from softphone.signaling.call_tickets import CallTickets
from softphone.signaling.cluster.node import ClusterNode
from softphone.signaling.cluster.remote import Bus, RemoteSocket
from softphone.signaling.cluster.store import LocalStore, RedisStore, Restored, SessionStore
from softphone.signaling.config import ServerConfig, load_config
from softphone.signaling.credentials import generate_secret, hash_secret
from softphone.signaling.http import (
    HttpRoutes,
    json_response,
    not_found,
    security_headers,
    text_response,
)
from softphone.signaling.metrics import ServerMetrics
from softphone.signaling.protocol import (
    PROTOCOL_VERSION,
    RELAYED,
    SERVER_ONLY,
    Accept,
    AgentList,
    AgentsRequest,
    CallReport,
    CallRequest,
    Consult,
    Decline,
    Error,
    ErrorCode,
    Hello,
    Hold,
    Limits,
    Message,
    Notice,
    Ping,
    Pong,
    Presence,
    Reattach,
    Resume,
    Transfer,
    Welcome,
    encode,
    encode_bytes,
)
from softphone.signaling.routing import CallError, Switchboard
from softphone.signaling.sessions import ClientSocket, Session, SessionRegistry, spawn
from softphone.signaling.sign_in import Caller, Refused, SignIn
from softphone.signaling.static import mount_widget
from softphone.signaling.visitor_tokens import mint_token

log = logging.getLogger(__name__)


class SignalingServer:
    def __init__(self, config: ServerConfig | None = None) -> None:
        self.config = cfg = config or ServerConfig()
        node_id = cfg.node or f"{cfg.host}:{cfg.port}"
        self.metrics = ServerMetrics(node_id, self._gauges)
        self.tickets = CallTickets(cfg.call_ticket_secret, cfg.call_ticket_ttl)
        self.cluster: ClusterNode | None = None
        self.bus: Bus | None = None
        self.store: SessionStore = LocalStore()
        if cfg.redis_url:
            self.cluster = ClusterNode(
                cfg.redis_url, node_id, self, cfg.cluster_heartbeat, cfg.cluster_lease_ttl
            )
            self.bus = Bus(self.cluster, self._serve_connection)
            self.store = RedisStore(self.cluster, cfg.resume_queue)
        self.sessions, self.switchboard = self._fresh_state()
        self.sign_in = SignIn(cfg)
        self.connections = ConnectionCounter(cfg.max_connections, cfg.max_connections_per_ip)
        self._headers = security_headers(cfg.frame_ancestors)
        self.http = HttpRoutes("/ws")
        self.http.add("/healthz", self._healthz)
        self.http.add("/metrics", self._metrics)
        self.http.add("/visitor-token", self._mint_visitor_token)
        for prefix, directory in cfg.static_dirs.items():
            self.http.mount_static(prefix, directory)
        mount_widget(self.http, cfg.static_dirs)
        self._server: Server | None = None
        self.draining = False

    def _fresh_state(self) -> tuple[SessionRegistry, Switchboard]:
        cfg = self.config
        sessions = SessionRegistry(
            cfg.resume_grace,
            cfg.resume_queue,
            cfg.max_detached_sessions,
            self._session_expired,
            self.store,
        )
        return sessions, Switchboard(cfg, self.tickets, self.metrics)

    # --- lifecycle ----------------------------------------------------------------------

    async def start(self) -> None:
        cfg = self.config
        tls = None
        if cfg.tls_cert:
            tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            tls.load_cert_chain(cfg.tls_cert, cfg.tls_key)
        if not self.sign_in.sites:
            log.warning("signaling.no_sites", extra={"effect": "any visitor may call"})
        if self.cluster is not None:
            self.cluster.start()
        self._server = await serve(
            self._accept,
            cfg.host,
            cfg.port,
            process_request=self._process_request,
            process_response=self._process_response,
            server_header=None,
            create_connection=counted_connection(self.connections),
            max_size=cfg.max_frame,
            compression=None,  # permessage-deflate costs ~100 KiB per connection
            ping_interval=cfg.heartbeat_interval,
            ping_timeout=cfg.heartbeat_interval * 2,
            close_timeout=1,  # a peer whose address vanished never answers the close
            ssl=tls,
        )
        log.info("signaling.listening", extra={"url": self.url})

    @property
    def port(self) -> int:
        assert self._server is not None, "start() first"
        return int(self._server.sockets[0].getsockname()[1])

    @property
    def url(self) -> str:
        scheme = "wss" if self.config.tls_cert else "ws"
        return f"{scheme}://{self.config.host}:{self.port}/ws"

    async def close(self) -> None:
        if self.cluster is not None:
            await self.cluster.close()
        self.switchboard.close_all()
        self.sessions.close_all()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def drain(self) -> None:
        """Graceful stop (SIGTERM): accept nobody new, tell every client to move
        (``notice{server_draining}``, then close 1012 "service restart"), and wait at most
        ``drain_timeout`` for the connections to go. Calls live on: their media never
        touched this server, and the parties re-attach them wherever they reconnect."""
        if self._server is None or self.draining:
            return
        self.draining = True
        log.info("signaling.draining", extra={"sessions": len(self.sessions)})
        if self.cluster is not None:  # the lease goes first: the next node leads at once
            await self.cluster.leave()
        attached = [s for s in self.sessions.by_id.values() if s.conn is not None]
        notice = Notice(code=ErrorCode.SERVER_DRAINING, message="reconnect to another server")
        for session in attached:
            session.deliver(notice, sequenced=False)
        if self.bus is not None:  # sockets this node forwards: their sessions are elsewhere
            self.bus.notify_forwarded(encode_bytes(notice))
        timeout = self.config.drain_timeout
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(min(1.0, timeout / 2)):  # the notices go out first
                while any(s.outbox and s.conn is not None for s in attached) or (  # noqa: ASYNC110
                    self.bus is not None and any(f.outbox for f in self.bus.forwarded.values())
                ):
                    await asyncio.sleep(0.02)
        for session in attached:  # those another node holds: through the bus
            if isinstance(session.conn, RemoteSocket):
                await session.conn.close(1012, ErrorCode.SERVER_DRAINING)
        self._server.close(close_connections=True, code=1012, reason=ErrorCode.SERVER_DRAINING)
        try:
            async with asyncio.timeout(timeout):
                await self._server.wait_closed()
        except TimeoutError:
            log.warning("signaling.drain_timeout", extra={"timeout": timeout})
        log.info("signaling.drained")

    async def serve_forever(self) -> None:
        assert self._server is not None
        await self._server.serve_forever()

    async def __aenter__(self) -> SignalingServer:
        await self.start()
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    # --- HTTP ---------------------------------------------------------------------------

    def _process_request(self, conn: ServerConnection, request: Request) -> Response | None:
        if urlsplit(request.path).path == self.http.websocket_path:
            origin = request.headers.get("Origin")
            if origin is not None and not self._origin_allowed(origin, request):
                log.warning("signaling.origin_refused", extra={"peer": _peer(conn)})
                return text_response("origin not allowed\n", 403)
        return self.http(conn, request)

    def _process_response(
        self, conn: ServerConnection, request: Request, response: Response
    ) -> None:
        if response.status_code != 101:
            for key, value in self._headers:
                response.headers[key] = value

    def _origin_allowed(self, origin: str, request: Request) -> bool:
        """Any Origin when none is configured; else the configured ones, the sites' and the
        server's own (the widget it serves)."""
        if not self.config.origins:
            return True
        allowed = {*self.config.origins, _own_origin(request, self.config)}
        for site in self.sign_in.sites.values():
            allowed.update(site.origins)
        return origin in allowed

    def _healthz(self, conn: ServerConnection, request: Request) -> Response:
        """ "ok" alone on one server. A node says how Redis and the lease stand; one that
        neither leads nor reaches Redis can serve nobody (503: the proxy skips it)."""
        node = self.cluster
        if node is None:
            return text_response("ok\n")
        redis = "up" if node.up else "down"
        status = 200 if node.up or node.is_leader else 503
        state = "ok" if status == 200 else "unavailable"
        return text_response(f"{state}\nredis {redis}\nleader {node.leader or '-'}\n", status)

    def _metrics(self, conn: ServerConnection, request: Request) -> Response:
        token = self.config.metrics_token
        if not token:
            return not_found()
        given = request.headers.get("Authorization", "")
        if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
            return text_response("unauthorized\n", 401)
        return text_response(self.metrics.render())

    def _gauges(self) -> dict[str, tuple[str, float]]:
        board = self.switchboard
        return {
            "softphone_connections": ("Open sockets", self.connections.open),
            "softphone_connections_refused_total": (
                "Sockets refused at the door",
                self.connections.refused,
            ),
            "softphone_sessions": ("Sessions", len(self.sessions)),
            "softphone_sessions_detached": (
                "Sessions kept for resume",
                self.sessions.detached,
            ),
            "softphone_calls": ("Calls (waiting, ringing, live)", len(board.calls)),
            "softphone_calls_waiting": ("Calls in the waiting line", len(board.waiting)),
            "softphone_agents_signed_in": ("Agents signed in", len(self.sessions.agents())),
            **self._cluster_gauges(),
        }

    def _cluster_gauges(self) -> dict[str, tuple[str, float]]:
        node, bus = self.cluster, self.bus
        if node is None or bus is None:
            return {}
        return {
            "softphone_redis_up": ("Connected to Redis (1) or not (0)", float(node.up)),
            "softphone_redis_outages_total": ("Redis connections lost", node.outages),
            "softphone_redis_dropped_writes_total": (
                "Store and bus writes dropped (Redis down or behind)",
                node.dropped_writes,
            ),
            "softphone_cluster_leader": ("This node runs the switchboard", float(node.is_leader)),
            "softphone_sockets_forwarded": ("Sockets forwarded to the leader", len(bus.forwarded)),
            "softphone_sockets_remote": ("Sockets other nodes forward here", len(bus.remote)),
        }

    def _mint_visitor_token(self, conn: ServerConnection, request: Request) -> Response:
        """``POST /visitor-token?site_key=K`` (no body: websockets' HTTP parser takes none)."""
        if request.method != "POST":
            return json_response({"error": "method_not_allowed"}, 405)
        key = parse_qs(urlsplit(request.path).query).get("site_key", [""])[0]
        status, answer = self.sign_in.mint_for_page(key, self._caller(conn, request))
        return json_response(answer, status)

    def _caller(self, conn: ClientSocket, request: Request | None) -> Caller:
        return Caller(
            ip=_ip(conn),
            peer=_peer(conn),
            origin=request.headers.get("Origin") if request else None,
            own_origin=_own_origin(request, self.config) if request else "",
        )

    # --- several nodes (softphone.signaling.cluster calls these) -------------------------

    async def _accept(self, conn: ServerConnection) -> None:
        if self.bus is None:
            await self._serve_connection(conn)
        else:
            await self.bus.accept(conn)

    def bus_message(self, data: bytes) -> None:
        if self.bus is not None:
            self.bus.message(data)

    def redis_up(self) -> None:
        # Redis may have restarted empty: the leader writes back what another node needs.
        leads = self.cluster is not None and self.cluster.is_leader
        if leads and isinstance(self.store, RedisStore):
            self.store.resync(self.sessions.snapshot())

    def redis_down(self) -> None:
        """The bus may have lost frames: sockets that crossed it go, their clients resume."""
        if self.bus is not None:
            self.bus.drop_remote()
            self.bus.drop_forwarded()

    def leader_changed(self, leader: str | None, was: str | None) -> None:
        assert self.cluster is not None and self.bus is not None
        me = self.cluster.id
        if leader is not None:
            self.bus.drop_forwarded(keep=leader)  # sessions of another leader: resume anew
        if was == me and leader is not None and leader != me:
            self._step_down()

    def nodes_gone(self, nodes: list[str]) -> None:
        if self.bus is not None:
            self.bus.drop_remote(nodes)

    def remote_nodes(self) -> list[str]:
        return self.bus.remote_nodes() if self.bus is not None else []

    def _step_down(self) -> None:
        """Another node holds the lease (we were cut off from Redis too long): our sessions
        are its now (it restores them from the store); close every socket without ending
        anything, so the clients resume there."""
        log.warning("cluster.stepped_down", extra={"sessions": len(self.sessions)})
        old = self.sessions
        self.switchboard.close_all()
        old.close_all()
        self.sessions, self.switchboard = self._fresh_state()
        if self.bus is not None:
            self.bus.drop_remote()
        for session in old.by_id.values():
            if session.conn is not None:
                spawn(session.conn.close(1012, "signaling leader changed"))

    # --- one connection -----------------------------------------------------------------

    async def _serve_connection(self, conn: ClientSocket) -> None:
        cfg = self.config
        gate = FrameGate(cfg.rate_per_second, cfg.rate_burst, cfg.flood_strikes)
        session: Session | None = None
        writer: asyncio.Task[None] | None = None
        idle: asyncio.Task[None] | None = None
        try:
            async with asyncio.timeout(cfg.hello_timeout):
                session = await self._authenticate(conn, gate)
            writer = asyncio.create_task(session.drain(conn))
            if session.role == "visitor":
                idle = asyncio.create_task(self._close_when_idle(session, conn))
            async for frame in conn:
                try:
                    msg = gate.admit(frame)
                except FrameRefused as refused:
                    session.deliver(refused.error)
                    continue
                self._dispatch(session, msg)
        except TimeoutError:
            await conn.close(1008, "no hello")
        except CloseConnection as exc:
            log.warning(
                "signaling.connection_closed",
                extra={"session": _sid(session), "reason": exc.reason},
            )
            closing = asyncio.create_task(conn.close(exc.code, exc.reason))
            # Read on: reading stays paused while the abuser's unread frames fill the queue,
            # and the closing handshake (its close frame) sits behind them.
            with contextlib.suppress(ConnectionClosed):
                async for _ in conn:
                    pass
            await closing
        except ConnectionClosed:
            pass
        finally:
            for task in (writer, idle):
                if task is not None:
                    task.cancel()
            if session is not None and session.conn is conn and self._current(session):
                self._socket_gone(session)

    def _socket_gone(self, session: Session) -> None:
        handed_over = self.draining and self.cluster is not None
        if handed_over and (session.role == "agent" or self.switchboard.call_of(session)):
            # The next leader carries it on from the store: the call stays in the line
            # there (or live), the agent signed in. Nothing here ends or rings anything.
            session.conn = None
            return
        keep = self.switchboard.socket_gone(session)
        self.sessions.detach(session, keep)

    def _current(self, session: Session) -> bool:
        """Not one of the sessions dropped when this node stepped down."""
        return self.sessions.by_id.get(session.id) is session

    async def _close_when_idle(self, session: Session, conn: ClientSocket) -> None:
        """A visitor seen without a call at two checks half the idle time apart goes."""
        half = self.config.visitor_idle_timeout / 2
        was_idle = False
        while True:
            await asyncio.sleep(half)
            idle = self.switchboard.call_of(session) is None
            if idle and was_idle:
                log.info("signaling.visitor_idle", extra={"session": session.id})
                await conn.close(1000, ErrorCode.IDLE)
                return
            was_idle = idle

    async def _authenticate(self, conn: ClientSocket, gate: FrameGate) -> Session:
        async for frame in conn:
            try:
                msg = gate.admit(frame)
            except FrameRefused as refused:
                await conn.send(encode(refused.error))
                continue
            if isinstance(msg, Ping):
                await conn.send(encode(Pong(ref=msg.id)))
                continue
            if not isinstance(msg, Hello | Resume):
                await _send_error(conn, ErrorCode.NOT_AUTHENTICATED, "send hello first", msg.id)
                continue
            if msg.protocol != PROTOCOL_VERSION:
                text = f"server speaks version {PROTOCOL_VERSION}"
                await _send_error(conn, ErrorCode.PROTOCOL_VERSION, text, msg.id)
                raise CloseConnection(1008, "unsupported version")
            if isinstance(msg, Resume):
                session, restored = await self._resume(msg)
                if session is None:
                    # Not fatal: the client falls back to a fresh hello on this socket.
                    await _send_error(conn, ErrorCode.RESUME_FAILED, "session expired", msg.id)
                    continue
                self._attach(session, conn, ref=msg.id, resumed=True, last_seq=msg.last_seq)
                if restored:
                    self._rebuild(session)
                self.switchboard.reattached(session)
            else:
                try:
                    session = await self._hello(msg, conn)
                except Refused as refused:
                    await _send_error(conn, refused.code, refused.message, msg.id)
                    raise CloseConnection(1008, refused.code) from None
                self._attach(session, conn, ref=msg.id)
                if session.role == "agent":
                    self.switchboard.agent_signed_in(session)
            return session
        raise ConnectionClosed(None, None)

    async def _hello(self, hello: Hello, conn: ClientSocket) -> Session:
        caller = self._caller(conn, conn.request)
        if hello.role == "visitor":
            site = self.sign_in.visitor_site(hello, caller)
            name = hello.name or "Visitor"
            return self.sessions.create("visitor", name, hello.page, peer_ip=caller.ip, site=site)
        name = await self.sign_in.agent(hello, caller)
        old = self.sessions.find_agent(name)
        if old is not None:
            if self.switchboard.agent_in_live_call(old):
                log.warning("signaling.agent_already_signed_in", extra={"agent": name})
                raise Refused(ErrorCode.ALREADY_SIGNED_IN, "signed in elsewhere and in a call")
            self.sessions.expire(old)  # a fresh sign-in replaces an idle session
        return self.sessions.create("agent", name, peer_ip=caller.ip)

    async def _resume(self, msg: Resume) -> tuple[Session | None, bool]:
        """The session of the token, and whether it came from the store (a node died)."""
        session = self.sessions.resume(msg.resume_token)
        if session is not None and session.conn is not None:
            # A half-open old socket: the new one takes over.
            spawn(session.conn.close(1000, "resumed elsewhere"))
        if session is not None:
            return session, False
        restored: Restored | None = None
        try:
            restored = await self.store.load(msg.resume_token)
        except Exception:
            log.warning("signaling.restore_failed", exc_info=True)
        raced = self.sessions.resume(msg.resume_token)  # restored meanwhile: take it over
        if raced is not None and raced.conn is not None:
            spawn(raced.conn.close(1000, "resumed elsewhere"))
        if raced is not None or restored is None:
            return raced, False
        record = restored.record
        if record.role == "visitor" and record.call_ticket is None and record.waiting is None:
            # No call: only call parties and agents are kept for resume, as on one node.
            return None, False
        return self.sessions.restore(restored, msg.last_seq), True

    def _rebuild(self, session: Session) -> None:
        """A restored session's routing state: a visitor's call back in the line or its
        live call back (from its ticket, as a client's reattach would), an agent signed in
        again (available or away)."""
        board = self.switchboard
        if session.waiting is not None:
            try:
                board.requeue(session, session.waiting)
            except CallError as exc:
                log.info(
                    "signaling.restore_call_gone", extra={"session": session.id, "code": exc.code}
                )
                session.hold_place(None)
        elif session.call_ticket is not None:
            try:
                board.reattach(session, session.call_ticket, None)
            except CallError as exc:
                log.info(
                    "signaling.restore_call_gone", extra={"session": session.id, "code": exc.code}
                )
                session.call_ticket = None
                session.save()
        if session.role == "agent":
            if session.away:
                board.set_presence(session, False, "restored")
            else:
                board.agent_signed_in(session)

    def _attach(
        self,
        session: Session,
        conn: ClientSocket,
        ref: str | None,
        resumed: bool = False,
        last_seq: int | None = None,
    ) -> None:
        """Make ``conn`` the session's socket: welcome first, then (on a resume with
        ``last_seq``) what the old socket may have swallowed, then what was queued."""
        session.conn = conn
        cfg = self.config
        call = self.switchboard.call_of(session)
        # Without last_seq (an older client) only what is still queued goes out, as before.
        dropped = session.replay_dropped
        complete = session.rewind(last_seq) if resumed and last_seq is not None else True
        if session.replay_dropped > dropped:
            self.metrics.replay_dropped.labels(self.metrics.node).inc(
                session.replay_dropped - dropped
            )
        welcome = Welcome(
            session_id=session.id,
            resume_token=session.resume_token,
            resumed=resumed,
            heartbeat_interval=cfg.heartbeat_interval,
            # Credentials go only to a call's parties (ring, accepted), never here.
            ice_servers=[s for s in cfg.ice_servers if s.credential is None],
            limits=Limits(
                max_frame_bytes=cfg.max_frame, messages_per_second=int(cfg.rate_per_second)
            ),
            call_id=call.id if resumed and call else None,
            role=session.role,
            name=session.name,
            ref=ref,
            replay_gap=not complete,
            reconnect=cfg.reconnect,
        )
        # The welcome goes first, before anything queued while the socket was gone.
        session.outbox.appendleft(encode_bytes(welcome))
        session.wakeup.set()
        log.info(
            "signaling.session_resumed" if resumed else "signaling.session_started",
            extra={
                "session": session.id,
                "role": session.role,
                "peer": _peer(conn),
                "last_seq": last_seq,
                "queued": len(session.outbox) - 1,
                "replay_gap": not complete,
            },
        )

    # --- messages of an authenticated session -------------------------------------------

    def _dispatch(self, session: Session, msg: Message) -> None:
        try:
            self._handle(session, msg)
        except CallError as exc:
            session.deliver(Error(code=exc.code, message=exc.message, ref=msg.id))
        except Exception:
            log.exception("signaling.handler_failed", extra={"session": session.id})
            session.deliver(Error(code=ErrorCode.INTERNAL, message="internal error", ref=msg.id))

    def _handle(self, session: Session, msg: Message) -> None:
        board = self.switchboard
        if isinstance(msg, RELAYED):
            board.relay(session, msg)
        elif isinstance(msg, Ping):
            if msg.ack is not None:
                session.trim(msg.ack)
            session.deliver(Pong(ref=msg.id), sequenced=False)
        elif isinstance(msg, Hello | Resume):
            raise CallError(ErrorCode.ALREADY_AUTHENTICATED, "already signed in")
        elif isinstance(msg, SERVER_ONLY):
            raise CallError(ErrorCode.UNEXPECTED, "clients may not send this type")
        elif isinstance(msg, Reattach):
            board.reattach(session, msg.ticket, msg.id)
        elif isinstance(msg, CallReport):
            self._call_report(session, msg)
        elif isinstance(msg, CallRequest):
            if session.role != "visitor":
                raise CallError(ErrorCode.FORBIDDEN, "only visitors request calls")
            board.request_call(session, msg.id)
        else:
            if session.role != "agent":
                raise CallError(ErrorCode.FORBIDDEN, "agents only")
            if isinstance(msg, Accept):
                board.accept(session, msg.call_id)
            elif isinstance(msg, Decline):
                board.decline(session, msg.call_id)
            elif isinstance(msg, Presence):
                board.set_presence(session, msg.status == "available", msg.reason)
            elif isinstance(msg, Hold):
                board.hold(session, msg)
            elif isinstance(msg, AgentsRequest):
                session.deliver(AgentList(agents=board.free_agents(session), ref=msg.id))
            elif isinstance(msg, Transfer):
                board.transfer(session, msg, msg.id)
            elif isinstance(msg, Consult):
                board.consult(session, msg, msg.id)

    def _call_report(self, session: Session, report: CallReport) -> None:
        """A party's reconnect episodes at call end: logged per call, counted per node."""
        log.info(
            "signaling.call_report",
            extra={
                "call_id": report.call_id,
                "role": session.role,
                "party": session.name,
                "interruptions": len(report.episodes),
                "episodes": [
                    f"{e.trigger}:{e.outcome}:{e.duration_s:.2f}s:{e.attempts}"
                    for e in report.episodes
                ],
            },
        )
        self.metrics.report(session.role, report)

    def _session_expired(self, session: Session) -> None:
        self.switchboard.session_gone(session)


async def _send_error(conn: ClientSocket, code: str, message: str, ref: str | None) -> None:
    await conn.send(encode(Error(code=code, message=message, ref=ref)))


def _sid(session: Session | None) -> str | None:
    return session.id if session else None


def _peer(conn: ClientSocket) -> str:
    address = conn.remote_address
    return f"{address[0]}:{address[1]}" if address else "?"


def _ip(conn: ClientSocket) -> str:
    address = conn.remote_address
    return str(address[0]) if address else "?"


def _own_origin(request: Request, config: ServerConfig) -> str:
    """The origin of pages this server serves (the widget), from the request's Host."""
    scheme = "https" if config.tls_cert else "http"
    return f"{scheme}://{request.headers.get('Host', '')}"


# --- console script -----------------------------------------------------------------------


def build_config(argv: list[str] | None = None) -> ServerConfig:
    parser = argparse.ArgumentParser(
        prog="softphone-server",
        description=__doc__,
        epilog="Also: softphone-server agent add NAME | visitor-token --site KEY",
    )
    parser.add_argument("--config", help="TOML file (see softphone/signaling/config.py)")
    parser.add_argument("--host")
    parser.add_argument("--port", type=int)
    parser.add_argument("--tls-cert")
    parser.add_argument("--tls-key")
    parser.add_argument("--ring-timeout", type=float)
    parser.add_argument("--resume-grace", type=float)
    parser.add_argument("--restart-cap", type=int)
    parser.add_argument("--max-frame", type=int)
    parser.add_argument("--rate", dest="rate_per_second", type=float)
    parser.add_argument("--rate-burst", type=float)
    parser.add_argument("--max-connections", type=int)
    parser.add_argument("--max-connections-per-ip", type=int)
    parser.add_argument("--node", help="this server's name in logs and /metrics")
    parser.add_argument("--drain-timeout", type=float)
    parser.add_argument("--redis-url", help="share state with other nodes (docs/scale-out.md)")
    parser.add_argument("--log-level", default="INFO")
    args = parser.parse_args(argv)
    setup_logging(args.log_level)
    config = load_config(args.config)
    for key, value in vars(args).items():
        if value is not None and hasattr(config, key):
            setattr(config, key, value)
    if bool(config.tls_cert) != bool(config.tls_key):
        parser.error("--tls-cert and --tls-key go together")
    return config


async def _run(config: ServerConfig) -> None:
    # Thousands of long-lived connection objects make each default-threshold collection
    # costly; bench/signaling_load.py at 5,000 connections: ~950 collections with stalls of
    # hundreds of ms and seven full ones per run by default, 11 and no full one with this.
    gc.set_threshold(50_000, 50, 100)
    if not config.call_ticket_secret:
        log.warning(
            "signaling.call_ticket_secret_random",
            extra={"effect": "calls survive a restart only with call_ticket_secret set"},
        )
    async with SignalingServer(config) as server:
        gc.freeze()  # what start-up allocated lives as long as the process
        print(f"softphone-server listening on {server.url}", flush=True)
        loop = asyncio.get_running_loop()
        stop = loop.create_future()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, _settle, stop)
        await stop
        await server.drain()


def _settle(stop: asyncio.Future[None]) -> None:
    if not stop.done():  # a second signal while draining changes nothing
        stop.set_result(None)


def add_agent(argv: list[str]) -> int:
    """``softphone-server agent add NAME``: a new strong secret (give it to the agent once)
    and the hash line for the config file (the server stores only that)."""
    parser = argparse.ArgumentParser(prog="softphone-server agent add")
    parser.add_argument("name")
    args = parser.parse_args(argv)
    secret = generate_secret()
    print(f"secret for {args.name} (shown once, give it to the agent): {secret}")
    print("add to the [agents] table of the server's config file:")
    print(f'"{args.name}" = "{hash_secret(secret)}"')
    return 0


def print_visitor_token(argv: list[str]) -> int:
    """``softphone-server visitor-token --site KEY``: what a site's backend mints per visit."""
    parser = argparse.ArgumentParser(prog="softphone-server visitor-token")
    parser.add_argument("--config", help="the server's TOML file (holds the site's secret)")
    parser.add_argument("--site", required=True, help="site key")
    parser.add_argument("--origin", help="the page origin the token is for (default: any)")
    parser.add_argument("--ttl", type=int, help="seconds (default: visitor_token_ttl)")
    args = parser.parse_args(argv)
    config = load_config(args.config)
    site = config.sites.get(args.site)
    if site is None or not site.secret:
        parser.error(f"site {args.site!r} has no [sites.{args.site}] secret in the config")
    print(mint_token(site.secret, site.key, args.origin, args.ttl or config.visitor_token_ttl))
    return 0


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if args[:2] == ["agent", "add"]:
        raise SystemExit(add_agent(args[2:]))
    if args[:1] == ["visitor-token"]:
        raise SystemExit(print_visitor_token(args[1:]))
    asyncio.run(_run(build_config(args)))


if __name__ == "__main__":
    main()
