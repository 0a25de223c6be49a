"""The voice receive seam: aiortc's audio jitter buffer is where the seam expects it, and
its replacement delivers every packet at once, across a loss, without stale ones."""

from __future__ import annotations

import aiortc.jitterbuffer
from aiortc import (
    RTCCertificate,
    RTCDtlsTransport,
    RTCIceGatherer,
    RTCIceTransport,
    RTCRtpReceiver,
)
from aiortc.rtp import RtpPacket

from softphone.rtc.aiortc_compat import voice_receiver
from softphone.rtc.aiortc_compat.voice_receiver import VoicePacketBuffer, install_voice_receiver


def packet(seq: int) -> RtpPacket:
    p = RtpPacket(payload_type=96, sequence_number=seq % 0x10000, timestamp=seq * 960)
    p._data = bytes([seq % 256])  # type: ignore[attr-defined]  # as the receiver depayloads
    return p


def transport() -> RTCDtlsTransport:
    certificate = RTCCertificate.generateCertificate()
    return RTCDtlsTransport(RTCIceTransport(RTCIceGatherer()), [certificate])


def receiver(kind: str) -> RTCRtpReceiver:
    return RTCRtpReceiver(kind, transport())


def test_aiortc_audio_receiver_internals_are_where_the_seam_expects_them() -> None:
    """If this fails, aiortc changed RTCRtpReceiver: re-check voice_receiver.py."""
    bare = RTCRtpReceiver.__new__(RTCRtpReceiver)
    voice_receiver._original_init(bare, "audio", transport())
    stock = bare._RTCRtpReceiver__jitter_buffer  # type: ignore[attr-defined]
    assert isinstance(stock, aiortc.jitterbuffer.JitterBuffer) and stock._prefetch == 4
    install_voice_receiver()
    assert isinstance(receiver("audio")._RTCRtpReceiver__jitter_buffer, VoicePacketBuffer)  # type: ignore[attr-defined]
    video = receiver("video")._RTCRtpReceiver__jitter_buffer  # type: ignore[attr-defined]
    assert not isinstance(video, VoicePacketBuffer)


def test_stock_aiortc_stalls_audio_after_one_lost_packet() -> None:
    """Why the seam exists: with the stock buffer, packets after a loss wait in the ring."""
    stock = aiortc.jitterbuffer.JitterBuffer(capacity=16, prefetch=4)
    delivered = [stock.add(packet(seq))[1] for seq in (*range(10), *range(11, 20))]
    after_loss = delivered[10:]
    assert sum(frame is not None for frame in after_loss) == 0


def test_every_packet_is_delivered_at_once_across_a_loss() -> None:
    buffer = VoicePacketBuffer()
    sequence = [*range(0xFFF0, 0x10000), *range(0x10000, 0x10005), *range(0x10006, 0x10010)]
    frames = [buffer.add(packet(seq))[1] for seq in sequence]  # wraps, and loses one
    assert all(frame is not None for frame in frames)
    assert [f.timestamp for f in frames if f] == [seq * 960 for seq in sequence]


def test_duplicates_and_late_packets_are_dropped() -> None:
    buffer = VoicePacketBuffer()
    assert buffer.add(packet(5))[1] is not None
    assert buffer.add(packet(5))[1] is None  # duplicate
    assert buffer.add(packet(7))[1] is not None
    assert buffer.add(packet(6))[1] is None  # late: its time has been played
    assert buffer.add(packet(8))[1] is not None
