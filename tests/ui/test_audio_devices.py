"""Preferred-device fallback with a real sound server: a PulseAudio null sink plays the
USB headset that gets plugged in. Qt 6.11's PulseAudio backend reports added sinks but
not removed ones, so the unplug half feeds the device list the way Qt would."""

from __future__ import annotations

import shutil
import subprocess
import uuid

import pytest
from PySide6.QtMultimedia import QAudioDevice, QMediaDevices
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from softphone.ui.audio_devices import OutputChoice, device_id


def _pactl(*args: str) -> str:
    return subprocess.run(
        ["pactl", *args], capture_output=True, text=True, timeout=10, check=True
    ).stdout.strip()


@pytest.mark.skipif(shutil.which("pactl") is None, reason="needs PulseAudio's pactl")
def test_preferred_output_follows_plug_and_unplug(qtbot: QtBot, qapp: QApplication) -> None:
    if not QMediaDevices.audioOutputs():
        pytest.skip("no sound server (PulseAudio)")
    name = f"headset_{uuid.uuid4().hex[:6]}"
    unplugged = False

    def outputs() -> list[QAudioDevice]:
        found = QMediaDevices.audioOutputs()
        return [d for d in found if not (unplugged and device_id(d) == name)]

    choice = OutputChoice("speaker", name, list_outputs=outputs)
    assert choice.device is not None and device_id(choice.device) != name  # system default
    with qtbot.waitSignal(choice.notice, timeout=5000) as plugged:
        module = _pactl("load-module", "module-null-sink", f"sink_name={name}")
    try:
        assert "preferred speaker again" in plugged.args[0]
        assert choice.device is not None and device_id(choice.device) == name
        unplugged = True
        with qtbot.waitSignal(choice.notice, timeout=1000) as gone:
            choice.refresh()  # what audioOutputsChanged triggers
        assert gone.args[0].startswith("Preferred speaker unplugged: using ")
        assert choice.device is not None and device_id(choice.device) != name
    finally:
        _pactl("unload-module", module)


def test_unplugged_preferred_output_falls_back_with_a_notice(qapp: QApplication) -> None:
    outputs = QMediaDevices.audioOutputs()
    if not outputs:
        pytest.skip("no sound server (PulseAudio)")
    present: list[QAudioDevice] = list(outputs)
    choice = OutputChoice("ringer", device_id(outputs[0]), list_outputs=lambda: present)
    notices: list[str] = []
    choice.notice.connect(notices.append)
    present.clear()
    choice.refresh()
    assert choice.device is None and notices[-1] == "No ringer device found: sound is off."
    present.extend(outputs)
    choice.refresh()
    assert choice.device == outputs[0] and "again" in notices[-1]
