"""Diagnostics: the dialog, its stats polled once a second, and "Restart ICE now"."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from pathlib import Path

from PySide6.QtCore import QObject

from softphone.call.state import CallStatus
from softphone.ui.call_session import CallSession
from softphone.ui.diagnostics import DiagnosticsDialog
from softphone.ui.i18n import translate
from softphone.ui.main_window import MainWindow
from softphone.ui.quality import InboundWatch
from softphone.ui.session_bridge import SessionBridge, gui_thread_only
from softphone.ui.tasks import TaskSet

log = logging.getLogger(__name__)

STATS_INTERVAL_S = 1.0


class DiagnosticsPresenter(QObject):
    def __init__(
        self,
        window: MainWindow,
        session: CallSession,
        bridge: SessionBridge,
        tasks: TaskSet,
        *,
        log_dir: Path | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.window = window
        self.session = session
        self.tasks = tasks
        self.log_dir = log_dir
        self.dialog: DiagnosticsDialog | None = None
        self._status: CallStatus | None = None
        bridge.call_status.connect(self._on_call_status)

    def open(self) -> DiagnosticsDialog:
        if self.dialog is None:
            self.dialog = DiagnosticsDialog(self.log_dir, self.window)
            self.dialog.restart_ice_requested.connect(self.restart_ice)
            self.tasks.spawn(self._poll_stats(self.dialog), "stats")
            self._update_restart()
        self.dialog.show()
        return self.dialog

    def restart_ice(self) -> None:
        status = self._status
        if status is None or status.terminal:
            self.window.show_notice(translate("Diagnostics", "No call to restart."))
            return
        log.info("ui.restart_ice", extra={"call_id": status.call_id})
        self.session.restart_ice("manual")

    @gui_thread_only
    def _on_call_status(self, status: CallStatus) -> None:
        self._status = status
        self._update_restart()

    def _update_restart(self) -> None:
        if self.dialog is not None:
            status = self._status
            self.dialog.set_restart_available(status is not None and not status.terminal)

    async def _poll_stats(self, dialog: DiagnosticsDialog) -> None:
        watch = InboundWatch()
        while True:
            stats = await self.session.stats()
            if dialog.isVisible():
                silent = 0.0
                if stats is not None:
                    silent = watch.observe(time.monotonic(), stats.bitrate_in_kbps)
                else:
                    watch = InboundWatch()
                dialog.show_stats(stats, silent)
            await asyncio.sleep(STATS_INTERVAL_S)

    def close(self) -> None:
        dialog, self.dialog = self.dialog, None
        if dialog is not None:
            with contextlib.suppress(RuntimeError):  # deleted with the window at exit
                dialog.close()
