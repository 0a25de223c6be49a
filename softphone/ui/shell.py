"""The GUI app around one signed-in session: sign-in, the session's lifetime, settings,
tray, audio outputs and the call history. ``app.py`` creates it and awaits its ``close``."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
from pathlib import Path

from PySide6.QtCore import QObject, Qt
from PySide6.QtWidgets import QDialog

from softphone.agent import AgentConfig, AgentSession
from softphone.call.reconnect import ReconnectPolicy
from softphone.history import CallHistory, CallRecorder
from softphone.media.local import MediaChoice
from softphone.rtc.ice import IceSettings
from softphone.settings import CallShortcuts, MediaSettings, ReconnectSettings, Settings
from softphone.ui.audio_devices import OutputChoice
from softphone.ui.controller import AgentController
from softphone.ui.dialogs.settings_dialog import NO_DEVICE, SettingsDialog
from softphone.ui.dialogs.sign_in import SignInDialog
from softphone.ui.global_shortcuts import GlobalCallShortcuts
from softphone.ui.history_view import HistoryView
from softphone.ui.i18n import translate
from softphone.ui.main_window import CALL_SHORTCUTS, MainWindow
from softphone.ui.preferences import Preferences, SignIn
from softphone.ui.ringer import Ringer
from softphone.ui.status_text import agent_state_text
from softphone.ui.tasks import TaskSet
from softphone.ui.tray import Tray

log = logging.getLogger(__name__)

SIGN_IN_TIMEOUT_S = 15.0
_DEFAULT_CAPTURE = {"linux": ("/dev/video0", "default"), "darwin": ("0:none", "none:0")}


def sign_in_failed_text(error: BaseException) -> str:
    return translate("Shell", "Sign-in failed: {error}").format(error=error)


def media_choice(media: MediaSettings, platform: str = sys.platform) -> MediaChoice:
    """Settings' device ids to what the capture layer opens ("" = the platform default)."""
    key = "linux" if platform.startswith("linux") else platform
    default_camera, default_mic = _DEFAULT_CAPTURE.get(key, (None, None))

    def pick(chosen: str, default: str | None) -> str | None:
        if chosen == NO_DEVICE:
            return None
        return chosen or default

    return MediaChoice(
        camera=pick(media.camera, default_camera),
        microphone=pick(media.microphone, default_mic),
        width=media.video_width,
        height=media.video_height,
        fps=media.video_fps,
    )


def agent_config(
    sign_in: SignIn, settings: Settings, media: MediaChoice, policy: ReconnectSettings
) -> AgentConfig:
    ice = IceSettings(host_allowlist=tuple(settings.ice_host_allowlist) or None)
    reconnect = ReconnectPolicy(
        policy.max_attempts, policy.attempt_timeout_s, tuple(policy.backoff_s)
    )
    return AgentConfig(
        sign_in.server_url,
        sign_in.token,
        name=sign_in.agent_name,
        ice=ice,
        media=media,
        reconnect=reconnect,
    )


class AppShell(QObject):
    def __init__(
        self,
        settings: Settings,
        window: MainWindow,
        *,
        preferences: Preferences | None = None,
        tray: Tray | None = None,
        log_dir: Path | None = None,
        history_path: Path | None = None,
    ) -> None:
        """``history_path`` None: the platform data folder (the demo passes a temporary one)."""
        super().__init__()
        self.settings = settings
        self.window = window
        self.prefs = preferences or Preferences()
        self.tray = tray
        self.log_dir = log_dir
        self.media = self.prefs.media(settings.media)
        self.reconnect = self.prefs.reconnect(settings.reconnect)
        self.session: AgentSession | None = None
        self.controller: AgentController | None = None
        self.ringer = Ringer(self)
        self.ringer_output = OutputChoice("ringer", self.media.ringer, self)
        self.speaker = OutputChoice("speaker", self.media.speaker, self)
        self.ringer.set_device(self.ringer_output.device)
        self.ringer_output.changed.connect(self.ringer.set_device)
        self.ringer_output.notice.connect(window.show_notice)
        self._dialog: QDialog | None = None
        # One store and one recorder for the app's life; every session feeds the recorder.
        self.history = CallHistory(history_path, max_calls=settings.history_max_calls)
        self.recorder = CallRecorder(self.history)
        self.history_view: HistoryView | None = None
        self.tasks = TaskSet(
            on_failure=lambda error: window.show_notice(sign_in_failed_text(error))
        )
        window.settings_requested.connect(self.open_settings)
        window.history_requested.connect(self.open_history)
        window.availability_requested.connect(self.prefs.save_available)
        if tray is not None:
            tray.availability_requested.connect(self.prefs.save_available)
        self.global_keys = GlobalCallShortcuts(CALL_SHORTCUTS, self)
        self.global_keys.pressed.connect(window.press_call_shortcut)
        self.global_keys.failed.connect(
            lambda reason: window.show_notice(
                translate(
                    "Shell",
                    "Answer, hang up and mute keys work only in Softphone's windows: {reason}.",
                ).format(reason=reason)
            )
        )
        self.apply_call_shortcuts(self.prefs.call_shortcuts(settings.call_shortcuts))
        if self.speaker.device is None:
            window.show_notice(
                translate("Shell", "No sound device found: you will not hear rings or visitors.")
            )

    # --- sign-in and session --------------------------------------------------------------

    def saved_sign_in(self) -> SignIn | None:
        """CLI/config values win over what was remembered (the token is only remembered)."""
        saved = self.prefs.sign_in()
        if saved is None:
            return None
        return SignIn(
            self.settings.server_url or saved.server_url,
            self.settings.agent_name or saved.agent_name,
            saved.token,
        )

    async def ask_sign_in(self, initial: SignIn | None = None) -> SignIn | None:
        if initial is None and (self.settings.server_url or self.settings.agent_name):
            initial = SignIn(self.settings.server_url, self.settings.agent_name, "")
        dialog = SignInDialog(initial, self.window)
        self._dialog = dialog
        answered: asyncio.Future[int] = asyncio.get_running_loop().create_future()

        def on_finished(code: int) -> None:
            if not answered.done():
                answered.set_result(code)

        dialog.finished.connect(on_finished)
        dialog.open()
        try:
            code = await answered
        finally:
            self._dialog = None
            dialog.deleteLater()
        if code != QDialog.DialogCode.Accepted.value:
            return None
        sign_in = dialog.sign_in()
        self.prefs.save_sign_in(sign_in)
        return sign_in

    async def sign_in_and_start(self) -> None:
        """Normal start: remembered credentials, else the dialog; retries on rejection."""
        sign_in = self.saved_sign_in()
        while True:
            if sign_in is None:
                sign_in = await self.ask_sign_in()
                if sign_in is None:
                    self.window.show_notice(
                        translate("Shell", "Not signed in: open Settings → Server to sign in.")
                    )
                    return
            config = agent_config(sign_in, self.settings, media_choice(self.media), self.reconnect)
            if await self.start_session(config, sign_in.agent_name, self.prefs.available()):
                return
            sign_in = await self.ask_sign_in(sign_in)
            if sign_in is None:
                return

    async def start_session(self, config: AgentConfig, agent_name: str, available: bool) -> bool:
        await self.stop_session()
        session = AgentSession(config)
        self.session = session
        session.incoming_call.connect(self.recorder.note_visitor)
        session.call_status.connect(self.recorder.record_status)
        self.controller = AgentController(
            self.window,
            session,
            agent_name=agent_name,
            tray=self.tray,
            ringer=self.ringer,
            speaker=self.speaker,
            log_dir=self.log_dir,
            history=self.history,
        )
        try:
            await session.start(timeout=SIGN_IN_TIMEOUT_S)
        except Exception as exc:
            log.warning("ui.sign_in_failed", extra={"error": str(exc)})
            self.window.show_notice(sign_in_failed_text(exc))
            await self.stop_session()
            return False
        log.info("ui.signed_in", extra={"agent": agent_name})
        if self.controller is not None:
            await self.controller.set_available(available)
        return True

    async def stop_session(self) -> None:
        controller, session = self.controller, self.session
        self.controller, self.session = None, None
        if controller is not None:
            await controller.close()
        if session is not None:
            with contextlib.suppress(Exception):
                await session.stop()
        self.window.set_signaling_state("closed")
        self.window.set_available(False, enabled=False)
        self.window.set_agent_state(agent_state_text(False, False, False))

    # --- call history ---------------------------------------------------------------------

    def open_history(self) -> HistoryView:
        """The history as a tool window beside the main one, created once, then raised."""
        view = self.history_view
        if view is None:
            view = HistoryView(self.history, self.window)
            view.setWindowFlag(Qt.WindowType.Tool)
            view.resize(900, 420)
            # Written on the loop thread, which is the GUI thread (qasync).
            self.history.changed.connect(view.reload)
            self.history_view = view
        view.show()
        view.raise_()
        view.activateWindow()
        return view

    # --- settings -------------------------------------------------------------------------

    def apply_call_shortcuts(self, scope: CallShortcuts) -> None:
        """Qt's shortcuts serve the app's windows ("app", and "system" when the listener
        cannot start); the system-wide listener serves the other applications."""
        self.window.set_call_shortcuts_app_wide(scope != "window")
        if scope == "system":
            self.global_keys.start()
        else:
            self.global_keys.stop()

    def open_settings(self) -> SettingsDialog:
        from softphone.media.devices import list_devices

        dialog = SettingsDialog(
            self.media,
            self.reconnect,
            self.saved_sign_in(),
            list_devices(),
            self.window,
            language=self.prefs.language(self.settings.language),
            call_shortcuts=self.prefs.call_shortcuts(self.settings.call_shortcuts),
        )
        dialog.accepted.connect(lambda: self.apply_settings(dialog))
        dialog.finished.connect(dialog.deleteLater)
        dialog.open()
        return dialog

    def apply_settings(self, dialog: SettingsDialog) -> None:
        self.media = dialog.media()
        self.reconnect = dialog.reconnect()
        self.prefs.save_media(self.media)
        self.prefs.save_reconnect(self.reconnect)
        language_changed = dialog.language() != self.prefs.language(self.settings.language)
        self.prefs.save_language(dialog.language())
        self.prefs.save_call_shortcuts(dialog.call_shortcuts())
        self.apply_call_shortcuts(dialog.call_shortcuts())
        self.speaker.set_preferred(self.media.speaker)
        self.ringer_output.set_preferred(self.media.ringer)
        if self.session is not None:
            self.session.set_media_choice(media_choice(self.media))
        sign_in = dialog.sign_in()
        if sign_in is not None and sign_in != self.saved_sign_in():
            self.prefs.save_sign_in(sign_in)
            self.window.show_notice(translate("Shell", "Signing in with the new server settings…"))
            self.tasks.spawn(self._restart_with(sign_in), "sign-in")
        elif language_changed:
            self.window.show_notice(
                translate("Shell", "Settings saved. The new language applies after a restart.")
            )
        else:
            self.window.show_notice(
                translate("Shell", "Settings saved. Device changes apply from the next call.")
            )

    async def _restart_with(self, sign_in: SignIn) -> None:
        config = agent_config(sign_in, self.settings, media_choice(self.media), self.reconnect)
        await self.start_session(config, sign_in.agent_name, self.prefs.available())

    async def close(self) -> None:
        if self._dialog is not None:
            self._dialog.reject()
        self.global_keys.stop()
        self.ringer.stop()
        await self.tasks.close()
        await self.stop_session()  # a call still up is recorded as it ends
        if self.history_view is not None:
            self.history.changed.disconnect(self.history_view.reload)
            self.history_view.close()
            self.history_view = None
        self.history.close()
