"""Tray icon: where the app lives while minimized, and the call notification."""

from __future__ import annotations

import html
import sys

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QAction, QIcon
from PySide6.QtWidgets import QMenu, QSystemTrayIcon

from softphone.ui.i18n import translate


def notification_text(text: str, platform: str = sys.platform) -> str:
    """Linux notification servers (body markup) and Qt's own balloon (a rich-text label)
    read markup: the visitor's name and page are escaped there to show as typed."""
    return html.escape(text, quote=False) if platform.startswith("linux") else text


class Tray(QObject):
    show_requested = Signal()
    availability_requested = Signal(bool)
    quit_requested = Signal()

    def __init__(self, app_icon: QIcon, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.available = QSystemTrayIcon.isSystemTrayAvailable()
        self._icon = QSystemTrayIcon(app_icon, self)
        self._menu = QMenu()
        self._show_action = QAction(translate("Tray", "Show Softphone"), self._menu)
        self._available_action = QAction(translate("Tray", "Available for calls"), self._menu)
        self._available_action.setCheckable(True)
        self._quit_action = QAction(translate("Tray", "Quit"), self._menu)
        self._show_action.triggered.connect(self.show_requested)
        self._available_action.triggered.connect(self.availability_requested)
        self._quit_action.triggered.connect(self.quit_requested)
        self._menu.addAction(self._show_action)
        self._menu.addAction(self._available_action)
        self._menu.addSeparator()
        self._menu.addAction(self._quit_action)
        self._icon.setContextMenu(self._menu)
        self._icon.activated.connect(self._on_activated)
        if self.available:
            self._icon.show()

    def set_status(self, text: str, available: bool) -> None:
        self._icon.setToolTip(f"Softphone — {text}")
        self._available_action.setChecked(available)

    def notify(self, title: str, message: str) -> None:
        if self.available:
            self._icon.showMessage(
                title, notification_text(message), QSystemTrayIcon.MessageIcon.Information, 10_000
            )

    def hide(self) -> None:
        self._icon.hide()

    def _on_activated(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        if reason == QSystemTrayIcon.ActivationReason.Trigger:
            self.show_requested.emit()
