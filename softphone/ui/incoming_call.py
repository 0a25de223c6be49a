"""The ringing prompt: who calls from which page, Accept / Decline, time left to answer.

It stays until the agent answers, the server's ring timeout or the visitor cancels —
the controller clears it on those events; the countdown is only information.
"""

from __future__ import annotations

import time

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from softphone.ui.status_text import ring_text
from softphone.ui.widgets import Avatar, call_button

ACCEPT_SHORTCUT = "Ctrl+Shift+A"
DECLINE_SHORTCUT = "Ctrl+Shift+D"


class IncomingCallPanel(QFrame):
    accept_requested = Signal(str)
    decline_requested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.call_id: str | None = None
        self._deadline = 0.0
        self._setup_ui()
        self._tick = QTimer(self)
        self._tick.setInterval(1000)
        self._tick.timeout.connect(self._update_countdown)

    def _setup_ui(self) -> None:
        self.setObjectName("incomingCall")
        self.setAccessibleName("Incoming call")
        layout = QVBoxLayout(self)
        layout.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout.setSpacing(14)
        self.avatar = Avatar(112)
        self.title = QLabel()
        self.title.setObjectName("ringTitle")
        self.title.setStyleSheet("font-size: 22px; font-weight: 600; color: #1d2330;")
        self.page = QLabel()
        self.page.setStyleSheet("color: #5a6275; font-size: 14px;")
        self.countdown = QLabel()
        self.countdown.setStyleSheet("color: #8a93a6;")
        for label in (self.title, self.page, self.countdown):
            label.setAlignment(Qt.AlignmentFlag.AlignCenter)
            label.setTextFormat(Qt.TextFormat.PlainText)  # the visitor's text, never markup
        self.accept_button = call_button(
            "Accept", "accept", "#2e9d5b", f"Accept the call ({ACCEPT_SHORTCUT})"
        )
        self.decline_button = call_button(
            "Decline", "hangup", "#d64545", f"Decline the call ({DECLINE_SHORTCUT})"
        )
        # Never take keyboard focus from whatever the agent is typing in.
        for button in (self.accept_button, self.decline_button):
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            button.setMinimumWidth(150)
        self.accept_button.clicked.connect(self._accept)
        self.decline_button.clicked.connect(self._decline)
        buttons = QHBoxLayout()
        buttons.setSpacing(24)
        buttons.addStretch()
        buttons.addWidget(self.decline_button)
        buttons.addWidget(self.accept_button)
        buttons.addStretch()
        layout.addWidget(self.avatar, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addWidget(self.title)
        layout.addWidget(self.page)
        layout.addSpacing(8)
        layout.addLayout(buttons)
        layout.addWidget(self.countdown)

    def show_call(
        self, call_id: str, visitor_name: str, page: str | None, timeout_s: float
    ) -> None:
        self.call_id = call_id
        self.avatar.set_name(visitor_name or "Visitor")
        self.title.setText(ring_text(visitor_name, None))
        self.page.setText(f"From page: {page}" if page else "")
        self.page.setVisible(bool(page))
        self._deadline = time.monotonic() + timeout_s
        self._update_countdown()
        self._tick.start()

    def clear(self) -> None:
        self.call_id = None
        self._tick.stop()

    def _update_countdown(self) -> None:
        left = max(0, round(self._deadline - time.monotonic()))
        self.countdown.setText(f"Ringing — {left} s left to answer")

    def _accept(self) -> None:
        if self.call_id is not None:
            self.accept_requested.emit(self.call_id)

    def _decline(self) -> None:
        if self.call_id is not None:
            self.decline_requested.emit(self.call_id)
