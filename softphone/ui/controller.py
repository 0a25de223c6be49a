"""The agent's window over one AgentSession: availability, taking and ending calls, and
the presenters that show the rest (ringing, call media, diagnostics, reconnect). Widgets
stay free of async code; every coroutine goes through one TaskSet."""

from __future__ import annotations

import contextlib
import logging
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject

from softphone.agent import CallInfo
from softphone.call.state import CallState, CallStatus
from softphone.history import CallHistory
from softphone.ui.audio_devices import OutputChoice
from softphone.ui.call_session import CallSession
from softphone.ui.diagnostics import DiagnosticsDialog
from softphone.ui.dialogs.transfer import CONSULT, TransferDialog
from softphone.ui.i18n import translate
from softphone.ui.main_window import MainWindow
from softphone.ui.presenters.call_media import CallMediaPresenter
from softphone.ui.presenters.diagnostics import DiagnosticsPresenter
from softphone.ui.presenters.reconnect import ReconnectPresenter
from softphone.ui.presenters.ringing import RingingPresenter
from softphone.ui.ringer import Ringer
from softphone.ui.session_bridge import SessionBridge, gui_thread_only
from softphone.ui.status_text import agent_state_text, end_reason_text
from softphone.ui.tasks import TaskSet
from softphone.ui.tray import Tray

log = logging.getLogger(__name__)


class AgentController(QObject):
    def __init__(
        self,
        window: MainWindow,
        session: CallSession,
        *,
        agent_name: str = "",
        tray: Tray | None = None,
        ringer: Ringer | None = None,
        speaker: OutputChoice | None = None,
        log_dir: Path | None = None,
        history: CallHistory | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.window = window
        self.session = session
        self.tray = tray
        self.history = history  # where wrap-up notes go
        self.signed_in = False
        self.available = False
        self.call: CallInfo | None = None  # the call the agent took, until it ends
        self._hanging_up = False
        self.transfer_dialog: TransferDialog | None = None
        self._consulting: tuple[str, str] | None = None  # colleague, note
        self.tasks = TaskSet(on_failure=self._on_task_failed)
        self.bridge = SessionBridge(self)
        self.ringing = RingingPresenter(
            window,
            session,
            self.bridge,
            self.tasks,
            in_call=lambda: self.call is not None,
            ringer=ringer,
            tray=tray,
            parent=self,
        )
        self.media = CallMediaPresenter(
            window, self.bridge, self.tasks, speaker=speaker, parent=self
        )
        self.diagnostics = DiagnosticsPresenter(
            window, session, self.bridge, self.tasks, log_dir=log_dir, parent=self
        )
        self.reconnect = ReconnectPresenter(window, self.bridge, parent=self)
        # After the presenters: a caller still waiting is shown once the call's end is.
        self.bridge.call_status.connect(self._on_call_status)
        self.bridge.signaling_state.connect(self._on_signaling_state)
        self.bridge.wrap_up.connect(self._on_wrap_up)
        self.bridge.queue.connect(window.show_queue)
        self.bridge.consult_state.connect(self._on_consult_state)
        self.bridge.bind(session)
        # The window outlives this controller (a new sign-in makes a new one): keep the
        # connections to undo them in close().
        self._window_links: list[tuple[Any, Any]] = [
            (window.availability_requested, self.request_availability),
            (window.accept_requested, self.accept),
            (window.decline_requested, self.ringing.decline),
            (window.hangup_requested, self.hangup),
            (window.mute_toggled, session.set_muted),
            (window.camera_toggled, session.set_camera_enabled),
            (window.hold_toggled, self.hold),
            (window.transfer_requested, self.choose_transfer),
            (window.call_view.consult_complete_requested, self.complete_consult),
            (window.call_view.consult_cancel_requested, self.cancel_consult),
            (window.diagnostics_requested, self.open_diagnostics),
            (window.wrap_up.ready_requested, self.ready),
            (window.wrap_up.finished, self._update_agent_state),
        ]
        if tray is not None:
            self._window_links.append((tray.availability_requested, self.request_availability))
        for signal, slot in self._window_links:
            signal.connect(slot)
        window.set_agent_name(agent_name)
        self._update_agent_state()

    # --- intents --------------------------------------------------------------------------

    def request_availability(self, available: bool) -> None:
        self.tasks.spawn(self.set_available(available), "availability")

    async def set_available(self, available: bool) -> None:
        """Available, or away with the reason chosen in the header; either ends a wrap-up
        (its notes are kept)."""
        self._save_wrap_up_notes()
        reason = None if available else self.window.away_reason.currentData()
        try:
            await self.session.set_available(available, reason)
        except Exception as exc:  # shown here, so not a task failure
            log.warning("ui.availability_failed", extra={"error": str(exc)})
            self.window.show_notice(
                translate("Controller", "Could not change availability: {error}").format(error=exc)
            )
            return
        self.available = available
        log.info("ui.availability", extra={"available": available})
        self._update_agent_state()

    def ready(self, call_id: str, notes: str) -> None:
        """Wrap-up done: the notes go to the call's history row, calls ring again (unless
        the agent is away: then the server already stopped the wrap-up)."""
        self._save_notes(call_id, notes)
        if self.available:
            self.request_availability(True)

    def _save_wrap_up_notes(self) -> None:
        panel = self.window.wrap_up
        if panel.call_id is not None:
            call_id, notes = panel.call_id, panel.notes_text()
            panel.finish()
            self._save_notes(call_id, notes)

    def _save_notes(self, call_id: str, notes: str) -> None:
        if notes and self.history is not None and not self.history.set_notes(call_id, notes):
            self.window.show_notice(translate("Controller", "The notes could not be saved."))

    def accept(self, call_id: str) -> None:
        info = self.session.ringing.get(call_id)
        if info is None or self.call is not None:
            return
        self.call, self._hanging_up = info, False
        self.ringing.answered(call_id)
        self.window.show_call(info.visitor_name, info.page)
        self._update_agent_state()
        self.tasks.spawn(self._accept(call_id), "accept")

    async def _accept(self, call_id: str) -> None:
        try:
            await self.session.accept(call_id)
        except Exception as exc:
            log.warning("ui.accept_failed", extra={"call_id": call_id, "error": str(exc)})
            self.media.stop()
            self.window.show_call_status(None)
            self._call_over()
            self.window.show_notice(
                translate("Controller", "Could not take the call: {error}").format(error=exc)
            )

    def hangup(self) -> None:
        self._hanging_up = True
        self.tasks.spawn(self.session.hangup(), "hangup")

    def hold(self, on_hold: bool) -> None:
        self.tasks.spawn(self.session.set_on_hold(on_hold), "hold")

    def choose_transfer(self) -> None:
        """Ask the server who is free, then let the agent pick (or the waiting line)."""
        if self.call is not None and self.transfer_dialog is None:
            self.tasks.spawn(self._choose_transfer(), "transfer-choice")

    async def _choose_transfer(self) -> None:
        try:
            agents = await self.session.free_agents()
        except Exception as exc:
            self.window.show_notice(self._transfer_failed(exc))
            return
        if self.call is None:
            return  # the call ended while we asked
        dialog = TransferDialog(agents, self.window)
        dialog.finished.connect(lambda result: self._transfer_chosen(dialog, result))
        self.transfer_dialog = dialog
        dialog.open()

    def _transfer_chosen(self, dialog: TransferDialog, result: int) -> None:
        self.transfer_dialog = None
        dialog.deleteLater()
        target, note = dialog.target(), dialog.note_text()
        if self.call is None:
            return
        if result == TransferDialog.DialogCode.Accepted:
            self.tasks.spawn(self._transfer(target, note), "transfer")
        elif result == CONSULT and target is not None:
            self._consulting = (target, note)
            self.tasks.spawn(self._consult(target, note), "consult")

    async def _consult(self, to: str, note: str) -> None:
        try:
            await self.session.consult(to, note)
        except Exception as exc:  # the colleague just became busy: the call stays as it was
            self._consulting = None
            self.window.show_notice(self._transfer_failed(exc))

    def complete_consult(self) -> None:
        """Hand the visitor to the colleague the agent is talking to."""
        if self._consulting is not None:
            self.tasks.spawn(self._transfer(*self._consulting), "consult-complete")

    def cancel_consult(self) -> None:
        """Back to the visitor: the talk with the colleague ends, the hold too."""
        self._consulting = None
        self.tasks.spawn(self._back_to_visitor(), "consult-cancel")

    async def _back_to_visitor(self) -> None:
        await self.session.cancel_consult()
        await self.session.set_on_hold(False)

    @gui_thread_only
    def _on_consult_state(self, colleague: str, state: str) -> None:
        if state == "ended" and self._consulting is not None and self.call is not None:
            self._consulting = None  # the colleague hung up or declined
            self.window.show_notice(
                translate("Controller", "{name} ended the consult.").format(name=colleague)
            )
        self.window.call_view.show_consult(colleague, state)

    async def _transfer(self, to: str | None, note: str) -> None:
        self._hanging_up = True  # the end that follows is the agent's own doing
        try:
            await self.session.transfer(to, note)
        except Exception as exc:  # refused (e.g. the colleague just took a call): keep it
            self._hanging_up = False
            self.window.show_notice(self._transfer_failed(exc))
            return
        self.window.show_notice(
            translate("Controller", "Call transferred to {name}.").format(name=to)
            if to is not None
            else translate("Controller", "Call transferred to the waiting line.")
        )

    def _transfer_failed(self, error: Exception) -> str:
        log.warning("ui.transfer_failed", extra={"error": str(error)})
        return translate("Controller", "Could not transfer the call: {error}").format(error=error)

    def open_diagnostics(self) -> DiagnosticsDialog:
        return self.diagnostics.open()

    # --- session events -------------------------------------------------------------------

    @gui_thread_only
    def _on_signaling_state(self, state: str) -> None:
        self.window.set_signaling_state(state)
        signed_in = state == "connected"
        if signed_in != self.signed_in:
            self.signed_in = signed_in
            self._update_agent_state()

    @gui_thread_only
    def _on_call_status(self, status: CallStatus) -> None:
        if not status.terminal or self.call is None:
            return
        reason, by_agent = status.end_reason, self._hanging_up
        self._call_over()
        if status.state is CallState.ENDED and not by_agent:
            self.window.show_notice(
                translate("Controller", "Call ended ({reason}).").format(
                    reason=end_reason_text(reason)
                )
            )

    @gui_thread_only
    def _on_wrap_up(self, call_id: str, seconds: float) -> None:
        self.window.show_wrap_up(call_id, seconds)
        self._update_agent_state()

    def _call_over(self) -> None:
        self.call = None
        self.window.show_idle()
        self._update_agent_state()
        self.ringing.after_call()

    # --- helpers --------------------------------------------------------------------------

    def _update_agent_state(self) -> None:
        wrapping_up = self.window.wrap_up.call_id is not None
        text = agent_state_text(
            self.signed_in, self.available, self.call is not None, wrapping_up=wrapping_up
        )
        self.window.set_agent_state(text)
        self.window.set_available(self.available, enabled=self.signed_in, wrapping_up=wrapping_up)
        if self.tray is not None:
            self.tray.set_status(text, self.available)

    def _on_task_failed(self, error: BaseException) -> None:
        self.window.show_notice(
            translate("Controller", "Something went wrong: {error}").format(error=error)
        )

    async def close(self) -> None:
        """Stops media, polling and pending intents; the session is stopped by its owner."""
        if self.transfer_dialog is not None:
            self.transfer_dialog.reject()
        self.ringing.stop()
        self.bridge.unbind_all()
        for signal, slot in self._window_links:
            with contextlib.suppress(RuntimeError):  # the window may already be gone at exit
                signal.disconnect(slot)
        self._window_links.clear()
        await self.media.close()
        await self.tasks.close()
        self.reconnect.close()
        self.diagnostics.close()
