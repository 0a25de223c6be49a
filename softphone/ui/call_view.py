"""The in-call page: large remote video, small local preview, who/where/how long,
Mute / Camera / Hold / Transfer / Hang up, and how long the call has been on hold.
Audio-only when either side has no video."""

from __future__ import annotations

import time

from PySide6.QtCore import QSignalBlocker, Qt, QTimer, Signal
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from softphone.ui.a11y import describe, shortcut_text
from softphone.ui.i18n import translate
from softphone.ui.status_text import format_duration
from softphone.ui.video_view import VideoView
from softphone.ui.widgets import Avatar, call_button, icon

MUTE_SHORTCUT = "Ctrl+Shift+M"
CAMERA_SHORTCUT = "Ctrl+Shift+V"
HANGUP_SHORTCUT = "Ctrl+Shift+H"
HOLD_SHORTCUT = "Ctrl+Shift+P"
TRANSFER_SHORTCUT = "Ctrl+Shift+T"
PREVIEW_WIDTH = 200


class _Stage(QWidget):
    """Remote video filling the stage, the local preview pinned to its bottom-right corner."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.remote = VideoView(parent=self)
        self.local = VideoView(parent=self, framed=True)
        describe(
            self.remote,
            translate("CallView", "Visitor's video"),
            translate("CallView", "The visitor's camera picture"),
        )
        describe(
            self.local,
            translate("CallView", "Your video"),
            translate("CallView", "Preview of what the visitor sees from your camera"),
        )
        self.local.setFixedSize(PREVIEW_WIDTH, PREVIEW_WIDTH * 9 // 16)
        self.audio_only = QWidget(self)
        self.audio_only.setObjectName("audioOnly")
        layout = QVBoxLayout(self.audio_only)
        layout.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.avatar = Avatar(120)
        self.audio_label = QLabel()
        self.audio_label.setObjectName("audioOnlyLabel")
        self.audio_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout.addWidget(self.avatar, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addWidget(self.audio_label)
        self.audio_only.hide()
        self.banner = QLabel(self)
        self.banner.setObjectName("reconnectBanner")
        self.banner.setAlignment(Qt.AlignmentFlag.AlignCenter)
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
    hold_toggled = Signal(bool)
    transfer_requested = Signal()
    consult_complete_requested = Signal()
    consult_cancel_requested = Signal()
    hangup_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._started_at: float | None = None
        self._held_since: float | None = None
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
        info_layout = QHBoxLayout(info)
        info_layout.setContentsMargins(16, 10, 16, 10)
        self.visitor_label = QLabel()
        self.visitor_label.setObjectName("visitorName")
        self.page_label = QLabel()
        self.page_label.setObjectName("visitorPage")
        self.timer_label = QLabel("0:00")
        self.timer_label.setObjectName("callTimer")
        describe(
            self.timer_label,
            translate("CallView", "Call duration"),
            translate("CallView", "Minutes and seconds since the call connected"),
        )
        for label in (self.visitor_label, self.page_label):
            label.setTextFormat(Qt.TextFormat.PlainText)  # the visitor's text, never markup
        info_layout.addWidget(self.visitor_label)
        info_layout.addSpacing(12)
        info_layout.addWidget(self.page_label)
        info_layout.addStretch()
        self.hold_label = QLabel()
        self.hold_label.setObjectName("holdTime")
        describe(
            self.hold_label,
            translate("CallView", "Hold time"),
            translate("CallView", "How long the visitor has been on hold"),
        )
        self.hold_label.hide()
        info_layout.addWidget(self.hold_label)
        info_layout.addSpacing(12)
        info_layout.addWidget(self.timer_label)

        self.stage = _Stage()
        controls = QFrame()
        controls.setObjectName("callControls")
        controls_layout = QHBoxLayout(controls)
        controls_layout.setContentsMargins(16, 12, 16, 12)
        controls_layout.setSpacing(16)
        self.mute_button = call_button(
            translate("CallView", "Mute"),
            "mic",
            "neutral",
            translate("CallView", "Mute your microphone"),
            checkable=True,
        )
        self.camera_button = call_button(
            translate("CallView", "Camera"),
            "camera",
            "neutral",
            translate("CallView", "Turn your camera off"),
            checkable=True,
        )
        self.hold_button = call_button(
            translate("CallView", "Hold"),
            "hold",
            "neutral",
            translate("CallView", "Put the visitor on hold"),
            checkable=True,
        )
        self.transfer_button = call_button(
            translate("CallView", "Transfer"),
            "transfer",
            "neutral",
            translate("CallView", "Hand the call to a colleague or back to the waiting line"),
        )
        self.transfer_button.setToolTip(
            translate(
                "CallView", "Hand the call to a colleague or back to the waiting line ({shortcut})"
            ).format(shortcut=shortcut_text(TRANSFER_SHORTCUT))
        )
        self.hangup_button = call_button(
            translate("CallView", "Hang up"),
            "hangup",
            "danger",
            translate("CallView", "End the call"),
        )
        self.hangup_button.setToolTip(
            translate("CallView", "End the call ({shortcut})").format(
                shortcut=shortcut_text(HANGUP_SHORTCUT)
            )
        )
        self.camera_button.setChecked(True)
        self.mute_button.toggled.connect(self._on_mute)
        self.camera_button.toggled.connect(self._on_camera)
        self.hold_button.toggled.connect(self._on_hold)
        self.transfer_button.clicked.connect(self.transfer_requested)
        self.hangup_button.clicked.connect(self.hangup_requested)
        controls_layout.addStretch()
        for button in (
            self.mute_button,
            self.camera_button,
            self.hold_button,
            self.transfer_button,
            self.hangup_button,
        ):
            controls_layout.addWidget(button)
        controls_layout.addStretch()

        layout.addWidget(info)
        layout.addWidget(self._consult_bar())
        layout.addWidget(self.stage, 1)
        layout.addWidget(controls)
        self._show_mute(False)
        self._show_camera(True)
        self._show_hold(False)

    def _consult_bar(self) -> QFrame:
        """While the agent talks to a colleague before handing the call over."""
        self.consult_bar = QFrame()
        self.consult_bar.setObjectName("consultBar")
        bar = QHBoxLayout(self.consult_bar)
        bar.setContentsMargins(16, 8, 16, 8)
        self.consult_label = QLabel()
        self.consult_label.setObjectName("consultLabel")
        self.consult_label.setTextFormat(Qt.TextFormat.PlainText)  # a colleague's name
        self.complete_button = call_button(
            translate("CallView", "Complete transfer"),
            "transfer",
            "accept",
            translate("CallView", "Hand the visitor to this colleague now"),
        )
        self.cancel_consult_button = call_button(
            translate("CallView", "Back to the visitor"),
            "hangup",
            "neutral",
            translate("CallView", "End the talk with the colleague and keep the visitor"),
        )
        self.complete_button.clicked.connect(self.consult_complete_requested)
        self.cancel_consult_button.clicked.connect(self.consult_cancel_requested)
        bar.addWidget(self.consult_label, 1)
        bar.addWidget(self.cancel_consult_button)
        bar.addWidget(self.complete_button)
        self.consult_bar.hide()
        return self.consult_bar

    def show_consult(self, colleague: str, state: str) -> None:
        """The consult as the session reports it: ringing, talking, or ended (hidden)."""
        if state == "ended":
            self.consult_bar.hide()
            return
        if state == "talking":
            text = translate("CallView", "Talking to {name} — the visitor is on hold")
        else:
            text = translate("CallView", "Calling {name}…")
        self.consult_label.setText(text.format(name=colleague))
        describe(self.consult_label, self.consult_label.text(), translate("CallView", "Consult"))
        self.complete_button.setEnabled(state == "talking")
        self.consult_bar.show()

    @property
    def remote_video(self) -> VideoView:
        return self.stage.remote

    @property
    def local_video(self) -> VideoView:
        return self.stage.local

    def start_call(self, visitor_name: str, page: str | None) -> None:
        self.visitor_label.setText(visitor_name or translate("CallView", "Visitor"))
        self.page_label.setText(page or "")
        self.stage.avatar.set_name(visitor_name)
        self.remote_video.set_image(None)
        self.remote_video.set_placeholder(translate("CallView", "Connecting video…"))
        self.local_video.set_image(None)
        self.set_audio_only(False)
        self.set_banner(None)
        self.mute_button.setChecked(False)
        self.camera_button.setChecked(True)
        self._show_mute(False)
        self._show_camera(True)
        self.show_hold(False)
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
        self.show_hold(False)
        self.consult_bar.hide()

    def show_hold(self, on_hold: bool) -> None:
        """The call's hold state as the session published it: the button, and the hold
        time counting from the moment it was first shown."""
        if on_hold and self._held_since is None:
            self._held_since = time.monotonic()
        elif not on_hold:
            self._held_since = None
        self.hold_label.setVisible(on_hold)
        self._update_hold_time()
        with QSignalBlocker(self.hold_button):  # shown, not asked for again
            self.hold_button.setChecked(on_hold)
        self._show_hold(on_hold)

    def held_s(self) -> float:
        return 0.0 if self._held_since is None else time.monotonic() - self._held_since

    def elapsed_s(self) -> float:
        return 0.0 if self._started_at is None else time.monotonic() - self._started_at

    def set_audio_only(self, audio_only: bool, reason: str = "") -> None:
        self.stage.audio_label.setText(reason or translate("CallView", "Audio only"))
        self.stage.audio_only.setVisible(audio_only)
        self.stage.remote.setVisible(not audio_only)
        self.stage.local.raise_()

    def set_banner(self, text: str | None) -> None:
        """A message over the video that the agent cannot miss (e.g. reconnecting)."""
        self.stage.banner.setText(text or "")
        describe(self.stage.banner, text or "", translate("CallView", "Call connection problem"))
        self.stage.banner.setVisible(bool(text))
        self.stage._place_banner()

    def banner_text(self) -> str:
        return self.stage.banner.text() if self.stage.banner.isVisibleTo(self) else ""

    def is_audio_only(self) -> bool:
        return self.stage.audio_only.isVisibleTo(self)

    def _update_timer(self) -> None:
        self.timer_label.setText(format_duration(self.elapsed_s()))
        self._update_hold_time()

    def _update_hold_time(self) -> None:
        if self._held_since is not None:
            self.hold_label.setText(
                translate("CallView", "On hold {time}").format(time=format_duration(self.held_s()))
            )

    def _on_mute(self, muted: bool) -> None:
        self._show_mute(muted)
        self.mute_toggled.emit(muted)

    def _on_camera(self, enabled: bool) -> None:
        self._show_camera(enabled)
        if not enabled:
            self.local_video.set_image(None)
        self.camera_toggled.emit(enabled)

    def _on_hold(self, on_hold: bool) -> None:
        self._show_hold(on_hold)
        self.hold_toggled.emit(on_hold)

    def _show_hold(self, on_hold: bool) -> None:
        if on_hold:
            name, description = (
                translate("CallView", "Resume"),
                translate("CallView", "Take the visitor off hold"),
            )
        else:
            name, description = (
                translate("CallView", "Hold"),
                translate("CallView", "Put the visitor on hold"),
            )
        self.hold_button.setText(f" {name}")
        self.hold_button.setToolTip(f"{description} ({shortcut_text(HOLD_SHORTCUT)})")
        describe(self.hold_button, name, description)

    def _show_mute(self, muted: bool) -> None:
        """The button says what it does next; its checked state says what is on now."""
        button = self.mute_button
        if muted:
            name, description = (
                translate("CallView", "Unmute"),
                translate("CallView", "Unmute your microphone"),
            )
        else:
            name, description = (
                translate("CallView", "Mute"),
                translate("CallView", "Mute your microphone"),
            )
        button.setText(f" {name}")
        button.setIcon(icon("mic-off" if muted else "mic"))
        button.setToolTip(f"{description} ({shortcut_text(MUTE_SHORTCUT)})")
        describe(button, name, description)

    def _show_camera(self, enabled: bool) -> None:
        button = self.camera_button
        if enabled:
            name, description = (
                translate("CallView", "Camera"),
                translate("CallView", "Turn your camera off"),
            )
            placeholder = translate("CallView", "Camera on")
        else:
            name, description = (
                translate("CallView", "Camera off"),
                translate("CallView", "Turn your camera on"),
            )
            placeholder = translate("CallView", "Camera off")
        button.setText(f" {name}")
        button.setIcon(icon("camera" if enabled else "camera-off"))
        button.setToolTip(f"{description} ({shortcut_text(CAMERA_SHORTCUT)})")
        describe(button, name, description)
        self.local_video.set_placeholder(placeholder)
