"""Accessibility of every screen: the accessibility tree names and describes every control,
Tab walks the controls in reading order, every action has a keyboard shortcut shown in its
tooltip, reconnecting and the lost call are announced, colour never carries a state alone,
and the high-contrast look follows the system."""

from __future__ import annotations

import asyncio
import itertools
import re
from typing import Any

import pytest
from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QAccessible, QGuiApplication
from PySide6.QtWidgets import QToolButton, QWidget
from pytestqt.qtbot import QtBot

from softphone.call.reconnect import ReconnectFailure
from softphone.call.state import CallState, CallStatus
from softphone.ui import a11y, theme
from softphone.ui.a11y import shortcut_text
from softphone.ui.controller import AgentController
from softphone.ui.main_window import MainWindow
from tests.ui.fakes import FakeSession, ring
from tests.ui.screens import SCREENS, accessible_nodes, open_screen, pages

Role = QAccessible.Role
# What a screen-reader user operates: each needs a name (what) and a description (does what).
CONTROLS = {
    Role.PushButton,
    Role.CheckBox,
    Role.RadioButton,
    Role.ComboBox,
    Role.EditableText,
    Role.SpinBox,
    Role.Slider,
    Role.ButtonMenu,
    Role.ButtonDropDown,
    Role.ProgressBar,
}


def describe_node(node: Any) -> str:
    return f"{node.role().name} {node.text(QAccessible.Text.Name)!r} of {node.object()!r}"


def control_problems(top: QWidget) -> tuple[int, list[str], list[str]]:
    """(controls checked, unnamed ones, undescribed ones) in the accessibility tree."""
    checked, unnamed, undescribed = 0, [], []
    for node in accessible_nodes(top):
        interactive = node.role() in CONTROLS
        if not (interactive or node.state().focusable) or node.role() == Role.ScrollBar:
            continue
        checked += 1
        if not node.text(QAccessible.Text.Name).strip():
            unnamed.append(describe_node(node))
        if interactive and not node.text(QAccessible.Text.Description).strip():
            undescribed.append(describe_node(node))
    return checked, unnamed, undescribed


@pytest.mark.parametrize("screen", SCREENS)
def test_every_control_is_named_and_described(
    screen: str, qtbot: QtBot, qloop: asyncio.AbstractEventLoop
) -> None:
    with open_screen(screen, qtbot, qloop) as (top, _window):
        for _page in pages(top):
            checked, unnamed, undescribed = control_problems(top)
            assert checked >= 2, "no control found: the walk would pass anything"
            assert not unnamed, f"unnamed controls on {screen}: {unnamed}"
            assert not undescribed, f"controls without a description on {screen}: {undescribed}"


def test_the_walk_catches_an_unnamed_control(
    qtbot: QtBot, qloop: asyncio.AbstractEventLoop
) -> None:
    with open_screen("idle", qtbot, qloop) as (top, window):
        icon_only = QToolButton(window.idle_page)
        icon_only.setIcon(window.windowIcon())
        icon_only.show()
        _checked, unnamed, undescribed = control_problems(top)
        assert len(unnamed) == 1 and len(undescribed) == 1


def tab_chain(top: QWidget) -> list[QWidget]:
    """The widgets Tab visits, in Tab order, starting from ``top``."""
    chain: list[QWidget] = []
    widget = top.nextInFocusChain()
    for _ in range(500):  # bounded walk round the ring
        if widget is top:
            break
        policy = widget.focusPolicy().value
        tabbable = policy & Qt.FocusPolicy.TabFocus.value
        if tabbable and widget.isVisibleTo(top) and widget.isEnabled():
            chain.append(widget)
        widget = widget.nextInFocusChain()
    return chain


def global_rect(widget: QWidget) -> QRect:
    return QRect(widget.mapToGlobal(widget.rect().topLeft()), widget.size())


def tab_order_reversals(top: QWidget) -> list[tuple[str, str]]:
    """Pairs where Tab goes up, or left within a row: reading order is top to bottom,
    left to right."""
    reversals = []
    for before, after in itertools.pairwise(tab_chain(top)):
        a, b = global_rect(before), global_rect(after)
        above = b.bottom() < a.top()
        same_row = b.top() <= a.bottom() and a.top() <= b.bottom()
        if above or (same_row and b.right() < a.left()):
            reversals.append((before.accessibleName(), after.accessibleName()))
    return reversals


@pytest.mark.parametrize("screen", SCREENS)
def test_tab_order_follows_the_layout(
    screen: str, qtbot: QtBot, qloop: asyncio.AbstractEventLoop
) -> None:
    with open_screen(screen, qtbot, qloop) as (top, _window):
        for _page in pages(top):
            assert len(tab_chain(top)) >= 2, f"Tab reaches almost nothing on {screen}"
            assert not tab_order_reversals(top), screen


def test_tab_order_check_catches_a_reversal(qtbot: QtBot, qloop: asyncio.AbstractEventLoop) -> None:
    with open_screen("ringing", qtbot, qloop) as (top, window):
        names = [w.accessibleName() for w in tab_chain(top)]
        assert names[:5] == [
            "Away reason",
            "Availability: Available",
            "Call history",
            "Diagnostics",
            "Settings",
        ]
        assert names[5:] == ["Decline", "Accept"]
        QWidget.setTabOrder(window.incoming.accept_button, window.incoming.decline_button)
        assert tab_order_reversals(top) == [("Accept", "Decline")]


def test_every_action_works_from_the_keyboard(
    qtbot: QtBot, qloop: asyncio.AbstractEventLoop
) -> None:
    """Each window action has a shortcut, named in its button's tooltip, that does it."""
    with open_screen("ringing", qtbot, qloop) as (_top, window):
        buttons = {
            "Ctrl+Shift+Y": window.availability_button,
            "Ctrl+Shift+R": window.wrap_up.ready_button,
            "Ctrl+Shift+I": window.diagnostics_button,
            "Ctrl+Shift+L": window.history_button,
            "Ctrl+Shift+S": window.settings_button,
            "Ctrl+Shift+A": window.incoming.accept_button,
            "Ctrl+Shift+D": window.incoming.decline_button,
            "Ctrl+Shift+M": window.call_view.mute_button,
            "Ctrl+Shift+V": window.call_view.camera_button,
            "Ctrl+Shift+H": window.call_view.hangup_button,
            "Ctrl+Shift+P": window.call_view.hold_button,
            "Ctrl+Shift+T": window.call_view.transfer_button,
        }
        assert set(buttons) == set(window.shortcuts)
        for keys, button in buttons.items():
            assert shortcut_text(keys) in button.toolTip(), button.accessibleName()
        with qtbot.waitSignal(window.settings_requested, timeout=1000):
            window.shortcuts["Ctrl+Shift+S"].activated.emit()
        with qtbot.waitSignal(window.diagnostics_requested, timeout=1000):
            window.shortcuts["Ctrl+Shift+I"].activated.emit()
        with qtbot.waitSignal(window.history_requested, timeout=1000):
            window.shortcuts["Ctrl+Shift+L"].activated.emit()
        with qtbot.waitSignal(window.availability_requested, timeout=1000) as blocker:
            window.shortcuts["Ctrl+Shift+Y"].activated.emit()
        assert blocker.args == [False]  # available → away
        with qtbot.waitSignal(window.accept_requested, timeout=1000):
            window.shortcuts["Ctrl+Shift+A"].activated.emit()
        qtbot.waitUntil(lambda: window.pages.currentWidget() is window.call_view, timeout=2000)
        with qtbot.waitSignal(window.mute_toggled, timeout=1000) as muted:
            window.shortcuts["Ctrl+Shift+M"].activated.emit()
        assert muted.args == [True]
        assert "Unmute" in window.call_view.mute_button.toolTip()
        with qtbot.waitSignal(window.hold_toggled, timeout=1000) as held:
            window.shortcuts["Ctrl+Shift+P"].activated.emit()
        assert held.args == [True]
        qtbot.waitUntil(window.call_view.hold_label.isVisible, timeout=2000)
        assert "Take the visitor off hold" in window.call_view.hold_button.toolTip()
        with qtbot.waitSignal(window.transfer_requested, timeout=1000):
            window.shortcuts["Ctrl+Shift+T"].activated.emit()
        with qtbot.waitSignal(window.hangup_requested, timeout=1000):
            window.shortcuts["Ctrl+Shift+H"].activated.emit()


class Announcements:
    """Stands in for QAccessible in softphone.ui.a11y and records what would be said."""

    AnnouncementPoliteness = QAccessible.AnnouncementPoliteness

    def __init__(self) -> None:
        self.said: list[tuple[str, bool, QWidget]] = []

    def updateAccessibility(self, event: Any) -> None:  # noqa: N802 (Qt's name)
        assertive = event.politeness() == QAccessible.AnnouncementPoliteness.Assertive
        self.said.append((event.message(), assertive, event.object()))
        QAccessible.updateAccessibility(event)


@pytest.fixture
def announcements(monkeypatch: pytest.MonkeyPatch) -> Announcements:
    recorder = Announcements()
    monkeypatch.setattr(a11y, "QAccessible", recorder)
    return recorder


def test_reconnecting_and_the_lost_call_are_announced(
    announcements: Announcements, qtbot: QtBot, qloop: asyncio.AbstractEventLoop
) -> None:
    window = MainWindow()
    qtbot.addWidget(window)
    session = FakeSession()
    controller = AgentController(window, session, agent_name="Grace")  # type: ignore[arg-type]
    window.show()
    qtbot.waitExposed(window)
    try:
        session.signaling_state.emit("connected")
        session.ring(ring())
        window.incoming.accept_button.click()
        qtbot.waitUntil(lambda: session.call is not None, timeout=2000)
        session.connected()
        announcements.said.clear()
        session.reconnecting(2, 3)
        assert ("Reconnecting… (attempt 2 of 3)", True, window.call_status) in announcements.said
        announcements.said.clear()
        session.recovered(2, 2.3)
        assert ("Reconnected after 2.3 s", False, window.call_status) in announcements.said

        announcements.said.clear()
        session.reconnecting(1, 3)
        session.exhausted(ReconnectFailure(3, 34.6, "ice-failed", "disconnected"))
        qtbot.waitUntil(lambda: controller.reconnect.error_box is not None, timeout=2000)
        box = controller.reconnect.error_box
        assert box is not None
        qtbot.waitUntil(lambda: any(w is box for _t, _a, w in announcements.said), timeout=2000)
        said = [(text, assertive) for text, assertive, w in announcements.said if w is box]
        assert said and said[0][1], "the modal must interrupt"
        assert said[0][0].startswith("Call lost. The connection could not be restored")
        interface = QAccessible.queryAccessibleInterface(box)
        assert interface is not None and interface.role() == Role.AlertMessage
    finally:
        task = qloop.create_task(controller.close())
        qtbot.waitUntil(task.done, timeout=5000)


def test_colour_is_never_the_only_signal(qtbot: QtBot) -> None:
    """Each state differs in words (and an icon or a spinner), not only in colour."""
    window = MainWindow()
    qtbot.addWidget(window)
    texts = set()
    for available, enabled in ((True, True), (False, True), (False, False)):
        window.set_available(available, enabled=enabled)
        texts.add(window.availability_button.text())
    assert len(texts) == 3
    seen = set()
    statuses = [
        CallStatus("c1", CallState.CONNECTING),
        CallStatus("c1", CallState.CONNECTED),
        CallStatus("c1", CallState.RECONNECTING, attempt=1, max_attempts=3),
        CallStatus("c1", CallState.FAILED),
    ]
    for status in statuses:
        window.show_call_status(status)
        field = window.call_status
        marked = field.spinner.isVisibleTo(window) or not field.icon.pixmap().isNull()
        assert marked, f"{status.state}: text only, no icon or spinner"
        seen.add(field.text())
    assert len(seen) == len(statuses)


def test_high_contrast_follows_the_system(monkeypatch: pytest.MonkeyPatch, qtbot: QtBot) -> None:
    window = MainWindow()
    qtbot.addWidget(window)
    assert window.styleSheet() == theme.style_sheet()
    monkeypatch.setattr(theme, "high_contrast", lambda: True)
    hints = QGuiApplication.styleHints()
    hints.accessibility().contrastPreferenceChanged.emit(Qt.ContrastPreference.HighContrast)
    assert window.styleSheet() == theme.HIGH_CONTRAST_STYLE
    assert "#ffff00" in theme.HIGH_CONTRAST_STYLE  # a focus ring that cannot be missed
    monkeypatch.setattr(theme, "high_contrast", lambda: False)
    hints.accessibility().contrastPreferenceChanged.emit(Qt.ContrastPreference.NoPreference)
    assert window.styleSheet() == theme.STYLE


def object_names(sheet: str) -> set[str]:
    return {n for n in re.findall(r"#(\w+)", sheet) if not re.fullmatch(r"[0-9a-f]{6}", n)}


def test_the_high_contrast_sheet_restyles_every_styled_widget() -> None:
    """Every object name the normal sheet colours is in the high-contrast sheet too, or is
    a label its ``QLabel`` rule recolours: no light-theme colour survives the switch."""
    labels = {"appName", "agentName", "idleHint", "ringPage", "ringCountdown", "visitorPage"}
    labels |= {"audioOnlyLabel", "note", "idleTitle"}
    missing = object_names(theme.STYLE) - object_names(theme.HIGH_CONTRAST_STYLE) - labels
    assert not missing, f"not restyled in high contrast: {sorted(missing)}"
