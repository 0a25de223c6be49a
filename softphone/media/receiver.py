"""Consumes remote tracks: counts what arrives and hands frames on to renderers.

aiortc queues decoded frames without bound until someone calls ``recv()``, so every
remote track must be drained even when no window shows it. The monitor drains it,
measures (test-pattern numbers, luma, audio level) and copies each frame into
:class:`FrameTap` tracks that a UI may read or ignore.
"""

from __future__ import annotations

import asyncio
import collections
import logging
from dataclasses import dataclass

import av
from aiortc import MediaStreamTrack
from aiortc.mediastreams import MediaStreamError

from softphone.media.measure import audio_peak, mean_luma
from softphone.media.pattern import now_ms, read_frame_stamp

log = logging.getLogger(__name__)

Frame = av.VideoFrame | av.AudioFrame

# How a decoder made an audio frame, in ``frame.opaque`` (None: decoded from its packet).
# The tag travels with the frame from the decoder thread to the event loop, where it is
# counted: nothing is shared between threads.
RECOVERED = "recovered"  # rebuilt from the next packet's in-band FEC copy
CONCEALED = "concealed"  # extrapolated by the decoder's packet-loss concealment


@dataclass
class ReceivedMedia:
    frames: int = 0
    stamped_frames: int = 0  # video frames carrying a readable test-pattern stamp
    last_frame_number: int | None = None
    missing_frames: int = 0  # numbers skipped between stamped frames
    max_gap: int = 0  # largest run of skipped numbers
    latency_ms: float | None = None  # capture stamp → decoded, same-machine clocks
    luma: float | None = None  # mean luma of the last video frame (16 = black)
    level: float | None = None  # peak of the last audio frame, 0..1
    audio_ms: float = 0.0  # all audio the decoder produced, recovered and concealed included
    recovered_ms: float = 0.0
    concealed_ms: float = 0.0

    def count_video(self, frame: av.VideoFrame) -> None:
        self.frames += 1
        self.luma = mean_luma(frame)
        stamp = read_frame_stamp(frame)
        if stamp is None:
            return
        self.stamped_frames += 1
        self.latency_ms = float((now_ms() - stamp.timestamp_ms) & 0xFFFFFFFF)
        last = self.last_frame_number
        if last is not None and stamp.frame_number > last + 1:
            gap = stamp.frame_number - last - 1
            self.missing_frames += gap
            self.max_gap = max(self.max_gap, gap)
        if last is None or stamp.frame_number > last:
            self.last_frame_number = stamp.frame_number

    def count_audio(self, frame: av.AudioFrame) -> None:
        self.frames += 1
        self.level = audio_peak(frame)
        ms = frame.samples * 1000 / frame.sample_rate if frame.sample_rate else 0.0
        self.audio_ms += ms
        if frame.opaque == RECOVERED:
            self.recovered_ms += ms
        elif frame.opaque == CONCEALED:
            self.concealed_ms += ms


class FrameTap(MediaStreamTrack):
    """A read-only copy of a remote track that keeps only the newest ``depth`` frames,
    so a slow or absent reader never grows memory or delays the call."""

    def __init__(self, kind: str, depth: int) -> None:
        super().__init__()
        self.kind = kind
        self._frames: collections.deque[Frame] = collections.deque(maxlen=depth)
        self._ready = asyncio.Event()

    def push(self, frame: Frame) -> None:
        self._frames.append(frame)
        self._ready.set()

    async def recv(self) -> Frame:
        while not self._frames:
            if self.readyState != "live":
                raise MediaStreamError
            self._ready.clear()
            await self._ready.wait()
        return self._frames.popleft()

    def stop(self) -> None:
        super().stop()
        self._ready.set()


class TrackMonitor:
    def __init__(self, track: MediaStreamTrack) -> None:
        self.kind = track.kind
        self.received = ReceivedMedia()
        self.tap = FrameTap(track.kind, depth=1 if track.kind == "video" else 10)
        self._track = track
        self._task = asyncio.create_task(self._drain(), name=f"monitor-{track.kind}")

    async def _drain(self) -> None:
        try:
            while True:
                frame = await self._track.recv()
                if isinstance(frame, av.VideoFrame):
                    self.received.count_video(frame)
                elif isinstance(frame, av.AudioFrame):
                    self.received.count_audio(frame)
                else:
                    continue
                self.tap.push(frame)
        except MediaStreamError:
            log.debug("media.remote_track_ended", extra={"kind": self.kind})
        finally:
            self.tap.stop()

    async def close(self) -> None:
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)
