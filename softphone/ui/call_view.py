"""The in-call page: large remote video, small local preview, who/where/how long,
Mute / Camera / Hang up. Audio-only when either side has no video."""

from __future__ import annotations

import time

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from softphone.ui.status_text import format_duration
from softphone.ui.video_view import VideoView
from softphone.ui.widgets import Avatar, call_button, icon

MUTE_SHORTCUT = "Ctrl+Shift+M"
CAMERA_SHORTCUT = "Ctrl+Shift+V"
HANGUP_SHORTCUT = "Ctrl+Shift+H"
PREVIEW_WIDTH = 200


class _Stage(QWidget):
    """Remote video filling the stage, the local preview pinned to its bottom-right corner."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.remote = VideoView("Connecting video…", self)
        self.local = VideoView("Camera on", self, framed=True)
        self.local.setFixedSize(PREVIEW_WIDTH, PREVIEW_WIDTH * 9 // 16)
        self.audio_only = QWidget(self)
        layout = QVBoxLayout(self.audio_only)
        layout.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.avatar = Avatar(120)
        self.audio_label = QLabel("Audio only")
        self.audio_label.setStyleSheet("color: #d8dee9; font-size: 16px;")
        self.audio_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout.addWidget(self.avatar, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addWidget(self.audio_label)
        self.audio_only.setStyleSheet("background: #1d2330;")
        self.audio_only.hide()
        self.banner = QLabel(self)
        self.banner.setObjectName("reconnectBanner")
        self.banner.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.banner.setStyleSheet(
            "background: rgba(208, 135, 0, 225); color: white; font-weight: 600;"
            "padding: 8px 16px; border-radius: 6px;"
        )
        self.banner.hide()

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 (Qt override)
        self.remote.setGeometry(self.rect())
        self.audio_only.setGeometry(self.rect())
        margin = 14
        self.local.move(
            self.width() - self.local.width() - margin,
            self.height() - self.local.height() - margin,
        )
        self.local.raise_()
        self._place_banner()
        super().resizeEvent(event)

    def _place_banner(self) -> None:
        self.banner.adjustSize()
        self.banner.move((self.width() - self.banner.width()) // 2, 14)
        self.banner.raise_()


class CallView(QFrame):
    mute_toggled = Signal(bool)
    camera_toggled = Signal(bool)
    hangup_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._started_at: float | None = None
        self._timer = QTimer(self)
        self._timer.setInterval(1000)
        self._timer.timeout.connect(self._update_timer)
        self._setup_ui()

    def _setup_ui(self) -> None:
        self.setObjectName("callView")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)

        info = QFrame()
        info.setObjectName("callInfo")
        info.setStyleSheet("#callInfo { background: #262d3b; } QLabel { color: #e5e9f0; }")
        info_layout = QHBoxLayout(info)
        info_layout.setContentsMargins(16, 10, 16, 10)
        self.visitor_label = QLabel()
        self.visitor_label.setStyleSheet("font-size: 16px; font-weight: 600;")
        self.page_label = QLabel()
        self.page_label.setStyleSheet("color: #aab3c5;")
        self.timer_label = QLabel("0:00")
        self.timer_label.setAccessibleName("Call duration")
        self.timer_label.setStyleSheet("font-size: 16px; font-family: monospace;")
        for label in (self.visitor_label, self.page_label):
            label.setTextFormat(Qt.TextFormat.PlainText)  # the visitor's text, never markup
        info_layout.addWidget(self.visitor_label)
        info_layout.addSpacing(12)
        info_layout.addWidget(self.page_label)
        info_layout.addStretch()
        info_layout.addWidget(self.timer_label)

        self.stage = _Stage()
        controls = QFrame()
        controls.setObjectName("callControls")
        controls.setStyleSheet("#callControls { background: #262d3b; }")
        controls_layout = QHBoxLayout(controls)
        controls_layout.setContentsMargins(16, 12, 16, 12)
        controls_layout.setSpacing(16)
        self.mute_button = call_button(
            "Mute", "mic", "#4c566a", f"Mute your microphone ({MUTE_SHORTCUT})", checkable=True
        )
        self.camera_button = call_button(
            "Camera",
            "camera",
            "#4c566a",
            f"Turn your camera off ({CAMERA_SHORTCUT})",
            checkable=True,
        )
        self.hangup_button = call_button(
            "Hang up", "hangup", "#d64545", f"End the call ({HANGUP_SHORTCUT})"
        )
        self.camera_button.setChecked(True)
        self.mute_button.toggled.connect(self._on_mute)
        self.camera_button.toggled.connect(self._on_camera)
        self.hangup_button.clicked.connect(self.hangup_requested)
        controls_layout.addStretch()
        for button in (self.mute_button, self.camera_button, self.hangup_button):
            controls_layout.addWidget(button)
        controls_layout.addStretch()

        layout.addWidget(info)
        layout.addWidget(self.stage, 1)
        layout.addWidget(controls)

    @property
    def remote_video(self) -> VideoView:
        return self.stage.remote

    @property
    def local_video(self) -> VideoView:
        return self.stage.local

    def start_call(self, visitor_name: str, page: str | None) -> None:
        self.visitor_label.setText(visitor_name or "Visitor")
        self.page_label.setText(page or "")
        self.stage.avatar.set_name(visitor_name or "Visitor")
        self.remote_video.set_image(None)
        self.remote_video.set_placeholder("Connecting video…")
        self.local_video.set_image(None)
        self.local_video.set_placeholder("Camera on")
        self.set_audio_only(False)
        self.set_banner(None)
        self.mute_button.setChecked(False)
        self.camera_button.setChecked(True)
        self._started_at = None
        self.timer_label.setText("0:00")

    def mark_connected(self) -> None:
        """The timer counts talk time, from the first connected state."""
        if self._started_at is None:
            self._started_at = time.monotonic()
            self._timer.start()

    def end_call(self) -> None:
        self._timer.stop()
        self._started_at = None

    def elapsed_s(self) -> float:
        return 0.0 if self._started_at is None else time.monotonic() - self._started_at

    def set_audio_only(self, audio_only: bool, reason: str = "Audio only") -> None:
        self.stage.audio_label.setText(reason)
        self.stage.audio_only.setVisible(audio_only)
        self.stage.remote.setVisible(not audio_only)
        self.stage.local.raise_()

    def set_banner(self, text: str | None) -> None:
        """A message over the video that the agent cannot miss (e.g. reconnecting)."""
        self.stage.banner.setText(text or "")
        self.stage.banner.setAccessibleName(text or "")
        self.stage.banner.setVisible(bool(text))
        self.stage._place_banner()

    def banner_text(self) -> str:
        return self.stage.banner.text() if self.stage.banner.isVisibleTo(self) else ""

    def is_audio_only(self) -> bool:
        return self.stage.audio_only.isVisibleTo(self)

    def _update_timer(self) -> None:
        self.timer_label.setText(format_duration(self.elapsed_s()))

    def _on_mute(self, muted: bool) -> None:
        self.mute_button.setText(" Unmute" if muted else " Mute")
        self.mute_button.setIcon(icon("mic-off" if muted else "mic"))
        self.mute_button.setToolTip(
            f"{'Unmute' if muted else 'Mute'} your microphone ({MUTE_SHORTCUT})"
        )
        self.mute_toggled.emit(muted)

    def _on_camera(self, enabled: bool) -> None:
        self.camera_button.setIcon(icon("camera" if enabled else "camera-off"))
        self.camera_button.setText(" Camera" if enabled else " Camera off")
        self.camera_button.setToolTip(
            f"Turn your camera {'off' if enabled else 'on'} ({CAMERA_SHORTCUT})"
        )
        self.local_video.set_placeholder("Camera on" if enabled else "Camera off")
        if not enabled:
            self.local_video.set_image(None)
        self.camera_toggled.emit(enabled)
