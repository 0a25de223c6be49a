"""The agent's (or visitor's) outgoing media for one call: open, gate, close.

A missing, busy or broken device never stops a call: the gate then carries a
placeholder (black video / silence) and a :class:`MediaFallback` says why.
"""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass
from pathlib import Path

from aiortc import MediaStreamTrack
from aiortc.contrib.media import MediaPlayer

from softphone.media.alsa import use_system_alsa_config
from softphone.media.file_mic import FILE_PREFIX, FileMicTrack
from softphone.media.gates import CameraGate, MicGate
from softphone.media.live_mic import LiveMicTrack
from softphone.media.pattern import TestPatternTrack
from softphone.media.tone import ToneTrack

log = logging.getLogger(__name__)

TEST_PATTERN = "test-pattern"
TONE = "tone"
_CAPTURE_FORMAT = {
    "linux": ("v4l2", "alsa"),
    "darwin": ("avfoundation",) * 2,
    "win32": ("dshow",) * 2,
}


@dataclass(frozen=True)
class MediaChoice:
    """What to capture; device ids are :attr:`softphone.media.devices.Device.id` values,
    which the settings module stores as the user's choice."""

    camera: str | None = TEST_PATTERN  # None: no camera (black placeholder)
    microphone: str | None = TONE  # None: no microphone (silence)
    width: int = 640
    height: int = 360
    fps: int = 30


@dataclass(frozen=True)
class MediaFallback:
    kind: str  # "video" | "audio"
    device: str
    message: str  # for the agent, e.g. shown in the status bar

    def __str__(self) -> str:
        return self.message


class LocalMedia:
    def __init__(self, audio: MicGate, video: CameraGate, notices: list[MediaFallback]) -> None:
        self.audio = audio
        self.video = video
        self.notices = notices

    def set_muted(self, muted: bool) -> None:
        self.audio.muted = muted

    def set_camera_enabled(self, enabled: bool) -> None:
        self.video.enabled = enabled

    def set_on_hold(self, on_hold: bool) -> None:
        """The hold tone and picture in place of microphone and camera (or back)."""
        self.audio.on_hold = self.video.on_hold = on_hold

    def close(self) -> None:
        """Stops the gates and with them any device player thread."""
        self.audio.stop()
        self.video.stop()


def open_local_media(choice: MediaChoice, platform: str = sys.platform) -> LocalMedia:
    notices: list[MediaFallback] = []
    camera = _open_source("video", choice.camera, choice, platform, notices)
    mic = _open_source("audio", choice.microphone, choice, platform, notices)
    video = CameraGate(camera, choice.width, choice.height, choice.fps)
    return LocalMedia(MicGate(mic), video, notices)


def _open_source(
    kind: str,
    device: str | None,
    choice: MediaChoice,
    platform: str,
    notices: list[MediaFallback],
) -> MediaStreamTrack | None:
    if device is None:
        return None
    if device == TEST_PATTERN and kind == "video":
        return TestPatternTrack(choice.width, choice.height, choice.fps)
    if device == TONE and kind == "audio":
        return ToneTrack()
    formats = _CAPTURE_FORMAT.get("linux" if platform.startswith("linux") else platform)
    try:
        if kind == "audio" and device.startswith(FILE_PREFIX):
            return FileMicTrack(Path(device.removeprefix(FILE_PREFIX)))
        if formats is None:
            raise ValueError(f"no capture support on {platform}")
        if kind == "audio":
            if formats[1] == "alsa":
                use_system_alsa_config()
            return LiveMicTrack(device, formats[1])
        options = {"video_size": f"{choice.width}x{choice.height}", "framerate": str(choice.fps)}
        player = MediaPlayer(device, format=formats[0], options=options)
        if player.video is None:
            raise ValueError("the device has no such stream")
        return player.video
    except Exception as exc:  # av raises many types: missing, busy (EBUSY), permissions
        what = "camera" if kind == "video" else "microphone"
        instead = "black video" if kind == "video" else "silence"
        notice = MediaFallback(
            kind, device, f"Cannot open {what} {device!r} ({exc}); sending {instead}."
        )
        log.warning("media.fallback", extra={"kind": kind, "device": device, "error": str(exc)})
        notices.append(notice)
        return None
