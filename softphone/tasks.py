"""Background tasks with an owner: kept referenced, failures logged, cancelled together.

asyncio keeps only weak references to tasks, so a fire-and-forget task can vanish mid-run,
and an exception in one is reported only when it is garbage-collected (or never). Every
core object that spawns work in the background goes through one :class:`BackgroundTasks`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

log = logging.getLogger(__name__)


class BackgroundTasks:
    def __init__(self, owner: str) -> None:
        self.owner = owner
        self._tasks: set[asyncio.Task[Any]] = set()

    def __len__(self) -> int:
        return len(self._tasks)

    def spawn(self, coro: Coroutine[Any, Any, Any], name: str | None = None) -> asyncio.Task[Any]:
        task = asyncio.ensure_future(coro)
        if name is not None:
            task.set_name(name)
        self._tasks.add(task)
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and (error := task.exception()) is not None:
            log.error(
                "task.failed",
                exc_info=error,
                extra={"owner": self.owner, "task": task.get_name()},
            )

    async def close(self) -> None:
        """Cancel every task still running and wait for them (idempotent)."""
        while self._tasks:
            tasks = list(self._tasks)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
