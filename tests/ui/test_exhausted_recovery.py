"""The GUI when recovery gives up, over real everything: AgentSession in this process,
signaling server and Python visitor in their namespaces, and the agent's cable pulled for
longer than the (short) policy. What the agent reads is asserted: the status-bar text of
each attempt, the modal's text and the details it copies for support.

The test's main thread (Qt, asyncio, every socket of the session) enters the agent's
network namespace (bench/thread_netns.py), so the link cut is the session's own.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from labnet.netns import (
    AGENT_NAME,
    AGENT_TOKEN,
    Topology,
    can_create_namespaces,
    signaling_url,
    start_signaling,
)
from labnet.thread_netns import network_namespace
from softphone.call.state import RECONNECT_FAILED, CallState, CallStatus
from softphone.history import InterruptionOutcome
from softphone.media.local import TEST_PATTERN, TONE
from softphone.settings import MediaSettings, ReconnectSettings, Settings
from softphone.ui.main_window import MainWindow
from softphone.ui.preferences import Preferences, SignIn
from softphone.ui.shell import AppShell, media_choice
from tests.net.support import RUNNER

pytestmark = [pytest.mark.netns, pytest.mark.slow]

T = TypeVar("T")
POLICY = ReconnectSettings(max_attempts=3, attempt_timeout_s=2.0, backoff_s=[0.5])


def run(qtbot: QtBot, loop: asyncio.AbstractEventLoop, coro: Coroutine[Any, Any, T]) -> T:
    task = loop.create_task(coro)
    qtbot.waitUntil(task.done, timeout=20_000)
    return task.result()


@pytest.fixture
def topo() -> Iterator[Topology]:
    if not can_create_namespaces():
        pytest.fail("`ip netns` does not work here although we are root")
    with Topology() as topology:
        yield topology


@pytest.fixture
def shell(
    qtbot: QtBot, qloop: asyncio.AbstractEventLoop, topo: Topology, tmp_path: Path
) -> Iterator[AppShell]:
    start_signaling(topo)
    with network_namespace(topo.agent.ns):
        window = MainWindow()
        window.show()
        prefs = Preferences(QSettings(str(tmp_path / "prefs.ini"), QSettings.Format.IniFormat))
        prefs.save_sign_in(SignIn(signaling_url(topo.agent), AGENT_NAME, AGENT_TOKEN))
        prefs.save_available(True)
        settings = Settings(ice_host_allowlist=[topo.agent.address], reconnect=POLICY)
        shell = AppShell(
            settings, window, preferences=prefs, log_dir=tmp_path, history_path=tmp_path / "h.db"
        )
        shell.media = MediaSettings(camera=TEST_PATTERN, microphone=TONE)
        try:
            yield shell
        finally:
            run(qtbot, qloop, shell.close())
            window.close()
            window.deleteLater()


def test_exhausted_recovery_shows_each_attempt_then_the_modal(
    qtbot: QtBot, qloop: asyncio.AbstractEventLoop, topo: Topology, shell: AppShell
) -> None:
    window = shell.window
    run(qtbot, qloop, shell.sign_in_and_start())
    controller = shell.controller
    assert controller is not None and window.windowTitle() == "Softphone — Available"
    controller.session.set_media_choice(media_choice(shell.media))
    url = signaling_url(topo.visitor)
    topo.spawn_python(topo.visitor.ns, "visitor", RUNNER, "--url", url, "--role", "visitor")
    qtbot.waitUntil(lambda: window.pages.currentWidget() is window.incoming, timeout=20_000)
    call_id = window.incoming.call_id
    assert call_id
    window.incoming.accept_button.click()
    remote = window.call_view.remote_video
    qtbot.waitUntil(lambda: remote.frames_shown >= 10, timeout=20_000)
    assert window.call_status.text() == "Call: connected"

    # What the status bar reads after each status (this slot runs after the presenters').
    shown: list[tuple[CallStatus, str]] = []
    controller.bridge.call_status.connect(lambda s: shown.append((s, window.call_status.text())))
    topo.cut(topo.agent)
    qtbot.waitUntil(
        lambda: (
            controller.reconnect.error_box is not None
            and controller.reconnect.error_box.isVisible()
        ),
        timeout=45_000,
    )
    texts = [text for _status, text in shown]
    attempts = [t for t in texts if t.startswith("Reconnecting")]
    assert attempts == [f"Reconnecting… (attempt {k} of 3)" for k in (1, 2, 3)], texts
    assert texts[-1] == "Call lost"
    assert {s.call_id for s, _ in shown} == {call_id}
    assert shown[-1][0].state is CallState.FAILED
    assert window.pages.currentWidget() is window.idle_page

    box = controller.reconnect.error_box
    assert box is not None and box.isModal()
    assert box.windowTitle() == "Call lost"
    assert "could not be restored after 3 attempts" in box.informativeText()
    assert "network connection, VPN and firewall" in box.informativeText()
    box.copy_button.click()
    details = QApplication.clipboard().text()
    assert f"call id: {call_id}" in details
    assert "attempts: 3" in details
    assert box.isVisible()
    box.ok_button.click()
    assert not box.isVisible()
    # The call history keeps the lost call and its last interruption.
    record = shell.history.recent()[0]
    assert (record.call_id, record.end_reason) == (call_id, RECONNECT_FAILED)
    assert record.interruptions[-1].outcome is InterruptionOutcome.FAILED
    assert record.interruptions[-1].attempts == 3
