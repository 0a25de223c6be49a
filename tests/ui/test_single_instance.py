from __future__ import annotations

import uuid

from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from softphone.ui.single_instance import SingleInstance, instance_name


def test_second_launch_activates_the_first(qtbot: QtBot, qapp: QApplication) -> None:
    name = f"softphone-test-{uuid.uuid4().hex[:8]}"
    first = SingleInstance(name)
    assert not first.notify_running()  # nobody there yet
    assert first.listen()
    second = SingleInstance(name)
    try:
        with qtbot.waitSignal(first.activation_requested, timeout=3000):
            assert second.notify_running()
    finally:
        first.close()
    assert not SingleInstance(name).notify_running()


def test_instance_name_is_per_user_and_stable() -> None:
    assert instance_name() == instance_name()
    assert instance_name().startswith("softphone-")
