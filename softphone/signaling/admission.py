"""What a connection may send: a token-bucket rate limit, text frames only, valid messages.

A refused frame earns its sender an error frame; a flood (too many refusals for rate) or
an oversize frame (websockets' ``max_size``, close code 1009) ends the connection.
"""

from __future__ import annotations

import time

from softphone.signaling.protocol import Error, ErrorCode, Message, ProtocolError, decode


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
