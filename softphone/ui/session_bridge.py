"""The one place where core events cross into Qt: AgentSession events become Qt signals
delivered on the GUI thread, whatever thread the core emitted them from (STYLE.md,
FeelUOwn's dispatch). Widgets only ever see these signals."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

from PySide6.QtCore import QCoreApplication, QObject, QThread, Signal, Slot

from softphone.events import Signal as CoreSignal

log = logging.getLogger(__name__)

P = ParamSpec("P")
R = TypeVar("R")

# AgentSession event name -> bridge signal name; the bridge connects what the session
# offers. attach_reconnect() takes a ReconnectController directly (tools, screenshots).
_SESSION_EVENTS = {
    "signaling_state": "signaling_state",
    "incoming_call": "incoming_call",
    "call_cancelled": "call_cancelled",
    "call_state": "call_state",
    "call_ended": "call_ended",
    "media_notice": "media_notice",
    "remote_video_track": "remote_video_track",
    "remote_audio_track": "remote_audio_track",
    "local_video_track": "local_video_track",
    "reconnect_progress": "reconnect_progress",
    "reconnected": "reconnected",
    "call_failed": "reconnect_failed",
}
_CONTROLLER_EVENTS = {
    "state_changed": "reconnect_state",
    "failed": "reconnect_failed",
    "recovered": "reconnected",
}


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
    call_state = Signal(str)
    call_ended = Signal(str)
    media_notice = Signal(str)
    remote_video_track = Signal(object)
    remote_audio_track = Signal(object)
    local_video_track = Signal(object)  # a preview copy, if the session offers one
    reconnect_state = Signal(str, int, int)  # state, attempt, max_attempts (controller)
    reconnect_progress = Signal(int, int)  # attempt, max_attempts (session)
    reconnect_failed = Signal(object)  # softphone.rtc.reconnect.ReconnectFailure
    reconnected = Signal(int, float)  # attempt, elapsed s
    # Internal hop: a queued connection when emitted from a worker thread.
    _deliver = Signal(str, object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._deliver.connect(self._emit_on_gui_thread)
        self._bound: list[tuple[CoreSignal[Any], Callable[..., None]]] = []

    def bind(self, source: object, events: dict[str, str] | None = None) -> None:
        """Relay every known core event ``source`` has (an AgentSession by default)."""
        for event_name, signal_name in (events or _SESSION_EVENTS).items():
            core_signal = getattr(source, event_name, None)
            if isinstance(core_signal, CoreSignal):
                handler = functools.partial(self._relay, signal_name)
                core_signal.connect(handler)
                self._bound.append((core_signal, handler))

    def attach_reconnect(self, controller: object) -> None:
        """Relay a call's ReconnectController (state, failure, recovery)."""
        self.bind(controller, _CONTROLLER_EVENTS)

    def unbind_all(self) -> None:
        for core_signal, handler in self._bound:
            core_signal.disconnect(handler)
        self._bound.clear()

    def _relay(self, signal_name: str, *args: object) -> None:
        # StrEnum states (signaling, reconnect) travel as plain str for Qt's str signals.
        values = tuple(str(a) if isinstance(a, str) else a for a in args)
        self._deliver.emit(signal_name, values)

    @Slot(str, object)
    def _emit_on_gui_thread(self, signal_name: str, args: tuple[object, ...]) -> None:
        getattr(self, signal_name).emit(*args)
