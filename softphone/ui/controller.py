"""Presenter between one AgentSession and the window: bridge signals → widget updates,
the agent's intents → session coroutines. Widgets stay free of async code (STYLE.md)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, Protocol

from aiortc import MediaStreamTrack
from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QApplication

from softphone.media.local import MediaChoice
from softphone.rtc.stats import CallStats
from softphone.ui.audio_devices import OutputChoice
from softphone.ui.audio_playout import AudioPlayout
from softphone.ui.diagnostics import DiagnosticsDialog
from softphone.ui.main_window import MainWindow
from softphone.ui.quality import InboundWatch
from softphone.ui.reconnect_error import ReconnectErrorBox
from softphone.ui.ringer import Ringer
from softphone.ui.session_bridge import SessionBridge, gui_thread_only
from softphone.ui.status_text import agent_state_text, ring_text
from softphone.ui.tray import Tray
from softphone.ui.video_view import VideoRenderer

log = logging.getLogger(__name__)

AUDIO_ONLY_AFTER_MS = 4000  # connected but no remote frame by then: the visitor sends no video
STATS_INTERVAL_S = 1.0


class CallSession(Protocol):
    """What the UI needs from softphone.agent.AgentSession (tests pass fakes)."""

    async def set_available(self, available: bool) -> None: ...
    async def accept(self, call_id: str) -> None: ...
    async def decline(self, call_id: str) -> None: ...
    async def hangup(self) -> None: ...
    def set_muted(self, muted: bool) -> None: ...
    def set_camera_enabled(self, enabled: bool) -> None: ...
    def set_media_choice(self, media: MediaChoice) -> None: ...
    async def stats(self) -> CallStats | None: ...


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
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.window = window
        self.session = session
        self.tray = tray
        self.ringer = ringer
        self.speaker = speaker
        self.log_dir = log_dir
        self.signed_in = False
        self.available = False
        self.ringing: dict[str, Any] = {}  # call_id -> CallInfo, in ring order
        self.current_call: Any = None
        self.call_id: str | None = None
        self.error_box: ReconnectErrorBox | None = None
        self.diagnostics: DiagnosticsDialog | None = None
        self._media: list[VideoRenderer] = []
        self._playout: AudioPlayout | None = None
        self._audio_track: MediaStreamTrack | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._audio_only_timer = QTimer(self)
        self._audio_only_timer.setSingleShot(True)
        self._audio_only_timer.setInterval(AUDIO_ONLY_AFTER_MS)
        self._audio_only_timer.timeout.connect(self._check_audio_only)
        self.bridge = SessionBridge(self)
        self.bridge.bind(session)
        self._connect()
        window.set_agent_name(agent_name)
        self._update_agent_state()

    def _connect(self) -> None:
        b, w = self.bridge, self.window
        b.signaling_state.connect(self._on_signaling_state)
        b.incoming_call.connect(self._on_incoming_call)
        b.call_cancelled.connect(self._on_call_cancelled)
        b.call_state.connect(self._on_call_state)
        b.call_ended.connect(self._on_call_ended)
        b.media_notice.connect(self._on_media_notice)
        b.remote_video_track.connect(self._on_remote_video)
        b.remote_audio_track.connect(self._on_remote_audio)
        b.local_video_track.connect(self._on_local_video)
        b.reconnect_state.connect(self._on_reconnect_state)
        b.reconnect_progress.connect(self._on_reconnect_progress)
        b.reconnected.connect(self._on_reconnected)
        b.reconnect_failed.connect(self._on_reconnect_failed)
        # The window outlives this controller (a new sign-in makes a new one): keep the
        # connections to undo them in close().
        self._window_links: list[tuple[Any, Any]] = [
            (w.availability_requested, self.request_availability),
            (w.accept_requested, self.accept),
            (w.decline_requested, self.decline),
            (w.hangup_requested, self.hangup),
            (w.mute_toggled, self.session.set_muted),
            (w.camera_toggled, self.session.set_camera_enabled),
            (w.diagnostics_requested, self.open_diagnostics),
        ]
        if self.tray is not None:
            self._window_links.append((self.tray.availability_requested, self.request_availability))
        if self.speaker is not None:
            self._window_links.append((self.speaker.notice, w.show_notice))
            self._window_links.append((self.speaker.changed, self._on_speaker_changed))
        for signal, slot in self._window_links:
            signal.connect(slot)

    # --- intents --------------------------------------------------------------------------

    def request_availability(self, available: bool) -> None:
        self.spawn(self._set_available(available), "availability")

    async def _set_available(self, available: bool) -> None:
        try:
            await self.session.set_available(available)
        except Exception as exc:
            self.window.show_notice(f"Could not change availability: {exc}")
            raise
        self.available = available
        log.info("ui.availability", extra={"available": available})
        self._update_agent_state()

    def accept(self, call_id: str) -> None:
        info = self.ringing.pop(call_id, None)
        if info is None or self.current_call is not None:
            return
        self._stop_ringing()
        self.current_call, self.call_id = info, call_id
        self.window.show_call(info.visitor_name, info.page)
        self.window.set_call_state("connecting")
        self._update_agent_state()
        self.spawn(self._accept(call_id), "accept")

    async def _accept(self, call_id: str) -> None:
        try:
            await self.session.accept(call_id)
        except Exception as exc:
            log.warning("ui.accept_failed", extra={"call_id": call_id, "error": str(exc)})
            self._end_call_view()
            self.window.set_call_state("idle")
            self.window.show_notice(f"Could not take the call: {exc}")

    def decline(self, call_id: str) -> None:
        if self.ringing.pop(call_id, None) is None:
            return
        self.spawn(self.session.decline(call_id), "decline")
        self._after_ring_ends()

    def hangup(self) -> None:
        self.spawn(self.session.hangup(), "hangup")

    # --- session events -------------------------------------------------------------------

    @gui_thread_only
    def _on_signaling_state(self, state: str) -> None:
        self.window.set_signaling_state(state)
        signed_in = state == "connected"
        if signed_in != self.signed_in:
            self.signed_in = signed_in
            self._update_agent_state()

    @gui_thread_only
    def _on_incoming_call(self, info: Any) -> None:
        self.ringing[info.call_id] = info
        if self.current_call is not None:
            return  # busy: the server's ring timeout answers for us
        self.window.show_ringing(info.call_id, info.visitor_name, info.page, info.timeout_s)
        self.window.set_call_state("ringing")
        if self.ringer is not None:
            self.ringer.start()
        # Flash the taskbar and notify, but never raise or focus the window.
        QApplication.alert(self.window, 0)
        if self.tray is not None:
            self.tray.notify("Incoming call", ring_text(info.visitor_name, info.page))

    @gui_thread_only
    def _on_call_cancelled(self, call_id: str, reason: str) -> None:
        info = self.ringing.pop(call_id, None)
        if info is None:
            return
        missed = "timed out" if reason == "ring-timeout" else "was cancelled"
        self.window.show_notice(f"Call from {info.visitor_name} {missed}.")
        self._after_ring_ends()

    def _after_ring_ends(self) -> None:
        if self.current_call is not None:
            return
        if self.ringing:
            nxt = next(iter(self.ringing.values()))
            self.window.show_ringing(nxt.call_id, nxt.visitor_name, nxt.page, nxt.timeout_s)
            return
        self._stop_ringing()
        self.window.show_idle()
        self.window.set_call_state("idle")

    @gui_thread_only
    def _on_call_state(self, state: str) -> None:
        shown = self.window.call_status.state
        if state == "connected":
            self.window.call_view.mark_connected()
            self.window.call_view.set_banner(None)
            if not self.window.call_view.remote_video.has_image():
                self._audio_only_timer.start()
            if shown in ("reconnecting", "reconnected"):
                self.window.set_call_state("reconnected")
                return
        elif state == "reconnecting":
            if shown == "reconnecting":
                return  # keep the attempt number already shown
            self.window.call_view.set_banner("Connection lost — reconnecting…")
        if state != "ended":
            self.window.set_call_state(state)

    @gui_thread_only
    def _on_reconnect_progress(self, attempt: int, max_attempts: int) -> None:
        self.window.set_call_state("reconnecting", attempt, max_attempts)
        self.window.call_view.set_banner(
            f"Connection lost — reconnecting (attempt {attempt} of {max_attempts})…"
        )

    @gui_thread_only
    def _on_reconnect_state(self, state: str, attempt: int, max_attempts: int) -> None:
        """A ReconnectController attached directly: the same wording as the session's."""
        if state == "reconnecting":
            self._on_reconnect_progress(attempt, max_attempts)
        elif state in ("connected", "failed"):
            self._on_call_state(state)

    @gui_thread_only
    def _on_reconnected(self, attempt: int, elapsed_s: float) -> None:
        log.info("ui.reconnected", extra={"attempt": attempt, "elapsed_s": round(elapsed_s, 2)})
        self.window.set_call_state("reconnected")
        self.window.call_view.set_banner(None)

    @gui_thread_only
    def _on_reconnect_failed(self, failure: Any) -> None:
        log.warning("ui.call_lost", extra={"attempts": failure.attempts, "call_id": self.call_id})
        self.error_box = ReconnectErrorBox(
            self.window,
            attempts=failure.attempts,
            elapsed_s=failure.elapsed_s,
            reason=failure.last_reason,
            trigger=failure.trigger,
            call_id=self.call_id,
        )
        self.error_box.open()
        self._end_call_view()
        self.window.set_call_state("failed")

    @gui_thread_only
    def _on_call_ended(self, reason: str) -> None:
        was_in_call = self.current_call is not None
        lost = reason == "reconnect-failed" or self.window.call_status.state == "failed"
        self._end_call_view()
        if not lost:  # "Call lost" stays visible beside the modal
            self.window.set_call_state("ended")
        if was_in_call and reason not in ("local-hangup", "reconnect-failed"):
            self.window.show_notice(f"Call ended ({reason}).")

    def _end_call_view(self) -> None:
        self._audio_only_timer.stop()
        self.current_call, self.call_id = None, None
        media, self._media = self._media, []
        for item in media:
            self.spawn(item.close(), "media-close")
        if self._playout is not None:
            self._playout.stop()
            self.spawn(self._playout.close(), "playout-close")
        self._playout, self._audio_track = None, None
        self.window.show_idle()
        self._update_agent_state()
        if self.ringing:
            self._after_ring_ends()

    @gui_thread_only
    def _on_media_notice(self, text: str) -> None:
        self.window.show_notice(text)
        if "camera" in text.lower():
            self.window.call_view.local_video.set_placeholder("No camera")

    @gui_thread_only
    def _on_remote_video(self, track: MediaStreamTrack) -> None:
        view = self.window.call_view.remote_video
        view.first_frame.connect(lambda: self.window.call_view.set_audio_only(False))
        self._media.append(VideoRenderer(track, view))

    @gui_thread_only
    def _on_local_video(self, track: MediaStreamTrack) -> None:
        self._media.append(VideoRenderer(track, self.window.call_view.local_video))

    @gui_thread_only
    def _on_remote_audio(self, track: MediaStreamTrack) -> None:
        self._audio_track = track
        self._start_playout()

    def _start_playout(self) -> None:
        """(Re)start remote audio on the current speaker, e.g. after a device fallback."""
        if self._playout is not None:
            self._playout.stop()
            self.spawn(self._playout.close(), "playout-close")
            self._playout = None
        device = self.speaker.device if self.speaker is not None else None
        if self._audio_track is None or self.current_call is None:
            return
        if device is None:
            self.window.show_notice("No sound output found: the visitor cannot be heard.")
            return
        self._playout = AudioPlayout(self._audio_track, device)
        if self._playout.error:
            self.window.show_notice(f"Speaker problem: {self._playout.error}")

    def _on_speaker_changed(self, _device: object) -> None:
        if self._playout is not None:
            self._start_playout()

    def _check_audio_only(self) -> None:
        if self.current_call is not None and not self.window.call_view.remote_video.has_image():
            self.window.call_view.set_audio_only(True, "Audio only — the visitor has no video")

    # --- diagnostics ----------------------------------------------------------------------

    def open_diagnostics(self) -> DiagnosticsDialog:
        if self.diagnostics is None:
            self.diagnostics = DiagnosticsDialog(self.log_dir, self.window)
            restart = getattr(self.session, "restart_ice", None)
            self.diagnostics.set_restart_available(callable(restart))
            self.diagnostics.restart_ice_requested.connect(self.restart_ice)
            self.spawn(self._poll_stats(self.diagnostics), "stats")
        self.diagnostics.show()
        return self.diagnostics

    def restart_ice(self) -> None:
        restart = getattr(self.session, "restart_ice", None)
        if restart is None or self.current_call is None:
            self.window.show_notice("No call to restart.")
            return
        log.info("ui.restart_ice", extra={"call_id": self.call_id})
        result = restart("manual")
        if asyncio.iscoroutine(result):
            self.spawn(result, "restart-ice")

    async def _poll_stats(self, dialog: DiagnosticsDialog) -> None:
        watch = InboundWatch()
        while True:
            stats = await self.session.stats() if self.current_call is not None else None
            if dialog.isVisible():
                silent = 0.0
                if stats is not None:
                    silent = watch.observe(time.monotonic(), stats.bitrate_in_kbps)
                else:
                    watch = InboundWatch()
                dialog.show_stats(stats, silent)
            await asyncio.sleep(STATS_INTERVAL_S)

    # --- helpers --------------------------------------------------------------------------

    def _stop_ringing(self) -> None:
        if self.ringer is not None:
            self.ringer.stop()

    def _update_agent_state(self) -> None:
        text = agent_state_text(self.signed_in, self.available, self.current_call is not None)
        self.window.set_agent_state(text)
        self.window.set_available(self.available, enabled=self.signed_in)
        if self.tray is not None:
            self.tray.set_status(text, self.available)

    def spawn(self, coro: Coroutine[Any, Any, Any], name: str) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coro, name=f"ui-{name}")
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("ui.task_failed", extra={"task": task.get_name()}, exc_info=task.exception())
            self.window.show_notice(f"Something went wrong: {task.exception()}")

    async def close(self) -> None:
        """Stops media, polling and pending intents; the session is stopped by its owner."""
        self._stop_ringing()
        self._audio_only_timer.stop()
        self.bridge.unbind_all()
        for signal, slot in self._window_links:
            with contextlib.suppress(RuntimeError):  # the window may already be gone at exit
                signal.disconnect(slot)
        self._window_links.clear()
        for item in self._media:
            await item.close()
        self._media.clear()
        if self._playout is not None:
            await self._playout.close()
            self._playout = None
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self.error_box is not None:
            self.error_box.close()
        if self.diagnostics is not None:
            self.diagnostics.close()
