"""Seam 9 (softphone.rtc.aiortc_compat.video_jitter): a lost video packet costs ~0.25 s.

The first tests fail loudly when the aiortc internals the seam relies on change.
"""

from __future__ import annotations

import inspect
from typing import Any

import aiortc.rtcpeerconnection
import aiortc.rtcrtpreceiver
import pytest
from aiortc import RTCRtpCodecParameters
from aiortc.jitterbuffer import JitterBuffer
from aiortc.rtcdtlstransport import RTCCertificate, RTCDtlsTransport
from aiortc.rtcicetransport import RTCIceGatherer, RTCIceTransport
from aiortc.rtp import RTCP_PSFB_PLI, RtcpPsfbPacket, RtcpRtpfbPacket, RtpPacket, wrap_rtx

from softphone.rtc.aiortc_compat import video_jitter
from softphone.rtc.aiortc_compat.video_jitter import (
    BoundedWaitJitterBuffer,
    VideoReceiver,
    install_bounded_jitter,
)


def packet(seq: int, timestamp: int) -> RtpPacket:
    """Two packets per frame in these tests: the second (odd) one ends it (marker bit)."""
    made = RtpPacket(payload_type=96, marker=seq % 2, sequence_number=seq, timestamp=timestamp)
    made._data = bytes([seq % 256])  # type: ignore[attr-defined]
    return made


def test_seam9_receiver_builds_its_buffers_through_the_module_level_name() -> None:
    init = inspect.getsource(aiortc.rtcrtpreceiver.RTCRtpReceiver.__init__)
    assert "JitterBuffer(capacity=512, is_video=True)" in init
    assert "JitterBuffer(capacity=16, prefetch=4)" in init
    install_bounded_jitter()
    video = aiortc.rtcrtpreceiver.JitterBuffer(capacity=512, is_video=True)
    audio = aiortc.rtcrtpreceiver.JitterBuffer(capacity=16, prefetch=4)
    assert isinstance(video, BoundedWaitJitterBuffer)
    assert type(audio) is JitterBuffer
    peer = inspect.getsource(aiortc.rtcpeerconnection.RTCPeerConnection)
    assert "receiver=RTCRtpReceiver(kind, dtlsTransport)" in peer
    assert aiortc.rtcpeerconnection.RTCRtpReceiver is VideoReceiver


def test_seam9_jitter_buffer_shape() -> None:
    buffer = JitterBuffer(capacity=16, is_video=True)
    for name in ("_origin", "_packets", "_capacity", "_remove_frame", "remove"):
        assert hasattr(buffer, name), name
    assert list(inspect.signature(JitterBuffer.add).parameters) == ["self", "packet"]


def test_aiortc_alone_stalls_on_a_lost_packet() -> None:
    """Why the seam exists: one lost packet and no frame comes out for 500 packets."""
    buffer = JitterBuffer(capacity=512, is_video=True)
    frames = [buffer.add(packet(seq, seq // 2 * 3000))[1] for seq in range(0, 500) if seq != 10]
    assert sum(f is not None for f in frames) == 4  # the frames before the loss only


def test_bounded_buffer_gives_up_after_max_wait_and_asks_for_a_keyframe(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    now = [100.0]
    monkeypatch.setattr(video_jitter.time, "monotonic", lambda: now[0])
    buffer = BoundedWaitJitterBuffer(capacity=512)
    out: list[tuple[bool, int | None]] = []
    for seq in range(0, 60):
        if seq == 10:  # the first packet of frame 5 (timestamps 5 * 3000) is lost for good
            continue
        now[0] += 0.02  # ~50 packets a second
        pli, frame = buffer.add(packet(seq, seq // 2 * 3000))
        out.append((pli, frame.timestamp if frame is not None else None))
    timestamps = [t for _, t in out if t is not None]
    assert 5 * 3000 not in timestamps, "the broken frame is never handed to the decoder"
    assert timestamps[:5] == [0, 3000, 6000, 9000, 12000]
    assert 6 * 3000 in timestamps and timestamps == sorted(timestamps)
    assert buffer.skipped_frames == 1
    assert sum(pli for pli, _ in out) == 1, "one keyframe request per gap given up on"
    given_up_at = next(i for i, (pli, _) in enumerate(out) if pli)
    assert 0.2 <= (given_up_at - 9) * 0.02 <= video_jitter.MAX_WAIT_S + 0.05


def test_a_late_retransmission_fills_the_gap_in_time() -> None:
    buffer = BoundedWaitJitterBuffer(capacity=512)
    emitted = []
    for seq in [0, 1, 2, 4, 5, 3, 6, 7]:  # 3 arrives late (NACK/RTX), within MAX_WAIT_S
        pli, frame = buffer.add(packet(seq, seq // 2 * 3000))
        assert not pli
        if frame is not None:
            emitted.append(frame.timestamp)
    assert emitted == [0, 3000, 6000, 9000]  # each as soon as its marker packet is in
    assert buffer.skipped_frames == 0


def test_a_frame_goes_out_as_soon_as_its_marker_packet_is_in() -> None:
    """aiortc waits for the next frame's first packet (a frame interval: ~100 ms at the
    10 fps Chromium sends under loss); the marker bit says the frame is complete."""
    stock, bounded = JitterBuffer(capacity=512, is_video=True), BoundedWaitJitterBuffer(512)
    for seq in (0, 1):
        assert stock.add(packet(seq, 0))[1] is None
        last = bounded.add(packet(seq, 0))[1]
    assert last is not None and last.data == bytes([0, 1])


class Clock:
    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.now = 100.0
        monkeypatch.setattr(video_jitter.time, "monotonic", lambda: self.now)


def single(seq: int, key: bool = False) -> RtpPacket:
    """A one-packet VP8 frame (descriptor S bit, then the frame tag: P bit 0 = keyframe)."""
    payload = bytes([0x10, 0x00 if key else 0x01, 0, 0])
    made = RtpPacket(96, marker=1, sequence_number=seq, timestamp=seq * 3000, ssrc=1000)
    made.payload = payload
    made._data = payload[1:]  # type: ignore[attr-defined]
    return made


def test_holes_are_timed_from_when_they_were_missed_not_from_when_they_reach_the_head(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Two frames lost close together cost one wait, not one each after the other."""
    clock = Clock(monkeypatch)
    buffer = BoundedWaitJitterBuffer(capacity=512)
    buffer.starts_frame = video_jitter.vp8_starts_frame  # as the receiver sets it for VP8
    out: dict[int, float] = {}
    for seq in range(0, 40):
        clock.now += 0.02
        if seq in (5, 8):  # lost for good (with every retransmission)
            continue
        frame = buffer.add(single(seq))[1]
        while frame is not None:
            out[frame.timestamp // 3000] = clock.now
            frame = buffer.pop_ready()
    assert 5 not in out and 8 not in out
    assert 6 in out and 9 in out, "a frame whose first packet is there is not dropped"
    assert buffer.skipped_frames == 2
    # Missed 0.06 s after frame 5: given up on 0.06 s later, not MAX_WAIT_S later.
    assert out[9] - out[7] <= 0.1, "frame 9 waited for a second, serial give-up"
    assert out[9] - out[4] < 2 * video_jitter.MAX_WAIT_S, "two waits in a row"


def test_a_missing_packet_is_nacked_again_until_it_arrives_or_is_given_up(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = Clock(monkeypatch)
    buffer = BoundedWaitJitterBuffer(capacity=512)
    for seq in (0, 1, 3):
        buffer.add(single(seq))
    assert buffer.nacks_due() == [2]
    clock.now += 0.01
    assert buffer.nacks_due() == [], "not again within NACK_EVERY_S"
    clock.now += video_jitter.NACK_EVERY_S
    assert buffer.nacks_due() == [2], "the NACK or its retransmission was lost: ask again"
    buffer.add(single(2))
    clock.now += video_jitter.NACK_EVERY_S
    assert buffer.nacks_due() == []
    # Lost for good: asked for every NACK_EVERY_S until the buffer gives up, then never.
    buffer.add(single(5))
    asks = 0
    for _ in range(round(video_jitter.MAX_WAIT_S / 0.01) + 15):
        asks += buffer.nacks_due() == [4]
        clock.now += 0.01
        buffer.expire()
    assert buffer.skipped_frames == 1
    assert 3 <= asks <= video_jitter.MAX_WAIT_S / video_jitter.NACK_EVERY_S + 1


class Receiver:
    """A VideoReceiver without network: RTCP it sends is recorded, frames it hands to the
    decoder are read from its queue."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setattr(aiortc.rtcrtpreceiver, "JitterBuffer", video_jitter._jitter_buffer)
        ice = RTCIceTransport(RTCIceGatherer())
        dtls = RTCDtlsTransport(ice, [RTCCertificate.generateCertificate()])
        self.receiver = VideoReceiver("video", dtls)
        inner: Any = self.receiver
        inner._RTCRtpReceiver__codecs.update(
            {
                96: RTCRtpCodecParameters("video/VP8", 90000, payloadType=96),
                97: RTCRtpCodecParameters(
                    "video/rtx", 90000, payloadType=97, parameters={"apt": 96}
                ),
            }
        )
        inner._RTCRtpReceiver__rtx_ssrc[2000] = 1000
        inner._RTCRtpReceiver__decoder_thread = True  # frames are queued; we read them
        self.queue = inner._RTCRtpReceiver__decoder_queue
        self.receiver._set_rtcp_ssrc(1)
        self.rtcp: list[Any] = []

        async def record(packet: Any) -> None:
            self.rtcp.append(packet)

        monkeypatch.setattr(self.receiver, "_send_rtcp", record)

    async def feed(self, packet: RtpPacket) -> None:
        await self.receiver._handle_rtp_packet(packet, arrival_time_ms=0)

    def decoded(self) -> list[bytes]:
        """What went to the decoder, whatever its playout time (tests/rtc/test_playout.py)."""
        frames = [item[1].data for _, item in self.queue.queue]
        self.queue.queue.clear()
        return frames

    def nacks(self) -> list[list[int]]:
        return [p.lost for p in self.rtcp if isinstance(p, RtcpRtpfbPacket)]

    def plis(self) -> int:
        return sum(isinstance(p, RtcpPsfbPacket) and p.fmt == RTCP_PSFB_PLI for p in self.rtcp)


async def test_receiver_nacks_again_and_decodes_the_frame_an_rtx_retransmission_completes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = Clock(monkeypatch)
    end = Receiver(monkeypatch)
    for seq in (0, 1, 2, 4):  # 3 lost
        clock.now += 0.02
        await end.feed(single(seq, key=seq == 0))
    assert end.nacks() == [[3]] and len(end.decoded()) == 3
    clock.now += video_jitter.NACK_EVERY_S
    await end.receiver._service()  # what its timer runs
    assert end.nacks() == [[3], [3]], "the first NACK (or its retransmission) was lost"
    lost = single(3)
    await end.feed(wrap_rtx(lost, payload_type=97, sequence_number=500, ssrc=2000))
    assert end.decoded() == [lost._data, single(4)._data]  # type: ignore[attr-defined]
    clock.now += 1.0
    await end.receiver._service()
    assert len(end.nacks()) == 2 and end.plis() == 0


async def test_receiver_repeats_an_unanswered_keyframe_request_a_bounded_number_of_times(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = Clock(monkeypatch)
    end = Receiver(monkeypatch)
    for seq in (0, 1, 3, 4):  # 2 lost for good
        clock.now += 0.02
        await end.feed(single(seq, key=seq == 0))
    clock.now += video_jitter.MAX_WAIT_S
    await end.receiver._service()
    assert end.plis() == 1, "frame 2 given up on: its successors need a keyframe"
    clock.now += video_jitter.KEYFRAME_EVERY_S / 2
    await end.receiver._service()
    assert end.plis() == 1, "Chromium ignores a repeat within 300 ms anyway"
    for _ in range(20):  # every request lost: asked again, but not forever
        clock.now += video_jitter.KEYFRAME_EVERY_S
        await end.receiver._service()
    assert end.plis() == video_jitter.KEYFRAME_ASKS


async def test_a_keyframe_answers_the_request(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = Clock(monkeypatch)
    end = Receiver(monkeypatch)
    for seq in (0, 1, 3):
        clock.now += 0.02
        await end.feed(single(seq, key=seq == 0))
    clock.now += video_jitter.MAX_WAIT_S
    await end.receiver._service()
    assert end.plis() == 1
    await end.feed(single(4, key=True))
    for _ in range(4):
        clock.now += video_jitter.KEYFRAME_EVERY_S
        await end.receiver._service()
    assert end.plis() == 1


async def test_a_complete_keyframe_behind_a_hole_is_decoded_at_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Chromium under 30 % loss sent keyframes of its own while a packet was missing: held
    behind the hole, the picture stalled for the whole wait (docs/networks.md)."""
    clock = Clock(monkeypatch)
    end = Receiver(monkeypatch)
    for seq in (0, 1, 3, 4):  # 2 lost for good; 3 and 4 refer to it
        clock.now += 0.02
        await end.feed(single(seq, key=seq == 0))
    assert len(end.decoded()) == 2 and end.nacks()[-1] == [2]
    clock.now += 0.01
    await end.feed(single(5, key=True))
    assert end.decoded() == [single(5, key=True)._data]  # type: ignore[attr-defined]
    asked = len(end.nacks())
    clock.now += video_jitter.NACK_EVERY_S
    await end.receiver._service()
    assert len(end.nacks()) == asked, "a packet before the keyframe is no longer asked for"
    await end.feed(single(6))
    assert len(end.decoded()) == 1
    clock.now += video_jitter.MAX_WAIT_S
    await end.receiver._service()
    assert end.plis() == 0, "nothing was given up on that the keyframe did not replace"


def keyframe_part(seq: int, timestamp: int, first: bool, last: bool) -> RtpPacket:
    """One packet of a VP8 keyframe spread over several."""
    payload = bytes([0x10 if first else 0x00, 0x00, 0, 0])
    made = RtpPacket(96, marker=int(last), sequence_number=seq, timestamp=timestamp, ssrc=1000)
    made.payload = payload
    made._data = payload[1:]  # type: ignore[attr-defined]
    return made


def test_an_incomplete_keyframe_behind_a_hole_is_waited_for() -> None:
    buffer = BoundedWaitJitterBuffer(capacity=512)
    buffer.starts_frame = video_jitter.vp8_starts_frame
    buffer.starts_keyframe = video_jitter.vp8_starts_keyframe
    for seq in (0, 1, 3):  # 2 missing
        buffer.add(single(seq))
    buffer.pop_ready()
    assert buffer.add(keyframe_part(4, 12000, first=True, last=False))[1] is None
    assert buffer.add(keyframe_part(6, 12000, first=False, last=True))[1] is None, "5 missing"
    frame = buffer.add(keyframe_part(5, 12000, first=False, last=False))[1]
    assert frame is not None and frame.timestamp == 12000
    assert buffer.pop_ready() is None and buffer.skipped_frames == 1
    assert 2 not in buffer.nacks_due()
