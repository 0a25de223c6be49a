"""The one place where core events cross into Qt: AgentSession events become Qt signals
delivered on the GUI thread, whatever thread the core emitted them from (docs/qt-notes.md,
FeelUOwn's dispatch). Widgets only ever see these signals."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

from PySide6.QtCore import QCoreApplication, QObject, QThread, Signal, Slot

from softphone.events import Signal as CoreSignal
from softphone.ui.call_session import CallSession

log = logging.getLogger(__name__)

P = ParamSpec("P")
R = TypeVar("R")


def is_gui_thread() -> bool:
    app = QCoreApplication.instance()
    return app is not None and QThread.currentThread() is app.thread()


def gui_thread_only(func: Callable[P, R]) -> Callable[P, R]:
    """Marks a widget-updating slot: calling it off the GUI thread is a bug, caught loudly."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        if not is_gui_thread():
            log.error("ui.wrong_thread", extra={"slot": func.__qualname__})
            raise AssertionError(f"{func.__qualname__} called outside the GUI thread")
        return func(*args, **kwargs)

    return wrapper


class SessionBridge(QObject):
    signaling_state = Signal(str)
    incoming_call = Signal(object)  # softphone.agent.CallInfo
    call_cancelled = Signal(str, str)  # call_id, reason
    call_status = Signal(object)  # softphone.call.state.CallStatus
    call_failed = Signal(object)  # softphone.call.reconnect.ReconnectFailure
    media_notice = Signal(str)
    remote_video_track = Signal(object)
    remote_audio_track = Signal(object)
    local_video_track = Signal(object)  # a preview copy of the camera
    wrap_up = Signal(str, float)  # call_id, seconds the server holds rings
    queue = Signal(int, float)  # visitors waiting, the longest wait in seconds
    consult_state = Signal(str, str)  # colleague, "ringing" | "talking" | "ended"
    # Internal hop: a queued connection when emitted from a worker thread.
    _deliver = Signal(str, object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._deliver.connect(self._emit_on_gui_thread)
        self._bound: list[tuple[CoreSignal[Any], Callable[..., None]]] = []

    def bind(self, session: CallSession) -> None:
        self._relay(session.signaling_state, "signaling_state")
        self._relay(session.incoming_call, "incoming_call")
        self._relay(session.call_cancelled, "call_cancelled")
        self._relay(session.call_status, "call_status")
        self._relay(session.call_failed, "call_failed")
        self._relay(session.media_notice, "media_notice")
        self._relay(session.remote_video_track, "remote_video_track")
        self._relay(session.remote_audio_track, "remote_audio_track")
        self._relay(session.local_video_track, "local_video_track")
        self._relay(session.wrap_up, "wrap_up")
        self._relay(session.queue, "queue")
        self._relay(session.consult_state, "consult_state")

    def unbind_all(self) -> None:
        for core_signal, handler in self._bound:
            core_signal.disconnect(handler)
        self._bound.clear()

    def _relay(self, core_signal: CoreSignal[Any], signal_name: str) -> None:
        handler = functools.partial(self._hop, signal_name)
        core_signal.connect(handler)
        self._bound.append((core_signal, handler))

    def _hop(self, signal_name: str, *args: object) -> None:
        # StrEnum states (signaling) travel as plain str for Qt's str signals.
        values = tuple(str(a) if isinstance(a, str) else a for a in args)
        self._deliver.emit(signal_name, values)

    @Slot(str, object)
    def _emit_on_gui_thread(self, signal_name: str, args: tuple[object, ...]) -> None:
        getattr(self, signal_name).emit(*args)
