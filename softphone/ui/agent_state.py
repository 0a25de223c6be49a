"""The agent's own state beyond Available/Away: the wrap-up after a call (the server holds
rings for the time it announced, or until the agent clicks Ready; notes typed here go to
that call's history row) and the live waiting line the server reports to agents."""

from __future__ import annotations

import time

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QFrame, QLabel, QPlainTextEdit, QSizePolicy, QVBoxLayout, QWidget

from softphone.ui.a11y import announce, describe, shortcut_text
from softphone.ui.i18n import translate
from softphone.ui.widgets import call_button

READY_SHORTCUT = "Ctrl+Shift+R"


def clock_text(seconds: float) -> str:
    """m:ss, as the agent reads waits and the wrap-up countdown."""
    whole = max(0, round(seconds))
    return f"{whole // 60}:{whole % 60:02d}"


def queue_text(waiting: int, longest_s: float) -> str:
    if waiting == 0:
        return translate("AgentState", "Nobody waiting")
    return translate("AgentState", "{count} waiting · longest {wait}").format(
        count=waiting, wait=clock_text(longest_s)
    )


def away_reasons() -> list[tuple[str, str]]:
    """(value sent to the server, what the agent reads): the reasons an agent is away."""
    return [
        ("break", translate("AgentState", "Break")),
        ("lunch", translate("AgentState", "Lunch")),
        ("meeting", translate("AgentState", "Meeting")),
        ("training", translate("AgentState", "Training")),
    ]


class WrapUpPanel(QFrame):
    """Shown after a call while the server holds rings; Ready (or the time) ends it."""

    ready_requested = Signal(str, str)  # call_id, notes
    finished = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.call_id: str | None = None
        self._deadline = 0.0
        self.setObjectName("wrapUp")
        self.setAccessibleName(translate("AgentState", "After-call work"))
        self.setMaximumWidth(560)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)
        layout = QVBoxLayout(self)
        layout.setSpacing(8)
        self.title = QLabel()
        self.title.setObjectName("idleTitle")  # it takes the idle page's place, and look
        hint = QLabel(
            translate("AgentState", "Calls ring again when you click Ready or the time is up.")
        )
        hint.setObjectName("idleHint")
        hint.setWordWrap(True)
        for label in (self.title, hint):
            label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        notes_label = QLabel(translate("AgentState", "&Notes for this call"))
        self.notes = QPlainTextEdit()
        self.notes.setObjectName("wrapUpNotes")
        self.notes.setPlaceholderText(translate("AgentState", "What was the call about?"))
        self.notes.setTabChangesFocus(True)
        self.notes.setMaximumHeight(120)
        describe(
            self.notes,
            translate("AgentState", "Notes for this call"),
            translate("AgentState", "Saved in the call history when you click Ready"),
        )
        notes_label.setBuddy(self.notes)
        self.ready_button = call_button(
            translate("AgentState", "Ready"),
            "accept",
            "accept",
            translate("AgentState", "Save the notes and take calls again"),
        )
        self.ready_button.setToolTip(
            translate("AgentState", "Save the notes and take calls again ({shortcut})").format(
                shortcut=shortcut_text(READY_SHORTCUT)
            )
        )
        self.ready_button.clicked.connect(self._ready)
        layout.addWidget(self.title)
        layout.addWidget(hint)
        layout.addSpacing(10)
        for widget in (notes_label, self.notes):
            layout.addWidget(widget)
        layout.addWidget(self.ready_button, 0, Qt.AlignmentFlag.AlignHCenter)
        self.ready_button.setMinimumWidth(180)
        self._tick = QTimer(self)
        self._tick.setInterval(1000)
        self._tick.timeout.connect(self._update)
        self.hide()

    def start(self, call_id: str, seconds: float) -> None:
        self.call_id = call_id
        self._deadline = time.monotonic() + seconds
        self.notes.clear()
        self._tick.start()
        self.show()
        self._update()  # last: a wrap-up with no time left ends here
        announce(self, self.title.text())

    def finish(self) -> None:
        """Wrap-up over (Ready, the time, a new state): hide, keep nothing."""
        self._tick.stop()
        self.call_id = None
        self.hide()
        self.finished.emit()

    def notes_text(self) -> str:
        return self.notes.toPlainText().strip()  # the history clips what is too long

    def _update(self) -> None:
        left = self._deadline - time.monotonic()
        self.title.setText(translate("AgentState", "Wrap-up {time}").format(time=clock_text(left)))
        if left <= 0:
            self._ready()  # the server took us back already; the notes still count

    def _ready(self) -> None:
        if self.call_id is not None:
            call_id, notes = self.call_id, self.notes_text()
            self.finish()
            self.ready_requested.emit(call_id, notes)
