"""Small shared building blocks: the round avatar and the round call buttons."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QColor, QFont, QIcon, QPainter, QPaintEvent
from PySide6.QtWidgets import QPushButton, QWidget

from softphone.resources import resource_path
from softphone.ui.a11y import describe


def icon(name: str) -> QIcon:
    return QIcon(str(resource_path("icons", f"{name}.svg")))


def initials(name: str) -> str:
    parts = [p for p in name.split() if p[:1].isalnum()]
    return "".join(p[0] for p in parts[:2]).upper() or "?"


class Avatar(QWidget):
    """A coloured circle with the caller's initials: who is calling, at a glance."""

    def __init__(self, diameter: int = 96, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._text = "?"
        self.setFixedSize(diameter, diameter)

    def set_name(self, name: str) -> None:
        self._text = initials(name)
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 (Qt override)
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor("#2f80ed"))
        painter.drawEllipse(self.rect().adjusted(1, 1, -1, -1))
        painter.setPen(QColor("white"))
        font = QFont(self.font())
        font.setPixelSize(self.height() * 2 // 5)
        font.setBold(True)
        painter.setFont(font)
        painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, self._text)


def call_button(
    text: str, icon_name: str, tone: str, description: str, *, checkable: bool = False
) -> QPushButton:
    """A rounded button with an icon and a text label (never colour alone); ``tone``
    (accept, danger, neutral) picks its colours in the theme's style sheet."""
    button = QPushButton(icon(icon_name), f" {text}")  # a little air after the icon
    button.setIconSize(QSize(20, 20))
    button.setCheckable(checkable)
    button.setProperty("tone", tone)
    describe(button, text, description)
    button.setCursor(Qt.CursorShape.PointingHandCursor)
    button.setMinimumHeight(40)
    return button
