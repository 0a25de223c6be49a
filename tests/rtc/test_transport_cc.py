"""Seam 10 (softphone.rtc.aiortc_compat.transport_cc): transport-cc feedback for the video
we receive, decoded back here per draft-holmer-rmcat-transport-wide-cc-extensions-01 3.1."""

from __future__ import annotations

import asyncio
import struct
from dataclasses import dataclass

import aiortc.codecs
import pytest
from aiortc import RTCPeerConnection

from softphone.rtc.aiortc_compat import check, transport_cc
from softphone.rtc.aiortc_compat.transport_cc import (
    TRANSPORT_CC_URI,
    TransportFeedback,
    build_feedback,
    install_transport_cc,
)
from tests.rtc.test_video_jitter import Receiver, single


@dataclass
class Feedback:
    sender_ssrc: int
    media_ssrc: int
    base_seq: int
    count: int
    arrivals_us: list[int | None]  # per sequence number from base_seq, None: not received
    padded: bool


def decode(packet: bytes) -> Feedback:
    """The receiving end's reading of one packet, written from the draft, not the encoder."""
    first, packet_type, length = struct.unpack("!BBH", packet[:4])
    assert first >> 6 == 2 and first & 0x1F == 15 and packet_type == 205
    assert len(packet) == (length + 1) * 4
    end = len(packet)
    padded = bool(first & 0x20)
    if padded:
        assert 1 <= packet[-1] <= 3 and not any(packet[end - packet[-1] : end - 1])
        end -= packet[-1]
    sender, media, base, status_count, word = struct.unpack("!IIHHI", packet[4:20])
    reference = word >> 8
    if reference & 0x800000:
        reference -= 1 << 24  # 24-bit signed, in 64 ms
    symbols: list[int] = []
    pos = 20
    while len(symbols) < status_count:
        (chunk,) = struct.unpack("!H", packet[pos : pos + 2])
        pos += 2
        if not chunk & 0x8000:  # run length: symbol, 13-bit length
            symbols += [chunk >> 13 & 3] * (chunk & 0x1FFF)
        elif not chunk & 0x4000:  # status vector, 14 one-bit symbols
            symbols += [chunk >> (13 - k) & 1 for k in range(14)]
        else:  # status vector, 7 two-bit symbols
            symbols += [chunk >> (12 - 2 * k) & 3 for k in range(7)]
    time_us = reference * 64_000
    arrivals: list[int | None] = []
    for symbol in symbols[:status_count]:
        assert symbol != 3, "reserved"
        if symbol == 0:
            arrivals.append(None)
            continue
        size = 1 if symbol == 1 else 2
        (delta,) = struct.unpack("!B" if size == 1 else "!h", packet[pos : pos + size])
        pos += size
        time_us += delta * 250
        arrivals.append(time_us)
    assert pos == end, "nothing between the last delta and the padding"
    return Feedback(sender, media, base, word & 0xFF, arrivals, padded)


def ticks(arrivals_us: list[int | None]) -> list[int | None]:
    """What the feedback can carry: arrival times to 250 µs."""
    return [None if a is None else a // 250 * 250 for a in arrivals_us]


def test_received_missing_reordered_and_late_packets_decode_back() -> None:
    t = 5_000_123  # µs, any clock
    arrivals: list[int | None] = [t, t + 900, None, t + 2_000, None, None, t + 70_000]
    arrivals += [None] * 300  # a lost stretch: one run-length chunk
    arrivals += [t + 71_000, t + 69_500, t + 71_250]  # reordered: a negative delta
    arrivals += [t + 71_300 + 1000 * k if k % 3 else None for k in range(20)]  # mixed
    arrivals.append(t + 71_300 + 19_000 + 4_000_000)  # 4 s later: a large delta
    packet, covered = build_feedback(11, 22, 65_000, 7, arrivals)
    assert covered == len(arrivals)
    feedback = decode(packet)
    assert (feedback.sender_ssrc, feedback.media_ssrc, feedback.base_seq) == (11, 22, 65_000)
    assert feedback.count == 7
    assert feedback.arrivals_us == ticks(arrivals)
    assert len(packet) < 100, "the lost stretch costs one chunk, not 300 symbols"
    assert len(packet) % 4 == 0


def test_a_leading_loss_is_reported_and_the_packet_ends_on_a_received_one() -> None:
    packet, covered = build_feedback(1, 2, 10, 0, [None, None, 1_000_000, None, None])
    assert covered == 3
    assert decode(packet).arrivals_us == [None, None, 1_000_000]


def test_a_delta_beyond_16_bits_starts_a_new_packet() -> None:
    feedback = TransportFeedback()
    feedback.record(100, 1.0)
    feedback.record(101, 1.001)
    feedback.record(102, 10.0)  # 9 s: more than 32767 x 250 µs
    first, second = (decode(p) for p in feedback.packets(1, 2))
    assert (first.base_seq, first.arrivals_us) == (100, [1_000_000, 1_001_000])
    assert (second.base_seq, second.arrivals_us) == (102, [10_000_000])
    assert (first.count, second.count) == (0, 1)


def test_each_packet_is_reported_once_losses_between_feedbacks_included() -> None:
    feedback = TransportFeedback()
    feedback.record(65_534, 1.0)
    feedback.record(65_535, 1.01)
    assert [decode(p).base_seq for p in feedback.packets(1, 2)] == [65_534]
    assert feedback.packets(1, 2) == [], "nothing new: nothing sent"
    feedback.record(2, 1.05)  # across the wrap; 0 and 1 lost
    (later,) = (decode(p) for p in feedback.packets(1, 2))
    assert (later.base_seq, later.arrivals_us) == (0, [None, None, 1_050_000])
    assert later.count == 1
    feedback.record(1, 1.06)  # reported lost already
    assert feedback.packets(1, 2) == []


def test_feedback_after_an_outage_covers_a_bounded_span() -> None:
    feedback = TransportFeedback()
    feedback.record(0, 1.0)
    feedback.packets(1, 2)
    feedback.record(5_000, 9.0)  # 5000 packets lost to an outage
    (after,) = (decode(p) for p in feedback.packets(1, 2))
    assert after.arrivals_us == [9_000_000]


def test_seam10_offers_and_answers_transport_cc_for_video_only_when_compatible(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def offer() -> str:
        pc = RTCPeerConnection()
        pc.addTransceiver("audio")
        pc.addTransceiver("video")
        description = await pc.createOffer()
        await pc.close()
        return description.sdp

    install_transport_cc()
    install_transport_cc()  # idempotent
    sdp = asyncio.run(offer())
    audio, video = sdp.split("m=video")
    assert TRANSPORT_CC_URI not in audio and "transport-cc" not in audio
    assert video.count(f"a=extmap:{transport_cc.EXTENSION_ID} {TRANSPORT_CC_URI}") == 1
    assert "a=rtcp-fb:97 transport-cc" in video and "a=rtcp-fb:97 goog-remb" in video

    broken = check.Compatibility("1.16.0", "0.13.0", ("something missing",))
    monkeypatch.setattr(transport_cc, "compatibility", lambda: broken)
    install_transport_cc()
    assert "transport-cc" not in asyncio.run(offer())
    monkeypatch.undo()
    install_transport_cc()
    assert aiortc.codecs.HEADER_EXTENSIONS["video"][-1].uri == TRANSPORT_CC_URI


async def test_the_video_receiver_sends_feedback_and_stops_remb(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    end = Receiver(monkeypatch)  # on the real clock: the feedback timer is the loop's
    inner = end.receiver
    assert inner._RTCRtpReceiver__remote_bitrate_estimator is not None  # type: ignore[attr-defined]
    for seq in (0, 1, 3):  # transport-wide 2 lost
        packet = single(seq, key=seq == 0)
        packet.extensions.transport_sequence_number = 40 + seq
        await end.feed(packet)
    assert inner._RTCRtpReceiver__remote_bitrate_estimator is None  # type: ignore[attr-defined]
    await asyncio.sleep(transport_cc.FEEDBACK_EVERY_S * 2)  # its timer, on the real loop
    sent = [decode(p) for p in end.rtcp if isinstance(p, bytes)]
    assert len(sent) == 1
    assert (sent[0].sender_ssrc, sent[0].media_ssrc, sent[0].base_seq) == (1, 1000, 40)
    arrivals = sent[0].arrivals_us
    assert [a is not None for a in arrivals] == [True, True, False, True]
    await end.feed(single(4))  # no transport-wide number: nothing more to report
    await asyncio.sleep(transport_cc.FEEDBACK_EVERY_S * 2)
    assert len([p for p in end.rtcp if isinstance(p, bytes)]) == 1
