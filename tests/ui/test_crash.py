from __future__ import annotations

import logging

import pytest
from PySide6.QtWidgets import QApplication, QMessageBox
from pytestqt.qtbot import QtBot

from softphone.ui.crash import report_crash


def test_unhandled_error_is_logged_with_traceback_and_shown(
    qtbot: QtBot, caplog: pytest.LogCaptureFixture
) -> None:
    try:
        raise RuntimeError("decoder exploded")
    except RuntimeError as exc:
        with caplog.at_level(logging.CRITICAL, logger="softphone.crash"):
            report_crash(RuntimeError, exc, exc.__traceback__)

    record = next(r for r in caplog.records if r.getMessage() == "app.unhandled_error")
    assert "decoder exploded" in record.traceback  # type: ignore[attr-defined]
    assert "test_crash.py" in record.traceback  # type: ignore[attr-defined]

    def dialog() -> QMessageBox | None:
        boxes = [w for w in QApplication.topLevelWidgets() if isinstance(w, QMessageBox)]
        return next((b for b in boxes if b.isVisible()), None)

    qtbot.waitUntil(lambda: dialog() is not None, timeout=3000)
    box = dialog()
    assert box is not None
    assert box.windowTitle() == "Softphone error"
    assert "decoder exploded" in box.detailedText()
    box.accept()
    qtbot.waitUntil(lambda: dialog() is None, timeout=3000)
