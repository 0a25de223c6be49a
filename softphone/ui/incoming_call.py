"""The ringing prompt: who calls from which page, Accept / Decline, time left to answer.

It stays until the agent answers, the server's ring timeout or the visitor cancels —
the controller clears it on those events; the countdown is only information.
"""

from __future__ import annotations

import time

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from softphone.ui.a11y import shortcut_text
from softphone.ui.i18n import translate
from softphone.ui.status_text import ring_text
from softphone.ui.widgets import Avatar, call_button

ACCEPT_SHORTCUT = "Ctrl+Shift+A"
DECLINE_SHORTCUT = "Ctrl+Shift+D"


def transfer_text(by: str | None, note: str, consult: bool = False) -> str:
    """Who handed a call on (or calls to talk about one first), and their note: what the
    receiving agent reads first."""
    if by is None:
        return ""
    if consult:
        return translate(
            "IncomingCall", "{name} wants to talk before handing over a call: {note}"
        ).format(name=by, note=note or "—")
    if not note:
        return translate("IncomingCall", "Transferred by {name}").format(name=by)
    return translate("IncomingCall", "Transferred by {name}: {note}").format(name=by, note=note)


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
        self.setAccessibleName(translate("IncomingCall", "Incoming call"))
        layout = QVBoxLayout(self)
        layout.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout.setSpacing(14)
        self.avatar = Avatar(112)
        self.title = QLabel()
        self.title.setObjectName("ringTitle")
        self.page = QLabel()
        self.page.setObjectName("ringPage")
        self.countdown = QLabel()
        self.countdown.setObjectName("ringCountdown")
        self.transfer = QLabel()
        self.transfer.setObjectName("ringTransfer")
        self.transfer.setWordWrap(True)
        self.transfer.setFixedWidth(520)
        for label in (self.title, self.page, self.countdown, self.transfer):
            label.setAlignment(Qt.AlignmentFlag.AlignCenter)
            # The visitor's and the colleague's text, never markup.
            label.setTextFormat(Qt.TextFormat.PlainText)
        self.accept_button = call_button(
            translate("IncomingCall", "Accept"),
            "accept",
            "accept",
            translate("IncomingCall", "Accept the call"),
        )
        self.accept_button.setToolTip(
            translate("IncomingCall", "Accept the call ({shortcut})").format(
                shortcut=shortcut_text(ACCEPT_SHORTCUT)
            )
        )
        self.decline_button = call_button(
            translate("IncomingCall", "Decline"),
            "hangup",
            "danger",
            translate("IncomingCall", "Decline the call"),
        )
        self.decline_button.setToolTip(
            translate("IncomingCall", "Decline the call ({shortcut})").format(
                shortcut=shortcut_text(DECLINE_SHORTCUT)
            )
        )
        # A click never takes keyboard focus from whatever the agent is typing in; Tab
        # and the shortcuts still reach the buttons.
        for button in (self.accept_button, self.decline_button):
            button.setFocusPolicy(Qt.FocusPolicy.TabFocus)
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
        layout.addWidget(self.transfer, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addSpacing(8)
        layout.addLayout(buttons)
        QWidget.setTabOrder(self.decline_button, self.accept_button)  # as laid out
        layout.addWidget(self.countdown)

    def show_call(
        self,
        call_id: str,
        visitor_name: str,
        page: str | None,
        timeout_s: float,
        transfer: str = "",
    ) -> None:
        """``transfer``: who handed the call on and why (:func:`transfer_text`), or empty."""
        self.call_id = call_id
        self.transfer.setText(transfer)
        # A centred layout gives a wrapped label one line unless told its height.
        if transfer:
            self.transfer.setFixedHeight(self.transfer.heightForWidth(self.transfer.width()))
        self.transfer.setVisible(bool(transfer))
        self.transfer.setAccessibleName(transfer)
        self.avatar.set_name(visitor_name)
        self.title.setText(ring_text(visitor_name, None))
        self.page.setText(
            translate("IncomingCall", "From page: {page}").format(page=page) if page else ""
        )
        self.page.setVisible(bool(page))
        self._deadline = time.monotonic() + timeout_s
        self._update_countdown()
        self._tick.start()

    def clear(self) -> None:
        self.call_id = None
        self._tick.stop()

    def _update_countdown(self) -> None:
        left = max(0, round(self._deadline - time.monotonic()))
        self.countdown.setText(
            translate("IncomingCall", "Ringing — {seconds} s left to answer").format(seconds=left)
        )

    def _accept(self) -> None:
        if self.call_id is not None:
            self.accept_requested.emit(self.call_id)

    def _decline(self) -> None:
        if self.call_id is not None:
            self.decline_requested.emit(self.call_id)
