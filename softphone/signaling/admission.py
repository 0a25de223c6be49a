"""What a connection may send: a token-bucket rate limit, text frames only, valid messages;
and how many connections there may be at all.

A refused frame earns its sender an error frame; a flood (too many refusals for rate) or
an oversize frame (websockets' ``max_size``, close code 1009) ends the connection.
"""

from __future__ import annotations

import asyncio
import logging
import time

from websockets.asyncio.server import ServerConnection

from softphone.signaling.protocol import Error, ErrorCode, Message, ProtocolError, decode

log = logging.getLogger(__name__)


class FrameRefused(Exception):  # noqa: N818 - a verdict, carrying the error frame to send
    def __init__(self, error: Error) -> None:
        super().__init__(error.code)
        self.error = error


class CloseConnection(Exception):  # noqa: N818 - a control-flow signal, not an error
    """Close the connection with websocket close ``code``."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code, self.reason = code, reason


class TokenBucket:
    def __init__(self, rate: float, burst: float) -> None:
        self.rate, self.burst = rate, burst
        self.tokens, self.stamp = burst, time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


class FrameGate:
    """Admission of one connection's frames."""

    def __init__(self, rate: float, burst: float, flood_strikes: int) -> None:
        self._bucket = TokenBucket(rate, burst)
        self._strikes = 0
        self._flood_strikes = flood_strikes

    def admit(self, frame: str | bytes) -> Message:
        """The frame's message, or FrameRefused (answer it), or CloseConnection (abuse)."""
        if not self._bucket.take():
            self._strikes += 1
            if self._strikes >= self._flood_strikes:
                raise CloseConnection(1008, "rate limit")
            raise FrameRefused(Error(code=ErrorCode.RATE_LIMITED, message="slow down"))
        if isinstance(frame, bytes):
            raise FrameRefused(Error(code=ErrorCode.BINARY_FRAME, message="text frames only"))
        try:
            return decode(frame)
        except ProtocolError as exc:
            raise FrameRefused(
                Error(code=exc.code, message=exc.message[:200], ref=exc.ref)
            ) from None


class ConnectionCounter:
    """Open sockets in total and per address, counted when TCP connects (before any
    handshake), so one client cannot hold every file descriptor."""

    def __init__(self, total: int, per_ip: int) -> None:
        self.total, self.per_ip = total, per_ip
        self.open = 0
        self._by_ip: dict[str, int] = {}
        self.refused = 0

    def admit(self, ip: str) -> bool:
        here = self._by_ip.get(ip, 0)
        if self.open >= self.total or here >= self.per_ip:
            self.refused += 1
            if self.refused == 1 or self.refused % 1000 == 0:  # a flood logs, it does not spam
                log.warning(
                    "signaling.connection_refused",
                    extra={"ip": ip, "open": self.open, "here": here, "refused": self.refused},
                )
            return False
        self.open += 1
        self._by_ip[ip] = here + 1
        return True

    def release(self, ip: str) -> None:
        self.open -= 1
        left = self._by_ip[ip] - 1
        if left:
            self._by_ip[ip] = left
        else:
            del self._by_ip[ip]


def counted_connection(counter: ConnectionCounter) -> type[ServerConnection]:
    """A ServerConnection class that asks ``counter`` before it exists for the server."""

    class CountedConnection(ServerConnection):
        _ip: str | None = None

        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            peer = transport.get_extra_info("peername")
            ip = str(peer[0]) if peer else "?"
            if not counter.admit(ip):
                assert isinstance(transport, asyncio.Transport)
                transport.abort()  # no handler, no handshake, no buffers
                return
            self._ip = ip
            super().connection_made(transport)

        def connection_lost(self, exc: Exception | None) -> None:
            if self._ip is None:
                return  # refused in connection_made: nothing was set up
            counter.release(self._ip)
            self._ip = None
            super().connection_lost(exc)

    return CountedConnection
