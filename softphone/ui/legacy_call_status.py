"""The one adapter from AgentSession's call signals of today to the CallStatus the UI renders.

AgentSession still publishes its call state as strings (``call_state``), the attempt
(``reconnect_progress``), the recovery (``reconnected``) and the end (``call_ended``).
This feeds them into a :class:`CallStateModel` per call, which derives the status and
emits it on change. When AgentSession publishes ``call_status`` itself (issue 14),
``SessionBridge.bind`` relays that signal instead and this module is deleted.
"""

from __future__ import annotations

from typing import Any

from softphone.call.state import CallStateModel, CallStatus, RestartOrigin
from softphone.events import Signal
from softphone.ui.call_session import CallSession


class LegacyCallStatus:
    def __init__(self, session: CallSession) -> None:
        self.changed: Signal[[CallStatus]] = Signal("ui.call_status")
        self._session = session
        self._model: CallStateModel | None = None
        self._links: list[tuple[Signal[Any], Any]] = [
            (session.call_state, self._on_call_state),
            (session.reconnect_progress, self._on_progress),
            (session.reconnected, self._on_recovered),
            (session.call_ended, self._on_ended),
        ]
        for signal, handler in self._links:
            signal.connect(handler)

    def close(self) -> None:
        for signal, handler in self._links:
            signal.disconnect(handler)

    def _on_call_state(self, state: str) -> None:
        call = self._session.call
        if state == "connecting" and call is not None:  # a call was accepted
            self._model = CallStateModel(call.call_id)
            self._model.changed.connect(self.changed.emit)
            self.changed.emit(self._model.status)
        elif state == "connected" and self._model is not None:
            self._model.media_connected()  # the first connect; a recovery comes below

    def _on_progress(self, attempt: int, max_attempts: int) -> None:
        # Attempt 0 is how the reconnect controller reports a restart the peer started.
        origin = RestartOrigin.LOCAL if attempt else RestartOrigin.PEER
        if self._model is not None:
            self._model.reconnecting(attempt, max_attempts, origin)

    def _on_recovered(self, _attempt: int, elapsed_s: float) -> None:
        if self._model is not None:
            self._model.recovered(elapsed_s)

    def _on_ended(self, reason: str) -> None:
        model, self._model = self._model, None
        if model is not None:
            model.ended(reason)
