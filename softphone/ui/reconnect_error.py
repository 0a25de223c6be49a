"""The modal shown when a call could not be recovered (napari's model: the core emits
``failed``, the Qt layer presents it). Window-modal and shown with ``open()``, so no
coroutine ever blocks on it (docs/qt-notes.md)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QMessageBox, QPushButton, QWidget

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
        # Without a window manager (kiosk, Xvfb) there is no frame: draw our own edge.
        self.setStyleSheet(
            "QMessageBox { background: #ffffff; border: 1px solid #c7ccd6; }"
            "QLabel { color: #1d2330; }"
        )
        self.setWindowTitle("Call lost")
        self.setText("<b>The call was lost</b>")
        self.setInformativeText(reconnect_failure_text(attempts, elapsed_s, reason))
        self.details = reconnect_failure_details(attempts, elapsed_s, reason, trigger, call_id)
        self.ok_button = self.addButton(QMessageBox.StandardButton.Ok)
        self.copy_button = QPushButton("Copy details")
        self.addButton(self.copy_button, QMessageBox.ButtonRole.ActionRole)
        # QMessageBox closes on any button; copying must leave the message readable.
        self.copy_button.clicked.disconnect()
        self.copy_button.clicked.connect(self.copy_details)
        self.setDefaultButton(self.ok_button)

    def copy_details(self) -> None:
        QGuiApplication.clipboard().setText(self.details)
        self.copy_button.setText("Copied")
