"""Cheap per-frame measurements (no numpy): what stats and tests need to see."""

from __future__ import annotations

from array import array

import av


def audio_peak(frame: av.AudioFrame) -> float | None:
    """Peak level in 0..1 of an s16 frame; ``None`` for formats we do not measure."""
    if frame.format.name != "s16":
        return None
    samples = array("h", bytes(frame.planes[0])[: frame.samples * len(frame.layout.channels) * 2])
    if not samples:
        return 0.0
    peak = max(abs(min(samples)), abs(max(samples)))
    return peak / 32768


def mean_luma(frame: av.VideoFrame) -> float:
    """Average luma over a sparse 16x16 grid: enough to tell a black frame from a picture."""
    if frame.format.name not in ("yuv420p", "yuvj420p"):
        frame = frame.reformat(format="yuv420p")
    plane = frame.planes[0]
    data = bytes(plane)
    stride = plane.line_size
    samples = [
        data[y * stride + x]
        for y in range(0, frame.height, max(1, frame.height // 16))
        for x in range(0, frame.width, max(1, frame.width // 16))
    ]
    return sum(samples) / len(samples)
