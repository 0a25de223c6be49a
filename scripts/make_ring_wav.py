"""Writes resources/sounds/ring.wav: a soft two-tone chime (E5 then A5) with gentle fades.

Generated rather than downloaded so its licence is ours; 16 kHz mono keeps it ~50 KB.
Run: .venv/bin/python scripts/make_ring_wav.py
"""

from __future__ import annotations

import math
import struct
import wave
from pathlib import Path

RATE = 16_000
OUT = Path(__file__).resolve().parent.parent / "resources" / "sounds" / "ring.wav"


def tone(freq: float, seconds: float, volume: float = 0.35) -> list[float]:
    count = int(RATE * seconds)
    fade = int(RATE * 0.03)
    samples = []
    for i in range(count):
        envelope = min(1.0, i / fade, (count - i) / fade) * math.exp(-1.6 * i / count)
        # A touch of the octave makes the chime rounder than a pure sine.
        value = math.sin(2 * math.pi * freq * i / RATE) + 0.25 * math.sin(
            4 * math.pi * freq * i / RATE
        )
        samples.append(volume * envelope * value / 1.25)
    return samples


def silence(seconds: float) -> list[float]:
    return [0.0] * int(RATE * seconds)


def main() -> None:
    pattern = tone(659.25, 0.35) + tone(880.0, 0.55) + silence(0.9)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(OUT), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(RATE)
        wav.writeframes(b"".join(struct.pack("<h", int(s * 32767)) for s in pattern))
    print(f"{OUT}: {OUT.stat().st_size} bytes")


if __name__ == "__main__":
    main()
