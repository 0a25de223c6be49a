"""Device listing per platform, from each platform's real listing output (fixtures)."""

from __future__ import annotations

from pathlib import Path

from softphone.media.devices import (
    Device,
    list_v4l2,
    parse_alsa_pcm,
    parse_avfoundation,
    parse_dshow,
)

FIXTURES = Path(__file__).parent / "fixtures"


def lines(name: str) -> list[str]:
    # FFmpeg hands log lines to PyAV one message at a time, each with its newline.
    return (FIXTURES / name).read_text().splitlines(keepends=True)


def test_macos_avfoundation_listing() -> None:
    devices = parse_avfoundation(lines("avfoundation_list_devices.txt"))
    assert devices[:2] == [
        Device("video", "0:none", "FaceTime HD Camera", "avfoundation"),
        Device("video", "1:none", "Logitech BRIO", "avfoundation"),
    ]
    audio = [d for d in devices if d.kind == "audio"]
    assert [(d.id, d.name) for d in audio] == [
        ("none:0", "MacBook Pro Microphone"),
        ("none:1", "Logitech BRIO"),
    ]


def test_windows_dshow_listing() -> None:
    devices = parse_dshow(lines("dshow_list_devices.txt"))
    assert devices == [
        Device("video", "video=Integrated Camera", "Integrated Camera", "dshow"),
        Device(
            "audio",
            "audio=Microphone Array (Realtek(R) Audio)",
            "Microphone Array (Realtek(R) Audio)",
            "dshow",
        ),
    ]


def test_windows_dshow_legacy_listing() -> None:
    devices = parse_dshow(lines("dshow_list_devices_legacy.txt"))
    assert [(d.kind, d.id) for d in devices] == [
        ("video", "video=USB2.0 HD UVC WebCam"),
        ("audio", "audio=Headset Microphone (Jabra EVOLVE 20)"),
    ]


def test_linux_alsa_capture_devices() -> None:
    devices = parse_alsa_pcm((FIXTURES / "proc_asound_pcm.txt").read_text())
    assert [(d.id, d.name) for d in devices] == [
        ("default", "Default microphone"),
        ("plughw:0,0", "ALC3246 Analog"),
        ("plughw:1,0", "USB Audio"),
        ("plughw:2,0", "Jabra EVOLVE 20"),
    ]
    assert {d.format for d in devices} == {"alsa"}


def test_linux_v4l2_cameras_skip_metadata_nodes(tmp_path: Path) -> None:
    for node, name, index in [
        ("video0", "Integrated Camera: Integrated C", "0"),
        ("video1", "Integrated Camera: Integrated C", "1"),  # UVC metadata node
        ("video2", "Logitech BRIO", "0"),
    ]:
        (tmp_path / node).mkdir()
        (tmp_path / node / "name").write_text(name + "\n")
        (tmp_path / node / "index").write_text(index + "\n")
    assert list_v4l2(tmp_path) == [
        Device("video", "/dev/video0", "Integrated Camera: Integrated C", "v4l2"),
        Device("video", "/dev/video2", "Logitech BRIO", "v4l2"),
    ]
