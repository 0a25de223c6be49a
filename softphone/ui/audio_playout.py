"""Remote audio into a QAudioSink (push mode): resampled to the sink's format with
av.AudioResampler, through a small jitter buffer that also caps latency."""

from __future__ import annotations

import asyncio
import logging

import av
from aiortc import MediaStreamTrack
from aiortc.mediastreams import MediaStreamError
from PySide6.QtCore import QIODevice
from PySide6.QtMultimedia import QAudioDevice, QAudioFormat, QAudioSink, QtAudio

log = logging.getLogger(__name__)

PREBUFFER_MS = 60  # start writing once this much is queued: absorbs network jitter
MAX_BUFFER_MS = 120  # beyond this the oldest audio is dropped, so delay cannot grow


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


class JitterBuffer:
    """Bytes of PCM between the decoder and the sink; pure, so it is tested without audio."""

    def __init__(self, bytes_per_ms: int, frame_bytes: int) -> None:
        self.bytes_per_ms = bytes_per_ms
        self.frame_bytes = frame_bytes  # never split a sample frame across writes
        self._data = bytearray()
        self.primed = False
        self.dropped_bytes = 0

    def __len__(self) -> int:
        return len(self._data)

    def push(self, pcm: bytes) -> None:
        self._data += pcm
        limit = MAX_BUFFER_MS * self.bytes_per_ms
        if len(self._data) > limit:
            excess = len(self._data) - limit
            excess += -excess % self.frame_bytes
            del self._data[:excess]
            self.dropped_bytes += excess
        if len(self._data) >= PREBUFFER_MS * self.bytes_per_ms:
            self.primed = True

    def pull(self, max_bytes: int) -> bytes:
        if not self.primed:
            return b""
        count = min(max_bytes, len(self._data))
        count -= count % self.frame_bytes
        chunk = bytes(self._data[:count])
        del self._data[:count]
        if not self._data:
            self.primed = False  # underrun: re-prime before playing again
        return chunk


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
        # (Qt picks the buffer size: a small explicit one stalled the PulseAudio stream.)
        self._io: QIODevice | None = self._sink.start()
        self.error: str | None = None
        if self._io is None or self._sink.error() != QtAudio.Error.NoError:
            self.error = f"cannot open {device.description()} ({self._sink.error().name})"
            log.warning("ui.audio_playout_failed", extra={"error": self.error})
        self.task = asyncio.create_task(self._run(track), name="ui-remote-audio")

    async def _run(self, track: MediaStreamTrack) -> None:
        try:
            while True:
                frame = await track.recv()
                if not isinstance(frame, av.AudioFrame) or self._io is None:
                    continue
                for out in self._resampler.resample(frame):
                    size = out.samples * self._bytes_per_frame
                    self.buffer.push(bytes(out.planes[0])[:size])
                self._write()
        except MediaStreamError:
            log.debug("ui.remote_audio_ended")

    def _write(self) -> None:
        assert self._io is not None
        free = self._sink.bytesFree()
        if free > 0:
            chunk = self.buffer.pull(free)
            if chunk:
                self._io.write(chunk)

    def stop(self) -> None:
        """Synchronous, so the sink is stopped even if nobody awaits close(): a QAudioSink
        destroyed while the sound server's thread still pulls from it crashes."""
        self._sink.stop()
        self._io = None
        self.task.cancel()

    async def close(self) -> None:
        self.stop()
        await asyncio.gather(self.task, return_exceptions=True)
