"""Sign-in, settings, diagnostics and quit confirmation: driven through their signals,
never blocking (docs/qt-notes.md)."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QDialogButtonBox, QMessageBox
from pytestqt.qtbot import QtBot

from softphone.rtc.stats import CallStats
from softphone.settings import MediaSettings, ReconnectSettings
from softphone.ui.diagnostics import DiagnosticsDialog
from softphone.ui.dialogs.settings_dialog import SettingsDialog
from softphone.ui.dialogs.sign_in import SignInDialog
from softphone.ui.main_window import MainWindow
from softphone.ui.preferences import Preferences, SignIn


@pytest.fixture
def prefs(tmp_path: Path) -> Preferences:
    return Preferences(QSettings(str(tmp_path / "prefs.ini"), QSettings.Format.IniFormat))


def test_sign_in_dialog_validates_and_is_remembered(
    qtbot: QtBot, prefs: Preferences, tmp_path: Path
) -> None:
    assert prefs.sign_in() is None  # first run: the dialog is needed
    dialog = SignInDialog()
    qtbot.addWidget(dialog)
    ok = dialog.buttons.button(QDialogButtonBox.StandardButton.Ok)
    dialog.open()
    assert not ok.isEnabled()
    assert dialog.error.text() == ""  # a blank first-run form is not scolded
    dialog.server_url.setText("http://wrong")
    dialog.agent_name.setText("Ada")
    dialog.token.setText("secret-token")
    assert not ok.isEnabled() and "wss://" in dialog.error.text()
    dialog.server_url.setText("ws://127.0.0.1:9/ws")
    assert ok.isEnabled()
    with qtbot.waitSignal(dialog.finished, timeout=2000) as finished:
        ok.click()
    assert finished.args == [1]
    prefs.save_sign_in(dialog.sign_in())
    again = Preferences(QSettings(str(tmp_path / "prefs.ini"), QSettings.Format.IniFormat))
    assert again.sign_in() == SignIn("ws://127.0.0.1:9/ws", "Ada", "secret-token")


def test_settings_dialog_validates_reconnect_policy(qtbot: QtBot, prefs: Preferences) -> None:
    dialog = SettingsDialog(MediaSettings(), ReconnectSettings(), None, [])
    qtbot.addWidget(dialog)
    save = dialog.buttons.button(QDialogButtonBox.StandardButton.Save)
    # Spin boxes carry settings.py's bounds, so out-of-range numbers cannot be typed.
    assert (dialog.max_attempts.minimum(), dialog.max_attempts.maximum()) == (1, 10)
    assert (dialog.attempt_timeout.minimum(), dialog.attempt_timeout.maximum()) == (1.0, 60.0)
    assert save.isEnabled()
    dialog.backoff.setText("1, 45")
    assert not save.isEnabled() and "out of range" in dialog.error.text()
    dialog.backoff.setText("abc")
    assert not save.isEnabled()
    dialog.backoff.setText("0.5, 1, 2")
    dialog.max_attempts.setValue(5)
    dialog.server_url.setText("not a url")
    assert not save.isEnabled()
    dialog.server_url.setText("")
    assert save.isEnabled()
    dialog.speaker.setCurrentIndex(dialog.speaker.count() - 1)
    with qtbot.waitSignal(dialog.finished, timeout=2000):
        save.click()
    policy = dialog.reconnect()
    assert policy.max_attempts == 5 and policy.backoff_s == [0.5, 1.0, 2.0]
    prefs.save_reconnect(policy)
    prefs.save_media(dialog.media())
    assert prefs.reconnect(ReconnectSettings()) == policy
    assert prefs.media(MediaSettings()).speaker == dialog.speaker.currentData()


def test_settings_dialog_keeps_an_unplugged_preferred_device(qtbot: QtBot) -> None:
    dialog = SettingsDialog(
        MediaSettings(speaker="gone-usb-headset"), ReconnectSettings(), None, []
    )
    qtbot.addWidget(dialog)
    assert dialog.speaker.currentData() == "gone-usb-headset"
    assert "not connected" in dialog.speaker.currentText()


def test_diagnostics_shows_stats_warnings_and_exports_logs(qtbot: QtBot, tmp_path: Path) -> None:
    (tmp_path / "softphone.log").write_text("app.start\ncall.accepted\n")
    dialog = DiagnosticsDialog(tmp_path)
    qtbot.addWidget(dialog)
    dialog.show()
    assert "call.accepted" in dialog.log_view.toPlainText()
    assert dialog.warnings.text() == "No call in progress."
    dialog.show_stats(CallStats(rtt_ms=520, jitter_ms=12, video_fps=29.6), silent_for_s=0)
    assert "High round-trip time (520 ms" in dialog.warnings.text()
    assert dialog._values["Video"].text().startswith("30 fps")
    dialog.show_stats(CallStats(rtt_ms=40, jitter_ms=5), silent_for_s=0)
    assert "good" in dialog.warnings.text()
    written = dialog.export_to(tmp_path / "out" / "support.zip")
    assert written is None and "failed" in dialog.export_status.text()
    written = dialog.export_to(tmp_path / "support.zip")
    assert written is not None and written.exists()
    with qtbot.waitSignal(dialog.restart_ice_requested, timeout=1000):
        dialog.restart_button.click()


def test_closing_while_available_asks_instead_of_dropping_calls(qtbot: QtBot) -> None:
    window = MainWindow()
    qtbot.addWidget(window)
    window.show()
    window.set_available(True)
    with qtbot.assertNotEmitted(window.close_requested):
        window.close()
    box = window._quit_box
    assert box is not None and box.isVisible()
    assert "available for calls" in box.text()
    with qtbot.waitSignal(box.finished, timeout=2000):
        box.button(QMessageBox.StandardButton.Cancel).click()
    assert window.isVisible()
    window.close()
    box = window._quit_box
    quit_button = next(b for b in box.buttons() if b.text() == "Quit")
    with qtbot.waitSignal(window.close_requested, timeout=2000):
        quit_button.click()


def test_closing_while_available_with_a_tray_hides_instead(qtbot: QtBot) -> None:
    window = MainWindow()
    qtbot.addWidget(window)
    window.tray_available = True
    window.show()
    window.set_available(True)
    with qtbot.waitSignal(window.hide_to_tray_requested, timeout=1000):
        window.close()
    assert not window.isVisible()
    # A call rings while in the tray: the prompt shows up. (Not taking the focus is
    # WA_ShowWithoutActivating; the offscreen platform activates every window regardless.)
    window.show_ringing("c1", "Ada", None, 30)
    assert window.isVisible()
    assert window.pages.currentWidget() is window.incoming


def test_quit_from_the_tray_when_away_needs_no_question(qtbot: QtBot) -> None:
    window = MainWindow()
    qtbot.addWidget(window)
    with qtbot.waitSignal(window.close_requested, timeout=1000):
        window.request_quit()
    assert window._quit_box is None


def test_mic_level_meter_runs_only_while_shown(qtbot: QtBot) -> None:
    from PySide6.QtMultimedia import QMediaDevices

    from softphone.ui.level_meter import peak_percent

    assert peak_percent(b"\x00\x40" + b"\x00\xc0") == 50  # 16384 and -16384 of 32768
    assert peak_percent(b"") == 0
    dialog = SettingsDialog(MediaSettings(), ReconnectSettings(), None, [])
    qtbot.addWidget(dialog)
    assert dialog.level_meter._source is None  # not on screen: microphone untouched
    dialog.open()
    qtbot.waitExposed(dialog)
    if QMediaDevices.audioInputs():
        assert dialog.level_meter._source is not None
    dialog.reject()
    assert dialog.level_meter._source is None


def test_settings_dialog_offers_where_the_call_keys_work(qtbot: QtBot, prefs: Preferences) -> None:
    assert prefs.call_shortcuts("window") == "window"  # nothing chosen: the settings file's
    dialog = SettingsDialog(MediaSettings(), ReconnectSettings(), None, [], call_shortcuts="app")
    qtbot.addWidget(dialog)
    assert dialog.call_shortcuts() == "app"
    choice = dialog.call_shortcuts_choice
    assert [choice.itemData(i) for i in range(choice.count())] == ["window", "app", "system"]
    choice.setCurrentIndex(2)
    prefs.save_call_shortcuts(dialog.call_shortcuts())
    assert prefs.call_shortcuts("window") == "system"
    prefs.store.setValue("ui/call_shortcuts", "everywhere")  # a hand-edited store
    assert prefs.call_shortcuts("app") == "app"
