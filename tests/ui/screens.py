"""Every screen an agent sees, reached the way an agent reaches it (over the fake session),
and a walk over what each one shows: the widgets' texts and the accessibility tree. Shared
by the translation and the accessibility tests, so both cover the same screens."""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QAccessible, QAccessibleInterface
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractSpinBox,
    QComboBox,
    QLabel,
    QLineEdit,
    QMainWindow,
    QTabWidget,
    QWidget,
)
from pytestqt.qtbot import QtBot

from softphone.call.reconnect import ReconnectFailure
from softphone.call.state import RestartOrigin
from softphone.history import CallHistory, CallRecord, Interruption, InterruptionOutcome
from softphone.media.local import TEST_PATTERN, TONE
from softphone.rtc.stats import CallStats
from softphone.settings import MediaSettings, ReconnectSettings
from softphone.ui.controller import AgentController
from softphone.ui.dialogs.settings_dialog import NO_DEVICE, SettingsDialog
from softphone.ui.dialogs.sign_in import SignInDialog
from softphone.ui.history_view import HistoryView
from softphone.ui.main_window import MainWindow
from softphone.ui.preferences import SignIn
from softphone.ui.video_view import VideoView
from tests.ui.fakes import FakeSession, ring

SCREENS = [
    "offline",
    "sign-in",
    "idle",
    "ringing",
    "ringing-transferred",
    "in-call",
    "on-hold",
    "transfer",
    "consulting",
    "wrap-up",
    "reconnecting",
    "error",
    "settings",
    "diagnostics",
    "history",
    "quit",
]
# What the visitor and the agent typed: shown as given, never translated.
PEER_TEXT = ("Ada Lovelace", "/pricing", "Grace", "Bob", "wants a refund")
# Combo entries that are ours (system device names are not).
OWN_ITEM_DATA = {"", TEST_PATTERN, TONE, NO_DEVICE}


@contextmanager
def open_screen(
    name: str, qtbot: QtBot, qloop: asyncio.AbstractEventLoop
) -> Iterator[tuple[QWidget, MainWindow]]:
    """The top-level window of screen ``name`` (the main window, a dialog or a modal)."""
    window = MainWindow()
    qtbot.addWidget(window)
    session = FakeSession()
    controller = AgentController(window, session, agent_name="Grace")  # type: ignore[arg-type]
    window.show()
    qtbot.waitExposed(window)
    with ExitStack() as stack:
        try:
            yield _reach(name, window, session, controller, qtbot, stack), window
        finally:
            task = qloop.create_task(controller.close())
            qtbot.waitUntil(task.done, timeout=5000)


def _history_of_one_call(stack: ExitStack) -> CallHistory:
    """A temporary store holding one call with one recovered interruption."""
    folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="softphone-screen-")))
    history = CallHistory(folder / "history.sqlite3")
    stack.callback(history.close)
    episode = Interruption(1e9 + 60, 2.3, 2, RestartOrigin.LOCAL, InterruptionOutcome.RECOVERED)
    history.add(
        CallRecord(
            "c1", 1e9, 1e9 + 95, "Ada Lovelace", "/pricing", "normal", (episode,), "", "Grace"
        )
    )
    return history


def _reach(  # noqa: PLR0917 (one call site, each argument named at it)
    name: str,
    window: MainWindow,
    session: FakeSession,
    controller: AgentController,
    qtbot: QtBot,
    stack: ExitStack,
) -> QWidget:
    if name == "offline":  # before sign-in, or while the server is unreachable
        session.signaling_state.emit("reconnecting")
        return window
    if name == "sign-in":
        dialog = SignInDialog(None, window)
        dialog.server_url.setText("ws")  # typing started: the problems are shown
        return _shown(dialog, qtbot)
    session.signaling_state.emit("connected")
    controller.request_availability(True)
    qtbot.waitUntil(lambda: window.available, timeout=2000)
    if name == "settings":
        dialog = SettingsDialog(
            MediaSettings(),
            ReconnectSettings(),
            SignIn("wss://calls.example.com/ws", "Grace", "secret"),
            [],
            window,
        )
        dialog.backoff.setText("1, x")  # shows a validation problem
        return _shown(dialog, qtbot)
    if name == "idle":
        return window
    if name == "history":  # the tool window of the header's "Call history" button
        view = HistoryView(_history_of_one_call(stack), window)
        view.setWindowFlag(Qt.WindowType.Tool)
        view.resize(1600, 300)  # every column in view: a screen reader reads visible cells
        return _shown(view, qtbot)
    if name == "ringing-transferred":  # a colleague handed the call on, with a note
        session.ring(replace(ring(), transferred_by="Bob", note="wants a refund"))
        return window
    session.ring(ring())
    if name == "ringing":
        return window
    window.incoming.accept_button.click()
    qtbot.waitUntil(lambda: session.call is not None, timeout=2000)
    session.connected()
    if name == "in-call":
        return window
    if name == "on-hold":
        window.call_view.hold_button.click()
        qtbot.waitUntil(window.call_view.hold_label.isVisible, timeout=2000)
        return window
    if name == "consulting":  # talking to a colleague before handing the call over
        session.colleagues = ["Bob"]
        window.call_view.transfer_button.click()
        qtbot.waitUntil(lambda: controller.transfer_dialog is not None, timeout=2000)
        assert controller.transfer_dialog is not None
        controller.transfer_dialog.consult_button.click()
        qtbot.waitUntil(window.call_view.consult_bar.isVisible, timeout=2000)
        session.consult_answered()
        return window
    if name == "transfer":
        session.colleagues = ["Bob"]
        window.call_view.transfer_button.click()
        qtbot.waitUntil(lambda: controller.transfer_dialog is not None, timeout=2000)
        assert controller.transfer_dialog is not None
        return _shown(controller.transfer_dialog, qtbot)
    if name == "wrap-up":  # the call ended: after-call work, the line still waiting
        session.remote_hangup()
        session.wrap_up.emit("c1", 30.0)
        session.queue.emit(3, 80.0)
        qtbot.waitUntil(window.wrap_up.isVisible, timeout=2000)
        return window
    if name == "quit":
        return _shown(window.ask_quit(), qtbot)
    if name == "diagnostics":
        session.stats_value = CallStats(rtt_ms=520.0, jitter_ms=45.0, loss_percent=2.5)
        dialog = controller.open_diagnostics()
        qtbot.waitUntil(lambda: "520" in dialog.warnings.text(), timeout=3000)
        return dialog
    session.reconnecting(2, 3)
    if name == "reconnecting":
        return window
    session.exhausted(ReconnectFailure(3, 34.6, "ice-failed", "disconnected"))
    qtbot.waitUntil(lambda: controller.reconnect.error_box is not None, timeout=2000)
    box = controller.reconnect.error_box
    assert box is not None
    return _shown(box, qtbot)


def _shown(widget: QWidget, qtbot: QtBot) -> QWidget:
    widget.open() if hasattr(widget, "open") else widget.show()
    qtbot.waitExposed(widget)
    return widget


def pages(top: QWidget) -> Iterator[None]:
    """Each page of every tab widget in turn (their controls are visible one page at a time)."""
    yield
    for tabs in top.findChildren(QTabWidget):
        for index in range(1, tabs.count()):
            tabs.setCurrentIndex(index)
            yield
        tabs.setCurrentIndex(0)


def visible_widgets(top: QWidget) -> list[QWidget]:
    return [top, *(w for w in top.findChildren(QWidget) if w.isVisibleTo(top))]


def shown_texts(top: QWidget) -> list[tuple[str, str]]:
    """(where, text) of everything the agent reads or a screen reader says on this page."""
    texts = [("window title", top.windowTitle())]
    if isinstance(top, QMainWindow):
        texts.append(("status bar", top.statusBar().currentMessage()))
    for widget in visible_widgets(top):
        where = f"{type(widget).__name__} {widget.objectName()!r}"
        texts += [
            (f"{where} tooltip", widget.toolTip()),
            (f"{where} accessible name", widget.accessibleName()),
            (f"{where} accessible description", widget.accessibleDescription()),
        ]
        if isinstance(widget, QLabel | QAbstractButton):
            texts.append((f"{where} text", widget.text()))
        if isinstance(widget, QLineEdit):
            texts.append((f"{where} placeholder", widget.placeholderText()))
        if isinstance(widget, QAbstractSpinBox):
            texts.append((f"{where} suffix", getattr(widget, "suffix", str)()))
        if isinstance(widget, QComboBox):
            texts += [
                (f"{where} item", widget.itemText(i))
                for i in range(widget.count())
                if widget.itemData(i) in OWN_ITEM_DATA
            ]
        if isinstance(widget, QTabWidget):
            texts += [(f"{where} tab", widget.tabText(i)) for i in range(widget.count())]
        if isinstance(widget, VideoView):
            texts.append((f"{where} placeholder", widget.placeholder()))
    for node in accessible_nodes(top):
        for kind in (QAccessible.Text.Name, QAccessible.Text.Description):
            texts.append((f"accessible {node.role().name} {kind.name}", node.text(kind)))
    return [(where, text) for where, text in texts if text]


def accessible_nodes(top: QWidget) -> list[QAccessibleInterface]:
    """The accessibility tree under ``top``, as a screen reader walks it (visible nodes)."""
    root = QAccessible.queryAccessibleInterface(top)
    assert root is not None and root.isValid()
    found: list[QAccessibleInterface] = []
    stack = [root]
    while stack and len(found) < 2000:  # bounded: a cycle would be a Qt bug, not a hang
        node = stack.pop()
        found.append(node)
        for index in range(node.childCount()):
            child = node.child(index)
            if child is not None and child.isValid() and not child.state().invisible:
                stack.append(child)
    return found
