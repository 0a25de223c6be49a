"""Opus configured for a voice call, through a marked seam into aiortc's Opus encoder.

aiortc 1.16.0 (pinned in pyproject.toml) hard-codes its encoder in
``aiortc.codecs.opus.OpusEncoder.__init__``: 96 kbit/s stereo, libopus ``application=voip``
and nothing else, so a lost packet is simply gone. A voice call wants:

- mono: one microphone; the SDP still says ``opus/48000/2`` (RFC 7587 always does) and
  every decoder plays mono Opus;
- ``VOICE_BITRATE`` (48 kbit/s): with FEC taking its share, codec-only PESQ-WB of the
  bench's speech is 4.20 (32 kbit/s: 3.80; aiortc's 96 kbit/s stereo: 4.54 at ~136 kbit/s
  on the wire), at a third of the bandwidth, which leaves room for video on a poor uplink;
- in-band FEC with a packet-loss hint: each packet carries a low-rate copy of the previous
  one, which a receiver that asks for it (Chromium, the visitor's browser) uses to rebuild a
  single lost packet. PyAV/FFmpeg's libopus decoder does not, so the agent's side conceals
  gaps in :mod:`softphone.media.jitter_buffer` instead.

DTX is not used: FFmpeg's libopus wrapper does not expose it (``dtx`` stays unconsumed).

THE SEAM: :func:`install_voice_opus` wraps ``OpusEncoder.__init__`` and replaces the
``codec`` and ``resampler`` attributes it creates. ``tests/rtc/test_compat_opus.py``
fails loudly when those internals (or the libopus option names) change.
"""

from __future__ import annotations

import fractions
import functools
from typing import Any

import aiortc.codecs.opus as aiortc_opus
from av import AudioResampler, CodecContext

from softphone.rtc.aiortc_compat.check import compatibility

VOICE_BITRATE = 48_000
EXPECTED_LOSS_PERCENT = 10  # libopus's packet-loss hint: how much redundancy FEC carries
VOICE_OPTIONS = {
    "application": "voip",  # speech-tuned (SILK/hybrid), which is where FEC lives
    "fec": "1",
    "packet_loss": str(EXPECTED_LOSS_PERCENT),
}

_original_init = aiortc_opus.OpusEncoder.__init__


def voice_codec() -> CodecContext:
    """A libopus encoder context for one mono voice stream (opened on the first frame)."""
    codec = CodecContext.create("libopus", "w")
    codec.bit_rate = VOICE_BITRATE
    codec.format = "s16"
    codec.layout = "mono"
    codec.sample_rate = aiortc_opus.SAMPLE_RATE
    codec.time_base = fractions.Fraction(1, aiortc_opus.SAMPLE_RATE)
    codec.options = dict(VOICE_OPTIONS)
    return codec


@functools.wraps(_original_init)  # inspect.getsource still shows aiortc's
def _voice_init(self: Any) -> None:
    _original_init(self)
    self.codec = voice_codec()
    self.resampler = AudioResampler(
        format="s16",
        layout="mono",
        rate=aiortc_opus.SAMPLE_RATE,
        frame_size=aiortc_opus.SAMPLES_PER_FRAME,
    )


def install_voice_opus() -> None:
    """Every Opus encoder aiortc creates from now on is the voice one (idempotent); aiortc's
    own stays when the compatibility check found its internals changed."""
    if not compatibility().ok:
        aiortc_opus.OpusEncoder.__init__ = _original_init  # type: ignore[method-assign]
        return
    aiortc_opus.OpusEncoder.__init__ = _voice_init  # type: ignore[method-assign]
