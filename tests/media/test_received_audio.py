"""The call's concealed-audio ratio: received audio counted by how the decoder made it."""

from __future__ import annotations

import av

from softphone.media.receiver import CONCEALED, RECOVERED, ReceivedMedia


def frame(ms: int, origin: str | None = None, rate: int = 48_000) -> av.AudioFrame:
    out = av.AudioFrame(format="s16", layout="mono", samples=rate * ms // 1000)
    for plane in out.planes:
        plane.update(bytes(plane.buffer_size))
    out.sample_rate = rate
    out.opaque = origin
    return out


def test_recovered_and_concealed_audio_are_counted_apart_from_decoded_audio() -> None:
    received = ReceivedMedia()
    for origin in (None, None, RECOVERED, None, CONCEALED, CONCEALED, RECOVERED, None):
        received.count_audio(frame(20, origin))
    received.count_audio(frame(10, CONCEALED))  # a shorter piece of concealment
    assert received.frames == 9
    assert received.audio_ms == 170
    assert received.recovered_ms == 40
    assert received.concealed_ms == 50


def test_frames_from_other_decoders_count_as_decoded_at_their_own_rate() -> None:
    received = ReceivedMedia()
    received.count_audio(frame(20, rate=16_000))  # aiortc's own decoder: no tag
    received.count_audio(frame(20, "something else"))
    assert received.audio_ms == 40
    assert received.recovered_ms == received.concealed_ms == 0
