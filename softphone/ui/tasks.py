"""The one way the UI starts a coroutine from a Qt slot.

asyncio keeps only weak references to tasks, so a task nobody holds can vanish mid-flight;
and a failure nobody awaits is lost. A :class:`TaskSet` holds its tasks until they finish,
logs each failure and reports it once, and cancels what is left when its owner closes.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

log = logging.getLogger(__name__)


class TaskSet:
    def __init__(self, on_failure: Callable[[BaseException], None] | None = None) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()
        self._on_failure = on_failure

    def spawn(self, coro: Coroutine[Any, Any, Any], name: str) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coro, name=f"ui-{name}")
        self._tasks.add(task)
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if task.cancelled() or task.exception() is None:
            return
        error = task.exception()
        log.error("ui.task_failed", extra={"task": task.get_name()}, exc_info=error)
        if self._on_failure is not None and error is not None:
            self._on_failure(error)

    async def close(self) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
