"""A microphone that speaks a recorded file: the visitor's voice in benches and demos.

``--microphone file:speech.wav`` sends the file once, paced like a device (20 ms frames at
48 kHz mono, what Opus gets from a real microphone), then silence. Its start is logged with
the wall-clock time of the first sample, so a listener can measure mouth-to-ear delay.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import av
from aiortc import MediaStreamTrack

from softphone.media.clock import FramePacer
from softphone.media.tone import PTIME, SAMPLE_RATE, SAMPLES_PER_FRAME

log = logging.getLogger(__name__)

FILE_PREFIX = "file:"
MAX_FILE_SECONDS = 600  # a microphone file is speech, not an album: bounded memory


def read_pcm(path: Path) -> bytes:
    """The whole file as s16 mono 48 kHz; ValueError when it is not audio or too long."""
    resampler = av.AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)
    pcm = bytearray()
    limit = MAX_FILE_SECONDS * SAMPLE_RATE * 2
    try:
        with av.open(str(path)) as container:
            if not container.streams.audio:
                raise ValueError(f"{path} has no audio stream")
            for frame in container.decode(audio=0):
                for out in resampler.resample(frame):
                    pcm += bytes(out.planes[0])[: out.samples * 2]
                if len(pcm) > limit:
                    raise ValueError(f"{path} is longer than {MAX_FILE_SECONDS} s")
            for out in resampler.resample(None):
                pcm += bytes(out.planes[0])[: out.samples * 2]
    except av.FFmpegError as exc:
        raise ValueError(f"cannot read {path}: {exc}") from exc
    return bytes(pcm)


class FileMicTrack(MediaStreamTrack):
    kind = "audio"

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path
        self._pcm = read_pcm(path)
        self._pacer = FramePacer(SAMPLE_RATE, 1 / PTIME)
        self._offset = 0

    async def recv(self) -> av.AudioFrame:
        pts = await self._pacer.next_pts()
        step = SAMPLES_PER_FRAME * 2
        if self._offset == 0:
            # A device hands over a frame once it is captured: its first sample was
            # spoken one frame earlier.
            spoken = time.time() - PTIME
            log.info("media.file_mic_started", extra={"path": str(self.path), "at": spoken})
        chunk = self._pcm[self._offset : self._offset + step]
        self._offset += step
        frame = av.AudioFrame(format="s16", layout="mono", samples=SAMPLES_PER_FRAME)
        frame.planes[0].update(chunk.ljust(step, b"\0"))
        frame.sample_rate = SAMPLE_RATE
        frame.pts = pts
        frame.time_base = self._pacer.time_base
        return frame
