from __future__ import annotations

from pytestqt.qtbot import QtBot

from softphone.call.state import CallState, CallStatus
from softphone.ui.main_window import MainWindow


def test_main_window_shows_both_status_fields_and_closes_cleanly(qtbot: QtBot) -> None:
    window = MainWindow()
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)

    assert window.windowTitle() == "Softphone — Offline"
    assert not window.windowIcon().isNull()
    assert window.signaling_status.isVisible()
    assert window.call_status.isVisible()
    assert window.signaling_status.text() == "Server: offline"
    assert window.call_status.text() == "No call"
    assert window.call_status.accessibleName() == "Call connection state"

    window.set_signaling_state("connected")
    window.show_call_status(CallStatus("c1", CallState.RECONNECTING, attempt=2, max_attempts=3))
    assert window.signaling_status.text() == "Server: connected"
    assert window.call_status.text() == "Reconnecting… (attempt 2 of 3)"
    assert window.call_status.accessibleDescription() == "Reconnecting… (attempt 2 of 3)"

    with qtbot.waitSignal(window.close_requested, timeout=2000):
        window.close()
    assert not window.isVisible()
