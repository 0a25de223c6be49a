"""Cameras and microphones per platform, as PyAV/FFmpeg can open them.

macOS (avfoundation) and Windows (dshow) only list devices through FFmpeg's log, so we
capture the log of a ``list_devices`` open and parse it. Linux has no such listing for
v4l2, so cameras come from sysfs and microphones from /proc/asound/pcm.
"""

from __future__ import annotations

import contextlib
import logging
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import av
import av.logging

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Device:
    kind: str  # "video" | "audio"
    id: str  # what av.open() takes as its file argument; stored as the user's choice
    name: str
    format: str  # the FFmpeg input format: v4l2, alsa, avfoundation, dshow


_LOG_PREFIX = re.compile(r"^\[[^\]]*@ ?(0x)?[0-9a-fA-F]+\]\s?")


def _strip_prefix(line: str) -> str:
    return _LOG_PREFIX.sub("", line.rstrip("\n"))


def parse_avfoundation(lines: Iterable[str]) -> list[Device]:
    devices, kind = [], None
    for raw in lines:
        line = _strip_prefix(raw)
        if "AVFoundation video devices" in line:
            kind = "video"
        elif "AVFoundation audio devices" in line:
            kind = "audio"
        elif kind and (match := re.match(r"^\[(\d+)\] (.+)$", line)):
            index, name = match.groups()
            file = f"{index}:none" if kind == "video" else f"none:{index}"
            devices.append(Device(kind, file, name.strip(), "avfoundation"))
    return devices


def parse_dshow(lines: Iterable[str]) -> list[Device]:
    """Both FFmpeg layouts: ``"Name" (video)`` lines (≥ 4.4) and the older section headers."""
    devices, section = [], None
    for raw in lines:
        line = _strip_prefix(raw)
        if "DirectShow video devices" in line:
            section = "video"
        elif "DirectShow audio devices" in line:
            section = "audio"
        elif "Alternative name" in line:
            continue
        elif match := re.match(r'^\s*"(.+)"\s*(?:\((video|audio|none)\))?\s*$', line):
            name, kind = match.group(1), match.group(2) or section
            if kind in ("video", "audio"):
                devices.append(Device(kind, f"{kind}={name}", name, "dshow"))
    return devices


def parse_alsa_pcm(text: str) -> list[Device]:
    """/proc/asound/pcm lines like ``01-00: USB Audio : USB Audio : capture 1``."""
    devices = [Device("audio", "default", "Default microphone", "alsa")]
    for line in text.splitlines():
        match = re.match(r"^(\d+)-(\d+): ([^:]*?) :.*capture \d+", line)
        if match:
            card, dev, name = int(match.group(1)), int(match.group(2)), match.group(3).strip()
            devices.append(Device("audio", f"plughw:{card},{dev}", name, "alsa"))
    return devices


def list_v4l2(sys_root: Path = Path("/sys/class/video4linux")) -> list[Device]:
    devices = []
    for node in sorted(sys_root.glob("video*")):
        name_file = node / "name"
        name = name_file.read_text().strip() if name_file.exists() else node.name
        # Metadata nodes of UVC cameras share the name; index 0 is the capture node.
        index_file = node / "index"
        if index_file.exists() and index_file.read_text().strip() != "0":
            continue
        devices.append(Device("video", f"/dev/{node.name}", name, "v4l2"))
    return devices


def _ffmpeg_listing(input_format: str) -> list[str]:
    previous = av.logging.get_level()
    av.logging.set_level(av.logging.INFO)
    try:
        # Listing always "fails": FFmpeg logs the devices, then refuses to open.
        suppress = contextlib.suppress(av.FFmpegError, OSError, ValueError)
        with av.logging.Capture() as captured, suppress:
            av.open(
                "dummy" if input_format == "dshow" else "",
                format=input_format,
                options={"list_devices": "true"},
            )
    finally:
        av.logging.set_level(previous)
    return [message for _level, _name, message in captured]


def list_devices(platform: str = sys.platform) -> list[Device]:
    """Every camera and microphone found; an empty list (logged) rather than an error."""
    try:
        if platform == "darwin":
            return parse_avfoundation(_ffmpeg_listing("avfoundation"))
        if platform == "win32":
            return parse_dshow(_ffmpeg_listing("dshow"))
        pcm = Path("/proc/asound/pcm")
        return list_v4l2() + parse_alsa_pcm(pcm.read_text() if pcm.exists() else "")
    except Exception:
        log.exception("media.device_listing_failed", extra={"platform": platform})
        return []
