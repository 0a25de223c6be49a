"""Answer, hang up and mute from another window of the app when the setting says so (the
history window here); only from the main window by default."""

from __future__ import annotations

import asyncio

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QWidget
from pytestqt.qtbot import QtBot

from softphone.settings import Settings
from softphone.ui.controller import AgentController
from softphone.ui.main_window import MainWindow
from tests.ui.fakes import FakeSession, ring


@pytest.mark.parametrize("app_wide", [True, False])
def test_call_shortcuts_from_another_window(
    app_wide: bool, qtbot: QtBot, qloop: asyncio.AbstractEventLoop
) -> None:
    assert Settings().call_shortcuts == "window"  # the main window only, unless chosen
    window = MainWindow()
    qtbot.addWidget(window)
    window.set_call_shortcuts_app_wide(app_wide)
    session = FakeSession()
    controller = AgentController(window, session, agent_name="Grace")  # type: ignore[arg-type]
    window.show()
    qtbot.waitExposed(window)
    session.signaling_state.emit("connected")
    session.ring(ring())
    qtbot.waitUntil(lambda: window.pages.currentWidget() is window.incoming, timeout=2000)
    keys = QKeySequence("Ctrl+Shift+A")[0]
    other = QWidget()  # stands for the history window: another top-level window of the app
    qtbot.addWidget(other)
    other.show()
    other.activateWindow()
    qtbot.waitActive(other)
    for _ in range(2):  # offscreen Qt may drop the first press of a shortcut in a run
        QTest.keyClick(other, keys.key(), keys.keyboardModifiers())
        qtbot.wait(50)
    if app_wide:
        qtbot.waitUntil(lambda: ("accept", "c1") in session.calls, timeout=2000)
        assert window.shortcuts["Ctrl+Shift+M"].context() == Qt.ShortcutContext.ApplicationShortcut
    else:
        qtbot.wait(200)
        assert ("accept", "c1") not in session.calls
        assert window.shortcuts["Ctrl+Shift+M"].context() == Qt.ShortcutContext.WindowShortcut
    task = qloop.create_task(controller.close())
    qtbot.waitUntil(task.done, timeout=5000)
