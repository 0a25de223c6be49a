"""System-wide answer, hang up and mute (settings.call_shortcuts = "system"): real key presses
through XTest on a private Xvfb, while another X client has the focus and the app's window
is not active, reach the call; with the setting off the same presses do nothing. Where the
platform cannot (Wayland), the agent reads why and the app's own shortcuts stay."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QDialogButtonBox
from pytestqt.qtbot import QtBot

from labnet.xserver import private_xvfb
from softphone.settings import CallShortcuts, Settings
from softphone.ui.controller import AgentController
from softphone.ui.global_shortcuts import pynput_combo, unsupported_reason
from softphone.ui.main_window import MainWindow
from softphone.ui.preferences import Preferences
from softphone.ui.shell import AppShell
from tests.ui.fakes import FakeSession, ring

XTEST_KEYSYMS = {"Ctrl": "Control_L", "Shift": "Shift_L", "Alt": "Alt_L"}


class OtherApplication:
    """Another X client: a mapped window holding the input focus, and XTest key presses
    (what a keyboard does: the server delivers them to the focused window)."""

    def __init__(self, display_name: str) -> None:
        import Xlib.display
        from Xlib import X

        self.display = Xlib.display.Display(display_name)
        screen = self.display.screen()
        self.window = screen.root.create_window(0, 0, 300, 200, 0, screen.root_depth)
        self.window.map()
        self.display.sync()
        self.window.set_input_focus(X.RevertToParent, X.CurrentTime)
        self.display.sync()

    def has_focus(self) -> bool:
        return bool(self.display.get_input_focus().focus == self.window)

    def press(self, keys: str) -> None:
        import Xlib.XK
        from Xlib import X
        from Xlib.ext import xtest

        names = [XTEST_KEYSYMS.get(part, part.lower()) for part in keys.split("+")]
        codes = [self.display.keysym_to_keycode(Xlib.XK.string_to_keysym(n)) for n in names]
        for code in codes:
            xtest.fake_input(self.display, X.KeyPress, code)
        for code in reversed(codes):
            xtest.fake_input(self.display, X.KeyRelease, code)
        self.display.sync()

    def close(self) -> None:
        self.display.close()


@pytest.fixture
def x_display(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A private Xvfb as this process's X11 session (Qt itself stays offscreen)."""
    with private_xvfb() as display:
        monkeypatch.setenv("DISPLAY", display)
        monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
        monkeypatch.setenv("XDG_SESSION_TYPE", "x11")
        yield display


def run(qtbot: QtBot, loop: asyncio.AbstractEventLoop, coro: Coroutine[Any, Any, Any]) -> None:
    task = loop.create_task(coro)
    qtbot.waitUntil(task.done, timeout=5000)
    task.result()


def start_shell(
    qtbot: QtBot, tmp_path: Path, scope: CallShortcuts
) -> tuple[AppShell, FakeSession, AgentController]:
    window = MainWindow()
    qtbot.addWidget(window)
    prefs = Preferences(QSettings(str(tmp_path / "prefs.ini"), QSettings.Format.IniFormat))
    shell = AppShell(
        Settings(call_shortcuts=scope),
        window,
        preferences=prefs,
        history_path=tmp_path / "history.sqlite3",
    )
    session = FakeSession()
    controller = AgentController(window, session, agent_name="Grace")  # type: ignore[arg-type]
    session.signaling_state.emit("connected")
    return shell, session, controller


def listening(shell: AppShell) -> bool:
    """Wait (bounded) until pynput's listener is ready to hear keys."""
    listener = shell.global_keys.listener
    if listener is None:
        return False
    waiter = threading.Thread(target=listener.wait, daemon=True)
    waiter.start()
    waiter.join(5)
    return not waiter.is_alive()


def choose_in_settings(qtbot: QtBot, shell: AppShell, scope: CallShortcuts) -> None:
    """The agent picks where the call keys work in the settings dialog's Keyboard tab."""
    dialog = shell.open_settings()
    choice = dialog.call_shortcuts_choice
    choice.setCurrentIndex(choice.findData(scope))
    with qtbot.waitSignal(dialog.finished, timeout=2000):
        dialog.buttons.button(QDialogButtonBox.StandardButton.Save).click()
    assert shell.prefs.call_shortcuts("window") == scope  # remembered for the next start


def keyboard_in_app() -> bool:
    focused = QGuiApplication.focusWindow()
    return focused is not None and focused.isVisible()


def ring_and_press(
    qtbot: QtBot, shell: AppShell, session: FakeSession, other: OtherApplication, call_id: str
) -> None:
    """A call rings while the agent works in another application, who presses Accept."""
    window = shell.window
    session.ring(ring(call_id))
    qtbot.waitUntil(lambda: window.pages.currentWidget() is window.incoming, timeout=2000)
    # The ring shows the window; offscreen Qt gives every window it shows the keyboard (xcb
    # keeps WA_ShowWithoutActivating), so the agent sends it back to the tray.
    window.hide()
    qtbot.waitUntil(lambda: not keyboard_in_app(), timeout=2000)
    assert other.has_focus()
    other.press("Ctrl+Shift+A")


@pytest.mark.xserver
def test_answer_mute_hang_up_from_another_application_and_nothing_when_off(
    x_display: str, qtbot: QtBot, qloop: asyncio.AbstractEventLoop, tmp_path: Path
) -> None:
    other = OtherApplication(x_display)
    shell, session, controller = start_shell(qtbot, tmp_path, "window")
    try:
        choose_in_settings(qtbot, shell, "system")
        assert listening(shell)
        window = shell.window
        assert window.shortcuts["Ctrl+Shift+A"].context() == Qt.ShortcutContext.ApplicationShortcut
        ring_and_press(qtbot, shell, session, other, "c1")
        qtbot.waitUntil(lambda: ("accept", "c1") in session.calls, timeout=3000)
        qtbot.waitUntil(lambda: window.pages.currentWidget() is window.call_view, timeout=2000)
        session.connected()
        other.press("Ctrl+Shift+M")
        qtbot.waitUntil(lambda: ("set_muted", True) in session.calls, timeout=3000)
        assert window.call_view.mute_button.isChecked()
        other.press("Ctrl+Shift+H")
        qtbot.waitUntil(lambda: ("hangup", None) in session.calls, timeout=3000)
        qtbot.waitUntil(lambda: window.pages.currentWidget() is window.idle_page, timeout=2000)
        assert other.has_focus()  # the app heard the keys without taking the focus

        started = time.monotonic()
        choose_in_settings(qtbot, shell, "window")  # the agent turns it off again
        assert time.monotonic() - started < 3  # the listener's join is bounded
        assert shell.global_keys.listener is None
        ring_and_press(qtbot, shell, session, other, "c2")
        qtbot.wait(700)
        assert ("accept", "c2") not in session.calls
        assert window.pages.currentWidget() is window.incoming  # still ringing
    finally:
        run(qtbot, qloop, controller.close())
        run(qtbot, qloop, shell.close())
        other.close()
    assert shell.global_keys.listener is None


@pytest.mark.xserver
def test_off_by_default_a_press_in_another_application_does_nothing(
    x_display: str, qtbot: QtBot, qloop: asyncio.AbstractEventLoop, tmp_path: Path
) -> None:
    assert Settings().call_shortcuts == "window"
    other = OtherApplication(x_display)
    shell, session, controller = start_shell(qtbot, tmp_path, Settings().call_shortcuts)
    try:
        assert shell.global_keys.listener is None
        ring_and_press(qtbot, shell, session, other, "c1")
        qtbot.wait(700)
        assert ("accept", "c1") not in session.calls
    finally:
        run(qtbot, qloop, controller.close())
        run(qtbot, qloop, shell.close())
        other.close()


@pytest.mark.xserver
@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_an_x_server_without_record_is_reported_in_the_status_bar(
    monkeypatch: pytest.MonkeyPatch,
    qtbot: QtBot,
    qloop: asyncio.AbstractEventLoop,
    tmp_path: Path,
) -> None:
    """pynput's listener dies on its thread when the server lacks the RECORD extension: the
    agent is told (after the start check) instead of pressing keys that do nothing."""
    with private_xvfb("-extension", "RECORD") as display:
        monkeypatch.setenv("DISPLAY", display)
        monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
        monkeypatch.setenv("XDG_SESSION_TYPE", "x11")
        shell, _session, controller = start_shell(qtbot, tmp_path, "system")
        try:
            notice = "work only in Softphone's windows"
            qtbot.waitUntil(
                lambda: notice in shell.window.statusBar().currentMessage(), timeout=5000
            )
            assert shell.global_keys.listener is None
            shortcut = shell.window.shortcuts["Ctrl+Shift+H"]
            assert shortcut.context() == Qt.ShortcutContext.ApplicationShortcut
        finally:
            run(qtbot, qloop, controller.close())
            run(qtbot, qloop, shell.close())


def test_wayland_says_why_and_keeps_the_app_wide_shortcuts(
    monkeypatch: pytest.MonkeyPatch,
    qtbot: QtBot,
    qloop: asyncio.AbstractEventLoop,
    tmp_path: Path,
) -> None:
    monkeypatch.setenv("WAYLAND_DISPLAY", "wayland-0")
    monkeypatch.setenv("XDG_SESSION_TYPE", "wayland")
    shell, _session, controller = start_shell(qtbot, tmp_path, "system")
    try:
        assert shell.global_keys.listener is None
        notice = shell.window.statusBar().currentMessage()
        assert "work only in Softphone's windows" in notice and "Wayland" in notice
        shortcut = shell.window.shortcuts["Ctrl+Shift+M"]
        assert shortcut.context() == Qt.ShortcutContext.ApplicationShortcut
    finally:
        run(qtbot, qloop, controller.close())
        run(qtbot, qloop, shell.close())


def test_a_press_while_the_app_is_active_is_left_to_qt(
    qtbot: QtBot, qloop: asyncio.AbstractEventLoop
) -> None:
    """Listening does not grab: with a window of the app active, Qt's shortcut gets the same
    press, so the system-wide one must not act a second time (mute would toggle back)."""
    window = MainWindow()
    qtbot.addWidget(window)
    session = FakeSession()
    controller = AgentController(window, session, agent_name="Grace")  # type: ignore[arg-type]
    session.signaling_state.emit("connected")
    session.ring(ring())
    window.activateWindow()
    qtbot.waitUntil(keyboard_in_app, timeout=2000)
    window.press_call_shortcut("Ctrl+Shift+A")
    qtbot.wait(200)
    assert ("accept", "c1") not in session.calls
    window.hide()
    qtbot.waitUntil(lambda: not keyboard_in_app(), timeout=2000)
    window.press_call_shortcut("Ctrl+Shift+A")
    qtbot.waitUntil(lambda: ("accept", "c1") in session.calls, timeout=2000)
    run(qtbot, qloop, controller.close())


def test_qt_shortcuts_as_pynput_hotkeys_and_where_they_cannot_work() -> None:
    assert pynput_combo("Ctrl+Shift+A", "linux") == "<ctrl>+<shift>+a"
    assert pynput_combo("Ctrl+Shift+M", "darwin") == "<cmd>+<shift>+m"  # Qt's Ctrl is Command
    for bad in ("A", "Ctrl+Shift+F12", "Hyper+A"):
        with pytest.raises(ValueError, match="modifiers"):
            pynput_combo(bad, "linux")
    assert unsupported_reason("linux", {"DISPLAY": ":0", "XDG_SESSION_TYPE": "x11"}) == ""
    assert "Wayland" in unsupported_reason("linux", {"DISPLAY": ":0", "WAYLAND_DISPLAY": "w-0"})
    assert "DISPLAY" in unsupported_reason("linux", {})
    assert unsupported_reason("win32", {}) == unsupported_reason("darwin", {}) == ""
