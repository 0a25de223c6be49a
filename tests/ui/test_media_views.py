"""Remote video and audio in the UI: real PyAV frames converted off the GUI thread and
painted with their aspect ratio; remote audio resampled into a real QAudioSink."""

from __future__ import annotations

import asyncio
import threading

import av
import pytest
from PySide6.QtCore import QSize
from PySide6.QtGui import QImage
from PySide6.QtMultimedia import QMediaDevices
from pytestqt.qtbot import QtBot

from softphone.media.pattern import TestPatternTrack
from softphone.media.receiver import FrameTap
from softphone.media.tone import ToneTrack
from softphone.ui import video_view
from softphone.ui.audio_playout import AudioPlayout
from softphone.ui.video_view import VideoRenderer, VideoView, frame_to_qimage


def _solid_frame(width: int, height: int, rgb: tuple[int, int, int]) -> av.VideoFrame:
    frame = av.VideoFrame(width, height, "rgb24")
    row = bytes(rgb) * width
    plane = frame.planes[0]
    plane.update((row + bytes(plane.line_size - len(row))) * height)
    return frame.reformat(format="yuv420p")


def test_frame_to_qimage_keeps_size_and_colour() -> None:
    image = frame_to_qimage(_solid_frame(322, 180, (200, 30, 30)))  # odd stride on purpose
    assert (image.width(), image.height()) == (322, 180)
    red, green, _blue, _ = image.pixelColor(100, 90).getRgb()
    assert red > 170 and green < 70


def test_video_view_letterboxes_keeping_aspect_ratio(qtbot: QtBot) -> None:
    view = VideoView()
    qtbot.addWidget(view)
    view.resize(800, 600)
    image = QImage(QSize(640, 360), QImage.Format.Format_RGB888)
    image.fill(0x336699)
    view.set_image(image)
    rect = view.image_rect()
    assert (rect.width(), rect.height()) == (800, 450)
    assert rect.top() == 75
    assert view.grab().toImage().pixelColor(400, 300).name() == "#336699"


def test_renderer_converts_off_the_gui_thread(
    qtbot: QtBot, qloop: asyncio.AbstractEventLoop, monkeypatch: pytest.MonkeyPatch
) -> None:
    threads: list[str] = []

    def spy(frame: av.VideoFrame) -> QImage:
        threads.append(threading.current_thread().name)
        return frame_to_qimage(frame)

    monkeypatch.setattr(video_view, "frame_to_qimage", spy)
    view = VideoView()
    qtbot.addWidget(view)
    source = TestPatternTrack(320, 180, 30)
    tap = FrameTap("video", depth=1)

    async def pump() -> None:
        for _ in range(15):
            tap.push(await source.recv())
        tap.stop()

    renderer = VideoRenderer(tap, view)
    pumping = qloop.create_task(pump())
    qtbot.waitUntil(lambda: renderer.task.done() and pumping.done(), timeout=5000)
    source.stop()
    assert view.frames_shown >= 3
    assert threads and all(name.startswith("video-convert") for name in threads)
    assert threading.main_thread().name not in threads


@pytest.mark.skipif(not QMediaDevices.audioOutputs(), reason="no sound server (PulseAudio)")
def test_remote_audio_plays_on_a_real_sink(qtbot: QtBot, qloop: asyncio.AbstractEventLoop) -> None:
    source, tap = ToneTrack(), FrameTap("audio", depth=10)
    playout = AudioPlayout(tap, QMediaDevices.defaultAudioOutput())
    assert playout.error is None

    async def pump() -> None:
        for _ in range(25):  # 0.5 s of 48 kHz mono tone, resampled to the sink's format
            tap.push(await source.recv())

    pumping = qloop.create_task(pump())
    qtbot.waitUntil(pumping.done, timeout=5000)
    qtbot.waitUntil(lambda: playout._sink.processedUSecs() > 100_000, timeout=5000)
    closing = qloop.create_task(playout.close())
    qtbot.waitUntil(closing.done, timeout=5000)
    source.stop()
