"""How late the agent's microphone capture delivers what the sound server had: one piece of
the microphone direction's mouth-to-ear delay (bench/audio.py measures the whole).

    .venv/bin/python -m bench.mic_capture --runs 3

Clicks are played into a private PulseAudio null sink; its monitor is the microphone, read
twice at once: by ``parec`` (a 5 ms fragment, wall-clock timestamps: the "mouth" of
bench/audio.py's ``agent-mic`` path) and by the app's capture (``LiveMicTrack``: PyAV on
ALSA's pulse plugin, 20 ms frames), opened the app's way (``open_local_media``). Per click:
when the frame holding its onset came out of ``recv()`` minus when parec had the onset. A
20 ms frame is sent when full, so an onset waits 0-20 ms for the rest of its frame (10 ms on
average): that much is the frame size, not buffering. Needs a running PulseAudio and
``paplay``; not root.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
import wave
from pathlib import Path

import numpy as np

from labnet.pulse import RATE, TIMEOUT_S, NullSink, Recorder, pulse_running
from softphone.media.live_mic import LiveMicTrack
from softphone.media.local import MediaChoice, open_local_media

CLICKS, CLICK_EVERY_S = 5, 1.0
LEAD_IN_S = 1.5  # the capture runs before the first click
TARGET_MS = 30  # a 20 ms frame plus 10 ms


def write_clicks(path: Path) -> None:
    pcm = np.zeros(int(RATE * CLICK_EVERY_S * (CLICKS + 1)), dtype=np.int16)
    for k in range(1, CLICKS + 1):
        start = int(k * CLICK_EVERY_S * RATE)
        pcm[start : start + RATE // 500] = 20_000
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes(pcm.tobytes())


def onsets(samples: np.ndarray) -> list[int]:
    """Sample indices where a click starts (at least half a click period apart)."""
    found: list[int] = []
    for index in np.flatnonzero(np.abs(samples) > 10_000):
        if not found or index - found[-1] > RATE * CLICK_EVERY_S / 2:
            found.append(int(index))
    return found


async def capture(seconds: float) -> list[tuple[float, np.ndarray]]:
    """(time recv() returned, samples) of every frame, for ``seconds``."""
    media = open_local_media(MediaChoice(camera=None, microphone="default"), platform="linux")
    try:
        if not isinstance(media.audio.source, LiveMicTrack):
            raise AssertionError(f"the microphone did not open: {media.notices}")
        frames = []
        end = time.time() + seconds
        while time.time() < end:
            frame = await media.audio.source.recv()
            frames.append((time.time(), frame.to_ndarray().reshape(-1).copy()))
        return frames
    finally:
        media.close()


def run_once(clicks: Path) -> list[float]:
    """Capture delay of each click, ms."""
    with NullSink() as sink:
        os.environ["PULSE_SOURCE"] = f"{sink.name}.monitor"
        recorder = Recorder(sink.name)
        recorder.wait_ready()
        player = subprocess.Popen(
            ["sh", "-c", f'sleep {LEAD_IN_S}; exec paplay -d "$0" "$1"', sink.name, str(clicks)]
        )
        try:
            frames = asyncio.run(capture(LEAD_IN_S + CLICK_EVERY_S * (CLICKS + 1.5)))
        finally:
            player.wait(timeout=TIMEOUT_S)
            pcm, t0 = recorder.stop()
    heard = [t0 + i / RATE for i in onsets(np.frombuffer(pcm, dtype=np.int16))]
    captured = np.concatenate([samples for _t, samples in frames])
    ends = np.cumsum([len(samples) for _t, samples in frames])
    delivered = [frames[int(np.searchsorted(ends, i, side="right"))][0] for i in onsets(captured)]
    if len(heard) != CLICKS or len(delivered) != CLICKS:
        raise AssertionError(f"clicks found: parec {len(heard)}, capture {len(delivered)}")
    return [(d - h) * 1000 for d, h in zip(delivered, heard, strict=True)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    if not pulse_running():
        print("bench.mic_capture needs a running PulseAudio", file=sys.stderr)
        return 2
    delays: list[float] = []
    valid = 0
    with tempfile.TemporaryDirectory(prefix="softphone-mic-") as tmp:
        clicks = Path(tmp) / "clicks.wav"
        write_clicks(clicks)
        for run in range(args.runs):
            try:
                measured = run_once(clicks)
            except (AssertionError, OSError, subprocess.SubprocessError) as exc:
                print(f"run {run + 1}: invalid: {exc}", file=sys.stderr)
                continue
            valid += 1
            delays += measured
            print(
                f"run {run + 1}: {[round(ms) for ms in measured]} ms "
                f"(load {os.getloadavg()[0]:.1f})",
                file=sys.stderr,
            )
    p50 = f"{statistics.median(delays):.0f}" if delays else "-"
    worst = f"{max(delays):.0f}" if delays else "-"
    print(f"\nload average {os.getloadavg()[0]:.1f}\n")
    print("| stage | valid/total | clicks | delay p50 ms | max ms | target |")
    print("| --- | --- | --- | --- | --- | --- |")
    print(
        f"| sound server → LiveMicTrack.recv() | {valid}/{args.runs} | {len(delays)} "
        f"| {p50} | {worst} | ≤ {TARGET_MS} ms (a 20 ms frame + 10) |"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
