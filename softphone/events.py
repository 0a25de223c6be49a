"""A small plain-Python signal so the core can publish events without importing Qt.

The UI connects Qt-side adapters to these; the core never knows who listens.
Handlers run synchronously in the emitter's thread (the asyncio/qasync loop thread).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Generic, ParamSpec

P = ParamSpec("P")
log = logging.getLogger(__name__)


class Signal(Generic[P]):
    """A list of handlers called in order; a failing handler is logged, never propagated."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._handlers: list[Callable[P, object]] = []

    def connect(self, handler: Callable[P, object]) -> None:
        if handler not in self._handlers:
            self._handlers.append(handler)

    def disconnect(self, handler: Callable[P, object]) -> None:
        if handler in self._handlers:
            self._handlers.remove(handler)

    def emit(self, *args: P.args, **kwargs: P.kwargs) -> None:
        for handler in list(self._handlers):
            try:
                handler(*args, **kwargs)
            except Exception:
                # A broken listener (e.g. a UI widget) must not break the call engine.
                log.exception("event.handler_failed", extra={"event": self.name})
