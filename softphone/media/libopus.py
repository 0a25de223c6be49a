"""The system libopus decoder through ctypes: Opus's own loss concealment and FEC recovery.

FFmpeg's libopus wrapper (what PyAV and aiortc decode with) only ever decodes the packet it
is given: a lost packet is simply missing audio. libopus itself can do better, and that is
the whole reason to call it directly:

- ``decode(None, n)``: packet-loss concealment (PLC), n samples extrapolated from the
  speech so far, fading out over a longer gap;
- ``decode(next_packet, n, fec=True)``: the *previous* frame rebuilt from the in-band FEC
  (LBRR) copy carried in the next packet (what our encoder sends, see
  softphone/rtc/aiortc_compat/opus.py); without FEC data libopus falls back to PLC.

Debian: ``libopus0`` (a Depends of the .deb). :func:`load` returns None where it is
missing, and the caller keeps FFmpeg's decoder.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools

SAMPLE_RATE = 48_000
MAX_FRAME_SAMPLES = SAMPLE_RATE * 120 // 1000  # the longest Opus frame: 120 ms
PLC_STEP = SAMPLE_RATE * 20 // 1000  # concealment is asked for in 20 ms steps
MAX_PACKET_BYTES = 1500  # one RTP payload


class OpusError(ValueError):
    """A packet libopus rejects (corrupt, or not Opus): the caller drops it."""


@functools.cache
def load() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("opus")
    try:
        lib = ctypes.CDLL(name or "libopus.so.0")
    except OSError:
        return None
    lib.opus_decoder_create.restype = ctypes.c_void_p
    lib.opus_decoder_create.argtypes = [ctypes.c_int32, ctypes.c_int, ctypes.POINTER(ctypes.c_int)]
    lib.opus_decoder_destroy.argtypes = [ctypes.c_void_p]
    lib.opus_decode.restype = ctypes.c_int
    lib.opus_decode.argtypes = [
        ctypes.c_void_p,
        ctypes.c_char_p,
        ctypes.c_int32,
        ctypes.POINTER(ctypes.c_int16),
        ctypes.c_int,
        ctypes.c_int,
    ]
    lib.opus_packet_get_nb_samples.restype = ctypes.c_int
    lib.opus_packet_get_nb_samples.argtypes = [ctypes.c_char_p, ctypes.c_int32, ctypes.c_int32]
    return lib


class Decoder:
    """One mono 48 kHz libopus decoder (not thread-safe: one per stream, one thread)."""

    def __init__(self, lib: ctypes.CDLL) -> None:
        self._lib = lib
        error = ctypes.c_int(0)
        self._state = lib.opus_decoder_create(SAMPLE_RATE, 1, ctypes.byref(error))
        if not self._state or error.value != 0:
            raise OpusError(f"opus_decoder_create failed ({error.value})")
        self._pcm = (ctypes.c_int16 * MAX_FRAME_SAMPLES)()

    def samples_in(self, packet: bytes) -> int:
        """How many samples ``packet`` holds (OpusError when it is not a valid packet)."""
        if not packet or len(packet) > MAX_PACKET_BYTES:
            raise OpusError(f"an Opus packet of {len(packet)} bytes")
        count = int(self._lib.opus_packet_get_nb_samples(packet, len(packet), SAMPLE_RATE))
        if count <= 0 or count > MAX_FRAME_SAMPLES:
            raise OpusError(f"not an Opus packet ({count})")
        return count

    def decode(self, packet: bytes | None, samples: int, fec: bool = False) -> bytes:
        """s16 mono PCM: ``packet`` decoded (or its FEC copy of the previous frame), or with
        None ``samples`` of concealment. ``samples``: a multiple of 2.5 ms, ≤ 120 ms."""
        if samples <= 0 or samples > MAX_FRAME_SAMPLES:
            raise OpusError(f"cannot decode {samples} samples")
        if packet is not None:
            self.samples_in(packet)  # bounds and validity before libopus reads it
        decoded = self._lib.opus_decode(
            self._state,
            packet,
            len(packet) if packet is not None else 0,
            self._pcm,
            samples,
            int(fec),
        )
        if decoded < 0:
            raise OpusError(f"opus_decode failed ({decoded})")
        return ctypes.string_at(self._pcm, decoded * 2)

    def __del__(self) -> None:
        state, self._state = getattr(self, "_state", None), None
        if state:
            self._lib.opus_decoder_destroy(state)
