"""Call media: remote and local video into their views, remote audio to the chosen speaker,
and "audio only" when the visitor sends no video. Follows the call's status: media starts
with the call and is closed when its status is terminal."""

from __future__ import annotations

import contextlib

from aiortc import MediaStreamTrack
from PySide6.QtCore import QObject, QTimer

from softphone.call.state import CallState, CallStatus
from softphone.ui.audio_devices import OutputChoice
from softphone.ui.audio_playout import AudioPlayout
from softphone.ui.i18n import translate
from softphone.ui.main_window import MainWindow
from softphone.ui.session_bridge import SessionBridge, gui_thread_only
from softphone.ui.tasks import TaskSet
from softphone.ui.video_view import VideoRenderer

AUDIO_ONLY_AFTER_MS = 4000  # connected but no remote frame by then: the visitor sends no video


class CallMediaPresenter(QObject):
    def __init__(
        self,
        window: MainWindow,
        bridge: SessionBridge,
        tasks: TaskSet,
        *,
        speaker: OutputChoice | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.window = window
        self.tasks = tasks
        self.speaker = speaker
        self.playout: AudioPlayout | None = None
        self._active = False
        self._video_seen = False  # a remote frame arrived in this call
        self._renderers: list[VideoRenderer] = []
        self._audio_track: MediaStreamTrack | None = None
        self._audio_only_timer = QTimer(self)
        self._audio_only_timer.setSingleShot(True)
        self._audio_only_timer.setInterval(AUDIO_ONLY_AFTER_MS)
        self._audio_only_timer.timeout.connect(self._check_audio_only)
        bridge.call_status.connect(self._on_call_status)
        bridge.media_notice.connect(self._on_media_notice)
        bridge.remote_video_track.connect(self._on_remote_video)
        bridge.remote_audio_track.connect(self._on_remote_audio)
        bridge.local_video_track.connect(self._on_local_video)
        # The views outlive this presenter (a new sign-in makes a new one): connect once,
        # undo in close().
        window.call_view.remote_video.first_frame.connect(self._on_first_frame)
        if speaker is not None:
            speaker.notice.connect(window.show_notice)
            speaker.changed.connect(self._on_speaker_changed)

    @gui_thread_only
    def _on_call_status(self, status: CallStatus) -> None:
        if status.terminal:
            self.stop()
            return
        if not self._active:
            self._active, self._video_seen = True, False
        if status.state is CallState.CONNECTED:
            self.window.call_view.mark_connected()
            if not self._video_seen:
                self._audio_only_timer.start()

    @gui_thread_only
    def _on_media_notice(self, text: str) -> None:
        self.window.show_notice(text)
        if "camera" in text.lower():
            self.window.call_view.local_video.set_placeholder(translate("CallMedia", "No camera"))

    @gui_thread_only
    def _on_remote_video(self, track: MediaStreamTrack) -> None:
        self._renderers.append(VideoRenderer(track, self.window.call_view.remote_video))

    @gui_thread_only
    def _on_local_video(self, track: MediaStreamTrack) -> None:
        self._renderers.append(VideoRenderer(track, self.window.call_view.local_video))

    @gui_thread_only
    def _on_remote_audio(self, track: MediaStreamTrack) -> None:
        self._audio_track = track
        self._start_playout()

    def _on_first_frame(self) -> None:
        self._video_seen = True
        self._audio_only_timer.stop()
        self.window.call_view.set_audio_only(False)

    def _on_speaker_changed(self, _device: object) -> None:
        if self.playout is not None:
            self._start_playout()

    def _start_playout(self) -> None:
        """(Re)start remote audio on the current speaker, e.g. after a device fallback."""
        self._close_playout()
        device = self.speaker.device if self.speaker is not None else None
        if self._audio_track is None or not self._active:
            return
        if device is None:
            self.window.show_notice(
                translate("CallMedia", "No sound output found: the visitor cannot be heard.")
            )
            return
        self.playout = AudioPlayout(self._audio_track, device)
        if self.playout.error:
            self.window.show_notice(
                translate("CallMedia", "Speaker problem: {error}").format(error=self.playout.error)
            )

    def _check_audio_only(self) -> None:
        if self._active and not self._video_seen:
            self.window.call_view.set_audio_only(
                True, translate("CallMedia", "Audio only — the visitor has no video")
            )

    def _close_playout(self) -> None:
        if self.playout is not None:
            self.playout.stop()
            self.tasks.spawn(self.playout.close(), "playout-close")
            self.playout = None

    def stop(self) -> None:
        """The call is over (or never started): close its media, keep the presenter."""
        self._active = False
        self._audio_only_timer.stop()
        renderers, self._renderers = self._renderers, []
        for renderer in renderers:
            self.tasks.spawn(renderer.close(), "media-close")
        self._close_playout()
        self._audio_track = None

    async def close(self) -> None:
        self._active = False
        self._audio_only_timer.stop()
        with contextlib.suppress(RuntimeError):  # the window may already be gone at exit
            self.window.call_view.remote_video.first_frame.disconnect(self._on_first_frame)
            if self.speaker is not None:
                self.speaker.notice.disconnect(self.window.show_notice)
                self.speaker.changed.disconnect(self._on_speaker_changed)
        renderers, self._renderers = self._renderers, []
        for renderer in renderers:
            await renderer.close()
        if self.playout is not None:
            self.playout.stop()
            await self.playout.close()
            self.playout = None
