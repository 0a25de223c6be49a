"""Reconnect: the call's status in the status bar and over the video, and the modal error
when recovery gave up. It renders what the call model derived; it decides nothing."""

from __future__ import annotations

import contextlib
import logging

from PySide6.QtCore import QObject

from softphone.call.reconnect import ReconnectFailure
from softphone.call.state import CallStatus
from softphone.ui.main_window import MainWindow
from softphone.ui.reconnect_error import ReconnectErrorBox
from softphone.ui.session_bridge import SessionBridge, gui_thread_only

log = logging.getLogger(__name__)


class ReconnectPresenter(QObject):
    def __init__(
        self, window: MainWindow, bridge: SessionBridge, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self.window = window
        self.error_box: ReconnectErrorBox | None = None
        # The call the latest status belongs to; kept after it ends, because the failure
        # details arrive after the status that ended the call.
        self._call_id: str | None = None
        bridge.call_status.connect(self._on_call_status)
        bridge.call_failed.connect(self._on_call_failed)

    @gui_thread_only
    def _on_call_status(self, status: CallStatus) -> None:
        self._call_id = status.call_id
        if status.recovered_after_s is not None:
            log.info(
                "ui.reconnected",
                extra={"call_id": status.call_id, "elapsed_s": round(status.recovered_after_s, 2)},
            )
        self.window.show_call_status(status)

    @gui_thread_only
    def _on_call_failed(self, failure: ReconnectFailure) -> None:
        log.warning("ui.call_lost", extra={"attempts": failure.attempts, "call_id": self._call_id})
        self.close()
        self.error_box = ReconnectErrorBox(
            self.window,
            attempts=failure.attempts,
            elapsed_s=failure.elapsed_s,
            reason=failure.last_reason,
            trigger=failure.trigger,
            call_id=self._call_id,
        )
        self.error_box.open()

    def close(self) -> None:
        box, self.error_box = self.error_box, None
        if box is not None:
            with contextlib.suppress(RuntimeError):  # deleted with the window at exit
                box.close()
