"""First-run sign-in: server, agent name, token. Shown with open(), answered via finished."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from softphone.ui.a11y import describe, dialog_buttons
from softphone.ui.i18n import translate
from softphone.ui.preferences import SignIn, validate_sign_in


def sign_in_fields(
    form: QFormLayout, server_url: QLineEdit, agent_name: QLineEdit, token: QLineEdit
) -> None:
    """The three sign-in rows, named and described for screen readers (sign-in dialog and
    the settings' Server tab)."""
    rows = [
        (
            server_url,
            translate("SignIn", "Server:"),
            translate("SignIn", "Server"),
            translate("SignIn", "The signaling server's address, e.g. wss://host/ws"),
        ),
        (
            agent_name,
            translate("SignIn", "Agent name:"),
            translate("SignIn", "Agent name"),
            translate("SignIn", "Your name as visitors and your team see it"),
        ),
        (
            token,
            translate("SignIn", "Access token:"),
            translate("SignIn", "Access token"),
            translate("SignIn", "The secret your team lead gave you; it is never shown"),
        ),
    ]
    for field, label, name, description in rows:
        describe(field, name, description)
        form.addRow(label, field)


class SignInDialog(QDialog):
    def __init__(self, initial: SignIn | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(translate("SignIn", "Sign in to Softphone"))
        self.setMinimumWidth(420)
        layout = QVBoxLayout(self)
        intro = QLabel(
            translate("SignIn", "Enter the details your team lead gave you. They are remembered.")
        )
        intro.setWordWrap(True)
        layout.addWidget(intro)
        form = QFormLayout()
        self.server_url = QLineEdit(initial.server_url if initial else "")
        self.server_url.setPlaceholderText("wss://calls.example.com/ws")
        self.agent_name = QLineEdit(initial.agent_name if initial else "")
        self.token = QLineEdit(initial.token if initial else "")
        self.token.setEchoMode(QLineEdit.EchoMode.Password)
        sign_in_fields(form, self.server_url, self.agent_name, self.token)
        layout.addLayout(form)
        self.error = QLabel()
        self.error.setObjectName("problems")
        self.error.setWordWrap(True)
        self.error.setAccessibleName(translate("SignIn", "Sign-in problems"))
        layout.addWidget(self.error)
        self.buttons = dialog_buttons(
            (
                QDialogButtonBox.StandardButton.Ok,
                translate("SignIn", "Sign in"),
                translate("SignIn", "Connect to the server with these details"),
            ),
            (
                QDialogButtonBox.StandardButton.Cancel,
                translate("SignIn", "Cancel"),
                translate("SignIn", "Stay signed out; sign in later from Settings"),
            ),
        )
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)
        for field in (self.server_url, self.agent_name, self.token):
            field.textChanged.connect(self._validate)
        self._validate()

    def problems(self) -> list[str]:
        return validate_sign_in(self.server_url.text(), self.agent_name.text(), self.token.text())

    def _validate(self) -> None:
        problems = self.problems()
        # A blank first-run form is not an error; say what is wrong once typing starts.
        typed = any(f.text() for f in (self.server_url, self.agent_name, self.token))
        self.error.setText("\n".join(problems) if typed else "")
        self.error.setAccessibleDescription(self.error.text())
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(not problems)

    def accept(self) -> None:
        if not self.problems():
            super().accept()

    def sign_in(self) -> SignIn:
        return SignIn(
            self.server_url.text().strip(),
            self.agent_name.text().strip(),
            self.token.text().strip(),
        )
