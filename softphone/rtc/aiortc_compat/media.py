"""Seam 4: media continuity across an outage (``RTCRtpSender._enabled``, the receiver's
private jitter buffer and NACK generator).

After an outage aiortc's video JitterBuffer (MAX_MISORDER = 100) mistakes late NACK
retransmissions for a new origin and stalls ~12 s; a fresh buffer and NACK generator plus a
keyframe request make video resume as fast as audio. Senders are paused through
``RTCRtpSender._enabled``, which drops frames before encoding, so no RTP sequence numbers
(and no SRTP index) are burnt while the path is down (docs/aiortc-notes.md).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import aiortc
import aiortc.rtcrtpreceiver

from softphone.rtc.aiortc_compat.video_jitter import VideoReceiver


def set_senders_paused(pc: aiortc.RTCPeerConnection, paused: bool) -> None:
    """Stop/resume encoding and sending on every sender; resuming starts with a keyframe."""
    for sender in pc.getSenders():
        if sender._enabled == (not paused):
            continue
        sender._enabled = not paused
        if not paused and sender.kind == "video":
            sender._send_keyframe()


def reset_video_receiver(receiver: aiortc.RTCRtpReceiver) -> list[int]:
    """Fresh jitter buffer and NACK generator; returns the media SSRCs to send a PLI for."""
    inner: Any = receiver
    # Through the receiver module's name, so the bounded buffer (seam 9) stays in place.
    inner._RTCRtpReceiver__jitter_buffer = aiortc.rtcrtpreceiver.JitterBuffer(
        capacity=512, is_video=True
    )
    # Seam 9's receiver NACKs from its buffer: aiortc's generator would NACK twice.
    if not isinstance(receiver, VideoReceiver):
        inner._RTCRtpReceiver__nack_generator = aiortc.rtcrtpreceiver.NackGenerator()
    return media_ssrcs(receiver)


def media_ssrcs(receiver: aiortc.RTCRtpReceiver) -> list[int]:
    """The peer's media SSRCs seen by ``receiver`` (not its RTX ones): where a PLI goes."""
    inner: Any = receiver
    rtx_ssrcs = set(inner._RTCRtpReceiver__rtx_ssrc)
    return [s for s in inner._RTCRtpReceiver__remote_streams if s not in rtx_ssrcs]


async def request_keyframe(receiver: aiortc.RTCRtpReceiver, ssrcs: Iterable[int]) -> None:
    """Send an RTCP PLI for each SSRC (dropped silently while there is no path)."""
    for ssrc in ssrcs:
        await receiver._send_rtcp_pli(ssrc)
