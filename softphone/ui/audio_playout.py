"""Remote audio into a QAudioSink (push mode): resampled to the sink's format with
av.AudioResampler, through the adaptive :class:`~softphone.media.jitter_buffer.JitterBuffer`.

Latency is kept where the buffer can see it: the sink holds only ``SINK_LEAD_MS`` (topped
up every ``FEED_INTERVAL_S``), everything else waits in the jitter buffer, whose depth
follows the network's jitter and is corrected in silence."""

from __future__ import annotations

import asyncio
import logging
import time

import av
from aiortc import MediaStreamTrack
from aiortc.mediastreams import MediaStreamError
from PySide6.QtCore import QIODevice
from PySide6.QtMultimedia import QAudioDevice, QAudioFormat, QAudioSink, QtAudio

from softphone.media.jitter_buffer import JitterBuffer, Spread

log = logging.getLogger(__name__)

SINK_BUFFER_MS = 250  # the sink's own buffer: room for the largest lead
MIN_LEAD_MS = 30  # what the sink holds at least, topped up every FEED_INTERVAL_S
MAX_LEAD_MS = 200
LEAD_RELEASE_S = 10.0  # a busy spell of the event loop is remembered this long
FEED_INTERVAL_S = 0.010
STARVING_MS = 20  # the sink holds less: what has not arrived is concealed now


def sink_format(device: QAudioDevice) -> QAudioFormat:
    """48 kHz s16 (Opus's native rate) when the device takes it, else what it prefers."""
    wanted = QAudioFormat()
    wanted.setSampleRate(48_000)
    wanted.setChannelCount(min(2, max(1, device.maximumChannelCount())))
    wanted.setSampleFormat(QAudioFormat.SampleFormat.Int16)
    if device.isFormatSupported(wanted):
        return wanted
    preferred = device.preferredFormat()
    preferred.setSampleFormat(QAudioFormat.SampleFormat.Int16)
    return preferred


class AudioPlayout:
    """Plays one remote audio track on an output device until closed."""

    def __init__(self, track: MediaStreamTrack, device: QAudioDevice) -> None:
        self.format = sink_format(device)
        rate, channels = self.format.sampleRate(), self.format.channelCount()
        self._bytes_per_frame = 2 * channels
        self.buffer = JitterBuffer(rate * self._bytes_per_frame // 1000, self._bytes_per_frame)
        self._resampler = av.AudioResampler(
            format="s16", layout="stereo" if channels == 2 else "mono", rate=rate
        )
        self._sink = QAudioSink(device, self.format)
        self._sink.setBufferSize(SINK_BUFFER_MS * rate // 1000 * self._bytes_per_frame)
        self._bytes_per_ms = rate * self._bytes_per_frame // 1000
        # A late feed tick must not starve the sink: its lead covers how late ticks come.
        self.feed_lateness = Spread(LEAD_RELEASE_S)
        self.sink_underruns = 0
        self._started = False  # the first audio has been written
        self._io: QIODevice | None = self._sink.start()
        self.error: str | None = None
        if self._io is None or self._sink.error() != QtAudio.Error.NoError:
            self.error = f"cannot open {device.description()} ({self._sink.error().name})"
            log.warning("ui.audio_playout_failed", extra={"error": self.error})
        self.task = asyncio.create_task(self._run(track), name="ui-remote-audio")
        self._feeder = asyncio.create_task(self._feed(), name="ui-audio-feed")

    async def _run(self, track: MediaStreamTrack) -> None:
        try:
            while True:
                frame = await track.recv()
                if not isinstance(frame, av.AudioFrame) or self._io is None:
                    continue
                pts_ms = (
                    float(frame.pts * frame.time_base * 1000)
                    if frame.pts is not None and frame.time_base is not None
                    else None
                )
                pcm = b"".join(
                    bytes(out.planes[0])[: out.samples * self._bytes_per_frame]
                    for out in self._resampler.resample(frame)
                )
                self.buffer.push(pcm, time.monotonic(), pts_ms)
        except MediaStreamError:
            log.debug("ui.remote_audio_ended")

    @property
    def lead_ms(self) -> float:
        return min(MAX_LEAD_MS, MIN_LEAD_MS + self.feed_lateness.ms)

    async def _feed(self) -> None:
        """Keep the sink at its lead: a small, steady queue the jitter buffer can steer."""
        last = time.monotonic()
        while self._io is not None:
            now = time.monotonic()
            self.feed_lateness.observe((now - last - FEED_INTERVAL_S) * 1000, now - last)
            last = now
            queued = self._sink.bufferSize() - self._sink.bytesFree()
            if queued <= 0 and self._started:
                self.sink_underruns += 1
            wanted = int(self.lead_ms * self._bytes_per_ms) - queued
            wanted -= wanted % self._bytes_per_frame
            if wanted > 0:
                starving = queued < STARVING_MS * self._bytes_per_ms
                chunk = self.buffer.pull(wanted, starving=starving)
                if self._started and starving:
                    # Never let the sound server run dry (it would re-buffer before playing
                    # again): while nothing is playable, the card plays silence.
                    pad = STARVING_MS * self._bytes_per_ms - queued - len(chunk)
                    chunk += bytes(max(0, pad - pad % self._bytes_per_frame))
                if chunk:
                    self._started = True
                    self._io.write(chunk)
            await asyncio.sleep(FEED_INTERVAL_S)

    def flush(self) -> None:
        """Back to live audio (after a reconnect): queued audio is old speech."""
        self.buffer.flush()

    def stop(self) -> None:
        """Synchronous, so the sink is stopped even if nobody awaits close(): a QAudioSink
        destroyed while the sound server's thread still pulls from it crashes."""
        self._sink.stop()
        self._io = None
        self.task.cancel()
        self._feeder.cancel()

    async def close(self) -> None:
        self.stop()
        await asyncio.gather(self.task, self._feeder, return_exceptions=True)
