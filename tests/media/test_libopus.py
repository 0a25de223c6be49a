"""Opus loss recovery with real packets: our voice encoder's output (in-band FEC on),
decoded by the system libopus through softphone.media.libopus and by VoiceOpusDecoder."""

from __future__ import annotations

import math
from array import array

import pytest
from aiortc.jitterbuffer import JitterFrame

from softphone.media import libopus
from softphone.media.receiver import CONCEALED, RECOVERED
from softphone.media.tone import SAMPLES_PER_FRAME
from softphone.rtc.aiortc_compat.opus import (
    MAX_CONCEALED_MS,
    VoiceOpusDecoder,
    voice_codec,
)
from tests.rtc.test_compat_opus import speech_like_frames

START = 4_000_000_000  # near the 32-bit wrap: timestamps cross it in the tests


@pytest.fixture(scope="module")
def packets() -> list[bytes]:
    """1.2 s of a gliding tone as the call's encoder sends it (20 ms packets, FEC on)."""
    assert libopus.load() is not None, "needs the system libopus (Debian: libopus0)"
    codec = voice_codec()
    return [bytes(p) for frame in speech_like_frames(60) for p in codec.encode(frame)]


def pcm_of(data: bytes) -> array[int]:
    return array("h", data)


def snr_db(reference: array[int], decoded: array[int]) -> float:
    signal = sum(x * x for x in reference)
    noise = sum((x - y) ** 2 for x, y in zip(reference, decoded, strict=True)) or 1
    return 10 * math.log10(signal / noise)


def test_fec_rebuilds_a_lost_packet_far_better_than_concealment(packets: list[bytes]) -> None:
    lib = libopus.load()
    assert lib is not None
    clean = libopus.Decoder(lib)
    reference = [pcm_of(clean.decode(p, SAMPLES_PER_FRAME)) for p in packets]
    for lost in (20, 31, 42):
        results = {}
        for mode in ("plc", "fec"):
            decoder = libopus.Decoder(lib)
            for packet in packets[:lost]:
                decoder.decode(packet, SAMPLES_PER_FRAME)
            after = packets[lost + 1] if mode == "fec" else None
            rebuilt = pcm_of(decoder.decode(after, SAMPLES_PER_FRAME, fec=mode == "fec"))
            assert len(rebuilt) == SAMPLES_PER_FRAME
            results[mode] = snr_db(reference[lost], rebuilt)
        assert results["fec"] > 20, results  # the FEC copy is close to the lost frame
        assert results["fec"] > results["plc"] + 15, results


def decode_with_losses(packets: list[bytes], lost: set[int]) -> tuple[VoiceOpusDecoder, list]:
    decoder = VoiceOpusDecoder()
    frames = []
    for index, packet in enumerate(packets):
        if index not in lost:
            timestamp = (START + index * SAMPLES_PER_FRAME) % (1 << 32)
            frames += decoder.decode(JitterFrame(data=packet, timestamp=timestamp))
    return decoder, frames


def test_gaps_are_filled_so_the_output_is_continuous(packets: list[bytes]) -> None:
    lost = {10, 20, 21, 22, 40}  # a single loss, a burst of three, another single
    _, frames = decode_with_losses(packets, lost)
    assert sum(f.samples for f in frames) == len(packets) * SAMPLES_PER_FRAME
    at = START
    for frame in frames:  # each piece starts where the previous one ended, across the wrap
        assert frame.pts == at % (1 << 32) and frame.layout.name == "mono"
        at += frame.samples
    # One FEC frame per gap (the frame before the packet that arrived), PLC for the rest.
    origins = [f.opaque for f in frames]
    assert origins.count(RECOVERED) == 3 and origins.count(CONCEALED) == 2
    assert all(f.samples == SAMPLES_PER_FRAME for f in frames if f.opaque)


def test_fec_recovery_keeps_the_signal(packets: list[bytes]) -> None:
    """The decoded call with 10 % loss stays close to the lossless one."""
    lost = set(range(5, 60, 10))
    _, clean_frames = decode_with_losses(packets, set())
    _, lossy_frames = decode_with_losses(packets, lost)
    clean = array("h", b"".join(bytes(f.planes[0])[: f.samples * 2] for f in clean_frames))
    lossy = array("h", b"".join(bytes(f.planes[0])[: f.samples * 2] for f in lossy_frames))
    assert snr_db(clean, lossy) > 20


def test_an_outage_is_not_concealed_and_bad_packets_never_raise(packets: list[bytes]) -> None:
    decoder = VoiceOpusDecoder()
    assert decoder.decode(JitterFrame(data=packets[0], timestamp=0))
    outage = (MAX_CONCEALED_MS + 20) * 48
    after = decoder.decode(JitterFrame(data=packets[1], timestamp=SAMPLES_PER_FRAME + outage))
    assert [f.samples for f in after] == [SAMPLES_PER_FRAME]  # just the packet
    for garbage in (b"", b"\xff" * 3, bytes(2000)):
        assert decoder.decode(JitterFrame(data=garbage, timestamp=10**6)) == []
    assert decoder.rejected == 3
