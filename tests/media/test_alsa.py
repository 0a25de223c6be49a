"""The real ALSA capture path of PyAV's bundled libasound, with a virtual microphone."""

from __future__ import annotations

import asyncio
from pathlib import Path

import av
import pytest

from softphone.media.alsa import SYSTEM_CONFIG, use_system_alsa_config, virtual_microphone_config
from softphone.media.live_mic import MAX_BACKLOG_MS, LiveMicTrack
from softphone.media.local import MediaChoice, open_local_media
from softphone.media.measure import audio_peak
from softphone.media.tone import tone_frames


@pytest.fixture
def virtual_mic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    raw = tmp_path / "tone.raw"
    raw.write_bytes(b"".join(tone_frames(440, 0.5)))  # 1 s of s16 mono
    config = tmp_path / "asound.conf"
    config.write_text(virtual_microphone_config(raw))
    monkeypatch.setenv("ALSA_CONFIG_PATH", str(config))
    monkeypatch.setenv("ALSA_PLUGIN_DIR", str(tmp_path))  # no system plugins: standalone
    return raw


def test_alsa_capture_reads_the_virtual_microphone(virtual_mic: Path) -> None:
    container = av.open("default", format="alsa", options={"sample_rate": "48000", "channels": "1"})
    try:
        stream = container.streams.audio[0]
        assert stream.rate == 48_000
        samples, peak = 0, 0.0
        for frame in container.decode(stream):
            samples += frame.samples
            peak = max(peak, audio_peak(frame) or 0.0)
            if samples >= 4_800:
                break
    finally:
        container.close()
    assert samples >= 4_800 and 0.45 < peak < 0.55


async def test_a_microphone_device_opens_as_a_live_capture(virtual_mic: Path) -> None:
    media = open_local_media(MediaChoice(camera=None, microphone="default"), platform="linux")
    try:
        assert media.notices == []
        levels = [(await media.audio.recv(), media.audio.level)[1] for _ in range(5)]
        assert max(level or 0 for level in levels) > 0.3
    finally:
        media.close()


def test_system_config_is_used_only_when_present_and_unset(tmp_path: Path) -> None:
    env: dict[str, str] = {}
    assert use_system_alsa_config(env) is SYSTEM_CONFIG.exists()
    if SYSTEM_CONFIG.exists():
        assert env["ALSA_CONFIG_PATH"] == str(SYSTEM_CONFIG)
    mine = {"ALSA_CONFIG_PATH": str(tmp_path / "mine.conf")}
    assert use_system_alsa_config(mine)
    assert mine["ALSA_CONFIG_PATH"] == str(tmp_path / "mine.conf")


async def test_a_stalled_consumer_gets_live_audio_not_the_backlog(virtual_mic: Path) -> None:
    """aiortc's MediaPlayer queued everything: each stall of the sender became delay."""
    media = open_local_media(MediaChoice(camera=None, microphone="default"), platform="linux")
    try:
        mic = media.audio.source
        assert isinstance(mic, LiveMicTrack)
        first = await mic.recv()
        await asyncio.sleep(0.6)  # the sender stalls; the device goes on capturing
        assert mic.backlog_ms <= MAX_BACKLOG_MS
        assert mic.dropped_ms >= 100  # of the ~500 ms captured meanwhile (slack: a busy box)
        frames = [await mic.recv() for _ in range(10)]
        # Timestamps stay continuous: the receiver sees no gap to conceal, just now-audio.
        assert [f.pts for f in frames] == [first.samples * (i + 1) for i in range(10)]
        assert all(f.samples == 960 and f.layout.name == "mono" for f in frames)
    finally:
        media.close()
