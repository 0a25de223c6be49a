"""Settings: devices, server, reconnect policy — bounds taken from softphone.settings so
the form can never save what the settings file would reject."""

from __future__ import annotations

import msgspec
import msgspec.inspect as mi
from PySide6.QtMultimedia import QMediaDevices
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from softphone.media.devices import Device
from softphone.media.local import TEST_PATTERN, TONE
from softphone.settings import CallShortcuts, MediaSettings, ReconnectSettings
from softphone.ui.a11y import describe, dialog_buttons
from softphone.ui.audio_devices import device_id
from softphone.ui.dialogs.sign_in import sign_in_fields
from softphone.ui.i18n import LANGUAGE_NAMES, available_languages, system_language, translate
from softphone.ui.level_meter import LevelMeter
from softphone.ui.preferences import SignIn, parse_reconnect, validate_sign_in

NO_DEVICE = "none"


def bounds(struct: type[msgspec.Struct], name: str) -> tuple[float, float]:
    """(ge, le) of a numeric field, or of a list field's items."""
    for info in mi.type_info(struct).fields:  # type: ignore[attr-defined]
        if info.name == name:
            kind = getattr(info.type, "item_type", info.type)
            return kind.ge, kind.le
    raise KeyError(name)


class SettingsDialog(QDialog):
    def __init__(
        self,
        media: MediaSettings,
        reconnect: ReconnectSettings,
        sign_in: SignIn | None,
        capture_devices: list[Device],
        parent: QWidget | None = None,
        *,
        language: str = "",
        call_shortcuts: CallShortcuts = "window",
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(translate("Settings", "Softphone settings"))
        self.setMinimumWidth(480)
        self._media = media
        layout = QVBoxLayout(self)
        tabs = QTabWidget()
        tabs.addTab(self._devices_tab(media, capture_devices), translate("Settings", "Devices"))
        tabs.addTab(self._server_tab(sign_in), translate("Settings", "Server"))
        tabs.addTab(self._reconnect_tab(reconnect), translate("Settings", "Reconnect"))
        tabs.addTab(self._language_tab(language), translate("Settings", "Language"))
        tabs.addTab(self._keyboard_tab(call_shortcuts), translate("Settings", "Keyboard"))
        describe(
            tabs,
            translate("Settings", "Settings pages"),
            translate("Settings", "Devices, server, reconnect policy, language and keyboard"),
        )
        layout.addWidget(tabs)
        self.error = QLabel()
        self.error.setObjectName("problems")
        self.error.setAccessibleName(translate("Settings", "Settings problems"))
        self.error.setWordWrap(True)
        layout.addWidget(self.error)
        self.buttons = dialog_buttons(
            (
                QDialogButtonBox.StandardButton.Save,
                translate("Settings", "Save"),
                translate("Settings", "Keep these settings and close"),
            ),
            (
                QDialogButtonBox.StandardButton.Cancel,
                translate("Settings", "Cancel"),
                translate("Settings", "Close without changing anything"),
            ),
        )
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)
        self.finished.connect(lambda _code: self.level_meter.stop())
        self._validate()

    # --- tabs -----------------------------------------------------------------------------

    def _devices_tab(self, media: MediaSettings, capture: list[Device]) -> QWidget:
        page = QWidget()
        form = QFormLayout(page)
        self.camera = QComboBox()
        self.microphone = QComboBox()
        self.speaker = QComboBox()
        self.ringer = QComboBox()
        cameras = [
            (translate("Settings", "System default camera"), ""),
            (translate("Settings", "Test pattern"), TEST_PATTERN),
        ]
        cameras += [(d.name, d.id) for d in capture if d.kind == "video"]
        mics = [
            (translate("Settings", "System default microphone"), ""),
            (translate("Settings", "Test tone"), TONE),
        ]
        mics += [(d.name, d.id) for d in capture if d.kind == "audio" and d.id != "default"]
        outputs = [(translate("Settings", "System default"), "")]
        outputs += [(d.description(), device_id(d)) for d in QMediaDevices.audioOutputs()]
        no_camera = translate("Settings", "No camera (audio only)")
        _fill(self.camera, [*cameras, (no_camera, NO_DEVICE)], media.camera)
        no_mic = translate("Settings", "No microphone")
        _fill(self.microphone, [*mics, (no_mic, NO_DEVICE)], media.microphone)
        _fill(self.speaker, outputs, media.speaker)
        _fill(self.ringer, outputs, media.ringer)
        self.level_meter = LevelMeter()
        rows = [
            (
                self.camera,
                translate("Settings", "Camera:"),
                translate("Settings", "Camera"),
                translate("Settings", "The camera visitors see you through"),
            ),
            (
                self.microphone,
                translate("Settings", "Microphone:"),
                translate("Settings", "Microphone"),
                translate("Settings", "The microphone visitors hear you through"),
            ),
            (
                self.level_meter,
                translate("Settings", "Mic level:"),
                self.level_meter.accessibleName(),
                self.level_meter.accessibleDescription(),
            ),
            (
                self.speaker,
                translate("Settings", "Speaker:"),
                translate("Settings", "Speaker"),
                translate("Settings", "Where you hear the visitor"),
            ),
            (
                self.ringer,
                translate("Settings", "Ringer:"),
                translate("Settings", "Ringer"),
                translate("Settings", "Where incoming calls ring (may differ from the headset)"),
            ),
        ]
        for widget, label, name, description in rows:
            describe(widget, name, description)
            form.addRow(label, widget)
        return page

    def _server_tab(self, sign_in: SignIn | None) -> QWidget:
        page = QWidget()
        form = QFormLayout(page)
        self.server_url = QLineEdit(sign_in.server_url if sign_in else "")
        self.agent_name = QLineEdit(sign_in.agent_name if sign_in else "")
        self.token = QLineEdit(sign_in.token if sign_in else "")
        self.token.setEchoMode(QLineEdit.EchoMode.Password)
        sign_in_fields(form, self.server_url, self.agent_name, self.token)
        note = QLabel(translate("Settings", "Server changes apply the next time you sign in."))
        note.setObjectName("note")
        form.addRow(note)
        for field in (self.server_url, self.agent_name, self.token):
            field.textChanged.connect(self._validate)
        return page

    def _reconnect_tab(self, policy: ReconnectSettings) -> QWidget:
        page = QWidget()
        form = QFormLayout(page)
        low, high = bounds(ReconnectSettings, "max_attempts")
        self.max_attempts = QSpinBox()
        self.max_attempts.setRange(int(low), int(high))
        self.max_attempts.setValue(policy.max_attempts)
        low, high = bounds(ReconnectSettings, "attempt_timeout_s")
        self.attempt_timeout = QDoubleSpinBox()
        self.attempt_timeout.setRange(low, high)
        self.attempt_timeout.setSuffix(translate("Settings", " s"))
        self.attempt_timeout.setValue(policy.attempt_timeout_s)
        low, high = bounds(ReconnectSettings, "backoff_s")
        self.backoff = QLineEdit(", ".join(f"{b:g}" for b in policy.backoff_s))
        backoff_help = translate(
            "Settings", "Seconds between attempts, each {low} to {high}, separated by commas"
        ).format(low=f"{low:g}", high=f"{high:g}")
        self.backoff.setToolTip(backoff_help)
        self.backoff.textChanged.connect(self._validate)
        rows = [
            (
                self.max_attempts,
                translate("Settings", "Attempts before giving up:"),
                translate("Settings", "Attempts before giving up"),
                translate("Settings", "How many times a broken call is re-established"),
            ),
            (
                self.attempt_timeout,
                translate("Settings", "Timeout per attempt:"),
                translate("Settings", "Timeout per attempt"),
                translate("Settings", "Seconds one attempt may take"),
            ),
            (
                self.backoff,
                translate("Settings", "Wait between attempts (s):"),
                translate("Settings", "Wait between attempts"),
                backoff_help,
            ),
        ]
        for widget, label, name, description in rows:
            describe(widget, name, description)
            form.addRow(label, widget)
        return page

    def _language_tab(self, language: str) -> QWidget:
        page = QWidget()
        form = QFormLayout(page)
        self.language_choice = QComboBox()
        system = LANGUAGE_NAMES[system_language()]
        choices = [
            (translate("Settings", "System language ({language})").format(language=system), "")
        ]
        choices += [(LANGUAGE_NAMES.get(code, code), code) for code in available_languages()]
        _fill(self.language_choice, choices, language)
        describe(
            self.language_choice,
            translate("Settings", "Language"),
            translate("Settings", "The language of Softphone's window"),
        )
        form.addRow(translate("Settings", "Language:"), self.language_choice)
        note = QLabel(translate("Settings", "A new language applies the next time you start."))
        note.setObjectName("note")
        form.addRow(note)
        return page

    def _keyboard_tab(self, call_shortcuts: CallShortcuts) -> QWidget:
        page = QWidget()
        form = QFormLayout(page)
        self.call_shortcuts_choice = QComboBox()
        choices = [
            (translate("Settings", "In the main window"), "window"),
            (translate("Settings", "In every Softphone window"), "app"),
            (translate("Settings", "Everywhere, also in other applications"), "system"),
        ]
        _fill(self.call_shortcuts_choice, choices, call_shortcuts)
        describe(
            self.call_shortcuts_choice,
            translate("Settings", "Answer, hang up and mute shortcuts"),
            translate("Settings", "Where the keys for answer, hang up and mute work"),
        )
        form.addRow(
            translate("Settings", "Answer, hang up, mute keys:"), self.call_shortcuts_choice
        )
        note = QLabel(
            translate(
                "Settings",
                "Everywhere works on X11, Windows and macOS (allow Softphone under "
                "Accessibility), not on Wayland. Other applications still see these keys.",
            )
        )
        note.setObjectName("note")
        note.setWordWrap(True)
        form.addRow(note)
        return page

    # --- validation and result ------------------------------------------------------------

    def problems(self) -> list[str]:
        problems = []
        _policy, error = self._parse_reconnect()
        if error:
            problems.append(error)
        if any(f.text() for f in (self.server_url, self.agent_name, self.token)):
            problems += validate_sign_in(
                self.server_url.text(), self.agent_name.text(), self.token.text()
            )
        return problems

    def _parse_reconnect(self) -> tuple[ReconnectSettings | None, str]:
        return parse_reconnect(
            self.max_attempts.value(), self.attempt_timeout.value(), self.backoff.text()
        )

    def _validate(self) -> None:
        problems = self.problems()
        self.error.setText("\n".join(problems))
        self.error.setAccessibleDescription(self.error.text())
        self.buttons.button(QDialogButtonBox.StandardButton.Save).setEnabled(not problems)

    def accept(self) -> None:
        if not self.problems():
            super().accept()

    def media(self) -> MediaSettings:
        return msgspec.structs.replace(
            self._media,
            camera=self.camera.currentData(),
            microphone=self.microphone.currentData(),
            speaker=self.speaker.currentData(),
            ringer=self.ringer.currentData(),
        )

    def language(self) -> str:
        """The chosen language code; empty follows the system."""
        return str(self.language_choice.currentData())

    def call_shortcuts(self) -> CallShortcuts:
        return msgspec.convert(self.call_shortcuts_choice.currentData(), CallShortcuts)

    def reconnect(self) -> ReconnectSettings:
        policy, error = self._parse_reconnect()
        if policy is None:
            raise ValueError(error)
        return policy

    def sign_in(self) -> SignIn | None:
        if validate_sign_in(self.server_url.text(), self.agent_name.text(), self.token.text()):
            return None
        return SignIn(
            self.server_url.text().strip(), self.agent_name.text().strip(), self.token.text()
        )


def _fill(combo: QComboBox, items: list[tuple[str, str]], current: str) -> None:
    for label, value in items:
        combo.addItem(label, value)
    if current and combo.findData(current) < 0:
        combo.addItem(
            translate("Settings", "{device} (not connected)").format(device=current), current
        )
    combo.setCurrentIndex(max(0, combo.findData(current)))
