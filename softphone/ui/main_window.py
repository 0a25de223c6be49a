"""The agent's main window: header (who, availability), the call area, connection state in
the status bar. A thin view: it shows what it is told and reports the user's intent."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, Signal, SignalInstance
from PySide6.QtGui import QCloseEvent, QGuiApplication, QIcon, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QComboBox,
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
from softphone.ui.a11y import announce, describe, shortcut_text
from softphone.ui.agent_state import READY_SHORTCUT, WrapUpPanel, away_reasons, queue_text
from softphone.ui.call_view import (
    CAMERA_SHORTCUT,
    HANGUP_SHORTCUT,
    HOLD_SHORTCUT,
    MUTE_SHORTCUT,
    TRANSFER_SHORTCUT,
    CallView,
)
from softphone.ui.i18n import translate
from softphone.ui.incoming_call import ACCEPT_SHORTCUT, DECLINE_SHORTCUT, IncomingCallPanel
from softphone.ui.session_bridge import gui_thread_only
from softphone.ui.status_indicator import CallStatusIndicator, SignalingStatus
from softphone.ui.status_text import agent_state_text, banner_text, window_title
from softphone.ui.theme import repolish, style_sheet
from softphone.ui.widgets import icon

NOTICE_MS = 10_000
AVAILABILITY_SHORTCUT = "Ctrl+Shift+Y"
DIAGNOSTICS_SHORTCUT = "Ctrl+Shift+I"
HISTORY_SHORTCUT = "Ctrl+Shift+L"
SETTINGS_SHORTCUT = "Ctrl+Shift+S"
# The shortcuts that may work beyond the main window (settings.call_shortcuts).
CALL_SHORTCUTS = (ACCEPT_SHORTCUT, HANGUP_SHORTCUT, MUTE_SHORTCUT)


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
    hold_toggled = Signal(bool)
    transfer_requested = Signal()
    settings_requested = Signal()
    diagnostics_requested = Signal()
    history_requested = Signal()

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
        self.set_agent_state(agent_state_text(False, False, False))
        self.set_agent_name("")
        self.set_available(False, enabled=False)

    # --- construction ---------------------------------------------------------------------

    def _setup_ui(self) -> None:
        self.setWindowIcon(app_icon())
        self.setStyleSheet(style_sheet())
        self._style_hints = QGuiApplication.styleHints()  # keeps the hints' wrapper alive
        self._style_hints.accessibility().contrastPreferenceChanged.connect(self._restyle)
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
        self.call_view.hold_toggled.connect(self.hold_toggled)
        self.call_view.transfer_requested.connect(self.transfer_requested)

        self.signaling_status = SignalingStatus()
        self.call_status = CallStatusIndicator()
        bar = self.statusBar()
        bar.addPermanentWidget(self.signaling_status)
        bar.addPermanentWidget(self.call_status)

    def _restyle(self, _contrast: Qt.ContrastPreference) -> None:
        """The system's contrast wish changed: switch looks while running."""
        self.setStyleSheet(style_sheet())

    def _header(self) -> QFrame:
        header = QFrame()
        header.setObjectName("header")
        layout = QHBoxLayout(header)
        layout.setContentsMargins(14, 8, 14, 8)
        logo = QLabel()
        logo.setPixmap(app_icon().pixmap(28, 28))
        name = QLabel("Softphone")  # the product's name, never translated
        name.setObjectName("appName")
        self.agent_label = QLabel()
        self.agent_label.setObjectName("agentName")
        self.agent_label.setTextFormat(Qt.TextFormat.PlainText)  # the name typed at sign-in
        self.availability_button = QPushButton()
        self.availability_button.setObjectName("availability")
        self.availability_button.setCursor(Qt.CursorShape.PointingHandCursor)
        self.availability_button.clicked.connect(
            lambda: self.availability_requested.emit(not self.available)
        )
        self.away_reason = QComboBox()
        self.away_reason.setObjectName("awayReason")
        for value, text in away_reasons():
            self.away_reason.addItem(text, value)
        reason_hint = translate("MainWindow", "Why you go away; the server records it")
        self.away_reason.setToolTip(reason_hint)
        describe(self.away_reason, translate("MainWindow", "Away reason"), reason_hint)
        self.queue_label = QLabel(queue_text(0, 0))
        self.queue_label.setObjectName("queueStatus")
        describe(
            self.queue_label,
            translate("MainWindow", "Waiting line"),
            translate("MainWindow", "Visitors waiting for an agent, and the longest wait"),
        )
        self.diagnostics_button = self._tool_button(
            "diagnostics",
            translate("MainWindow", "Diagnostics"),
            translate("MainWindow", "Call quality, Restart ICE and the logs"),
            DIAGNOSTICS_SHORTCUT,
            self.diagnostics_requested,
        )
        self.history_button = self._tool_button(
            "history",
            translate("MainWindow", "Call history"),
            translate("MainWindow", "Recent calls: search them, export them"),
            HISTORY_SHORTCUT,
            self.history_requested,
        )
        self.settings_button = self._tool_button(
            "settings",
            translate("MainWindow", "Settings"),
            translate("MainWindow", "Devices, server, reconnect and language"),
            SETTINGS_SHORTCUT,
            self.settings_requested,
        )
        layout.addWidget(logo)
        layout.addWidget(name)
        layout.addSpacing(14)
        layout.addWidget(self.agent_label)
        layout.addStretch()
        layout.addWidget(self.queue_label)
        layout.addSpacing(10)
        layout.addWidget(self.away_reason)
        layout.addWidget(self.availability_button)
        layout.addSpacing(6)
        layout.addWidget(self.history_button)
        layout.addWidget(self.diagnostics_button)
        layout.addWidget(self.settings_button)
        return header

    def _tool_button(
        self, icon_name: str, name: str, description: str, keys: str, signal: SignalInstance
    ) -> QToolButton:
        button = QToolButton()
        button.setIcon(icon(icon_name))
        button.setIconSize(QSize(22, 22))
        button.setToolTip(f"{name}: {description} ({shortcut_text(keys)})")
        describe(button, name, description)
        button.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
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
        self.wrap_up = WrapUpPanel()
        self.wrap_up.setMinimumWidth(460)
        self.wrap_up.finished.connect(self._show_idle_art)
        self._idle_art = (art, self.idle_label, self.idle_hint)
        layout.addWidget(art)
        layout.addWidget(self.idle_label)
        layout.addWidget(self.idle_hint)
        layout.addWidget(self.wrap_up)
        return page

    def _setup_shortcuts(self) -> None:
        bindings = [
            (AVAILABILITY_SHORTCUT, self.availability_button.click),
            (READY_SHORTCUT, self.wrap_up.ready_button.click),
            (DIAGNOSTICS_SHORTCUT, self.diagnostics_button.click),
            (HISTORY_SHORTCUT, self.history_button.click),
            (SETTINGS_SHORTCUT, self.settings_button.click),
            (ACCEPT_SHORTCUT, self.incoming.accept_button.click),
            (DECLINE_SHORTCUT, self.incoming.decline_button.click),
            (HANGUP_SHORTCUT, self.call_view.hangup_button.click),
            (MUTE_SHORTCUT, self.call_view.mute_button.toggle),
            (CAMERA_SHORTCUT, self.call_view.camera_button.toggle),
            (HOLD_SHORTCUT, self.call_view.hold_button.toggle),
            (TRANSFER_SHORTCUT, self.call_view.transfer_button.click),
        ]
        self.shortcuts: dict[str, QShortcut] = {}
        for keys, action in bindings:
            shortcut = QShortcut(QKeySequence(keys), self)
            shortcut.setContext(Qt.ShortcutContext.WindowShortcut)
            shortcut.activated.connect(action)
            self.shortcuts[keys] = shortcut
        self._update_shortcuts()

    def set_call_shortcuts_app_wide(self, app_wide: bool) -> None:
        """Answer, hang up and mute from any window of the app (the history, a dialog that
        is not modal), not only this one; other applications are global_shortcuts.py's part."""
        context = (
            Qt.ShortcutContext.ApplicationShortcut
            if app_wide
            else Qt.ShortcutContext.WindowShortcut
        )
        for keys in CALL_SHORTCUTS:
            self.shortcuts[keys].setContext(context)

    def press_call_shortcut(self, keys: str) -> None:
        """A call shortcut pressed in another application (system-wide keys): what pressing
        it here does, on the page it belongs to. While a window of the app has the keyboard,
        Qt's own application-wide shortcut has already acted on the same press."""
        focused = QGuiApplication.focusWindow()
        shortcut = self.shortcuts[keys]
        if (focused is None or not focused.isVisible()) and shortcut.isEnabled():
            shortcut.activated.emit()

    def _update_shortcuts(self) -> None:
        """Shortcuts act only on the page they belong to."""
        ringing = self.pages.currentWidget() is self.incoming
        calling = self.pages.currentWidget() is self.call_view
        for keys in (ACCEPT_SHORTCUT, DECLINE_SHORTCUT):
            self.shortcuts[keys].setEnabled(ringing)
        for keys in (
            HANGUP_SHORTCUT,
            MUTE_SHORTCUT,
            CAMERA_SHORTCUT,
            HOLD_SHORTCUT,
            TRANSFER_SHORTCUT,
        ):
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
        self.call_view.show_hold(status is not None and status.on_hold and not status.terminal)

    @gui_thread_only
    def set_agent_state(self, state: str) -> None:
        self.setWindowTitle(window_title(state))

    def set_agent_name(self, name: str) -> None:
        self.agent_label.setText(
            translate("MainWindow", "Agent: {name}").format(name=name)
            if name
            else translate("MainWindow", "Not signed in")
        )

    @gui_thread_only
    def set_available(
        self, available: bool, *, enabled: bool = True, wrapping_up: bool = False
    ) -> None:
        self.available = available and enabled
        button = self.availability_button
        button.setEnabled(enabled)
        button.setProperty("available", "true" if available else "false")
        if not enabled:
            state = translate("MainWindow", "Offline")
            hint = translate("MainWindow", "Sign in to take calls.")
        elif available and wrapping_up:
            state = translate("MainWindow", "After-call work")
            hint = translate(
                "MainWindow", "Calls ring again after Ready or the wrap-up time. Click to go away."
            )
        elif available:
            state = translate("MainWindow", "Available")
            hint = translate("MainWindow", "You receive calls. Click to go away.")
        else:
            state = translate("MainWindow", "Away")
            hint = translate("MainWindow", "You receive no calls. Click to become available.")
        button.setText(f"● {state}")  # the word says it, the dot's colour only repeats it
        button.setToolTip(f"{hint} ({shortcut_text(AVAILABILITY_SHORTCUT)})")
        describe(button, translate("MainWindow", "Availability: {state}").format(state=state), hint)
        repolish(button)
        if self.pages.currentWidget() is self.idle_page:
            self._update_idle_text(enabled)

    def _update_idle_text(self, signed_in: bool) -> None:
        if not signed_in and self.signaling_state == "reconnecting":
            title = translate("MainWindow", "Server connection lost")
            hint = translate("MainWindow", "Reconnecting… calls ring here again once it is back.")
        elif not signed_in:
            title = translate("MainWindow", "Not connected")
            hint = translate("MainWindow", "Sign in to start taking calls.")
        elif self.available:
            title = translate("MainWindow", "Waiting for calls")
            hint = translate("MainWindow", "You are available. Incoming calls ring here.")
        else:
            title = translate("MainWindow", "You are away")
            hint = translate(
                "MainWindow", "Switch to Available in the top-right corner to take calls."
            )
        self.idle_label.setText(title)
        self.idle_hint.setText(hint)

    @gui_thread_only
    def show_wrap_up(self, call_id: str, seconds: float) -> None:
        """After-call work in place of the idle page's picture and text."""
        self._show_idle_art(visible=False)
        self.wrap_up.start(call_id, seconds)

    def _show_idle_art(self, visible: bool = True) -> None:
        for widget in self._idle_art:
            widget.setVisible(visible)

    @gui_thread_only
    def show_queue(self, waiting: int, longest_s: float) -> None:
        self.queue_label.setText(queue_text(waiting, longest_s))

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
        self,
        call_id: str,
        visitor_name: str,
        page: str | None,
        timeout_s: float,
        transfer: str = "",
    ) -> None:
        if self.isHidden():  # in the tray: come back into view, but never take the focus
            self.setAttribute(Qt.WidgetAttribute.WA_ShowWithoutActivating, True)
            self.show()
            self.setAttribute(Qt.WidgetAttribute.WA_ShowWithoutActivating, False)
        self.incoming.show_call(call_id, visitor_name, page, timeout_s, transfer)
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
        announce(self.statusBar(), text)

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
        box.setWindowTitle(translate("MainWindow", "Quit Softphone?"))
        if self.in_call:
            box.setText(
                translate("MainWindow", "You are in a call. Quitting ends it for the visitor.")
            )
        else:
            box.setText(
                translate(
                    "MainWindow",
                    "You are available for calls. Quitting means calls no longer reach you.",
                )
            )
        box.setStandardButtons(QMessageBox.StandardButton.Cancel)
        cancel = box.button(QMessageBox.StandardButton.Cancel)
        cancel.setText(translate("MainWindow", "Cancel"))
        describe(
            cancel,
            translate("MainWindow", "Cancel"),
            translate("MainWindow", "Keep Softphone running"),
        )
        quit_button = box.addButton(
            translate("MainWindow", "Quit"), QMessageBox.ButtonRole.DestructiveRole
        )
        describe(
            quit_button,
            translate("MainWindow", "Quit"),
            translate("MainWindow", "Close Softphone now"),
        )
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)

        def on_finished(_code: int) -> None:
            if box.clickedButton() is quit_button:
                self.close_requested.emit()
                self.hide()

        box.finished.connect(on_finished)
        self._quit_box = box
        box.open()
        return box
