"""Unhandled errors: a readable traceback in the log and a dialog, instead of vanishing.

Qt swallows exceptions raised in slots after printing them, and asyncio only logs task
errors when the task is garbage-collected; both paths end here so support sees them.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import traceback
from types import TracebackType

from PySide6.QtWidgets import QApplication, QMessageBox

from softphone.ui.i18n import translate

log = logging.getLogger("softphone.crash")

_open_dialogs: list[QMessageBox] = []


def report_crash(
    exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None
) -> None:
    """Log the traceback and tell the agent; the app keeps running if it still can."""
    if issubclass(exc_type, KeyboardInterrupt):
        return
    details = "".join(traceback.format_exception(exc_type, exc, tb))
    log.critical("app.unhandled_error", extra={"error": repr(exc), "traceback": details})
    if QApplication.instance() is None:
        return
    box = QMessageBox(
        QMessageBox.Icon.Critical,
        translate("Crash", "Softphone error"),
        translate(
            "Crash",
            "Something went wrong inside Softphone. The details were written to the log; "
            "use Diagnostics → Export logs… to send them to support.",
        ),
    )
    box.setDetailedText(details)
    box.finished.connect(lambda _result: _open_dialogs.remove(box))
    _open_dialogs.append(box)
    box.open()  # never exec(): it would block the asyncio loop (docs/qt-notes.md)


def _loop_exception_handler(loop: asyncio.AbstractEventLoop, context: dict[str, object]) -> None:
    exc = context.get("exception")
    if isinstance(exc, BaseException):
        report_crash(type(exc), exc, exc.__traceback__)
    else:
        loop.default_exception_handler(context)


def install_crash_handlers(loop: asyncio.AbstractEventLoop) -> None:
    sys.excepthook = report_crash
    loop.set_exception_handler(_loop_exception_handler)
