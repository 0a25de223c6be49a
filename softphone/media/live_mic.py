"""A microphone device as 20 ms mono frames that never fall behind live.

aiortc's MediaPlayer reads a device on its own thread into an unbounded queue, and the RTP
sender takes frames at the rate they are captured: every stall of the consumer (the call's
setup, a busy event loop, a slow encode) became permanent delay, since nothing ever drains
the backlog. Measured with bench/audio.py's agent-microphone path: 950 ms growing to
1.5 s within 14 s of speech. Here at most ``MAX_BACKLOG_MS`` waits; older audio is dropped
(counted in ``dropped_ms``): after a stall the visitor hears live speech, not the past.
"""

from __future__ import annotations

import asyncio
import errno
import fractions
import logging
import threading
import time
from collections import deque

import av
import av.container
from aiortc import MediaStreamTrack
from aiortc.mediastreams import MediaStreamError

from softphone.media.tone import SAMPLE_RATE, SAMPLES_PER_FRAME

log = logging.getLogger(__name__)

# 2 frames: a consumer up to a frame late keeps everything. Not more: aiortc's sender
# drains a backlog at once, as a burst, and the visitor's jitter buffer (Chromium's NetEq)
# takes a burst for network jitter and plays later for a while (80 ms: ~10 ms later on
# average, docs/audio.md).
MAX_BACKLOG_MS = 40
FRAME_MS = SAMPLES_PER_FRAME * 1000 // SAMPLE_RATE
CAPTURE_OPTIONS = {"sample_rate": str(SAMPLE_RATE), "channels": "1"}  # Opus's own: no resampling


class LiveMicTrack(MediaStreamTrack):
    kind = "audio"

    def __init__(self, device: str, input_format: str) -> None:
        super().__init__()
        self._container = av.open(device, format=input_format, options=dict(CAPTURE_OPTIONS))
        if not self._container.streams.audio:
            self._container.close()
            raise ValueError("the device has no audio stream")
        self._frames: deque[av.AudioFrame] = deque()
        self._arrived = asyncio.Event()
        self._ended = False
        self._quit = threading.Event()
        self._thread: threading.Thread | None = None
        self._samples = 0
        self.dropped_ms = 0

    @property
    def backlog_ms(self) -> int:
        return len(self._frames) * FRAME_MS

    async def recv(self) -> av.AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        if self._thread is None:  # capture starts with the first request: nothing piles up
            loop = asyncio.get_running_loop()
            self._thread = threading.Thread(
                target=self._capture, args=(loop,), name="media-live-mic", daemon=True
            )
            self._thread.start()
        while not self._frames:
            if self._ended:
                self.stop()
                raise MediaStreamError
            self._arrived.clear()
            await self._arrived.wait()
        frame = self._frames.popleft()
        frame.pts = self._samples
        frame.time_base = fractions.Fraction(1, SAMPLE_RATE)
        self._samples += frame.samples
        return frame

    def _push(self, frame: av.AudioFrame | None) -> None:
        """On the event loop: queue a captured frame (None: the device ended)."""
        if frame is None:
            self._ended = True
        else:
            self._frames.append(frame)
            while self.backlog_ms > MAX_BACKLOG_MS:
                self._frames.popleft()
                self.dropped_ms += FRAME_MS
        self._arrived.set()

    def _capture(self, loop: asyncio.AbstractEventLoop) -> None:
        resampler = av.AudioResampler(
            format="s16", layout="mono", rate=SAMPLE_RATE, frame_size=SAMPLES_PER_FRAME
        )
        decoded = self._container.decode(audio=0)
        try:
            while not self._quit.is_set():
                try:
                    frame = next(decoded)
                except av.FFmpegError as exc:
                    if exc.errno != errno.EAGAIN:
                        raise
                    time.sleep(0.005)
                    continue
                for out in resampler.resample(frame):
                    loop.call_soon_threadsafe(self._push, out)
            loop.call_soon_threadsafe(self._push, None)
        except (StopIteration, av.FFmpegError, OSError) as exc:
            log.warning("media.mic_ended", extra={"error": str(exc) or type(exc).__name__})
            loop.call_soon_threadsafe(self._push, None)
        except RuntimeError:
            pass  # the event loop is gone: nobody is listening any more
        finally:
            self._container.close()

    def stop(self) -> None:
        super().stop()
        self._quit.set()
        if self._thread is None:
            self._container.close()
