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
  one, which a receiver that asks for it (Chromium, the visitor's browser; our
  :class:`VoiceOpusDecoder`) uses to rebuild a single lost packet.

DTX is not used: FFmpeg's libopus wrapper does not expose it (``dtx`` stays unconsumed).

Decoding: aiortc decodes with FFmpeg's libopus wrapper, which knows nothing of lost
packets. :class:`VoiceOpusDecoder` decodes with the system libopus
(:mod:`softphone.media.libopus`): a gap in the RTP timestamps is filled with the FEC copy
of the frame just before the packet that arrived, and Opus's own concealment before that.
Gaps longer than ``MAX_CONCEALED_MS`` are an outage, left to the jitter buffer.

THE SEAMS: :func:`install_voice_opus` wraps ``OpusEncoder.__init__`` and replaces the
``codec`` and ``resampler`` attributes it creates, and replaces the ``OpusDecoder`` name
that ``aiortc.codecs.get_decoder`` builds decoders from. ``tests/rtc/test_compat_opus.py``
fails loudly when those internals (or the libopus option names) change.
"""

from __future__ import annotations

import fractions
import functools
import logging
from typing import Any

import aiortc.codecs
import aiortc.codecs.opus as aiortc_opus
from aiortc.codecs.base import Decoder
from aiortc.jitterbuffer import JitterFrame
from av import AudioFrame, AudioResampler, CodecContext

from softphone.media import libopus
from softphone.media.receiver import CONCEALED, RECOVERED
from softphone.rtc.aiortc_compat.check import compatibility

log = logging.getLogger(__name__)

VOICE_BITRATE = 48_000
EXPECTED_LOSS_PERCENT = 10  # libopus's packet-loss hint: how much redundancy FEC carries
VOICE_OPTIONS = {
    "application": "voip",  # speech-tuned (SILK/hybrid), which is where FEC lives
    "fec": "1",
    "packet_loss": str(EXPECTED_LOSS_PERCENT),
}

_original_init = aiortc_opus.OpusEncoder.__init__
MAX_CONCEALED_MS = 120  # a longer gap is an outage: the jitter buffer stops concealing too
TIMESTAMP_SPACE = 1 << 32


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


class VoiceOpusDecoder(Decoder):
    """Mono Opus decoding that fills gaps: FEC for the frame before a packet, PLC before that.

    Runs on aiortc's decoder thread; never raises (that would end the thread): a packet
    libopus rejects is dropped and counted, and its gap concealed with the next one.
    Recovered and concealed frames are tagged (``frame.opaque``), so the call's stats count
    them on the event loop (:class:`softphone.media.receiver.ReceivedMedia`)."""

    def __init__(self) -> None:
        lib = libopus.load()
        if lib is None:
            raise RuntimeError("libopus is not installed")  # install_voice_opus checked
        self._opus = libopus.Decoder(lib)
        self._next: int | None = None  # the RTP timestamp the next packet should have
        self.rejected = 0

    def decode(self, encoded_frame: JitterFrame) -> list[Any]:
        data, timestamp = encoded_frame.data, encoded_frame.timestamp
        try:
            samples = self._opus.samples_in(data)
            frames = self._fill_gap(data, timestamp, samples)
            frames.append(_frame(self._opus.decode(data, samples), timestamp))
        except libopus.OpusError as exc:
            self.rejected += 1
            log.debug("rtc.opus_rejected", extra={"error": str(exc)})
            return []
        self._next = (timestamp + samples) % TIMESTAMP_SPACE
        return frames

    def _fill_gap(self, data: bytes, timestamp: int, samples: int) -> list[AudioFrame]:
        if self._next is None:
            return []
        missing = (timestamp - self._next) % TIMESTAMP_SPACE
        missing -= missing % (libopus.SAMPLE_RATE // 400)  # libopus works in 2.5 ms steps
        if not 0 < missing <= MAX_CONCEALED_MS * libopus.SAMPLE_RATE // 1000:
            return []  # in order, a reordered straggler, or an outage
        frames, at = [], self._next
        fec = samples if missing >= samples else 0  # the next packet's FEC: the last frame
        while missing - fec > 0:
            step = min(libopus.PLC_STEP, missing - fec)
            frames.append(_frame(self._opus.decode(None, step), at, CONCEALED))
            at, missing = at + step, missing - step
        if fec:
            frames.append(_frame(self._opus.decode(data, fec, fec=True), at, RECOVERED))
        return frames


def _frame(pcm: bytes, timestamp: int, origin: str | None = None) -> AudioFrame:
    frame = AudioFrame(format="s16", layout="mono", samples=len(pcm) // 2)
    frame.opaque = origin
    frame.planes[0].update(pcm)
    frame.sample_rate = libopus.SAMPLE_RATE
    frame.pts = timestamp % TIMESTAMP_SPACE
    frame.time_base = aiortc_opus.TIME_BASE
    return frame


def install_voice_opus() -> None:
    """Every Opus encoder aiortc creates from now on is the voice one, and every decoder the
    FEC/PLC one where libopus is installed (idempotent); aiortc's own stay when the
    compatibility check found its internals changed."""
    if not compatibility().ok:
        aiortc_opus.OpusEncoder.__init__ = _original_init  # type: ignore[method-assign]
        aiortc.codecs.OpusDecoder = aiortc_opus.OpusDecoder  # type: ignore[misc]
        return
    aiortc_opus.OpusEncoder.__init__ = _voice_init  # type: ignore[method-assign]
    if libopus.load() is not None:
        aiortc.codecs.OpusDecoder = VoiceOpusDecoder  # type: ignore[assignment,misc]
