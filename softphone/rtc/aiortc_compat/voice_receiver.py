"""Received voice packets go straight to the decoder, through a marked seam into aiortc.

aiortc 1.16.0 (pinned) gives every audio receiver ``JitterBuffer(capacity=16, prefetch=4)``
(``RTCRtpReceiver.__init__``). For voice that is wrong twice over:

- it holds back 4 complete frames (80 ms of Opus) before releasing one, on every call;
- it releases frames only in sequence: after one lost packet nothing comes out until the
  16-packet ring overflows, i.e. ~320 ms of silence followed by a burst, at every loss.

One Opus packet is one frame, and the playout buffer (:mod:`softphone.media.jitter_buffer`)
already orders nothing but absorbs jitter, conceals gaps by timestamp and sizes itself for
the network. So :class:`VoicePacketBuffer` hands each packet over as it arrives and only
drops duplicates and packets older than the newest one delivered (too late to play).

THE SEAM: :func:`install_voice_receiver` wraps ``RTCRtpReceiver.__init__`` and replaces its
private ``_RTCRtpReceiver__jitter_buffer`` for audio; ``tests/rtc/test_compat_voice_receiver.py``
fails loudly when those internals change.
"""

from __future__ import annotations

import functools
from typing import Any

import aiortc.jitterbuffer
import aiortc.rtcrtpreceiver
from aiortc.rtp import RtpPacket

from softphone.rtc.aiortc_compat.check import compatibility

_original_init = aiortc.rtcrtpreceiver.RTCRtpReceiver.__init__
HALF_SEQUENCE_SPACE = 0x8000


class VoicePacketBuffer(aiortc.jitterbuffer.JitterBuffer):
    """Every new packet is a frame at once; late or repeated ones are dropped."""

    def __init__(self) -> None:
        super().__init__(capacity=16)
        self._newest: int | None = None

    def add(self, packet: RtpPacket) -> tuple[bool, aiortc.jitterbuffer.JitterFrame | None]:
        if self._newest is not None:
            ahead = (packet.sequence_number - self._newest) % 0x10000
            if ahead == 0 or ahead >= HALF_SEQUENCE_SPACE:
                return False, None  # a duplicate, or older than what was already played
        self._newest = packet.sequence_number
        data: bytes = packet._data  # type: ignore[attr-defined]  # the depayloaded Opus frame
        return False, aiortc.jitterbuffer.JitterFrame(data=data, timestamp=packet.timestamp)


@functools.wraps(_original_init)  # inspect.getsource still shows aiortc's
def _voice_init(self: Any, kind: str, transport: Any) -> None:
    _original_init(self, kind, transport)
    if kind == "audio":
        self._RTCRtpReceiver__jitter_buffer = VoicePacketBuffer()


def install_voice_receiver() -> None:
    """Every audio receiver aiortc creates from now on uses VoicePacketBuffer (idempotent);
    aiortc's own stays when the compatibility check found its internals changed."""
    if not compatibility().ok:
        aiortc.rtcrtpreceiver.RTCRtpReceiver.__init__ = _original_init  # type: ignore[method-assign]
        return
    aiortc.rtcrtpreceiver.RTCRtpReceiver.__init__ = _voice_init  # type: ignore[method-assign]
