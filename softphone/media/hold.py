"""What the visitor gets while the agent holds the call: a soft two-tone chime and a still
"paused" picture, in place of the agent's microphone and camera.

Synthesized here (no file, no licence question). The gates put these into the frames they
would have sent, so the senders, the encoders and the transport never notice: no
renegotiation, no new DTLS handshake, and the visitor's silence watchdog keeps seeing media.
"""

from __future__ import annotations

import functools
import math
from array import array
from itertools import chain

import av

# (frequency Hz, seconds): C5 then E5, then a pause; the cycle repeats every 2 s.
HOLD_PATTERN: tuple[tuple[float, float], ...] = ((523.0, 0.4), (659.0, 0.4), (0.0, 1.2))
HOLD_FREQUENCIES = (523.0, 659.0)
_AMPLITUDE = 0.2
_FADE_S = 0.02
_BACKGROUND, _BAR = 40, 200  # dark grey, not black ("camera off"), with light bars


@functools.cache
def hold_cycle(rate: int) -> array[int]:
    """One cycle of the pattern as s16 mono samples at ``rate``, faded in and out per tone
    (no clicks)."""
    samples = array("h")
    fade = max(1, int(rate * _FADE_S))
    for frequency, seconds in HOLD_PATTERN:
        count = int(rate * seconds)
        for n in range(count):
            if frequency == 0:
                samples.append(0)
                continue
            envelope = min(1.0, n / fade, (count - n) / fade)
            value = math.sin(2 * math.pi * frequency * n / rate)
            samples.append(round(_AMPLITUDE * envelope * value * 32767))
    return samples


class HoldTone:
    """Cuts the cycle into frames of whatever size and layout the microphone delivers,
    continuing where the last frame stopped."""

    def __init__(self) -> None:
        self._position = 0

    def frame(self, samples: int, layout: str, rate: int) -> av.AudioFrame:
        cycle = hold_cycle(rate)
        start = self._position % len(cycle)
        end = start + samples
        # A frame (20 ms or so) is far shorter than the cycle (2 s): one wrap at most.
        mono = cycle[start:end] if end <= len(cycle) else cycle[start:] + cycle[: end - len(cycle)]
        self._position = end
        channels = len(av.AudioLayout(layout).channels)
        data = array("h", chain.from_iterable(zip(*[mono] * channels, strict=True)))
        frame = av.AudioFrame(format="s16", layout=layout, samples=samples)
        frame.planes[0].update(data.tobytes())
        frame.sample_rate = rate
        return frame


@functools.cache
def _hold_planes(width: int, height: int, stride: int) -> bytes:
    """The luma plane of the picture: two upright bars (the pause sign) in the middle."""
    bar_w, gap, bar_h = max(2, width // 24), max(2, width // 24), max(2, height // 4)
    left = width // 2 - gap // 2 - bar_w
    right = width // 2 + gap // 2
    line = bytearray((_BACKGROUND,)) * stride
    bars = bytearray(line)
    bars[left : left + bar_w] = bytes((_BAR,)) * bar_w
    bars[right : right + bar_w] = bytes((_BAR,)) * bar_w
    top = (height - bar_h) // 2
    return b"".join(bytes(bars if top <= y < top + bar_h else line) for y in range(height))


def hold_picture(width: int, height: int) -> av.VideoFrame:
    """A still, dark "paused" picture of the camera's size."""
    frame = av.VideoFrame(width, height, "yuv420p")
    y, u, v = frame.planes
    y.update(_hold_planes(width, height, y.line_size))
    for plane in (u, v):
        plane.update(bytes((128,)) * plane.buffer_size)
    return frame
