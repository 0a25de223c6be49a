"""Transfer: pick a colleague the server says is free (or the waiting line) and add a
short note for them. The dialog only collects the choice; the controller does the rest."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QVBoxLayout,
    QWidget,
)

from softphone.ui.a11y import describe, dialog_buttons
from softphone.ui.i18n import translate

NOTE_LIMIT = 200  # the server's limit (protocol.Note)
CONSULT = 2  # the dialog's result when the agent wants to talk to the colleague first


class TransferDialog(QDialog):
    def __init__(self, agents: list[str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("transferDialog")
        self.setWindowTitle(translate("Transfer", "Transfer the call"))
        self.setMinimumWidth(380)
        layout = QVBoxLayout(self)
        label = QLabel(translate("Transfer", "&Hand the call to"))
        self.targets = QListWidget()
        self.targets.setObjectName("transferTargets")
        self.targets.setMaximumHeight(160)
        describe(
            self.targets,
            translate("Transfer", "Hand the call to"),
            translate("Transfer", "Colleagues who are free now, or the waiting line"),
        )
        queue = QListWidgetItem(translate("Transfer", "The waiting line (next free agent)"))
        queue.setData(Qt.ItemDataRole.UserRole, None)
        self.targets.addItem(queue)
        for name in agents:  # names the server sent: shown as plain list text
            item = QListWidgetItem(name)
            item.setData(Qt.ItemDataRole.UserRole, name)
            self.targets.addItem(item)
        self.targets.setCurrentRow(1 if agents else 0)
        label.setBuddy(self.targets)
        note_label = QLabel(translate("Transfer", "&Note for the colleague"))
        self.note = QLineEdit()
        self.note.setObjectName("transferNote")
        self.note.setMaxLength(NOTE_LIMIT)
        self.note.setPlaceholderText(translate("Transfer", "Why you hand the call on"))
        describe(
            self.note,
            translate("Transfer", "Note for the colleague"),
            translate("Transfer", "Shown to whoever takes the call next"),
        )
        note_label.setBuddy(self.note)
        self.buttons = dialog_buttons(
            (
                QDialogButtonBox.StandardButton.Ok,
                translate("Transfer", "Transfer"),
                translate("Transfer", "Hand the call on now; your part of it ends"),
            ),
            (
                QDialogButtonBox.StandardButton.Cancel,
                translate("Transfer", "Cancel"),
                translate("Transfer", "Keep the call"),
            ),
        )
        self.consult_button = self.buttons.addButton(
            translate("Transfer", "Talk first"), QDialogButtonBox.ButtonRole.ActionRole
        )
        describe(
            self.consult_button,
            translate("Transfer", "Talk first"),
            translate(
                "Transfer", "Call the colleague while the visitor waits on hold, then hand over"
            ),
        )
        self.consult_button.clicked.connect(lambda: self.done(CONSULT))
        self.targets.currentRowChanged.connect(self._update_consult)
        self._update_consult()
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        for widget in (label, self.targets, note_label, self.note, self.buttons):
            layout.addWidget(widget)

    def _update_consult(self) -> None:
        self.consult_button.setEnabled(self.target() is not None)  # not with the line

    def target(self) -> str | None:
        """The colleague chosen, or None for the waiting line."""
        item = self.targets.currentItem()
        value = item.data(Qt.ItemDataRole.UserRole) if item is not None else None
        return str(value) if value is not None else None

    def note_text(self) -> str:
        return self.note.text().strip()
