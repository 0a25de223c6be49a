"""A virtual microphone: a continuous sine tone, as Opus would get it from a device."""

from __future__ import annotations

import math
from array import array

import av
from aiortc import MediaStreamTrack

from softphone.media.clock import FramePacer

SAMPLE_RATE = 48_000
PTIME = 0.020
SAMPLES_PER_FRAME = int(SAMPLE_RATE * PTIME)


def tone_frames(frequency: int, amplitude: float) -> list[bytes]:
    """One second of s16 mono tone cut into 20 ms frames; an integer ``frequency`` loops
    seamlessly after one second, so frames are precomputed and recv() only copies."""
    samples = array(
        "h",
        (
            round(amplitude * 32767 * math.sin(2 * math.pi * frequency * n / SAMPLE_RATE))
            for n in range(SAMPLE_RATE)
        ),
    )
    data = samples.tobytes()
    step = SAMPLES_PER_FRAME * 2
    return [data[i : i + step] for i in range(0, len(data), step)]


class ToneTrack(MediaStreamTrack):
    kind = "audio"

    def __init__(self, frequency: int = 440, amplitude: float = 0.3) -> None:
        super().__init__()
        self._frames = tone_frames(frequency, amplitude)
        self._pacer = FramePacer(SAMPLE_RATE, 1 / PTIME)
        self._index = 0

    async def recv(self) -> av.AudioFrame:
        pts = await self._pacer.next_pts()
        frame = av.AudioFrame(format="s16", layout="mono", samples=SAMPLES_PER_FRAME)
        frame.planes[0].update(self._frames[self._index % len(self._frames)])
        frame.sample_rate = SAMPLE_RATE
        frame.pts = pts
        frame.time_base = self._pacer.time_base
        self._index += 1
        return frame
