"""BackgroundTasks: referenced until done, failures logged (not lost), cancelled together."""

from __future__ import annotations

import asyncio
import logging

import pytest

from softphone.tasks import BackgroundTasks


async def test_a_failing_task_is_logged_with_its_owner(caplog: pytest.LogCaptureFixture) -> None:
    tasks = BackgroundTasks("agent")

    async def broken() -> None:
        raise ValueError("boom")

    tasks.spawn(broken(), name="agent-presence")
    await asyncio.sleep(0.01)
    failures = [r for r in caplog.records if r.getMessage() == "task.failed"]
    assert len(failures) == 1
    assert (failures[0].owner, failures[0].task) == ("agent", "agent-presence")  # type: ignore[attr-defined]
    assert failures[0].levelno == logging.ERROR and failures[0].exc_info is not None
    assert len(tasks) == 0


async def test_close_cancels_what_still_runs() -> None:
    tasks = BackgroundTasks("call")
    started = asyncio.Event()

    async def forever() -> None:
        started.set()
        await asyncio.Event().wait()

    task = tasks.spawn(forever())
    await started.wait()
    await tasks.close()
    assert task.cancelled() and len(tasks) == 0
    await tasks.close()  # idempotent
