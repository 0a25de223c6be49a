"""Opening local media: virtual sources, and fallbacks that never break a call."""

from __future__ import annotations

import av
import pytest

from softphone.media.local import MediaChoice, open_local_media
from softphone.media.measure import mean_luma
from softphone.media.pattern import read_frame_stamp


async def test_test_pattern_and_tone_open_without_notices() -> None:
    media = open_local_media(MediaChoice())
    try:
        assert media.notices == []
        frame = await media.video.recv()
        assert read_frame_stamp(frame) is not None
        assert (await media.audio.recv()).samples == 960
    finally:
        media.close()


async def test_missing_camera_falls_back_to_black_with_a_notice() -> None:
    media = open_local_media(MediaChoice(camera="/dev/video-missing"), platform="linux")
    try:
        assert [(n.kind, n.device) for n in media.notices] == [("video", "/dev/video-missing")]
        assert "Cannot open camera" in str(media.notices[0])
        frame = await media.video.recv()
        assert isinstance(frame, av.VideoFrame) and mean_luma(frame) == 16
    finally:
        media.close()


async def test_broken_microphone_falls_back_to_silence(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALSA_CONFIG_PATH", "/nonexistent/asound.conf")
    media = open_local_media(MediaChoice(microphone="plughw:9,0"), platform="linux")
    try:
        assert [n.kind for n in media.notices] == ["audio"]
        assert media.audio.source is None
        frame = await media.audio.recv()
        assert media.audio.level == 0.0 and frame.samples == 960
    finally:
        media.close()


def test_unsupported_platform_is_a_notice_not_an_error() -> None:
    media = open_local_media(MediaChoice(camera="cam0", microphone=None), platform="sunos5")
    try:
        assert len(media.notices) == 1 and "sunos5" in media.notices[0].message
    finally:
        media.close()
