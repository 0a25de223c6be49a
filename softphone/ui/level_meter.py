"""Microphone level bar for the settings dialog: proof the mic works before a call."""

from __future__ import annotations

import array

from PySide6.QtCore import QIODevice
from PySide6.QtGui import QHideEvent, QShowEvent
from PySide6.QtMultimedia import QAudioFormat, QAudioSource, QMediaDevices
from PySide6.QtWidgets import QProgressBar, QWidget

from softphone.ui.i18n import translate


def peak_percent(pcm: bytes) -> int:
    """Peak of signed 16-bit little-endian samples, 0..100."""
    samples = array.array("h")
    samples.frombytes(pcm[: len(pcm) - len(pcm) % 2])
    if not samples:
        return 0
    return min(100, round(100 * max(abs(s) for s in samples) / 32768))


class LevelMeter(QProgressBar):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setRange(0, 100)
        self.setTextVisible(False)
        self.setMaximumHeight(12)
        self.setAccessibleName(translate("LevelMeter", "Microphone level"))
        self.setAccessibleDescription(
            translate("LevelMeter", "Moves while the default microphone hears sound")
        )
        self._source: QAudioSource | None = None
        self._io: QIODevice | None = None

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 (Qt override)
        """The microphone is opened only while the meter is on screen."""
        super().showEvent(event)
        if self._source is None:
            self.start()

    def hideEvent(self, event: QHideEvent) -> None:  # noqa: N802 (Qt override)
        self.stop()
        super().hideEvent(event)

    def start(self) -> bool:
        device = QMediaDevices.defaultAudioInput()
        if device.isNull():
            self.setToolTip(translate("LevelMeter", "No microphone found by the sound system"))
            return False
        fmt = QAudioFormat()
        fmt.setSampleRate(16_000)
        fmt.setChannelCount(1)
        fmt.setSampleFormat(QAudioFormat.SampleFormat.Int16)
        self._source = QAudioSource(device, fmt, self)
        self._io = self._source.start()
        if self._io is None:
            return False
        self._io.readyRead.connect(self._read)
        self.setToolTip(
            translate("LevelMeter", "Level of {device}").format(device=device.description())
        )
        return True

    def stop(self) -> None:
        if self._source is not None:
            self._source.stop()
            self._source = None
            self._io = None

    def _read(self) -> None:
        if self._io is not None:
            self.setValue(peak_percent(bytes(self._io.readAll().data())))
