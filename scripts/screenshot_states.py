"""Screenshots of the real window in each state an agent sees, for docs/screenshots.

A real signaling server, AgentSession and headless visitor on 127.0.0.1; the reconnect
states are injected through the session bridge exactly as AgentSession emits them (a
real outage needs network namespaces). Run under X: scripts/screenshots.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import qasync
from PySide6.QtCore import QSettings
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication

from softphone.media.local import TEST_PATTERN, TONE
from softphone.rtc.ice import LOOPBACK, LOOPBACK_ONLY
from softphone.rtc.reconnect import ReconnectFailure
from softphone.settings import MediaSettings, Settings
from softphone.signaling.config import ServerConfig
from softphone.signaling.server import SignalingServer
from softphone.ui.main_window import MainWindow
from softphone.ui.preferences import Preferences, SignIn
from softphone.ui.shell import AppShell, media_choice
from softphone.visitor.peer import VisitorConfig, VisitorPeer

OUT = Path(__file__).resolve().parent.parent / "docs" / "screenshots"
AGENT, TOKEN = "Grace Hopper", "demo-token"


async def until(condition: Callable[[], bool], limit_s: float = 15.0) -> None:
    async with asyncio.timeout(limit_s):
        while not condition():  # noqa: ASYNC110 - polling widget state is the simplest
            await asyncio.sleep(0.05)


def save(name: str, window: MainWindow, *, whole_screen: bool = False) -> None:
    # No processEvents() here: re-entering the Qt loop inside a coroutine breaks qasync.
    if whole_screen:  # dialogs are separate top-level windows
        screen = QGuiApplication.primaryScreen()
        pixmap = screen.grabWindow(0, window.x(), window.y(), window.width(), window.height())
    else:
        pixmap = window.grab()
    pixmap.save(str(OUT / f"{name}.png"))
    print(f"saved {name}.png {pixmap.width()}x{pixmap.height()}")


async def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    server = SignalingServer(ServerConfig(port=0, agent_tokens={AGENT: TOKEN}))
    await server.start()
    window = MainWindow()
    window.move(0, 0)
    window.resize(960, 620)
    window.show()
    store = QSettings(str(Path(tempfile.mkdtemp()) / "prefs.ini"), QSettings.Format.IniFormat)
    prefs = Preferences(store)
    prefs.save_sign_in(SignIn(server.url, AGENT, TOKEN))
    settings = Settings(ice_host_allowlist=list(LOOPBACK_ONLY))
    shell = AppShell(settings, window, preferences=prefs)
    shell.media = MediaSettings(camera=TEST_PATTERN, microphone=TONE)
    try:
        await shell.sign_in_and_start()
        assert shell.controller is not None
        shell.controller.apply_media_choice(media_choice(shell.media))
        await shell.controller._set_available(True)
        await asyncio.sleep(0.5)
        save("idle", window)

        visitor = VisitorPeer(
            VisitorConfig(server.url, None, "Ada Lovelace", ice=LOOPBACK, min_video_frames=1)
        )
        visiting = asyncio.create_task(visitor.run())
        await until(lambda: window.pages.currentWidget() is window.incoming)
        await asyncio.sleep(0.3)
        save("ringing", window)

        window.incoming.accept_button.click()
        await until(lambda: window.call_view.remote_video.frames_shown > 30)
        await asyncio.sleep(2.5)  # let the call timer tick
        save("in-call", window)

        bridge = shell.controller.bridge  # emitted as AgentSession does during an outage
        bridge.call_state.emit("reconnecting")
        bridge.reconnect_progress.emit(2, 3)
        await asyncio.sleep(0.3)
        save("reconnecting", window)

        bridge.call_state.emit("failed")
        bridge.reconnect_failed.emit(ReconnectFailure(3, 31.6, "ice-timeout", "disconnected"))
        await shell.session.hangup()  # type: ignore[union-attr]
        await asyncio.sleep(0.6)
        save("error", window, whole_screen=True)
        if shell.controller.error_box is not None:
            shell.controller.error_box.accept()
        await asyncio.wait_for(visiting, 10)
    finally:
        await shell.close()
        await server.close()
        window.close()


if __name__ == "__main__":
    app = QApplication(sys.argv)
    qasync.run(main())
