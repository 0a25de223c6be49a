"""Call quality numbers for the UI and the self-test, from getStats() plus our counters."""

from __future__ import annotations

import time
from dataclasses import dataclass

from aiortc.stats import (
    RTCInboundRtpStreamStats,
    RTCRemoteInboundRtpStreamStats,
    RTCStatsReport,
    RTCTransportStats,
)

from softphone.media.receiver import ReceivedMedia

_CLOCK_RATE = {"audio": 48_000, "video": 90_000}


@dataclass(frozen=True)
class CallStats:
    rtt_ms: float | None = None
    jitter_ms: float | None = None  # worst inbound stream
    packets_lost: int = 0
    loss_percent: float = 0.0  # inbound, over the whole call
    bitrate_in_kbps: float = 0.0  # since the previous sample
    bitrate_out_kbps: float = 0.0
    video_frames_decoded: int = 0
    video_fps: float = 0.0  # decoded per second since the previous sample
    video_max_gap: int = 0  # test pattern only
    video_latency_ms: float | None = None  # test pattern only
    audio_frames_received: int = 0
    audio_level_in: float | None = None
    audio_level_out: float | None = None
    # Received audio as decoded, and how much of it the decoder rebuilt (FEC) or made up
    # (concealment) for lost packets: the call's concealed-audio ratio.
    audio_ms: float = 0.0
    audio_recovered_ms: float = 0.0
    audio_concealed_ms: float = 0.0


class StatsSampler:
    """Turns cumulative counters into rates between two consecutive samples."""

    def __init__(self) -> None:
        self._last: tuple[float, int, int, int] | None = None  # time, bytes in/out, frames

    def sample(
        self,
        report: RTCStatsReport,
        video: ReceivedMedia,
        audio: ReceivedMedia,
        level_out: float | None,
    ) -> CallStats:
        rtts, jitters = [], []
        received = lost = bytes_in = bytes_out = 0
        for item in report.values():
            if isinstance(item, RTCRemoteInboundRtpStreamStats):
                if item.roundTripTime is not None:  # None until the first RTCP report
                    rtts.append(item.roundTripTime * 1000)
            elif isinstance(item, RTCInboundRtpStreamStats):
                jitters.append(item.jitter * 1000 / _CLOCK_RATE.get(item.kind, 90_000))
                received += item.packetsReceived
                lost += max(0, item.packetsLost)
            elif isinstance(item, RTCTransportStats):
                bytes_in += item.bytesReceived
                bytes_out += item.bytesSent
        now = time.monotonic()
        rate_in = rate_out = fps = 0.0
        if self._last is not None:
            then, last_in, last_out, last_frames = self._last
            elapsed = max(now - then, 1e-3)
            rate_in = (bytes_in - last_in) * 8 / 1000 / elapsed
            rate_out = (bytes_out - last_out) * 8 / 1000 / elapsed
            fps = (video.frames - last_frames) / elapsed
        self._last = (now, bytes_in, bytes_out, video.frames)
        return CallStats(
            rtt_ms=max(rtts) if rtts else None,
            jitter_ms=max(jitters) if jitters else None,
            packets_lost=lost,
            loss_percent=100 * lost / (received + lost) if received + lost else 0.0,
            bitrate_in_kbps=rate_in,
            bitrate_out_kbps=rate_out,
            video_frames_decoded=video.frames,
            video_fps=fps,
            video_max_gap=video.max_gap,
            video_latency_ms=video.latency_ms,
            audio_frames_received=audio.frames,
            audio_level_in=audio.level,
            audio_level_out=level_out,
            audio_ms=audio.audio_ms,
            audio_recovered_ms=audio.recovered_ms,
            audio_concealed_ms=audio.concealed_ms,
        )
