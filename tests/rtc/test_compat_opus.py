"""The voice Opus seam: aiortc's encoder internals are where the seam expects them, every
libopus option is accepted, and the encoder really sends mono voice-rate Opus."""

from __future__ import annotations

import math
from array import array

import av
from aiortc.codecs import get_decoder, get_encoder
from aiortc.codecs.opus import OpusEncoder
from aiortc.rtcrtpparameters import RTCRtpCodecParameters

from softphone.media.tone import SAMPLE_RATE, SAMPLES_PER_FRAME
from softphone.rtc.aiortc_compat import opus as opus_config
from softphone.rtc.aiortc_compat.opus import (
    VOICE_BITRATE,
    VoiceOpusDecoder,
    install_voice_opus,
    voice_codec,
)


def speech_like_frames(count: int) -> list[av.AudioFrame]:
    frames = []
    for index in range(count):
        samples = array(
            "h",
            (
                int(
                    6000 * math.sin(2 * math.pi * (220 + 60 * math.sin(n / 4000)) * n / SAMPLE_RATE)
                )
                for n in range(index * SAMPLES_PER_FRAME, (index + 1) * SAMPLES_PER_FRAME)
            ),
        )
        frame = av.AudioFrame(format="s16", layout="mono", samples=SAMPLES_PER_FRAME)
        frame.planes[0].update(samples.tobytes())
        frame.sample_rate = SAMPLE_RATE
        frame.pts = index * SAMPLES_PER_FRAME
        frames.append(frame)
    return frames


def test_aiortc_opus_internals_are_where_the_seam_expects_them() -> None:
    """If this fails, aiortc changed OpusEncoder: re-check softphone/rtc/aiortc_compat/opus.py."""
    bare = OpusEncoder.__new__(OpusEncoder)
    opus_config._original_init(bare)  # aiortc's own: the attributes the seam replaces
    assert isinstance(bare.codec, av.CodecContext) and bare.codec.layout.name == "stereo"
    assert isinstance(bare.resampler, av.AudioResampler)
    install_voice_opus()
    encoder = get_encoder(RTCRtpCodecParameters(mimeType="audio/opus", clockRate=48000, channels=2))
    assert isinstance(encoder, OpusEncoder)
    assert isinstance(encoder.codec, av.CodecContext) and encoder.codec.name == "libopus"
    assert isinstance(encoder.resampler, av.AudioResampler)
    assert encoder.codec.layout.name == "mono" and encoder.codec.bit_rate == VOICE_BITRATE


def test_libopus_accepts_every_voice_option() -> None:
    """FFmpeg leaves options it does not know in the dict: a renamed option shows up here."""
    codec = voice_codec()
    for frame in speech_like_frames(2):
        codec.encode(frame)
    assert dict(codec.options) == {}


def test_the_encoder_sends_mono_voice_rate_opus() -> None:
    install_voice_opus()
    encoder = OpusEncoder()
    payloads: list[bytes] = []
    for frame in speech_like_frames(100):  # 2 s
        packets, _timestamp = encoder.encode(frame)
        payloads += packets
    kbps = sum(len(p) for p in payloads) * 8 / 2 / 1000
    assert kbps <= VOICE_BITRATE / 1000 * 1.25  # aiortc's default sent ~3x this
    # RFC 6716 TOC byte: bit 2 is the stereo flag.
    assert payloads and all(p[0] & 0x04 == 0 for p in payloads)


def test_the_seam_makes_aiortc_decode_opus_with_libopus() -> None:
    """If this fails, aiortc.codecs.get_decoder no longer builds its decoder from the
    module's ``OpusDecoder`` name: re-check the decoder seam."""
    install_voice_opus()
    codec = RTCRtpCodecParameters(mimeType="audio/opus", clockRate=48000, channels=2)
    assert isinstance(get_decoder(codec), VoiceOpusDecoder)
