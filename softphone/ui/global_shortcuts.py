"""System-wide call shortcuts: pynput's GlobalHotKeys hears answer, hang up and mute while
another application has the focus, where the platform lets an app listen (an X11 session,
Windows, macOS once the app has the accessibility permission; Wayland does not). pynput
listens without grabbing, so the focused application sees the keys too.

pynput calls back on its own thread: the press crosses to the GUI thread through a queued
signal, and nothing on that thread touches Qt objects beyond emitting it."""

from __future__ import annotations

import functools
import logging
import os
import sys
from collections.abc import Iterable, Mapping
from typing import Any

from PySide6.QtCore import QObject, Qt, QTimer, Signal

from softphone.ui.i18n import translate

log = logging.getLogger(__name__)

# pynput's X11 listener only notices stop() at the next input event (pynput PR #583): the
# join is bounded, the daemon thread delivers nothing more and ends at that event.
STOP_JOIN_S = 0.5
# A listener whose thread dies at once (no RECORD extension, the display went away) is
# reported after this long.
START_CHECK_MS = 1000

_MODIFIERS = {"Ctrl": "<ctrl>", "Shift": "<shift>", "Alt": "<alt>", "Meta": "<cmd>"}
# Qt writes the Command key as "Ctrl" on macOS, and the Control key as "Meta".
_MAC_MODIFIERS = {**_MODIFIERS, "Ctrl": "<cmd>", "Meta": "<ctrl>"}


def pynput_combo(keys: str, platform: str = sys.platform) -> str:
    """A Qt shortcut ("Ctrl+Shift+A") as pynput's hotkey text ("<ctrl>+<shift>+a")."""
    modifiers = _MAC_MODIFIERS if platform == "darwin" else _MODIFIERS
    *held, key = keys.split("+")
    if len(key) != 1 or not held or any(m not in modifiers for m in held):
        raise ValueError(f"not modifiers + one character: {keys!r}")
    return "+".join([*(modifiers[m] for m in held), key.lower()])


def unsupported_reason(
    platform: str = sys.platform, environ: Mapping[str, str] = os.environ
) -> str:
    """Why system-wide keys cannot work in this session; empty when they can."""
    if platform in ("win32", "darwin"):
        return ""
    if environ.get("XDG_SESSION_TYPE") == "wayland" or environ.get("WAYLAND_DISPLAY"):
        return translate(
            "GlobalShortcuts",
            "Wayland does not let an app hear keys pressed in other applications",
        )
    if not environ.get("DISPLAY"):
        return translate("GlobalShortcuts", "no X11 display (DISPLAY is not set)")
    return ""


class GlobalCallShortcuts(QObject):
    """Hears the given Qt shortcuts everywhere between ``start`` and ``stop``."""

    pressed = Signal(str)  # the Qt shortcut, on the GUI thread
    failed = Signal(str)  # why the keys do not work system-wide (translated)
    _heard = Signal(str)  # emitted on pynput's thread

    def __init__(self, keys: Iterable[str], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.keys = tuple(keys)
        self.listener: Any = None  # pynput's GlobalHotKeys (a thread) while listening
        self._heard.connect(self.pressed.emit, Qt.ConnectionType.QueuedConnection)

    def start(self) -> bool:
        """Listen (True), or log and emit ``failed`` with the reason (False)."""
        if self.listener is not None:
            return True
        reason = unsupported_reason()
        if not reason:
            try:
                # Imported here: pynput opens the X display on import.
                from pynput import keyboard

                hotkeys = {
                    pynput_combo(k): functools.partial(self._heard.emit, k) for k in self.keys
                }
                listener = keyboard.GlobalHotKeys(hotkeys)
                listener.start()
            except Exception as exc:  # Xlib and the OS raise errors of their own
                reason = f"{type(exc).__name__}: {exc}"
        if reason:
            log.warning("ui.global_shortcuts.unavailable", extra={"reason": reason})
            self.failed.emit(reason)
            return False
        self.listener = listener
        QTimer.singleShot(START_CHECK_MS, self, self._check_running)
        log.info("ui.global_shortcuts.started", extra={"keys": list(self.keys)})
        return True

    def _check_running(self) -> None:
        listener = self.listener
        if listener is None or listener.is_alive():
            return
        self.listener = None
        reason = translate("GlobalShortcuts", "the keyboard listener stopped right after starting")
        log.warning("ui.global_shortcuts.died")
        self.failed.emit(reason)

    def stop(self) -> None:
        """pynput calls nothing after this returns; its thread gets a bounded join."""
        listener, self.listener = self.listener, None
        if listener is None:
            return
        listener.stop()
        listener.join(STOP_JOIN_S)
        log.info("ui.global_shortcuts.stopped", extra={"thread_ended": not listener.is_alive()})
