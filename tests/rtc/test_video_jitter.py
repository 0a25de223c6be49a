"""Seam 9 (softphone.rtc.aiortc_compat.video_jitter): a lost video packet costs ~0.25 s.

The first tests fail loudly when the aiortc internals the seam relies on change.
"""

from __future__ import annotations

import inspect

import aiortc.rtcrtpreceiver
import pytest
from aiortc.jitterbuffer import JitterBuffer
from aiortc.rtp import RtpPacket

from softphone.rtc.aiortc_compat import video_jitter
from softphone.rtc.aiortc_compat.video_jitter import BoundedWaitJitterBuffer, install_bounded_jitter


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
    assert emitted == [0, 3000, 6000]
    assert buffer.skipped_frames == 0
