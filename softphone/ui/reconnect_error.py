"""The modal shown when a call could not be recovered (napari's model: the core emits
``failed``, the Qt layer presents it). Window-modal and shown with ``open()``, so no
coroutine ever blocks on it (docs/qt-notes.md)."""

from __future__ import annotations

import html

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QShowEvent
from PySide6.QtWidgets import QMessageBox, QPushButton, QWidget

from softphone.ui.a11y import announce, describe, mnemonic_text
from softphone.ui.i18n import translate
from softphone.ui.status_text import reconnect_failure_details, reconnect_failure_text


class ReconnectErrorBox(QMessageBox):
    def __init__(
        self,
        parent: QWidget,
        *,
        attempts: int,
        elapsed_s: float,
        reason: str,
        trigger: str,
        call_id: str | None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("reconnectError")
        self.setWindowModality(Qt.WindowModality.WindowModal)
        self.setIcon(QMessageBox.Icon.Critical)
        # Without a window manager (kiosk, Xvfb) there is no frame: the theme draws our
        # own edge (#reconnectError).
        self.setWindowTitle(translate("ReconnectError", "Call lost"))
        title = translate("ReconnectError", "The call was lost")
        self.setText(f"<b>{html.escape(title)}</b>")
        self.setInformativeText(reconnect_failure_text(attempts, elapsed_s, reason))
        self.details = reconnect_failure_details(attempts, elapsed_s, reason, trigger, call_id)
        self.ok_button = self.addButton(QMessageBox.StandardButton.Ok)
        self.ok_button.setText(translate("ReconnectError", "OK"))
        describe(
            self.ok_button,
            translate("ReconnectError", "OK"),
            translate("ReconnectError", "Close this message"),
        )
        self.copy_button = QPushButton(translate("ReconnectError", "&Copy details"))
        copy_help = translate("ReconnectError", "Copy the call id and error for a support ticket")
        describe(self.copy_button, translate("ReconnectError", "Copy details"), copy_help)
        self.copy_button.setToolTip(f"{copy_help} ({mnemonic_text(self.copy_button.text())})")
        self.addButton(self.copy_button, QMessageBox.ButtonRole.ActionRole)
        # QMessageBox closes on any button; copying must leave the message readable.
        self.copy_button.clicked.disconnect()
        self.copy_button.clicked.connect(self.copy_details)
        self.setDefaultButton(self.ok_button)

    def copy_details(self) -> None:
        QGuiApplication.clipboard().setText(self.details)
        self.copy_button.setText(translate("ReconnectError", "Copied"))
        announce(self.copy_button, self.copy_button.text())

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 (Qt override)
        """Said at once, interrupting: the agent must know the call is gone."""
        super().showEvent(event)
        announce(self, f"{self.windowTitle()}. {self.informativeText()}", assertive=True)
