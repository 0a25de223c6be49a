"""``file:`` microphones: the file once, paced in 20 ms frames, then silence; a bad file
falls back to silence with a notice like any broken device."""

from __future__ import annotations

import wave
from array import array
from pathlib import Path

from softphone.media.file_mic import FileMicTrack
from softphone.media.local import MediaChoice, open_local_media
from softphone.media.measure import audio_peak
from softphone.media.tone import SAMPLES_PER_FRAME


def write_wav(path: Path, samples: array[int], rate: int) -> None:
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(samples.tobytes())


async def test_speaks_the_file_once_then_silence(tmp_path: Path) -> None:
    path = tmp_path / "voice.wav"
    write_wav(path, array("h", [12000, -12000] * 8000), 16_000)  # 1 s at 16 kHz
    track = FileMicTrack(path)
    frames = [await track.recv() for _ in range(55)]  # 1.1 s
    assert all(f.samples == SAMPLES_PER_FRAME and f.sample_rate == 48_000 for f in frames)
    assert all((audio_peak(f) or 0) > 0.2 for f in frames[1:45])  # resampled to 48 kHz
    assert all(audio_peak(f) == 0 for f in frames[52:])
    track.stop()


def test_a_bad_file_falls_back_to_silence_with_a_notice(tmp_path: Path) -> None:
    (tmp_path / "noise.wav").write_bytes(b"not audio at all")
    for name in ("missing.wav", "noise.wav"):
        media = open_local_media(MediaChoice(camera=None, microphone=f"file:{tmp_path / name}"))
        assert media.audio.source is None
        assert [n.kind for n in media.notices] == ["audio"]
        media.close()
