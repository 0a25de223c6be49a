"""Hold and transfer in the agent's window against a fake session: the buttons, their
shortcuts, the hold time, the transfer dialog and what the receiving agent reads."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import replace

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from softphone.signaling.client import SignalingError
from softphone.ui.controller import AgentController
from softphone.ui.main_window import MainWindow
from tests.ui.fakes import FakeSession, ring


@pytest.fixture
def in_call(
    qtbot: QtBot, qloop: asyncio.AbstractEventLoop
) -> Iterator[tuple[MainWindow, FakeSession, AgentController]]:
    window = MainWindow()
    qtbot.addWidget(window)
    session = FakeSession()
    controller = AgentController(window, session, agent_name="Grace")  # type: ignore[arg-type]
    window.show()
    session.signaling_state.emit("connected")
    controller.request_availability(True)
    qtbot.waitUntil(lambda: window.available, timeout=2000)
    session.ring(ring())
    window.incoming.accept_button.click()
    qtbot.waitUntil(lambda: session.call is not None, timeout=2000)
    session.connected()
    session.calls.clear()
    yield window, session, controller
    task = qloop.create_task(controller.close())
    qtbot.waitUntil(task.done, timeout=5000)


def test_hold_shows_the_hold_time_through_a_reconnect_and_resume_clears_it(
    in_call, qtbot: QtBot
) -> None:
    window, session, _controller = in_call
    view = window.call_view
    assert not view.hold_label.isVisible() and view.hold_button.text().strip() == "Hold"
    view.hold_button.click()
    qtbot.waitUntil(lambda: session.calls == [("set_on_hold", True)], timeout=2000)
    qtbot.waitUntil(view.hold_label.isVisible, timeout=2000)
    assert view.hold_label.text() == "On hold 0:00"
    assert view.hold_button.isChecked() and view.hold_button.accessibleName() == "Resume"
    view._held_since -= 65  # as if the visitor had waited a minute and five seconds
    qtbot.waitUntil(lambda: view.hold_label.text().startswith("On hold 1:0"), timeout=3000)

    session.reconnecting(1)  # the network drops while on hold, and comes back
    session.recovered(1, 2.0)
    assert view.hold_label.isVisible() and view.hold_label.text().startswith("On hold 1:")

    window.shortcuts["Ctrl+Shift+P"].activated.emit()  # resume from the keyboard
    qtbot.waitUntil(lambda: ("set_on_hold", False) in session.calls, timeout=2000)
    qtbot.waitUntil(lambda: not view.hold_label.isVisible(), timeout=2000)
    assert not view.hold_button.isChecked() and view.hold_button.accessibleName() == "Hold"


def test_transfer_to_a_colleague_with_a_note(in_call, qtbot: QtBot) -> None:
    window, session, controller = in_call
    session.colleagues = ["Bob", "Carol"]
    window.call_view.transfer_button.click()
    qtbot.waitUntil(lambda: controller.transfer_dialog is not None, timeout=2000)
    dialog = controller.transfer_dialog
    assert dialog is not None
    shown = [dialog.targets.item(i).text() for i in range(dialog.targets.count())]
    assert shown == ["The waiting line (next free agent)", "Bob", "Carol"]
    assert dialog.target() == "Bob"  # the first colleague is preselected
    assert dialog.note.maxLength() == 200
    dialog.note.setText("  wants a refund  ")
    dialog.accept()
    qtbot.waitUntil(lambda: ("transfer", ("Bob", "wants a refund")) in session.calls, timeout=2000)
    qtbot.waitUntil(lambda: window.pages.currentWidget() is window.idle_page, timeout=2000)
    assert window.statusBar().currentMessage() == "Call transferred to Bob."
    assert controller.call is None


def test_a_refused_transfer_keeps_the_call(in_call, qtbot: QtBot) -> None:
    window, session, controller = in_call
    session.transfer_error = SignalingError("not_available", "that agent cannot take a call now")
    window.call_view.transfer_button.click()
    qtbot.waitUntil(lambda: controller.transfer_dialog is not None, timeout=2000)
    dialog = controller.transfer_dialog
    assert dialog is not None and dialog.target() is None  # nobody free: the waiting line
    dialog.accept()
    qtbot.waitUntil(
        lambda: "Could not transfer" in window.statusBar().currentMessage(), timeout=2000
    )
    assert window.pages.currentWidget() is window.call_view and controller.call is not None


def test_the_receiving_agent_reads_who_transferred_and_why_as_plain_text(
    qtbot: QtBot, qloop: asyncio.AbstractEventLoop
) -> None:
    window = MainWindow()
    qtbot.addWidget(window)
    session = FakeSession()
    controller = AgentController(window, session, agent_name="Bob")  # type: ignore[arg-type]
    window.show()
    session.signaling_state.emit("connected")
    session.ring(replace(ring(), transferred_by="Grace", note="<b>refund</b> please"))
    label = window.incoming.transfer
    qtbot.waitUntil(label.isVisible, timeout=2000)
    assert label.text() == "Transferred by Grace: <b>refund</b> please"
    assert label.textFormat() == Qt.TextFormat.PlainText
    task = qloop.create_task(controller.close())
    qtbot.waitUntil(task.done, timeout=5000)


def test_talk_first_then_back_to_the_visitor_then_complete(in_call, qtbot: QtBot) -> None:
    window, session, controller = in_call
    view = window.call_view
    session.colleagues = ["Bob"]

    def consult() -> None:
        view.transfer_button.click()
        qtbot.waitUntil(lambda: controller.transfer_dialog is not None, timeout=2000)
        dialog = controller.transfer_dialog
        assert dialog is not None
        dialog.targets.setCurrentRow(0)  # the waiting line: nobody to talk to
        assert not dialog.consult_button.isEnabled()
        dialog.targets.setCurrentRow(1)
        dialog.note.setText("billing")
        dialog.consult_button.click()
        qtbot.waitUntil(view.consult_bar.isVisible, timeout=2000)
        assert view.consult_label.text() == "Calling Bob…"
        assert not view.complete_button.isEnabled()
        assert view.hold_label.isVisible()  # the visitor waits on hold meanwhile
        session.consult_answered()
        assert view.consult_label.text() == "Talking to Bob — the visitor is on hold"
        assert view.complete_button.isEnabled()

    consult()
    assert ("consult", ("Bob", "billing")) in session.calls
    view.cancel_consult_button.click()
    qtbot.waitUntil(lambda: ("set_on_hold", False) in session.calls, timeout=2000)
    assert ("cancel_consult", None) in session.calls
    qtbot.waitUntil(lambda: not view.consult_bar.isVisible(), timeout=2000)
    assert not view.hold_label.isVisible() and controller.call is not None

    consult()
    view.complete_button.click()
    qtbot.waitUntil(lambda: ("transfer", ("Bob", "billing")) in session.calls, timeout=2000)
    qtbot.waitUntil(lambda: window.pages.currentWidget() is window.idle_page, timeout=2000)
    assert window.statusBar().currentMessage() == "Call transferred to Bob."
