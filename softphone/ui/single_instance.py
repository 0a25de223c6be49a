"""One app per user: a second launch asks the first (over a per-user local socket) to come
to the front, then exits. An agent who double-clicks the icon again must not end up with
two phones ringing."""

from __future__ import annotations

import getpass
import hashlib
import logging

from PySide6.QtCore import QObject, Signal
from PySide6.QtNetwork import QLocalServer, QLocalSocket

log = logging.getLogger(__name__)

ACTIVATE = b"activate\n"
CONNECT_TIMEOUT_MS = 500


def instance_name(profile: str = "") -> str:
    """Per user and settings profile (e.g. the config folder), safe as a socket name."""
    key = hashlib.sha1(f"{getpass.getuser()}\0{profile}".encode()).hexdigest()[:16]
    return f"softphone-{key}"


class SingleInstance(QObject):
    activation_requested = Signal()

    def __init__(self, name: str | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.name = name or instance_name()
        self._server: QLocalServer | None = None
        self._clients: set[QLocalSocket] = set()

    def notify_running(self) -> bool:
        """True when another instance answered (and was asked to show itself)."""
        socket = QLocalSocket()
        socket.connectToServer(self.name)
        if not socket.waitForConnected(CONNECT_TIMEOUT_MS):
            return False
        socket.write(ACTIVATE)
        socket.waitForBytesWritten(CONNECT_TIMEOUT_MS)
        socket.disconnectFromServer()
        log.info("app.already_running", extra={"instance": self.name})
        return True

    def listen(self) -> bool:
        self._server = QLocalServer(self)
        self._server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
        # A crashed instance leaves its socket file behind; nobody answered it above.
        QLocalServer.removeServer(self.name)
        if not self._server.listen(self.name):
            log.warning("app.instance_listen_failed", extra={"error": self._server.errorString()})
            return False
        self._server.newConnection.connect(self._on_connection)
        return True

    def close(self) -> None:
        clients, self._clients = list(self._clients), set()
        for client in clients:
            client.abort()
        if self._server is not None:
            self._server.close()
            self._server = None

    def _on_connection(self) -> None:
        assert self._server is not None
        while (socket := self._server.nextPendingConnection()) is not None:
            socket.setParent(self)  # outlives the server's close(); freed on disconnect
            self._clients.add(socket)
            socket.readyRead.connect(self._on_ready)
            socket.disconnected.connect(self._on_disconnected)

    def _on_ready(self) -> None:
        socket = self.sender()
        if isinstance(socket, QLocalSocket) and bytes(socket.readAll().data()).startswith(
            ACTIVATE.strip()
        ):
            self.activation_requested.emit()

    def _on_disconnected(self) -> None:
        socket = self.sender()
        if isinstance(socket, QLocalSocket) and socket in self._clients:
            self._clients.discard(socket)
            socket.deleteLater()
