"""The presenter against a fake session: ring, accept, decline, cancel, reconnect states,
the exhausted-attempts modal, and that widgets are only ever updated on the GUI thread."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import pytest
from PySide6.QtCore import QThread
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from softphone.rtc.reconnect import ReconnectFailure, ReconnectState
from softphone.ui.controller import AgentController
from softphone.ui.main_window import MainWindow
from softphone.ui.session_bridge import gui_thread_only
from tests.ui.fakes import FakeReconnect, FakeSession, ring


class FakeRinger:
    def __init__(self) -> None:
        self.ringing = False

    def start(self) -> None:
        self.ringing = True

    def stop(self) -> None:
        self.ringing = False


@pytest.fixture
def setup(
    qtbot: QtBot, qloop: asyncio.AbstractEventLoop
) -> Iterator[tuple[MainWindow, FakeSession, AgentController, FakeRinger]]:
    window = MainWindow()
    qtbot.addWidget(window)
    session = FakeSession()
    ringer = FakeRinger()
    controller = AgentController(window, session, agent_name="Grace", ringer=ringer)  # type: ignore[arg-type]
    window.show()
    session.signaling_state.emit("connected")
    yield window, session, controller, ringer
    task = qloop.create_task(controller.close())
    qtbot.waitUntil(task.done, timeout=5000)


def test_ring_then_accept_starts_the_call(setup: tuple, qtbot: QtBot) -> None:
    window, session, _controller, ringer = setup
    assert window.windowTitle() == "Softphone — Away"
    session.incoming_call.emit(ring())
    assert window.pages.currentWidget() is window.incoming
    assert ringer.ringing
    assert "Ada Lovelace is calling" in window.incoming.title.text()
    assert "/pricing" in window.incoming.page.text()
    assert window.call_status.text() == "Incoming call"
    # Ringing must not steal focus: the buttons take none.
    assert window.incoming.accept_button.focusPolicy().name == "NoFocus"

    window.shortcuts["Ctrl+Shift+A"].activated.emit()
    qtbot.waitUntil(lambda: ("accept", "c1") in session.calls, timeout=2000)
    assert not ringer.ringing
    assert window.pages.currentWidget() is window.call_view
    assert window.call_view.visitor_label.text() == "Ada Lovelace"
    assert window.windowTitle() == "Softphone — In a call"
    session.call_state.emit("connected")
    assert window.call_status.text() == "Call: connected"

    window.call_view.mute_button.click()
    window.call_view.camera_button.click()
    assert ("set_muted", True) in session.calls
    assert ("set_camera_enabled", False) in session.calls
    assert window.call_view.mute_button.text().strip() == "Unmute"

    window.call_view.hangup_button.click()
    qtbot.waitUntil(lambda: window.pages.currentWidget() is window.idle_page, timeout=2000)
    assert window.call_status.text() == "Call ended"


def test_prompt_stays_until_visitor_cancels_and_decline_reaches_session(
    setup: tuple, qtbot: QtBot
) -> None:
    window, session, _controller, ringer = setup
    session.incoming_call.emit(ring("c1"))
    session.incoming_call.emit(ring("c2", "Bob"))
    session.call_cancelled.emit("c1", "cancelled")
    # The next waiting caller is shown; the ring goes on.
    assert window.incoming.call_id == "c2"
    assert ringer.ringing
    assert "cancelled" in window.statusBar().currentMessage()
    window.incoming.decline_button.click()
    qtbot.waitUntil(lambda: ("decline", "c2") in session.calls, timeout=2000)
    assert window.pages.currentWidget() is window.idle_page
    assert not ringer.ringing
    session.incoming_call.emit(ring("c3"))
    session.call_cancelled.emit("c3", "ring-timeout")
    assert window.pages.currentWidget() is window.idle_page
    assert "timed out" in window.statusBar().currentMessage()


def _in_call(window: MainWindow, session: FakeSession) -> None:
    session.incoming_call.emit(ring())
    window.incoming.accept_button.click()
    session.call_state.emit("connecting")
    session.call_state.emit("connected")


def test_indicator_shows_each_state_and_attempt(setup: tuple, qtbot: QtBot) -> None:
    window, session, _controller, _ringer = setup
    session.incoming_call.emit(ring())
    window.incoming.accept_button.click()
    session.call_state.emit("connecting")
    assert window.call_status.text() == "Call: connecting…"
    assert window.call_status.spinner.is_spinning()
    session.call_state.emit("connected")
    assert window.call_status.text() == "Call: connected"
    assert not window.call_status.spinner.is_spinning()
    # What AgentSession emits per attempt: call_state("reconnecting"), then the progress.
    for attempt in (1, 2, 3):
        session.call_state.emit("reconnecting")
        session.reconnect_progress.emit(attempt, 3)
        text = f"Reconnecting… (attempt {attempt} of 3)"
        assert window.call_status.text() == text
        assert window.call_status.accessibleDescription() == text
        assert window.call_status.spinner.is_spinning()
        assert f"attempt {attempt} of 3" in window.call_view.banner_text()
    session.reconnected.emit(3, 12.5)
    session.call_state.emit("connected")
    assert window.call_status.text() == "Reconnected"
    assert window.call_view.banner_text() == ""
    qtbot.waitUntil(lambda: window.call_status.text() == "Call: connected", timeout=5000)


def test_indicator_follows_a_directly_attached_reconnect_controller(setup: tuple) -> None:
    window, session, controller, _ringer = setup
    reconnect = FakeReconnect()
    controller.bridge.attach_reconnect(reconnect)
    _in_call(window, session)
    reconnect.state_changed.emit(ReconnectState.RECONNECTING, 2, 3)
    assert window.call_status.text() == "Reconnecting… (attempt 2 of 3)"
    reconnect.state_changed.emit(ReconnectState.CONNECTED, 2, 3)
    assert window.call_status.text() == "Reconnected"


def test_exhausted_attempts_open_modal_and_return_to_idle(setup: tuple, qtbot: QtBot) -> None:
    window, session, controller, _ringer = setup
    _in_call(window, session)
    session.call_state.emit("reconnecting")
    session.reconnect_progress.emit(3, 3)
    # AgentSession's order when the controller gives up:
    session.call_state.emit("failed")
    session.call_failed.emit(ReconnectFailure(3, 34.6, "ice-failed", "disconnected"))
    session.call_state.emit("ended")
    session.call_ended.emit("reconnect-failed")
    box = controller.error_box
    assert box is not None
    qtbot.waitUntil(box.isVisible, timeout=2000)
    assert box.isModal() and box.windowModality().name == "WindowModal"
    text = box.informativeText()
    assert "after 3 attempts" in text and "35 seconds" in text
    assert "network" in text and "VPN" in text and "firewall" in text
    assert window.pages.currentWidget() is window.idle_page
    assert window.call_status.text() == "Call lost"
    assert window.windowTitle() == "Softphone — Away"
    box.copy_button.click()
    assert "attempts: 3" in QApplication.clipboard().text()
    assert box.isVisible(), "Copy details must not close the message"
    with qtbot.waitSignal(box.finished, timeout=2000):
        box.ok_button.click()
    assert not box.isVisible()


def test_restart_ice_now_reaches_the_session(setup: tuple) -> None:
    window, session, controller, _ringer = setup
    dialog = controller.open_diagnostics()
    assert dialog.restart_button.isEnabled()
    _in_call(window, session)
    dialog.restart_button.click()
    assert ("restart_ice", "manual") in session.calls
    dialog.close()


def test_availability_toggle_and_signaling_loss_in_status_bar(setup: tuple, qtbot: QtBot) -> None:
    window, session, _controller, _ringer = setup
    window.availability_button.click()
    qtbot.waitUntil(lambda: window.windowTitle() == "Softphone — Available", timeout=2000)
    assert ("set_available", True) in session.calls
    assert window.availability_button.text() == "● Available"
    session.signaling_state.emit("reconnecting")
    assert window.signaling_status.text() == "Server: reconnecting…"
    # Signaling loss outside a call is status-bar news, never a modal.
    assert QApplication.activeModalWidget() is None
    session.signaling_state.emit("closed")
    assert window.windowTitle() == "Softphone — Offline"
    assert not window.availability_button.isEnabled()


def test_events_from_worker_threads_reach_widgets_on_the_gui_thread(
    setup: tuple, qtbot: QtBot
) -> None:
    window, session, _controller, _ringer = setup
    seen: list[QThread] = []
    original = window.show_ringing

    def spy(*args: object) -> None:
        seen.append(QThread.currentThread())
        original(*args)  # type: ignore[arg-type]

    window.show_ringing = spy  # type: ignore[method-assign]
    worker = threading.Thread(target=lambda: session.incoming_call.emit(ring("w1")))
    worker.start()
    worker.join(5)
    qtbot.waitUntil(lambda: bool(seen), timeout=2000)
    assert seen == [QApplication.instance().thread()]  # type: ignore[union-attr]
    assert window.incoming.call_id == "w1"


def test_gui_thread_only_rejects_calls_from_other_threads(qapp: QApplication) -> None:
    @gui_thread_only
    def update() -> str:
        return "ok"

    errors: list[BaseException] = []

    def run() -> None:
        try:
            update()
        except AssertionError as exc:
            errors.append(exc)

    worker = threading.Thread(target=run)
    worker.start()
    worker.join(5)
    assert update() == "ok"
    assert len(errors) == 1
