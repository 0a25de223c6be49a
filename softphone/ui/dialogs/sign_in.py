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

from softphone.ui.preferences import SignIn, validate_sign_in


class SignInDialog(QDialog):
    def __init__(self, initial: SignIn | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Sign in to Softphone")
        self.setMinimumWidth(420)
        layout = QVBoxLayout(self)
        intro = QLabel("Enter the details your team lead gave you. They are remembered.")
        intro.setWordWrap(True)
        layout.addWidget(intro)
        form = QFormLayout()
        self.server_url = QLineEdit(initial.server_url if initial else "")
        self.server_url.setPlaceholderText("wss://calls.example.com/ws")
        self.agent_name = QLineEdit(initial.agent_name if initial else "")
        self.token = QLineEdit(initial.token if initial else "")
        self.token.setEchoMode(QLineEdit.EchoMode.Password)
        form.addRow("Server:", self.server_url)
        form.addRow("Agent name:", self.agent_name)
        form.addRow("Access token:", self.token)
        layout.addLayout(form)
        self.error = QLabel()
        self.error.setStyleSheet("color: #b3261e;")
        self.error.setWordWrap(True)
        self.error.setAccessibleName("Sign-in problems")
        layout.addWidget(self.error)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        ok.setText("Sign in")
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
