"""Status-bar fields: icon (or spinner) plus text, readable by screen readers — never
colour alone. The wording comes from status_text."""

from __future__ import annotations

from PySide6.QtCore import QRectF, QSize, Qt, QTimer
from PySide6.QtGui import QColor, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QHBoxLayout, QLabel, QWidget

from softphone.call.state import CallState, CallStatus
from softphone.ui.a11y import announce
from softphone.ui.i18n import translate
from softphone.ui.status_text import call_text, ringing_text, signaling_text
from softphone.ui.widgets import icon as icon_named

ICON_SIZE = 16
RECONNECTED_FLASH_MS = 3000


class Spinner(QWidget):
    """A rotating arc: motion tells the agent "working on it" where a static icon would not."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._angle = 0
        self._timer = QTimer(self)
        self._timer.setInterval(80)
        self._timer.timeout.connect(self._advance)
        self.setFixedSize(QSize(ICON_SIZE, ICON_SIZE))
        self.hide()

    def start(self) -> None:
        self.show()
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()
        self.hide()

    def is_spinning(self) -> bool:
        return self._timer.isActive()

    def _advance(self) -> None:
        self._angle = (self._angle + 30) % 360
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 (Qt override)
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        pen = QPen(QColor("#d08700"), 2.5)
        pen.setCapStyle(Qt.PenCapStyle.RoundCap)
        painter.setPen(pen)
        rect = QRectF(2, 2, ICON_SIZE - 4, ICON_SIZE - 4)
        painter.drawArc(rect, -self._angle * 16, 270 * 16)


class StatusField(QWidget):
    """Icon/spinner + text; the text is also the accessible description."""

    def __init__(self, accessible_name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName(accessible_name)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 0, 6, 0)
        layout.setSpacing(6)
        self.icon = QLabel()
        self.icon.setFixedSize(ICON_SIZE, ICON_SIZE)
        self.spinner = Spinner()
        self.label = QLabel()
        layout.addWidget(self.icon)
        layout.addWidget(self.spinner)
        layout.addWidget(self.label)

    def text(self) -> str:
        return self.label.text()

    def show_status(
        self, text: str, icon: str | None, *, busy: bool = False, urgent: bool = False
    ) -> None:
        """``urgent``: a screen reader interrupts to say it (reconnecting, call lost)."""
        changed = text != self.label.text()
        self.label.setText(text)
        self.setAccessibleDescription(text)
        self.setToolTip(f"{self.accessibleName()}: {text}")
        if changed and self.isVisible():
            announce(self, text, assertive=urgent)
        if busy:
            self.icon.hide()
            self.spinner.start()
        else:
            self.spinner.stop()
            self.icon.setVisible(icon is not None)
            if icon is not None:
                self.icon.setPixmap(icon_named(icon).pixmap(ICON_SIZE, ICON_SIZE))


class SignalingStatus(StatusField):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(translate("StatusIndicator", "Signaling server state"), parent)

    def set_state(self, state: str) -> None:
        icon = {"connected": "connected", "closed": "offline", "offline": "offline"}.get(state)
        self.show_status(
            signaling_text(state), icon, busy=icon is None, urgent=state == "reconnecting"
        )


class CallStatusIndicator(StatusField):
    """Renders the call's :class:`CallStatus`: a spinner while (re)connecting, and a brief
    "Reconnected" flash when a status closes a recovery."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(translate("StatusIndicator", "Call connection state"), parent)
        self.status: CallStatus | None = None
        self._flash = QTimer(self)
        self._flash.setSingleShot(True)
        self._flash.setInterval(RECONNECTED_FLASH_MS)
        self._flash.timeout.connect(self._show)

    def show_call(self, status: CallStatus | None) -> None:
        self.status = status
        flash = status is not None and status.recovered_after_s is not None
        if flash:
            self._flash.start()
        else:
            self._flash.stop()
        self._show(flash=flash)

    def show_ringing(self) -> None:
        self.show_call(None)
        self.show_status(ringing_text(), None)

    def _show(self, *, flash: bool = False) -> None:
        state = self.status.state if self.status is not None else None
        icon = _CALL_ICONS.get(state) if state is not None else None
        busy = state in (CallState.CONNECTING, CallState.RECONNECTING)
        urgent = state in (CallState.RECONNECTING, CallState.FAILED)
        self.show_status(call_text(self.status, flash=flash), icon, busy=busy, urgent=urgent)


_CALL_ICONS = {CallState.CONNECTED: "connected", CallState.FAILED: "error"}
