"""The agent's main window: call area in the middle, connection state in the status bar."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QCloseEvent, QIcon
from PySide6.QtWidgets import QLabel, QMainWindow, QStackedWidget, QVBoxLayout, QWidget

from softphone.resources import resource_path
from softphone.ui.status_text import call_text, signaling_text, window_title


def app_icon() -> QIcon:
    return QIcon(str(resource_path("icons", "softphone.svg")))


class MainWindow(QMainWindow):
    """Thin view: it only shows state handed to it and reports the user's intent."""

    close_requested = Signal()

    def __init__(self) -> None:
        super().__init__()
        self._setup_ui()
        self.set_signaling_state("offline")
        self.set_call_state("idle")
        self.set_agent_state("Offline")

    def _setup_ui(self) -> None:
        self.setWindowIcon(app_icon())
        self.resize(960, 620)
        self.pages = QStackedWidget(self)
        idle = QWidget()
        layout = QVBoxLayout(idle)
        self.idle_label = QLabel("Waiting for calls")
        self.idle_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.idle_label.setStyleSheet("font-size: 20px; color: #555;")
        layout.addWidget(self.idle_label)
        self.pages.addWidget(idle)
        self.setCentralWidget(self.pages)

        self.signaling_status = QLabel()
        self.signaling_status.setObjectName("signalingStatus")
        self.signaling_status.setAccessibleName("Signaling server state")
        self.call_status = QLabel()
        self.call_status.setObjectName("callStatus")
        self.call_status.setAccessibleName("Call connection state")
        bar = self.statusBar()
        bar.addPermanentWidget(self.signaling_status)
        bar.addPermanentWidget(self.call_status)

    def set_signaling_state(self, state: str) -> None:
        text = signaling_text(state)
        self.signaling_status.setText(text)
        self.signaling_status.setAccessibleDescription(text)

    def set_call_state(self, state: str, attempt: int = 0, max_attempts: int = 0) -> None:
        text = call_text(state, attempt, max_attempts)
        self.call_status.setText(text)
        self.call_status.setAccessibleDescription(text)

    def set_agent_state(self, state: str) -> None:
        self.setWindowTitle(window_title(state))

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 (Qt override)
        self.close_requested.emit()
        super().closeEvent(event)
