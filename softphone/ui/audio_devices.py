"""Audio output choice: the preferred device by id, else the system default with a notice;
back to the preferred one when it is plugged in again."""

from __future__ import annotations

import logging
from collections.abc import Callable

from PySide6.QtCore import QObject, Signal
from PySide6.QtMultimedia import QAudioDevice, QMediaDevices

from softphone.ui.i18n import translate

log = logging.getLogger(__name__)


def device_id(device: QAudioDevice) -> str:
    return bytes(device.id().data()).decode("utf-8", "replace")


def find_output(preferred_id: str, outputs: list[QAudioDevice]) -> QAudioDevice | None:
    """The preferred output if present, else the default; None when there is no output."""
    for device in outputs:
        if preferred_id and device_id(device) == preferred_id:
            return device
    default = QMediaDevices.defaultAudioOutput()
    if not default.isNull() and default in outputs:
        return default
    return outputs[0] if outputs else None


class OutputChoice(QObject):
    """One role's output (speaker or ringer); follows plug/unplug of the preferred device."""

    changed = Signal(object)  # QAudioDevice | None
    notice = Signal(str)

    def __init__(
        self,
        role: str,
        preferred_id: str = "",
        parent: QObject | None = None,
        list_outputs: Callable[[], list[QAudioDevice]] = QMediaDevices.audioOutputs,
    ) -> None:
        super().__init__(parent)
        self.role = role
        self.preferred_id = preferred_id
        self._list_outputs = list_outputs
        self.device = find_output(preferred_id, list_outputs())
        self._media_devices = QMediaDevices(self)
        self._media_devices.audioOutputsChanged.connect(self.refresh)

    def set_preferred(self, preferred_id: str) -> None:
        self.preferred_id = preferred_id
        self.refresh()

    def using_preferred(self) -> bool:
        return bool(self.device) and (
            not self.preferred_id or device_id(self.device) == self.preferred_id  # type: ignore[arg-type]
        )

    def refresh(self) -> None:
        was_preferred = self.using_preferred()
        device = find_output(self.preferred_id, self._list_outputs())
        if device == self.device:
            return
        self.device = device
        role = self.role_text()
        if device is None:
            self.notice.emit(
                translate("AudioDevices", "No {role} device found: sound is off.").format(role=role)
            )
        elif was_preferred and not self.using_preferred():
            self.notice.emit(
                translate(
                    "AudioDevices", "Preferred {role} unplugged: using {device} instead."
                ).format(role=role, device=device.description())
            )
        elif self.using_preferred() and self.preferred_id:
            self.notice.emit(
                translate("AudioDevices", "Using your preferred {role} again: {device}.").format(
                    role=role, device=device.description()
                )
            )
        log.info("ui.audio_output", extra={"role": self.role, "device": self.description()})
        self.changed.emit(device)

    def role_text(self) -> str:
        """The role in the agent's language (``role`` itself stays the log's key)."""
        if self.role == "ringer":
            return translate("AudioDevices", "ringer")
        return translate("AudioDevices", "speaker")

    def description(self) -> str:
        return self.device.description() if self.device is not None else "none"
