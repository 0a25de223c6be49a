"""Call-quality judgement as pure functions: what the diagnostics panel warns about.

Thresholds follow common contact-center guidance: above them agents hear echo-like delay
(RTT), choppy audio (jitter, loss) or nothing at all (no bytes).
"""

from __future__ import annotations

from dataclasses import dataclass

from softphone.rtc.stats import CallStats
from softphone.ui.i18n import translate
from softphone.ui.status_text import decimal

RTT_WARN_MS = 400.0
JITTER_WARN_MS = 30.0
LOSS_WARN_PERCENT = 1.0
SILENCE_WARN_S = 3.0


def quality_warnings(stats: CallStats, silent_for_s: float) -> list[str]:
    """One sentence per threshold exceeded; empty means the call looks healthy."""
    warnings = []
    if stats.rtt_ms is not None and stats.rtt_ms > RTT_WARN_MS:
        warnings.append(
            translate("Quality", "High round-trip time ({value} ms > {limit} ms)").format(
                value=f"{stats.rtt_ms:.0f}", limit=f"{RTT_WARN_MS:.0f}"
            )
        )
    if stats.jitter_ms is not None and stats.jitter_ms > JITTER_WARN_MS:
        warnings.append(
            translate("Quality", "High jitter ({value} ms > {limit} ms)").format(
                value=f"{stats.jitter_ms:.0f}", limit=f"{JITTER_WARN_MS:.0f}"
            )
        )
    if stats.loss_percent > LOSS_WARN_PERCENT:
        warnings.append(
            translate("Quality", "Packet loss {value} % (> {limit} %)").format(
                value=decimal(stats.loss_percent), limit=f"{LOSS_WARN_PERCENT:.0f}"
            )
        )
    if silent_for_s >= SILENCE_WARN_S:
        warnings.append(
            translate("Quality", "Nothing received for {seconds} s").format(
                seconds=f"{silent_for_s:.0f}"
            )
        )
    return warnings


def stats_rows(stats: CallStats) -> list[tuple[str, str]]:
    """Label/value pairs of the diagnostics table; unknown values read as an em dash."""

    def ms(value: float | None) -> str:
        return "—" if value is None else f"{value:.0f} ms"

    return [
        (translate("Quality", "Round-trip time"), ms(stats.rtt_ms)),
        (translate("Quality", "Jitter"), ms(stats.jitter_ms)),
        (
            translate("Quality", "Packet loss"),
            translate("Quality", "{value} % ({count} packets)").format(
                value=decimal(stats.loss_percent), count=stats.packets_lost
            ),
        ),
        (translate("Quality", "Bitrate in"), f"{stats.bitrate_in_kbps:.0f} kbit/s"),
        (translate("Quality", "Bitrate out"), f"{stats.bitrate_out_kbps:.0f} kbit/s"),
        (
            translate("Quality", "Video"),
            translate("Quality", "{fps} fps, {count} frames").format(
                fps=f"{stats.video_fps:.0f}", count=stats.video_frames_decoded
            ),
        ),
        (translate("Quality", "Audio frames"), str(stats.audio_frames_received)),
    ]


@dataclass
class InboundWatch:
    """Tracks how long the inbound bitrate has been zero, from consecutive samples."""

    last_data_at: float | None = None

    def observe(self, now: float, bitrate_in_kbps: float) -> float:
        """Seconds without inbound bytes (0 while data flows or before the first sample)."""
        if bitrate_in_kbps > 0 or self.last_data_at is None:
            self.last_data_at = now
        return now - self.last_data_at
