"""The frame stamp is a pure encode/decode pair; it must survive VP8 and reject non-stamps."""

from __future__ import annotations

import asyncio
import time

import av
from aiortc.codecs import get_decoder, get_encoder
from aiortc.codecs.vpx import VpxPayloadDescriptor
from aiortc.jitterbuffer import JitterFrame
from aiortc.rtcrtpparameters import RTCRtpCodecParameters
from hypothesis import given
from hypothesis import strategies as st

from softphone.media.gates import CameraGate, MicGate
from softphone.media.measure import audio_peak, mean_luma
from softphone.media.pattern import (
    PatternStamp,
    TestPatternTrack,
    decode_bits,
    encode_bits,
    paint_stamp,
    read_frame_stamp,
    read_stamp,
)
from softphone.media.tone import SAMPLES_PER_FRAME, ToneTrack

u32 = st.integers(min_value=0, max_value=2**32 - 1)


@given(u32, u32)
def test_bits_round_trip(number: int, timestamp: int) -> None:
    assert decode_bits(encode_bits(PatternStamp(number, timestamp))) == (number, timestamp)


@given(u32, u32, st.integers(min_value=0, max_value=79))
def test_a_flipped_bit_is_rejected(number: int, timestamp: int, flip: int) -> None:
    bits = encode_bits(PatternStamp(number, timestamp))
    bits[flip] ^= 1
    assert decode_bits(bits) is None


@given(u32, u32, st.sampled_from([(640, 360), (320, 240), (1280, 720)]))
def test_paint_and_read_on_a_luma_plane(number: int, timestamp: int, size: tuple[int, int]) -> None:
    width, height = size
    stride = width + 32  # padded lines, as FFmpeg allocates them
    luma = bytearray(b"\x80" * stride * height)
    paint_stamp(luma, stride, width, height, PatternStamp(number, timestamp))
    assert read_stamp(bytes(luma), stride, width, height) == (number, timestamp)


def test_plain_pictures_carry_no_stamp() -> None:
    black = bytes([16]) * 640 * 360
    assert read_stamp(black, 640, 640, 360) is None
    assert read_stamp(bytes([128]) * 640 * 360, 640, 640, 360) is None


async def test_pattern_frames_survive_vp8_at_low_bitrate() -> None:
    codec = RTCRtpCodecParameters(mimeType="video/VP8", clockRate=90_000)
    encoder, decoder = get_encoder(codec), get_decoder(codec)
    encoder.target_bitrate = 150_000
    track = TestPatternTrack()
    decoded = []
    for _ in range(15):
        frame = await track.recv()
        payloads, timestamp = encoder.encode(frame)
        data = b"".join(VpxPayloadDescriptor.parse(p)[1] for p in payloads)
        decoded += [read_frame_stamp(f) for f in decoder.decode(JitterFrame(data, timestamp))]
    assert [s.frame_number for s in decoded if s] == list(range(15))


async def test_pattern_generation_is_cheap_and_paced() -> None:
    track = TestPatternTrack(fps=30)
    started = time.perf_counter()
    cpu = time.process_time()
    for _ in range(10):
        await track.recv()
    elapsed = time.perf_counter() - started
    assert 0.25 < elapsed < 1.0  # 9 intervals of 33 ms, real-time paced
    assert (time.process_time() - cpu) / 10 < 0.01  # < 10 ms of CPU per 640x360 frame


async def test_tone_is_a_continuous_20ms_sine() -> None:
    track = ToneTrack(frequency=440, amplitude=0.5)
    frames = [await track.recv() for _ in range(3)]
    assert [f.samples for f in frames] == [SAMPLES_PER_FRAME] * 3
    assert [f.pts for f in frames] == [0, 960, 1920]
    assert all(abs((audio_peak(f) or 0) - 0.5) < 0.01 for f in frames)


async def test_gates_send_silence_and_black_but_keep_timing() -> None:
    mic, camera = MicGate(ToneTrack()), CameraGate(TestPatternTrack())
    try:
        mic.muted, camera.enabled = True, False
        audio, video = await mic.recv(), await camera.recv()
        assert audio_peak(audio) == 0.0 and mic.level == 0.0 and audio.samples == 960
        assert mean_luma(video) == 16 and read_frame_stamp(video) is None
        mic.muted, camera.enabled = False, True
        audio, video = await mic.recv(), await camera.recv()
        assert audio.pts == 960 and video.pts == 3000  # the source's clock went on
        assert (audio_peak(audio) or 0) > 0.2 and read_frame_stamp(video) is not None
    finally:
        mic.stop()
        camera.stop()
    assert mic.source is not None and mic.source.readyState == "ended"


async def test_placeholder_gates_pace_themselves() -> None:
    camera, mic = CameraGate(None, 320, 240, fps=10), MicGate(None)
    frames = [await camera.recv() for _ in range(2)]
    assert isinstance(frames[0], av.VideoFrame) and (frames[0].width, frames[0].height) == (
        320,
        240,
    )
    assert frames[1].pts - frames[0].pts == 9000
    assert audio_peak(await asyncio.wait_for(mic.recv(), 1)) == 0.0
