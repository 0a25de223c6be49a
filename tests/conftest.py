"""Test harness shared by every test: offscreen Qt, leaked-task check, the netns marker."""

from __future__ import annotations

import asyncio
import gc
import inspect
import os
import shutil
from collections.abc import AsyncIterator, Iterator

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

REQUIRE_NETNS = os.environ.get("SOFTPHONE_REQUIRE_NETNS") == "1"
REQUIRE_AUDIO = os.environ.get("SOFTPHONE_REQUIRE_AUDIO") == "1"
REQUIRE_FUSE = os.environ.get("SOFTPHONE_REQUIRE_FUSE") == "1"
REQUIRE_XVFB = os.environ.get("SOFTPHONE_REQUIRE_XVFB") == "1"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Coroutine tests get the leaked-task check (sync GUI tests use ``qloop`` instead).

    It goes first, so it is torn down last: after async fixtures have closed their peers.
    """
    for item in items:
        function = getattr(item, "obj", None)
        if inspect.iscoroutinefunction(function) and isinstance(item, pytest.Function):
            item.fixturenames.insert(0, "_no_leaked_tasks")
        if "qapp" in getattr(item, "fixturenames", ()):
            item.fixturenames.insert(0, "_no_leftover_windows")


def pytest_runtest_setup(item: pytest.Item) -> None:
    for marker, available, required, missing, skip_reason in (
        ("audio", _pulse_running, REQUIRE_AUDIO, "SOFTPHONE_REQUIRE_AUDIO=1 but no PulseAudio: "
         "audio tests cannot run", "needs a running PulseAudio (scripts/test starts one)"),
        ("xserver", _xvfb_available, REQUIRE_XVFB, "SOFTPHONE_REQUIRE_XVFB=1 but no Xvfb: "
         "system-wide keys cannot be tested", "needs Xvfb (package xvfb; scripts/test installs "
         "it)"),
        ("fuse", fuse_usable, REQUIRE_FUSE, "SOFTPHONE_REQUIRE_FUSE=1 but FUSE is not usable: "
         "cannot test a mount", "needs FUSE (/dev/fuse, and root or fusermount3); containers "
         "often lack it"),
    ):  # fmt: skip
        if item.get_closest_marker(marker) is not None:
            action = requirement_action(available=available(), required=required)
            if action == "fail":
                pytest.fail(missing)
            if action == "skip":
                pytest.skip(skip_reason)
    if item.get_closest_marker("netns") is None:
        return
    action = netns_action(is_root=os.geteuid() == 0, required=REQUIRE_NETNS)
    if action == "fail":
        pytest.fail("SOFTPHONE_REQUIRE_NETNS=1 but not root: network-fault tests cannot run")
    if action == "skip":
        pytest.skip("needs root for network namespaces")


def _pulse_running() -> bool:
    from labnet.pulse import pulse_running

    return pulse_running()


def _xvfb_available() -> bool:
    from labnet.xserver import xvfb_available

    return xvfb_available()


def netns_action(*, is_root: bool, required: bool) -> str:
    """What happens to a ``netns`` test: run as root; elsewhere skip, or fail if required."""
    return requirement_action(available=is_root, required=required)


def fuse_usable() -> bool:
    """Whether this process could mount a FUSE file system: /dev/fuse opens read-write, and
    either we are root or the setuid fusermount3 is there to mount for us."""
    try:
        os.close(os.open("/dev/fuse", os.O_RDWR))
    except OSError:
        return False
    return os.geteuid() == 0 or shutil.which("fusermount3") is not None


def requirement_action(*, available: bool, required: bool) -> str:
    """A test that needs something: run when it is there; else skip, or fail if required."""
    if available:
        return "run"
    return "fail" if required else "skip"


@pytest.fixture
def _no_leftover_windows(qapp: object) -> Iterator[None]:
    """Delete every window a GUI test left behind, at a known point between tests.

    Left to Python's garbage collector, a window whose timers still run is freed at a random
    moment of a later test's event processing, possibly inside its own timer event: CI saw
    that as a segmentation fault in pytest-qt's ``processEvents`` minutes later.
    """
    yield
    from PySide6.QtCore import QCoreApplication, QEvent
    from PySide6.QtWidgets import QApplication

    gc.collect()
    for window in QApplication.topLevelWidgets():
        window.close()
        window.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    gc.collect()


@pytest.fixture
async def _no_leaked_tasks() -> AsyncIterator[None]:
    """Fail an async test that leaves tasks running: they would die mid-flight later."""
    before = set(asyncio.all_tasks())
    yield
    current = asyncio.current_task()
    leaked = []
    for _ in range(20):  # give closing aiortc objects a few loop turns to finish
        leaked = [
            t for t in asyncio.all_tasks() if t not in before and t is not current and not t.done()
        ]
        if not leaked:
            break
        await asyncio.sleep(0.05)
    for task in leaked:
        task.cancel()
    if leaked:
        pytest.fail(f"test leaked {len(leaked)} asyncio task(s): {leaked[:5]}")


@pytest.fixture
def qloop(qapp: object) -> Iterator[asyncio.AbstractEventLoop]:
    """A qasync loop on pytest-qt's QApplication, for GUI tests that also run coroutines.

    Traps avoided (docs/qt-notes.md): the loop is created ``already_running`` so qtbot waits drive
    it; teardown cancels tasks in rounds and never calls ``loop.stop()`` (that quits the app
    and breaks every later qtbot wait).
    """
    import qasync

    loop = qasync.QEventLoop(qapp, already_running=True)
    asyncio.set_event_loop(loop)
    yield loop
    from PySide6.QtWidgets import QApplication

    leaked: list[asyncio.Task[object]] = []
    for _ in range(10):
        pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
        if not pending:
            break
        leaked = leaked or pending
        for task in pending:
            task.cancel()
        for _ in range(20):
            QApplication.processEvents()
    asyncio.events._set_running_loop(None)
    loop._QEventLoop__is_running = False  # type: ignore[attr-defined]
    loop.close()
    asyncio.set_event_loop(None)
    if leaked:
        pytest.fail(f"GUI test leaked {len(leaked)} asyncio task(s): {leaked[:5]}")
