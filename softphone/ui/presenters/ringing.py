"""Ringing: shows the session's ringing queue, rings, and declines. The queue itself is
AgentSession's (``session.ringing``); this only presents it."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QApplication

from softphone.agent import CallInfo
from softphone.ui.call_session import CallSession
from softphone.ui.i18n import translate
from softphone.ui.incoming_call import transfer_text
from softphone.ui.main_window import MainWindow
from softphone.ui.ringer import Ringer
from softphone.ui.session_bridge import SessionBridge, gui_thread_only
from softphone.ui.status_text import ring_text, ringing_text
from softphone.ui.tasks import TaskSet
from softphone.ui.tray import Tray


class RingingPresenter(QObject):
    def __init__(
        self,
        window: MainWindow,
        session: CallSession,
        bridge: SessionBridge,
        tasks: TaskSet,
        *,
        in_call: Callable[[], bool],
        ringer: Ringer | None = None,
        tray: Tray | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.window = window
        self.session = session
        self.tasks = tasks
        self.ringer = ringer
        self.tray = tray
        self._in_call = in_call
        # The session drops a call before it reports it cancelled: names for that notice.
        self._callers: dict[str, str] = {}
        bridge.incoming_call.connect(self._on_incoming_call)
        bridge.call_cancelled.connect(self._on_call_cancelled)

    def decline(self, call_id: str) -> None:
        if call_id not in self.session.ringing:
            return
        self._callers.pop(call_id, None)
        self.tasks.spawn(self.session.decline(call_id), "decline")
        self._ring_ended(skip=call_id)

    def answered(self, call_id: str) -> None:
        """The agent took this call: the ringing stops (others wait in the session)."""
        self._callers.pop(call_id, None)
        self.stop()

    def after_call(self) -> None:
        """A call ended or never started: whoever is still waiting rings now."""
        waiting = self._waiting()
        if waiting is not None:
            self._show(waiting)
            self._ring()

    def stop(self) -> None:
        if self.ringer is not None:
            self.ringer.stop()

    @gui_thread_only
    def _on_incoming_call(self, info: CallInfo) -> None:
        self._callers[info.call_id] = info.visitor_name
        if self._in_call():
            return  # busy: the server's ring timeout answers for us
        waiting = self._waiting()
        if waiting is not None:
            self._show(waiting)  # the longest-waiting caller first
        self._ring()
        # Flash the taskbar and notify, but never raise or focus the window.
        QApplication.alert(self.window, 0)
        if self.tray is not None:
            self.tray.notify(ringing_text(), ring_text(info.visitor_name, info.page))

    @gui_thread_only
    def _on_call_cancelled(self, call_id: str, reason: str) -> None:
        name = self._callers.pop(call_id, None)
        if name is None:
            return
        name = name or translate("Ringing", "a visitor")
        if reason == "ring-timeout":
            notice = translate("Ringing", "Call from {name} timed out.")
        else:
            notice = translate("Ringing", "Call from {name} was cancelled.")
        self.window.show_notice(notice.format(name=name))
        self._ring_ended()

    def _ring_ended(self, skip: str | None = None) -> None:
        if self._in_call():
            return
        waiting = self._waiting(skip)
        if waiting is not None:
            self._show(waiting)
            return
        self.stop()
        self.window.show_idle()
        self.window.show_call_status(None)

    def _waiting(self, skip: str | None = None) -> CallInfo | None:
        return next((c for c in self.session.ringing.values() if c.call_id != skip), None)

    def _show(self, info: CallInfo) -> None:
        self.window.show_ringing(
            info.call_id,
            info.visitor_name,
            info.page,
            info.timeout_s,
            transfer_text(info.transferred_by, info.note, info.consult),
        )

    def _ring(self) -> None:
        if self.ringer is not None:
            self.ringer.start()
