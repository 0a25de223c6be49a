"""Mute, camera-off and hold: the sender keeps sending (silence / black / the hold tone and
picture of :mod:`.hold`), never stops.

Stopping a track would end RTP for that m-line; keeping frames flowing keeps RTCP, the
receiver's jitter buffers and the peer's "media is arriving" view alive, and the peer
sees the state in the media itself (level ~0, black frames). With no source at all the
gates are the placeholder used when a device cannot be opened.
"""

from __future__ import annotations

import av
from aiortc import MediaStreamTrack
from aiortc.mediastreams import MediaStreamError

from softphone.media.clock import FramePacer
from softphone.media.hold import HoldTone, hold_picture
from softphone.media.measure import audio_peak
from softphone.media.pattern import BLACK
from softphone.media.receiver import FrameTap
from softphone.media.tone import PTIME, SAMPLE_RATE, SAMPLES_PER_FRAME


class MicGate(MediaStreamTrack):
    kind = "audio"

    def __init__(self, source: MediaStreamTrack | None) -> None:
        super().__init__()
        self.source = source
        self.muted = False
        self.on_hold = False  # the hold tone goes out instead of the microphone
        self.level: float | None = None  # peak of the last frame actually sent
        self._pacer = FramePacer(SAMPLE_RATE, 1 / PTIME)
        self._hold = HoldTone()

    async def recv(self) -> av.AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        if self.source is None:
            frame = _silence(SAMPLES_PER_FRAME, "mono", SAMPLE_RATE)
            frame.pts = await self._pacer.next_pts()
            frame.time_base = self._pacer.time_base
        else:
            received = await self.source.recv()
            if not isinstance(received, av.AudioFrame):
                raise MediaStreamError
            frame = received
            if self.muted and not self.on_hold:
                silent = _silence(frame.samples, frame.layout.name, frame.sample_rate)
                silent.pts, silent.time_base = frame.pts, frame.time_base
                frame = silent
        if self.on_hold:  # the microphone is still read (its buffer never piles up)
            held = self._hold.frame(frame.samples, frame.layout.name, frame.sample_rate)
            held.pts, held.time_base = frame.pts, frame.time_base
            frame = held
        self.level = audio_peak(frame)
        return frame

    def stop(self) -> None:
        super().stop()
        if self.source is not None:
            self.source.stop()


class CameraGate(MediaStreamTrack):
    kind = "video"

    def __init__(
        self, source: MediaStreamTrack | None, width: int = 640, height: int = 360, fps: float = 30
    ) -> None:
        super().__init__()
        self.source = source
        self.enabled = True
        self.on_hold = False  # the still hold picture goes out instead of the camera
        self.preview = FrameTap("video", depth=1)  # the agent's self-view: what is sent
        self._size = (width, height)
        self._pacer = FramePacer(90_000, fps)

    async def recv(self) -> av.VideoFrame:
        if self.readyState != "live":
            raise MediaStreamError
        if self.source is None:
            frame = self._black_frame(*self._size)
            frame.pts = await self._pacer.next_pts()
            frame.time_base = self._pacer.time_base
        else:
            received = await self.source.recv()
            if not isinstance(received, av.VideoFrame):
                raise MediaStreamError
            frame = received
            if not self.enabled and not self.on_hold:
                frame = self._black_frame(received.width, received.height)
                frame.pts, frame.time_base = received.pts, received.time_base
        if self.on_hold:
            held = hold_picture(frame.width, frame.height)
            held.pts, held.time_base = frame.pts, frame.time_base
            frame = held
        self.preview.push(frame)
        return frame

    def _black_frame(self, width: int, height: int) -> av.VideoFrame:
        frame = av.VideoFrame(width, height, "yuv420p")
        for plane, value in zip(frame.planes, (BLACK, 128, 128), strict=True):
            plane.update(bytes((value,)) * plane.buffer_size)
        return frame

    def stop(self) -> None:
        super().stop()
        self.preview.stop()
        if self.source is not None:
            self.source.stop()


def _silence(samples: int, layout: str, sample_rate: int) -> av.AudioFrame:
    frame = av.AudioFrame(format="s16", layout=layout, samples=samples)
    for plane in frame.planes:
        plane.update(bytes(plane.buffer_size))
    frame.sample_rate = sample_rate
    return frame
