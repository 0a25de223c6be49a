"""The GUI over the real core: sign-in against an embedded signaling server, availability
the server sees, a real visitor peer ringing, Accept, live media, Hang up on both sides."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QDialogButtonBox
from pytestqt.qtbot import QtBot

from softphone.call.state import CallState, CallStatus
from softphone.media.local import TEST_PATTERN, TONE
from softphone.rtc.ice import LOOPBACK, LOOPBACK_ONLY
from softphone.settings import MediaSettings, Settings
from softphone.signaling.config import ServerConfig
from softphone.signaling.server import SignalingServer
from softphone.ui.dialogs.sign_in import SignInDialog
from softphone.ui.history_view import column_titles
from softphone.ui.main_window import MainWindow
from softphone.ui.preferences import Preferences, SignIn
from softphone.ui.shell import AppShell, media_choice
from softphone.visitor.peer import VisitorConfig, VisitorPeer

T = TypeVar("T")
AGENT, TOKEN = "Grace Hopper", "grace-token"


def run(
    qtbot: QtBot, loop: asyncio.AbstractEventLoop, coro: Coroutine[Any, Any, T], timeout: float = 15
) -> T:
    task = loop.create_task(coro)
    qtbot.waitUntil(task.done, timeout=int(timeout * 1000))
    return task.result()


@pytest.fixture
def server(qtbot: QtBot, qloop: asyncio.AbstractEventLoop) -> Iterator[SignalingServer]:
    server = SignalingServer(ServerConfig(port=0, agent_tokens={AGENT: TOKEN}, ring_timeout=20))
    run(qtbot, qloop, server.start())
    yield server
    run(qtbot, qloop, server.close())


@pytest.fixture
def shell(qtbot: QtBot, qloop: asyncio.AbstractEventLoop, tmp_path: Path) -> Iterator[AppShell]:
    window = MainWindow()  # closed here, after the session: pytest-qt closes widgets first
    window.show()
    prefs = Preferences(QSettings(str(tmp_path / "prefs.ini"), QSettings.Format.IniFormat))
    prefs.save_available(False)
    settings = Settings(ice_host_allowlist=list(LOOPBACK_ONLY))
    shell = AppShell(
        settings, window, preferences=prefs, log_dir=tmp_path, history_path=tmp_path / "h.sqlite3"
    )
    yield shell
    run(qtbot, qloop, shell.close())
    window.deleteLater()


def test_sign_in_then_availability_reaches_the_server(
    qtbot: QtBot, qloop: asyncio.AbstractEventLoop, server: SignalingServer, shell: AppShell
) -> None:
    window = shell.window
    starting = qloop.create_task(shell.sign_in_and_start())
    qtbot.waitUntil(lambda: isinstance(shell._dialog, SignInDialog), timeout=3000)
    dialog = shell._dialog
    assert isinstance(dialog, SignInDialog)
    dialog.server_url.setText(server.url)
    dialog.agent_name.setText(AGENT)
    dialog.token.setText(TOKEN)
    dialog.buttons.button(QDialogButtonBox.StandardButton.Ok).click()
    qtbot.waitUntil(starting.done, timeout=15000)
    starting.result()
    assert window.signaling_status.text() == "Server: connected"
    assert window.windowTitle() == "Softphone — Away"
    assert shell.prefs.sign_in() is not None  # remembered for the next start
    agent = server.sessions.find_agent(AGENT)
    assert agent is not None
    qtbot.waitUntil(lambda: not server.switchboard.is_available(agent), timeout=3000)

    window.availability_button.click()
    qtbot.waitUntil(lambda: server.switchboard.is_available(agent), timeout=3000)
    assert window.windowTitle() == "Softphone — Available"
    window.availability_button.click()
    qtbot.waitUntil(lambda: not server.switchboard.is_available(agent), timeout=3000)
    assert shell.prefs.available() is False


def test_ring_accept_live_call_and_hang_up_on_both_sides(
    qtbot: QtBot, qloop: asyncio.AbstractEventLoop, server: SignalingServer, shell: AppShell
) -> None:
    window = shell.window
    shell.prefs.save_sign_in(SignIn(server.url, AGENT, TOKEN))
    shell.prefs.save_available(True)
    run(qtbot, qloop, shell.sign_in_and_start())
    shell.media = MediaSettings(camera=TEST_PATTERN, microphone=TONE)
    assert shell.controller is not None and shell.session is not None
    shell.controller.session.set_media_choice(media_choice(shell.media))
    visitor = VisitorPeer(
        VisitorConfig(server.url, None, "Ada Lovelace", ice=LOOPBACK, min_video_frames=1)
    )
    visiting = qloop.create_task(visitor.run())
    qtbot.waitUntil(lambda: window.pages.currentWidget() is window.incoming, timeout=10000)
    assert shell.ringer.ringing
    assert "Ada Lovelace is calling" in window.incoming.title.text()

    window.incoming.accept_button.click()
    assert not shell.ringer.ringing
    qtbot.waitUntil(lambda: window.call_status.text() == "Call: connected", timeout=15000)
    remote = window.call_view.remote_video
    qtbot.waitUntil(lambda: remote.frames_shown >= 5, timeout=15000)
    assert window.windowTitle() == "Softphone — In a call"
    assert not window.call_view.is_audio_only()
    controller = shell.controller
    if shell.speaker.device is not None:  # a sound server: the visitor is heard
        qtbot.waitUntil(lambda: controller.media.playout is not None, timeout=5000)
        playout = controller.media.playout
        assert playout is not None and playout.error is None
        qtbot.waitUntil(lambda: playout._sink.processedUSecs() > 0, timeout=10000)

    # "Restart ICE now" (diagnostics) runs a real make-before-break restart.
    statuses: list[CallStatus] = []
    assert controller is not None
    controller.bridge.call_status.connect(statuses.append)
    diagnostics = controller.open_diagnostics()
    diagnostics.restart_button.click()
    qtbot.waitUntil(lambda: window.call_status.text().startswith("Reconnected"), timeout=15000)
    assert [(s.state, s.attempt, s.max_attempts) for s in statuses[:1]] == [
        (CallState.RECONNECTING, 1, 3)
    ]
    frames_before = remote.frames_shown
    qtbot.waitUntil(lambda: remote.frames_shown > frames_before + 10, timeout=10000)
    diagnostics.close()

    window.call_view.hangup_button.click()
    qtbot.waitUntil(visiting.done, timeout=15000)
    summary = visiting.result()
    assert summary.ended_reason.startswith("agent-hangup")
    assert summary.video_frames > 0
    qtbot.waitUntil(lambda: window.pages.currentWidget() is window.idle_page, timeout=5000)
    assert window.call_status.text() == "Call ended"
    qtbot.waitUntil(window.wrap_up.isVisible, timeout=5000)  # the server's default wrap-up
    assert window.windowTitle() == "Softphone — After-call work"


def test_a_call_the_visitor_ends_lands_in_the_call_history(
    qtbot: QtBot, qloop: asyncio.AbstractEventLoop, server: SignalingServer, shell: AppShell
) -> None:
    window = shell.window
    shell.prefs.save_sign_in(SignIn(server.url, AGENT, TOKEN))
    shell.prefs.save_available(True)
    run(qtbot, qloop, shell.sign_in_and_start())
    assert shell.session is not None
    shell.session.set_media_choice(
        media_choice(MediaSettings(camera=TEST_PATTERN, microphone=TONE))
    )
    window.history_button.click()  # open before the call: the list follows the store
    view = shell.history_view
    assert view is not None and view.isVisible()
    assert view.model.rowCount() == 0
    visitor = VisitorPeer(
        VisitorConfig(
            server.url, None, "Ada Lovelace", "/pricing", LOOPBACK, duration=1.0, min_video_frames=1
        )
    )
    visiting = qloop.create_task(visitor.run())
    qtbot.waitUntil(lambda: window.pages.currentWidget() is window.incoming, timeout=10000)
    window.incoming.accept_button.click()
    qtbot.waitUntil(visiting.done, timeout=20000)
    assert visiting.result().connected_after_s is not None  # a real call, then the hang-up
    qtbot.waitUntil(lambda: view.model.rowCount() == 1, timeout=5000)
    model = view.table.model()
    row = {title: model.index(0, column).data() for column, title in enumerate(column_titles())}
    assert (row["Visitor"], row["Page"]) == ("Ada Lovelace", "/pricing")
    assert row["Ended"] == "the visitor hung up"
    assert row["Interruptions"] == "—"
    assert shell.history.recent()[0].call_id == visiting.result().call_id


def test_the_shell_keeps_one_history_for_the_app_and_closes_it(
    qtbot: QtBot, qloop: asyncio.AbstractEventLoop, tmp_path: Path
) -> None:
    window = MainWindow()
    qtbot.addWidget(window)
    prefs = Preferences(QSettings(str(tmp_path / "prefs.ini"), QSettings.Format.IniFormat))
    path = tmp_path / "history.sqlite3"
    shell = AppShell(Settings(history_max_calls=5), window, preferences=prefs, history_path=path)
    assert shell.history.max_calls == 5 and shell.history.available
    assert path.exists()  # the given file, not the agent's platform data folder
    with qtbot.waitSignal(window.history_requested, timeout=1000):
        window.shortcuts["Ctrl+Shift+L"].activated.emit()
    view = shell.history_view
    assert view is not None and view.isVisible()
    assert shell.open_history() is view  # one window, raised again
    run(qtbot, qloop, shell.close())
    assert not shell.history.available and shell.history_view is None
    assert not view.isVisible()


def test_wrap_up_after_a_call_then_notes_and_ready(
    qtbot: QtBot, qloop: asyncio.AbstractEventLoop, server: SignalingServer, shell: AppShell
) -> None:
    """The server's default wrap-up (30 s): the panel counts down, a waiting visitor is
    shown in the queue label but not rung; the notes land in the call's history row and
    Ready makes the agent ringable at once."""
    window = shell.window
    shell.prefs.save_sign_in(SignIn(server.url, AGENT, TOKEN))
    shell.prefs.save_available(True)
    run(qtbot, qloop, shell.sign_in_and_start())
    assert shell.session is not None
    shell.session.set_media_choice(
        media_choice(MediaSettings(camera=TEST_PATTERN, microphone=TONE))
    )
    first = VisitorPeer(VisitorConfig(server.url, None, "Ada Lovelace", ice=LOOPBACK, duration=1.0))
    visiting = qloop.create_task(first.run())
    qtbot.waitUntil(lambda: window.pages.currentWidget() is window.incoming, timeout=10000)
    window.incoming.accept_button.click()
    qtbot.waitUntil(visiting.done, timeout=20000)
    call_id = visiting.result().call_id
    assert call_id is not None

    panel = window.wrap_up
    qtbot.waitUntil(panel.isVisible, timeout=5000)
    assert panel.title.text() in {"Wrap-up 0:30", "Wrap-up 0:29"}
    second = VisitorPeer(VisitorConfig(server.url, None, "Grace", ice=LOOPBACK))
    waiting = qloop.create_task(second.run())
    qtbot.waitUntil(lambda: window.queue_label.text().startswith("1 waiting"), timeout=5000)
    qtbot.wait(600)  # long enough for a ring to have come, had the server sent one
    assert window.pages.currentWidget() is window.idle_page

    panel.notes.setPlainText("Asked about the pricing page")
    panel.ready_button.click()
    assert not panel.isVisible()
    qtbot.waitUntil(lambda: window.pages.currentWidget() is window.incoming, timeout=5000)
    assert "Grace is calling" in window.incoming.title.text()
    qtbot.waitUntil(lambda: window.queue_label.text() == "Nobody waiting", timeout=5000)
    record = shell.history.recent()[0]
    assert (record.call_id, record.notes) == (call_id, "Asked about the pricing page")
    window.incoming.decline_button.click()
    qtbot.waitUntil(waiting.done, timeout=10000)
