"""The ring: a looped two-tone chime on the ringer device (it may differ from the
headset, so the agent hears calls without wearing it)."""

from __future__ import annotations

import logging

from PySide6.QtCore import QObject, QUrl
from PySide6.QtMultimedia import QAudioDevice, QSoundEffect

from softphone.resources import resource_path

log = logging.getLogger(__name__)


class Ringer(QObject):
    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._effect = QSoundEffect(self)
        self._effect.setSource(QUrl.fromLocalFile(str(resource_path("sounds", "ring.wav"))))
        self._effect.setLoopCount(QSoundEffect.Loop.Infinite.value)
        self._effect.setVolume(0.8)
        self.ringing = False

    def set_device(self, device: QAudioDevice | None) -> None:
        if device is not None:
            self._effect.setAudioDevice(device)

    def start(self) -> None:
        self.ringing = True
        self._effect.play()
        log.info("ui.ring_start")

    def stop(self) -> None:
        if self.ringing:
            log.info("ui.ring_stop")
        self.ringing = False
        self._effect.stop()
