"""The controller and its presenters against a fake session: ring, accept, decline, cancel,
reconnect states, the exhausted-attempts modal, the bugs of issue 14, and that widgets are
only ever updated on the GUI thread."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import pytest
from PySide6.QtCore import SIGNAL, QSize, Qt, QThread
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QApplication, QLabel, QMessageBox
from pytestqt.qtbot import QtBot

from softphone.call.reconnect import ReconnectFailure
from softphone.ui.controller import AgentController
from softphone.ui.main_window import MainWindow
from softphone.ui.presenters import call_media
from softphone.ui.session_bridge import gui_thread_only
from softphone.ui.tray import notification_text
from tests.ui.fakes import FakeSession, ring


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
    session.ring(ring())
    assert window.pages.currentWidget() is window.incoming
    assert ringer.ringing
    assert "Ada Lovelace is calling" in window.incoming.title.text()
    assert "/pricing" in window.incoming.page.text()
    assert window.call_status.text() == "Incoming call"
    # Ringing must not steal focus: a click gives the buttons none (Tab and shortcuts reach
    # them), and showing the prompt leaves the focus where it was.
    for button in (window.incoming.accept_button, window.incoming.decline_button):
        assert not button.focusPolicy().value & Qt.FocusPolicy.ClickFocus.value
        assert not button.hasFocus()

    window.shortcuts["Ctrl+Shift+A"].activated.emit()
    qtbot.waitUntil(lambda: ("accept", "c1") in session.calls, timeout=2000)
    assert not ringer.ringing
    assert window.pages.currentWidget() is window.call_view
    assert window.call_view.visitor_label.text() == "Ada Lovelace"
    assert window.windowTitle() == "Softphone — In a call"
    assert window.call_status.text() == "Call: connecting…"
    session.connected()
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
    session.ring(ring("c1"))
    session.ring(ring("c2", "Bob"))
    assert window.incoming.call_id == "c1"  # the longest-waiting caller first
    session.cancel("c1", "cancelled")
    # The next waiting caller is shown; the ring goes on.
    assert window.incoming.call_id == "c2"
    assert ringer.ringing
    assert window.statusBar().currentMessage() == "Call from Ada Lovelace was cancelled."
    window.incoming.decline_button.click()
    qtbot.waitUntil(lambda: ("decline", "c2") in session.calls, timeout=2000)
    assert window.pages.currentWidget() is window.idle_page
    assert not ringer.ringing
    assert session.ringing == {}
    session.ring(ring("c3"))
    session.cancel("c3", "ring-timeout")
    assert window.pages.currentWidget() is window.idle_page
    assert "timed out" in window.statusBar().currentMessage()
    assert window.call_status.text() == "No call"


def _in_call(window: MainWindow, session: FakeSession, qtbot: QtBot) -> None:
    session.ring(ring())
    window.incoming.accept_button.click()
    qtbot.waitUntil(lambda: ("accept", "c1") in session.calls, timeout=2000)
    session.connected()


def test_indicator_shows_each_state_and_attempt(setup: tuple, qtbot: QtBot) -> None:
    window, session, _controller, _ringer = setup
    session.ring(ring())
    window.incoming.accept_button.click()
    qtbot.waitUntil(lambda: ("accept", "c1") in session.calls, timeout=2000)
    assert window.call_status.text() == "Call: connecting…"
    assert window.call_status.spinner.is_spinning()
    session.connected()
    assert window.call_status.text() == "Call: connected"
    assert not window.call_status.spinner.is_spinning()
    for attempt in (1, 2, 3):
        session.reconnecting(attempt, 3)
        text = f"Reconnecting… (attempt {attempt} of 3)"
        assert window.call_status.text() == text
        assert window.call_status.accessibleDescription() == text
        assert window.call_status.spinner.is_spinning()
        assert f"attempt {attempt} of 3" in window.call_view.banner_text()
    session.recovered(3, 12.5)
    assert window.call_status.text() == "Reconnected after 12.5 s"
    assert window.call_view.banner_text() == ""
    qtbot.waitUntil(lambda: window.call_status.text() == "Call: connected", timeout=5000)


def test_a_restart_the_visitor_started_names_no_attempt(setup: tuple, qtbot: QtBot) -> None:
    window, session, _controller, _ringer = setup
    _in_call(window, session, qtbot)
    session.reconnecting(0, 3)  # what the reconnect controller reports for the peer's restart
    assert window.call_status.text() == "Reconnecting… (visitor's network)"
    assert "attempt" not in window.call_view.banner_text()
    assert "visitor" in window.call_view.banner_text()
    session.recovered(0, 0.4)
    assert window.call_status.text() == "Reconnected after 0.4 s"


def test_exhausted_attempts_open_modal_and_return_to_idle(setup: tuple, qtbot: QtBot) -> None:
    window, session, controller, _ringer = setup
    _in_call(window, session, qtbot)
    session.reconnecting(3, 3)
    session.exhausted(ReconnectFailure(3, 34.6, "ice-failed", "disconnected"))
    box = controller.reconnect.error_box
    assert box is not None
    qtbot.waitUntil(box.isVisible, timeout=2000)
    assert box.isModal() and box.windowModality().name == "WindowModal"
    text = box.informativeText()
    assert "after 3 attempts" in text and "35 seconds" in text
    assert "network" in text and "VPN" in text and "firewall" in text
    assert window.pages.currentWidget() is window.idle_page
    assert window.call_status.text() == "Call lost"
    assert window.call_view.banner_text() == ""
    assert window.windowTitle() == "Softphone — Away"
    box.copy_button.click()
    copied = QApplication.clipboard().text()
    assert "attempts: 3" in copied and "call id: c1" in copied
    assert box.isVisible(), "Copy details must not close the message"
    with qtbot.waitSignal(box.finished, timeout=2000):
        box.ok_button.click()
    assert not box.isVisible()


def test_visitor_hangup_is_a_notice_and_the_next_caller_rings(setup: tuple, qtbot: QtBot) -> None:
    window, session, _controller, ringer = setup
    _in_call(window, session, qtbot)
    session.ring(ring("c2", "Bob"))  # busy: the session queues it, nothing is shown
    assert window.pages.currentWidget() is window.call_view
    assert not ringer.ringing
    session.remote_hangup("visitor-hangup")
    assert window.statusBar().currentMessage() == "Call ended (visitor-hangup)."
    assert window.pages.currentWidget() is window.incoming
    assert window.incoming.call_id == "c2"
    assert ringer.ringing


def test_a_failed_accept_returns_to_idle_with_its_reason(setup: tuple, qtbot: QtBot) -> None:
    window, session, _controller, ringer = setup

    async def refuse(call_id: str) -> None:
        session.ringing.pop(call_id)  # as AgentSession does before it sends
        raise ConnectionError("signaling is down")

    session.accept = refuse  # type: ignore[method-assign]
    session.ring(ring())
    window.incoming.accept_button.click()
    assert not ringer.ringing
    qtbot.waitUntil(lambda: window.pages.currentWidget() is window.idle_page, timeout=2000)
    assert window.statusBar().currentMessage() == "Could not take the call: signaling is down"
    assert window.call_status.text() == "No call"
    assert window.windowTitle() == "Softphone — Away"


def test_audio_only_when_the_visitor_sends_no_video(
    qtbot: QtBot, qloop: asyncio.AbstractEventLoop, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(call_media, "AUDIO_ONLY_AFTER_MS", 100)
    window = MainWindow()
    qtbot.addWidget(window)
    session = FakeSession()
    controller = AgentController(window, session)  # type: ignore[arg-type]
    window.show()
    session.signaling_state.emit("connected")
    _in_call(window, session, qtbot)
    qtbot.waitUntil(window.call_view.is_audio_only, timeout=2000)
    assert "no video" in window.call_view.stage.audio_label.text()
    image = QImage(QSize(64, 36), QImage.Format.Format_RGB888)
    window.call_view.remote_video.set_image(image)  # the first frame, late
    assert not window.call_view.is_audio_only()
    task = qloop.create_task(controller.close())
    qtbot.waitUntil(task.done, timeout=5000)


def test_restart_ice_now_reaches_the_session(setup: tuple, qtbot: QtBot) -> None:
    window, session, controller, _ringer = setup
    dialog = controller.open_diagnostics()
    assert not dialog.restart_button.isEnabled()  # no call to restart
    _in_call(window, session, qtbot)
    assert dialog.restart_button.isEnabled()
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
    worker = threading.Thread(target=lambda: session.ring(ring("w1")))
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


# --- bugs of issue 14, each reproduced with AgentSession's real event order ------------


class NeverTrack:
    kind = "video"

    async def recv(self) -> object:
        await asyncio.Event().wait()


def _accept(window: MainWindow, session: FakeSession, qtbot: QtBot, call_id: str) -> None:
    session.ring(ring(call_id))
    window.incoming.accept_button.click()
    qtbot.waitUntil(lambda: ("accept", call_id) in session.calls, timeout=2000)
    session.connected()


def test_copied_details_name_the_lost_call(setup: tuple, qtbot: QtBot) -> None:
    window, session, _controller, _ringer = setup
    _accept(window, session, qtbot, "c-lost")
    for attempt in (1, 2, 3):
        session.reconnecting(attempt, 3)
    session.exhausted(ReconnectFailure(3, 34.6, "ice-timeout", "disconnected"))
    box = window.findChild(QMessageBox, "reconnectError")
    assert box is not None
    qtbot.waitUntil(box.isVisible, timeout=2000)
    box.copy_button.click()
    assert "call id: c-lost" in QApplication.clipboard().text()


def test_each_call_leaves_one_first_frame_connection(setup: tuple, qtbot: QtBot) -> None:
    window, session, _controller, _ringer = setup
    view = window.call_view.remote_video
    before = view.receivers(SIGNAL("first_frame()"))
    for call_id in ("c1", "c2", "c3"):
        _accept(window, session, qtbot, call_id)
        session.remote_video_track.emit(NeverTrack())
        session.remote_hangup()
        qtbot.waitUntil(lambda: window.pages.currentWidget() is window.idle_page, timeout=2000)
    assert view.receivers(SIGNAL("first_frame()")) <= max(before, 1)


def test_failed_availability_change_keeps_its_own_notice(setup: tuple, qtbot: QtBot) -> None:
    window, session, _controller, _ringer = setup

    async def refuse(available: bool, reason: str | None = None) -> None:
        raise ConnectionError("server unreachable")

    session.set_available = refuse  # type: ignore[method-assign]
    window.availability_button.click()
    qtbot.waitUntil(lambda: bool(window.statusBar().currentMessage()), timeout=2000)
    qtbot.wait(50)  # the task's done-callback runs after the coroutine
    message = window.statusBar().currentMessage()
    assert message == "Could not change availability: server unreachable"
    assert window.windowTitle() == "Softphone — Away"


HOSTILE = "<h1>IT SECURITY</h1><img src=x>"


def test_tray_notifications_escape_markup_where_it_is_read() -> None:
    escaped = "&lt;h1&gt;IT SECURITY&lt;/h1&gt;&lt;img src=x&gt;"
    assert notification_text(HOSTILE, "linux") == escaped
    assert notification_text(HOSTILE, "win32") == HOSTILE  # a native balloon: plain text


def test_peer_text_is_shown_literally_everywhere(setup: tuple, qtbot: QtBot) -> None:
    window, session, _controller, _ringer = setup
    session.ring(ring("c1", name=HOSTILE, page=HOSTILE))
    shown = [window.incoming.title, window.incoming.page]
    session.ring(ring("c2", name=HOSTILE, page=HOSTILE))
    answered = window.incoming.call_id
    window.incoming.accept_button.click()
    qtbot.waitUntil(lambda: ("accept", answered) in session.calls, timeout=2000)
    shown += [window.call_view.visitor_label, window.call_view.page_label]
    for label in shown:
        assert isinstance(label, QLabel)
        assert HOSTILE in label.text()
        assert label.textFormat() == Qt.TextFormat.PlainText, label.objectName()
    session.cancel("c2" if answered == "c1" else "c1", "ring-timeout")
    assert HOSTILE in window.statusBar().currentMessage()
