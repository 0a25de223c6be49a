"""The agent's state panel against a fake session: the wrap-up countdown and its end (Ready,
going away, the time), notes into the history, the away reason, the queue label."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from softphone.history import CallHistory, CallRecord
from softphone.ui.agent_state import clock_text, queue_text
from softphone.ui.controller import AgentController
from softphone.ui.main_window import MainWindow
from tests.ui.fakes import FakeSession


@pytest.fixture
def setup(
    qtbot: QtBot, qloop: asyncio.AbstractEventLoop, tmp_path: Path
) -> Iterator[tuple[MainWindow, FakeSession, CallHistory]]:
    history = CallHistory(tmp_path / "history.sqlite3")
    history.add(CallRecord("c1", 1e9, 1e9 + 95, "Ada Lovelace", "/pricing", "normal", (), "", "G"))
    window = MainWindow()
    qtbot.addWidget(window)
    session = FakeSession()
    controller = AgentController(window, session, agent_name="Grace", history=history)  # type: ignore[arg-type]
    window.show()
    session.signaling_state.emit("connected")
    controller.request_availability(True)
    qtbot.waitUntil(lambda: window.available, timeout=2000)
    yield window, session, history
    task = qloop.create_task(controller.close())
    qtbot.waitUntil(task.done, timeout=5000)
    history.close()


def test_ready_saves_the_notes_and_says_available(setup, qtbot: QtBot) -> None:
    window, session, history = setup
    session.wrap_up.emit("c1", 75.0)
    panel = window.wrap_up
    qtbot.waitUntil(panel.isVisible, timeout=2000)
    assert panel.title.text() in {"Wrap-up 1:15", "Wrap-up 1:14"}
    assert window.windowTitle() == "Softphone — After-call work"
    assert window.availability_button.text() == "● After-call work"  # not "Available" yet
    session.calls.clear()
    panel.notes.setPlainText("  Wants a callback  ")
    window.shortcuts["Ctrl+Shift+R"].activated.emit()
    assert not panel.isVisible()
    qtbot.waitUntil(lambda: session.calls == [("set_available", True)], timeout=2000)
    assert history.recent()[0].notes == "Wants a callback"
    assert window.windowTitle() == "Softphone — Available"
    assert window.availability_button.text() == "● Available"


def test_going_away_ends_the_wrap_up_keeps_the_notes_and_says_why(setup, qtbot: QtBot) -> None:
    window, session, history = setup
    session.wrap_up.emit("c1", 30.0)
    qtbot.waitUntil(window.wrap_up.isVisible, timeout=2000)
    window.wrap_up.notes.setPlainText("Refund asked")
    window.away_reason.setCurrentIndex(window.away_reason.findData("lunch"))
    window.availability_button.click()
    qtbot.waitUntil(lambda: not window.available, timeout=2000)
    assert session.away_reason == "lunch"
    assert not window.wrap_up.isVisible()
    assert history.recent()[0].notes == "Refund asked"
    assert window.idle_label.text() == "You are away"


def test_the_wrap_up_ends_when_its_time_is_up(setup, qtbot: QtBot) -> None:
    window, session, history = setup
    session.calls.clear()
    session.wrap_up.emit("c1", 0.0)
    qtbot.waitUntil(lambda: ("set_available", True) in session.calls, timeout=2000)
    assert not window.wrap_up.isVisible()
    assert history.recent()[0].notes == ""  # nothing typed, nothing written


def test_the_queue_label_follows_the_server(setup, qtbot: QtBot) -> None:
    window, session, _history = setup
    session.queue.emit(3, 80.0)
    qtbot.waitUntil(lambda: window.queue_label.text() == "3 waiting · longest 1:20", timeout=2000)
    session.queue.emit(0, 0.0)
    qtbot.waitUntil(lambda: window.queue_label.text() == "Nobody waiting", timeout=2000)


def test_clock_and_queue_texts() -> None:
    assert [clock_text(s) for s in (0, 9.6, 80, 3600, -4)] == [
        "0:00",
        "0:10",
        "1:20",
        "60:00",
        "0:00",
    ]
    assert queue_text(1, 5) == "1 waiting · longest 0:05"
