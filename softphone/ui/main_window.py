"""The agent's main window: header (who, availability), the call area, connection state in
the status bar. A thin view: it shows what it is told and reports the user's intent."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, Signal, SignalInstance
from PySide6.QtGui import QCloseEvent, QIcon, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QMessageBox,
    QPushButton,
    QStackedWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from softphone.call.state import CallStatus
from softphone.ui.call_view import CAMERA_SHORTCUT, HANGUP_SHORTCUT, MUTE_SHORTCUT, CallView
from softphone.ui.incoming_call import ACCEPT_SHORTCUT, DECLINE_SHORTCUT, IncomingCallPanel
from softphone.ui.session_bridge import gui_thread_only
from softphone.ui.status_indicator import CallStatusIndicator, SignalingStatus
from softphone.ui.status_text import banner_text, window_title
from softphone.ui.widgets import icon

NOTICE_MS = 10_000
STYLE = """
QMainWindow { background: #f4f6fa; }
#header { background: #ffffff; border-bottom: 1px solid #dde2ea; }
#appName { font-size: 16px; font-weight: 700; color: #1d2330; }
#agentName { color: #5a6275; font-size: 14px; }
#availability { border-radius: 14px; padding: 5px 14px; font-weight: 600; border: none; }
#availability[available="true"] { background: #e3f4ea; color: #1f7a45; }
#availability[available="false"] { background: #fdf0dc; color: #9a5b00; }
#availability:disabled { background: #eceff4; color: #8a93a6; }
QToolButton { border: none; padding: 4px; border-radius: 6px; }
QToolButton:hover { background: #eceff4; }
#idleTitle { font-size: 22px; font-weight: 600; color: #1d2330; }
#idleHint { font-size: 14px; color: #5a6275; }
QStatusBar { background: #ffffff; border-top: 1px solid #dde2ea; color: #3b4252; }
"""


def app_icon() -> QIcon:
    return icon("softphone")


class MainWindow(QMainWindow):
    close_requested = Signal()  # the app should quit
    hide_to_tray_requested = Signal()
    availability_requested = Signal(bool)
    accept_requested = Signal(str)
    decline_requested = Signal(str)
    hangup_requested = Signal()
    mute_toggled = Signal(bool)
    camera_toggled = Signal(bool)
    settings_requested = Signal()
    diagnostics_requested = Signal()

    def __init__(self) -> None:
        super().__init__()
        self.available = False
        self.in_call = False
        self.tray_available = False
        self.signaling_state = "offline"
        self._quit_box: QMessageBox | None = None
        self._setup_ui()
        self._setup_shortcuts()
        self.set_signaling_state("offline")
        self.show_call_status(None)
        self.set_agent_state("Offline")
        self.set_agent_name("")
        self.set_available(False, enabled=False)

    # --- construction ---------------------------------------------------------------------

    def _setup_ui(self) -> None:
        self.setWindowIcon(app_icon())
        self.setStyleSheet(STYLE)
        self.resize(960, 640)
        root = QWidget()
        layout = QVBoxLayout(root)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self._header())
        self.pages = QStackedWidget()
        self.idle_page = self._idle_page()
        self.incoming = IncomingCallPanel()
        self.call_view = CallView()
        for page in (self.idle_page, self.incoming, self.call_view):
            self.pages.addWidget(page)
        layout.addWidget(self.pages, 1)
        self.setCentralWidget(root)

        self.incoming.accept_requested.connect(self.accept_requested)
        self.incoming.decline_requested.connect(self.decline_requested)
        self.call_view.hangup_requested.connect(self.hangup_requested)
        self.call_view.mute_toggled.connect(self.mute_toggled)
        self.call_view.camera_toggled.connect(self.camera_toggled)

        self.signaling_status = SignalingStatus()
        self.call_status = CallStatusIndicator()
        bar = self.statusBar()
        bar.addPermanentWidget(self.signaling_status)
        bar.addPermanentWidget(self.call_status)

    def _header(self) -> QFrame:
        header = QFrame()
        header.setObjectName("header")
        layout = QHBoxLayout(header)
        layout.setContentsMargins(14, 8, 14, 8)
        logo = QLabel()
        logo.setPixmap(app_icon().pixmap(28, 28))
        name = QLabel("Softphone")
        name.setObjectName("appName")
        self.agent_label = QLabel()
        self.agent_label.setObjectName("agentName")
        self.availability_button = QPushButton()
        self.availability_button.setObjectName("availability")
        self.availability_button.setCursor(Qt.CursorShape.PointingHandCursor)
        self.availability_button.setAccessibleName("Availability")
        self.availability_button.clicked.connect(
            lambda: self.availability_requested.emit(not self.available)
        )
        self.diagnostics_button = self._tool_button(
            "diagnostics", "Diagnostics: call quality and logs", self.diagnostics_requested
        )
        self.settings_button = self._tool_button(
            "settings", "Settings: devices, server, reconnect", self.settings_requested
        )
        layout.addWidget(logo)
        layout.addWidget(name)
        layout.addSpacing(14)
        layout.addWidget(self.agent_label)
        layout.addStretch()
        layout.addWidget(self.availability_button)
        layout.addSpacing(6)
        layout.addWidget(self.diagnostics_button)
        layout.addWidget(self.settings_button)
        return header

    def _tool_button(self, icon_name: str, tooltip: str, signal: SignalInstance) -> QToolButton:
        button = QToolButton()
        button.setIcon(icon(icon_name))
        button.setIconSize(QSize(22, 22))
        button.setToolTip(tooltip)
        button.setAccessibleName(tooltip.split(":", maxsplit=1)[0])
        button.clicked.connect(signal)
        return button

    def _idle_page(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout.setSpacing(10)
        art = QLabel()
        art.setPixmap(app_icon().pixmap(96, 96))
        art.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.idle_label = QLabel()
        self.idle_label.setObjectName("idleTitle")
        self.idle_hint = QLabel()
        self.idle_hint.setObjectName("idleHint")
        for label in (self.idle_label, self.idle_hint):
            label.setAlignment(Qt.AlignmentFlag.AlignCenter)
            label.setWordWrap(True)
            label.setMinimumWidth(460)
        layout.addWidget(art)
        layout.addWidget(self.idle_label)
        layout.addWidget(self.idle_hint)
        return page

    def _setup_shortcuts(self) -> None:
        bindings = [
            (ACCEPT_SHORTCUT, self.incoming.accept_button.click),
            (DECLINE_SHORTCUT, self.incoming.decline_button.click),
            (HANGUP_SHORTCUT, self.call_view.hangup_button.click),
            (MUTE_SHORTCUT, self.call_view.mute_button.toggle),
            (CAMERA_SHORTCUT, self.call_view.camera_button.toggle),
        ]
        self.shortcuts: dict[str, QShortcut] = {}
        for keys, action in bindings:
            shortcut = QShortcut(QKeySequence(keys), self)
            shortcut.setContext(Qt.ShortcutContext.WindowShortcut)
            shortcut.activated.connect(action)
            self.shortcuts[keys] = shortcut
        self._update_shortcuts()

    def _update_shortcuts(self) -> None:
        """Shortcuts act only on the page they belong to."""
        ringing = self.pages.currentWidget() is self.incoming
        calling = self.pages.currentWidget() is self.call_view
        for keys in (ACCEPT_SHORTCUT, DECLINE_SHORTCUT):
            self.shortcuts[keys].setEnabled(ringing)
        for keys in (HANGUP_SHORTCUT, MUTE_SHORTCUT, CAMERA_SHORTCUT):
            self.shortcuts[keys].setEnabled(calling)

    # --- state shown ----------------------------------------------------------------------

    @gui_thread_only
    def set_signaling_state(self, state: str) -> None:
        self.signaling_state = state
        self.signaling_status.set_state(state)

    @gui_thread_only
    def show_call_status(self, status: CallStatus | None) -> None:
        """The call's status in the status bar and over the video (None: no call)."""
        self.call_status.show_call(status)
        self.call_view.set_banner(banner_text(status))

    @gui_thread_only
    def set_agent_state(self, state: str) -> None:
        self.setWindowTitle(window_title(state))

    def set_agent_name(self, name: str) -> None:
        self.agent_label.setText(f"Agent: {name}" if name else "Not signed in")

    @gui_thread_only
    def set_available(self, available: bool, *, enabled: bool = True) -> None:
        self.available = available and enabled
        button = self.availability_button
        button.setEnabled(enabled)
        button.setProperty("available", "true" if available else "false")
        button.setText(("● Available" if available else "● Away") if enabled else "● Offline")
        button.setToolTip(
            "You receive calls. Click to go away."
            if available
            else "You receive no calls. Click to become available."
        )
        button.setAccessibleDescription(button.text().lstrip("● "))
        button.style().unpolish(button)
        button.style().polish(button)
        if self.pages.currentWidget() is self.idle_page:
            self._update_idle_text(enabled)

    def _update_idle_text(self, signed_in: bool) -> None:
        if not signed_in and self.signaling_state == "reconnecting":
            self.idle_label.setText("Server connection lost")
            self.idle_hint.setText("Reconnecting… calls ring here again once it is back.")
        elif not signed_in:
            self.idle_label.setText("Not connected")
            self.idle_hint.setText("Sign in to start taking calls.")
        elif self.available:
            self.idle_label.setText("Waiting for calls")
            self.idle_hint.setText("You are available. Incoming calls ring here.")
        else:
            self.idle_label.setText("You are away")
            self.idle_hint.setText("Switch to Available in the top-right corner to take calls.")

    @gui_thread_only
    def show_idle(self) -> None:
        self.in_call = False
        self.incoming.clear()
        self.call_view.end_call()
        self.pages.setCurrentWidget(self.idle_page)
        self._update_idle_text(self.availability_button.isEnabled())
        self._update_shortcuts()

    @gui_thread_only
    def show_ringing(
        self, call_id: str, visitor_name: str, page: str | None, timeout_s: float
    ) -> None:
        if self.isHidden():  # in the tray: come back into view, but never take the focus
            self.setAttribute(Qt.WidgetAttribute.WA_ShowWithoutActivating, True)
            self.show()
            self.setAttribute(Qt.WidgetAttribute.WA_ShowWithoutActivating, False)
        self.incoming.show_call(call_id, visitor_name, page, timeout_s)
        self.call_status.show_ringing()
        self.pages.setCurrentWidget(self.incoming)
        self._update_shortcuts()

    @gui_thread_only
    def show_call(self, visitor_name: str, page: str | None) -> None:
        self.in_call = True
        self.incoming.clear()
        self.call_view.start_call(visitor_name, page)
        self.pages.setCurrentWidget(self.call_view)
        self._update_shortcuts()

    @gui_thread_only
    def show_notice(self, text: str) -> None:
        self.statusBar().showMessage(text, NOTICE_MS)

    def bring_to_front(self) -> None:
        """Only on the agent's explicit request (second launch, tray click): never on ring."""
        self.showNormal()
        self.raise_()
        self.activateWindow()

    # --- closing --------------------------------------------------------------------------

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 (Qt override)
        """Closing never silently drops calls: to the tray if there is one, else ask."""
        if not (self.available or self.in_call):
            self.close_requested.emit()
            super().closeEvent(event)
            return
        event.ignore()
        if self.tray_available and not self.in_call:
            self.hide()
            self.hide_to_tray_requested.emit()
            return
        self.ask_quit()

    def request_quit(self) -> None:
        """Quit from outside the window (tray menu): same rule as closing it."""
        if self.available or self.in_call:
            self.bring_to_front()
            self.ask_quit()
        else:
            self.close_requested.emit()

    def ask_quit(self) -> QMessageBox:
        box = QMessageBox(self)
        box.setObjectName("quitQuestion")
        box.setWindowModality(Qt.WindowModality.WindowModal)
        box.setIcon(QMessageBox.Icon.Question)
        box.setWindowTitle("Quit Softphone?")
        if self.in_call:
            box.setText("You are in a call. Quitting ends it for the visitor.")
        else:
            box.setText("You are available for calls. Quitting means calls no longer reach you.")
        box.setStandardButtons(QMessageBox.StandardButton.Cancel)
        quit_button = box.addButton("Quit", QMessageBox.ButtonRole.DestructiveRole)
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)

        def on_finished(_code: int) -> None:
            if box.clickedButton() is quit_button:
                self.close_requested.emit()
                self.hide()

        box.finished.connect(on_finished)
        self._quit_box = box
        box.open()
        return box
