"""A video jitter buffer that gives up on a lost packet instead of stalling for seconds.

Seam 9 (listed in this package's docstring; its internals are in :mod:`.check`, and
tests/rtc/test_video_jitter.py exercises them):
aiortc 1.16's video ``JitterBuffer`` hands out a frame only when every packet from its
origin on is present. A packet lost for good (its NACK retransmission lost too, which at
15 % loss happens every few seconds) blocks the buffer until 512 later packets have
arrived: the received video froze for 1-12 s under random loss while audio played on and
Chromium, receiving over the same link, never froze for 1 s.

:class:`BoundedWaitJitterBuffer` waits at most ``MAX_WAIT_S`` for a missing packet at its
head once later packets are there (NACK retransmissions arrive within a round trip), then
drops the incomplete frame, moves on to the next complete one and asks for a keyframe (the
decoder's reference is gone). :func:`install_bounded_jitter` makes aiortc's receivers build
it for video through the module-level name ``rtcrtpreceiver.JitterBuffer``.
"""

from __future__ import annotations

import time
from typing import Any

import aiortc.rtcrtpreceiver
from aiortc.jitterbuffer import JitterBuffer, JitterFrame
from aiortc.rtp import RtpPacket
from aiortc.utils import uint16_add

from softphone.rtc.aiortc_compat.check import compatibility

_original_jitter_buffer = aiortc.rtcrtpreceiver.JitterBuffer

MAX_WAIT_S = 0.25
"""How long a gap at the head may wait for its retransmission (a few round trips)."""


class BoundedWaitJitterBuffer(JitterBuffer):
    """aiortc's video jitter buffer, minus the unbounded wait for a lost packet."""

    def __init__(self, capacity: int, prefetch: int = 0, is_video: bool = True) -> None:
        super().__init__(capacity=capacity, prefetch=prefetch, is_video=is_video)
        self._gap_since: float | None = None
        self.skipped_frames = 0
        """Incomplete frames given up on (diagnostics)."""

    def add(self, packet: RtpPacket) -> tuple[bool, JitterFrame | None]:
        pli_flag, frame = super().add(packet)
        if frame is not None:
            self._gap_since = None
            return pli_flag, frame
        if self._origin is None or uint16_add(packet.sequence_number, -self._origin) >= (
            self._capacity
        ):
            return pli_flag, frame  # a late packet from before the head: changes nothing
        hole = self._first_hole(packet.sequence_number)
        if hole is None:
            self._gap_since = None  # the head frame is just not complete yet
            return pli_flag, frame
        now = time.monotonic()
        if self._gap_since is None:
            self._gap_since = now
            return pli_flag, frame
        if now - self._gap_since < MAX_WAIT_S:
            return pli_flag, frame
        self._gap_since = None
        self.skipped_frames += 1
        return True, self._give_up(hole, packet.sequence_number)

    def _slot(self, count: int) -> RtpPacket | None:
        assert self._origin is not None
        return self._packets[(self._origin + count) % self._capacity]

    def _first_hole(self, newest: int) -> int | None:
        """Offset from the head of the first missing packet before ``newest``, if any."""
        assert self._origin is not None
        span = uint16_add(newest, -self._origin)
        return next((c for c in range(span) if self._slot(c) is None), None)

    def _give_up(self, hole: int, newest: int) -> JitterFrame | None:
        """Drop the frame the hole broke and return the next frame that can be decoded.

        The RTP marker bit ends a video frame (RFC 7741): when it is set just before the
        hole, the frame at the head is complete and goes out; the lost packets began the
        next one. Otherwise the head frame is the broken one.
        """
        # Every slot before the first hole is filled.
        before = [p for c in range(hole) if (p := self._slot(c)) is not None]
        head_ts = before[0].timestamp if before else None
        complete: JitterFrame | None = None
        if before and before[-1].marker and all(p.timestamp == head_ts for p in before):
            data = b"".join(p._data for p in before)  # type: ignore[attr-defined]
            complete = JitterFrame(data=data, timestamp=before[0].timestamp)
            self.remove(hole)
            hole, head_ts = 0, None
        after = next(c for c in range(hole + 1, self._capacity) if self._slot(c) is not None)
        following = self._slot(after)
        assert following is not None
        broken = head_ts if head_ts is not None else following.timestamp
        self.remove(after)
        while (first := self._slot(0)) is not None and first.timestamp == broken:
            self.remove(1)
        return complete if complete is not None else self._remove_frame(newest)


def _jitter_buffer(capacity: int, prefetch: int = 0, is_video: bool = False) -> JitterBuffer:
    if is_video:
        return BoundedWaitJitterBuffer(capacity=capacity, prefetch=prefetch)
    return JitterBuffer(capacity=capacity, prefetch=prefetch)


def install_bounded_jitter() -> None:
    """Every RTCRtpReceiver created from now on uses the bounded buffer for video
    (idempotent); aiortc's own stays when the compatibility check found its internals
    changed."""
    module: Any = aiortc.rtcrtpreceiver
    module.JitterBuffer = _jitter_buffer if compatibility().ok else _original_jitter_buffer
