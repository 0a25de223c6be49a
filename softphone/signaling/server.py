"""The signaling server: one websocket per client at ``/ws``, plain HTTP beside it.

Embeddable (``async with SignalingServer(ServerConfig(port=0)) as server: server.url``)
and a console script (``softphone-server``). Each connection is read by one task and
written by another (``Session.drain``); call state lives in :mod:`.routing`, sessions and
their resume in :mod:`.sessions`. Bad input only ever earns its sender an error frame.
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
import time
from types import TracebackType

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.typing import Origin

from softphone.logging_setup import setup_logging
from softphone.signaling.admission import CloseConnection, FrameGate, FrameRefused
from softphone.signaling.config import ServerConfig, load_config
from softphone.signaling.http import HttpRoutes, json_response
from softphone.signaling.protocol import (
    PROTOCOL_VERSION,
    RELAYED,
    SERVER_ONLY,
    Accept,
    CallRequest,
    Decline,
    Error,
    ErrorCode,
    Hello,
    Limits,
    Message,
    Ping,
    Pong,
    Presence,
    Resume,
    Welcome,
    encode,
    encode_bytes,
)
from softphone.signaling.routing import CallError, Switchboard
from softphone.signaling.sessions import Session, SessionRegistry, spawn
from softphone.signaling.static import mount_widget

log = logging.getLogger(__name__)


class SignalingServer:
    def __init__(self, config: ServerConfig | None = None) -> None:
        self.config = config or ServerConfig()
        self.sessions = SessionRegistry(
            self.config.resume_grace, self.config.resume_queue, self._session_expired
        )
        self.switchboard = Switchboard(
            self.sessions, self.config.ring_timeout, self.config.restart_cap
        )
        self.http = HttpRoutes("/ws")
        self.http.add("/healthz", self._healthz)
        for prefix, directory in self.config.static_dirs.items():
            self.http.mount_static(prefix, directory)
        mount_widget(self.http, self.config.static_dirs)
        self._server: Server | None = None

    # --- lifecycle ----------------------------------------------------------------------

    async def start(self) -> None:
        cfg = self.config
        tls = None
        if cfg.tls_cert:
            tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            tls.load_cert_chain(cfg.tls_cert, cfg.tls_key)
        if not cfg.site_keys:
            log.warning("signaling.no_site_keys", extra={"effect": "any visitor may call"})
        self._server = await serve(
            self._serve_connection,
            cfg.host,
            cfg.port,
            process_request=self.http,
            origins=[*map(Origin, cfg.origins), None] if cfg.origins else None,  # None: no browser
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
        self.switchboard.close_all()
        self.sessions.close_all()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

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

    def _healthz(self, conn: ServerConnection, request: Request) -> Response:
        return json_response(
            {"status": "ok", "sessions": len(self.sessions), "calls": len(self.switchboard.calls)}
        )

    # --- one connection -----------------------------------------------------------------

    async def _serve_connection(self, conn: ServerConnection) -> None:
        cfg = self.config
        gate = FrameGate(cfg.rate_per_second, cfg.rate_burst, cfg.flood_strikes)
        session: Session | None = None
        writer: asyncio.Task[None] | None = None
        try:
            async with asyncio.timeout(cfg.hello_timeout):
                session = await self._authenticate(conn, gate)
            writer = asyncio.create_task(session.drain(conn))
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
            if writer is not None:
                writer.cancel()
            if session is not None and session.conn is conn:
                self.sessions.detach(session)

    async def _authenticate(self, conn: ServerConnection, gate: FrameGate) -> Session:
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
                session = self._resume(msg)
                if session is None:
                    # Not fatal: the client falls back to a fresh hello on this socket.
                    await _send_error(conn, ErrorCode.RESUME_FAILED, "session expired", msg.id)
                    continue
                self._attach(session, conn, ref=msg.id, resumed=True, last_seq=msg.last_seq)
            else:
                session = self._hello(msg, conn)
                if session is None:
                    await _send_error(conn, ErrorCode.UNAUTHORIZED, "bad credentials", msg.id)
                    raise CloseConnection(1008, "unauthorized")
                self._attach(session, conn, ref=msg.id)
            return session
        raise ConnectionClosed(None, None)

    def _hello(self, hello: Hello, conn: ServerConnection) -> Session | None:
        if hello.role == "agent":
            name = self._agent_for(hello.token or "")
            if name is None:
                log.warning("signaling.agent_unauthorized", extra={"peer": _peer(conn)})
                return None
            old = self.sessions.find_agent(name)
            if old is not None:  # a fresh sign-in replaces the old session
                self.sessions.expire(old)
            return self.sessions.create("agent", name)
        if self.config.site_keys and not _any_equal(hello.site_key or "", self.config.site_keys):
            log.warning("signaling.visitor_unauthorized", extra={"peer": _peer(conn)})
            return None
        return self.sessions.create("visitor", hello.name or "Visitor", hello.page)

    def _agent_for(self, token: str) -> str | None:
        found = None
        for name, expected in self.config.agent_tokens.items():
            # Compare against every token so the time taken says nothing about which matched.
            if hmac.compare_digest(token.encode(), expected.encode()):
                found = name
        return found

    def _resume(self, msg: Resume) -> Session | None:
        session = self.sessions.resume(msg.resume_token)
        if session is not None and session.conn is not None:
            # A half-open old socket: the new one takes over.
            spawn(session.conn.close(1000, "resumed elsewhere"))
        return session

    def _attach(
        self,
        session: Session,
        conn: ServerConnection,
        ref: str | None,
        resumed: bool = False,
        last_seq: int | None = None,
    ) -> None:
        """Make ``conn`` the session's socket: welcome first, then (on a resume with
        ``last_seq``) what the old socket may have swallowed, then what was queued."""
        session.conn = conn
        cfg = self.config
        # Without last_seq (an older client) only what is still queued goes out, as before.
        complete = session.rewind(last_seq) if resumed and last_seq is not None else True
        welcome = Welcome(
            session_id=session.id,
            resume_token=session.resume_token,
            resumed=resumed,
            heartbeat_interval=cfg.heartbeat_interval,
            ice_servers=cfg.ice_servers,
            limits=Limits(
                max_frame_bytes=cfg.max_frame, messages_per_second=int(cfg.rate_per_second)
            ),
            call_id=session.call.id if resumed and session.call else None,
            role=session.role,
            name=session.name,
            ref=ref,
            replay_gap=not complete,
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
            session.deliver(Pong(ref=msg.id), sequenced=False)
        elif isinstance(msg, Hello | Resume):
            raise CallError(ErrorCode.ALREADY_AUTHENTICATED, "already signed in")
        elif isinstance(msg, SERVER_ONLY):
            raise CallError(ErrorCode.UNEXPECTED, "clients may not send this type")
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
                available = msg.status == "available"
                if available and not session.available:
                    session.idle_since = time.monotonic()
                session.available = available

    def _session_expired(self, session: Session) -> None:
        self.switchboard.session_gone(session)


async def _send_error(conn: ServerConnection, code: str, message: str, ref: str | None) -> None:
    await conn.send(encode(Error(code=code, message=message, ref=ref)))


def _any_equal(value: str, candidates: list[str]) -> bool:
    found = False
    for candidate in candidates:
        found |= hmac.compare_digest(value.encode(), candidate.encode())
    return found


def _sid(session: Session | None) -> str | None:
    return session.id if session else None


def _peer(conn: ServerConnection) -> str:
    address = conn.remote_address
    return f"{address[0]}:{address[1]}" if address else "?"


# --- console script -----------------------------------------------------------------------


def build_config(argv: list[str] | None = None) -> ServerConfig:
    parser = argparse.ArgumentParser(prog="softphone-server", description=__doc__)
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
    async with SignalingServer(config) as server:
        gc.freeze()  # what start-up allocated lives as long as the process
        print(f"softphone-server listening on {server.url}", flush=True)
        stop = asyncio.get_running_loop().create_future()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                asyncio.get_running_loop().add_signal_handler(sig, stop.set_result, None)
        await stop


def main(argv: list[str] | None = None) -> None:
    asyncio.run(_run(build_config(argv)))


if __name__ == "__main__":
    main()
