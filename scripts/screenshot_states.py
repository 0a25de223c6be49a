"""Screenshots of the real window in each state an agent sees, for docs/screenshots.

``--language de`` takes them in German into docs/screenshots/de/ (the app's own language
override, with the catalogs the app loads). Nothing is staged: the signaling server and a
Python visitor run in network namespaces
(labnet/netns.py), the agent's session runs in this process inside its own namespace
(bench/thread_netns.py), and "reconnecting" and "error" come from pulling the agent's
cable under the product's default reconnect policy. Needs root. Run under X:
scripts/screenshots.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import tempfile
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import NamedTuple

import qasync
from PySide6.QtCore import QSettings, QTranslator
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication

from labnet.netns import (
    AGENT_NAME,
    AGENT_TOKEN,
    Topology,
    can_create_namespaces,
    signaling_url,
    start_signaling,
)
from labnet.thread_netns import network_namespace
from softphone.call.state import CallState
from softphone.media.local import TEST_PATTERN, TONE
from softphone.settings import MediaSettings, Settings
from softphone.ui.i18n import SOURCE_LANGUAGE, available_languages, install_translators
from softphone.ui.main_window import MainWindow
from softphone.ui.preferences import Preferences, SignIn
from softphone.ui.shell import AppShell, media_choice

OUT = Path(__file__).resolve().parent.parent / "docs" / "screenshots"
# softphone-visitor, the product's command-line visitor
VISITOR = "from softphone.visitor.cli import main; raise SystemExit(main())"

# How each picture came about: printed at the end, for the README.
SOURCES = {
    "idle": "real: signed in and available",
    "ringing": "real: softphone-visitor calls over the namespaces",
    "in-call": "real: live test-pattern video and tone both ways",
    "reconnecting": "real fault: the agent's link cut (attempt 2 of the default 3 x 10 s)",
    "error": "real fault: the link stayed cut until every attempt failed",
}


class ScreenshotRun(NamedTuple):
    app: QApplication
    language: str
    out: Path  # where this language's pictures go
    translators: list[QTranslator]  # keep them alive for the run


def app_in_language(description: str) -> ScreenshotRun:
    """Every screenshot script's ``--language``: the QApplication with that language's
    catalogs installed, saving to docs/screenshots/ for the source language and to
    docs/screenshots/<language>/ otherwise."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument(
        "--language",
        default=SOURCE_LANGUAGE,
        choices=available_languages(),
        help=f"default: {SOURCE_LANGUAGE}",
    )
    language = parser.parse_args().language
    app = QApplication(sys.argv[:1])
    out = OUT if language == SOURCE_LANGUAGE else OUT / language
    out.mkdir(parents=True, exist_ok=True)
    return ScreenshotRun(app, language, out, install_translators(language))


async def until(condition: Callable[[], bool], limit_s: float = 20.0) -> None:
    async with asyncio.timeout(limit_s):
        while not condition():  # noqa: ASYNC110 - polling widget state is the simplest
            await asyncio.sleep(0.05)


def save(name: str, window: MainWindow, out: Path, *, whole_screen: bool = False) -> None:
    # No processEvents() here: re-entering the Qt loop inside a coroutine breaks qasync.
    if whole_screen:  # dialogs are separate top-level windows
        screen = QGuiApplication.primaryScreen()
        pixmap = screen.grabWindow(0, window.x(), window.y(), window.width(), window.height())
    else:
        pixmap = window.grab()
    pixmap.save(str(out / f"{name}.png"))
    print(f"saved {name}.png {pixmap.width()}x{pixmap.height()}")


def shown_window() -> MainWindow:
    """An agent window where and as large as every screenshot shows it."""
    window = MainWindow()
    window.move(0, 0)
    window.resize(960, 620)
    window.show()
    return window


@contextlib.asynccontextmanager
async def signed_in_shell(
    window: MainWindow, url: str, name: str, token: str, ice_hosts: Sequence[str]
) -> AsyncIterator[AppShell]:
    """This app's shell in ``window``, signed in and available with the test pattern and
    tone, on preferences and history of its own (never the agent's); closed at the end."""
    scratch = Path(tempfile.mkdtemp())
    prefs = Preferences(QSettings(str(scratch / "prefs.ini"), QSettings.Format.IniFormat))
    prefs.save_sign_in(SignIn(url, name, token))
    prefs.save_available(True)
    shell = AppShell(
        Settings(ice_host_allowlist=list(ice_hosts)),
        window,
        preferences=prefs,
        history_path=scratch / "history.sqlite3",
    )
    shell.media = MediaSettings(camera=TEST_PATTERN, microphone=TONE)
    try:
        await shell.sign_in_and_start()
        assert shell.session is not None, "sign-in failed"
        shell.session.set_media_choice(media_choice(shell.media))
        yield shell
    finally:
        await shell.close()


def reconnect_attempt(window: MainWindow) -> int:
    status = window.call_status.status
    if status is None or status.state is not CallState.RECONNECTING:
        return 0
    return status.attempt


async def take(topo: Topology, window: MainWindow, out: Path) -> None:
    url = signaling_url(topo.agent)
    async with signed_in_shell(window, url, AGENT_NAME, AGENT_TOKEN, [topo.agent.address]) as shell:
        controller = shell.controller
        assert controller is not None
        await until(lambda: controller.signed_in and controller.available)
        await asyncio.sleep(0.5)
        save("idle", window, out)

        url = signaling_url(topo.visitor)
        visitor = [sys.executable, "-c", VISITOR, "--server", url, "--name", "Ada Lovelace"]
        topo.spawn(topo.visitor.ns, "visitor", visitor)
        await until(lambda: window.pages.currentWidget() is window.incoming)
        await asyncio.sleep(0.3)
        save("ringing", window, out)

        window.incoming.accept_button.click()
        await until(lambda: window.call_view.remote_video.frames_shown > 30)
        await asyncio.sleep(2.5)  # let the call timer tick
        save("in-call", window, out)

        topo.cut(topo.agent)
        await until(lambda: reconnect_attempt(window) == 2, 40)
        await asyncio.sleep(0.5)
        save("reconnecting", window, out)

        await until(lambda: controller.reconnect.error_box is not None, 60)
        await asyncio.sleep(0.6)
        save("error", window, out, whole_screen=True)
        if controller.reconnect.error_box is not None:
            controller.reconnect.error_box.accept()


async def main(out: Path) -> None:
    if not can_create_namespaces():
        sys.exit("screenshots come from real faults: run as root (network namespaces)")
    window = shown_window()  # the X connection is made here, outside the namespaces
    with Topology() as topo:
        start_signaling(topo)
        with network_namespace(topo.agent.ns):
            await take(topo, window, out)
    window.close()
    print("\n| Screenshot | How it was taken |\n|---|---|")
    for name, source in SOURCES.items():
        print(f"| {name}.png | {source} |")


if __name__ == "__main__":
    run = app_in_language(__doc__.splitlines()[0])
    qasync.run(main(run.out))
