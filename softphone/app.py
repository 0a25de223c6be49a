"""Entry point of the desktop app: settings, logging, then the Qt window on a qasync loop."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from softphone import __version__
from softphone.autostart import apply_autostart
from softphone.logging_setup import setup_logging
from softphone.malloc_arenas import limit_malloc_arenas
from softphone.settings import Settings, default_log_dir, load_settings, merge_overrides

if TYPE_CHECKING:
    from softphone.demo import DemoHandles
    from softphone.ui.shell import AppShell
    from softphone.ui.single_instance import SingleInstance

log = logging.getLogger(__name__)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="softphone", description="Desktop softphone for contact-center agents."
    )
    parser.add_argument("--version", action="version", version=f"softphone {__version__}")
    parser.add_argument("--config", type=Path, help="settings file (TOML)")
    parser.add_argument(
        "--log-level", choices=["DEBUG", "INFO", "WARNING", "ERROR"], type=str.upper
    )
    parser.add_argument("--log-format", choices=["text", "json"])
    parser.add_argument("--log-dir", type=Path, help="folder for the rotating log file")
    parser.add_argument("--server-url", help="signaling server, e.g. wss://host/ws")
    parser.add_argument("--agent-name")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument(
        "--demo", action="store_true", help="embedded server and a simulated visitor calling in"
    )
    mode.add_argument(
        "--self-test", action="store_true", help="headless loopback call check; exit 0/1"
    )
    return parser


def load_effective_settings(args: argparse.Namespace) -> Settings:
    return merge_overrides(
        load_settings(args.config),
        log_level=args.log_level,
        log_format=args.log_format,
        server_url=args.server_url,
        agent_name=args.agent_name,
    )


def main(argv: Sequence[str] | None = None) -> int:
    limit_malloc_arenas()  # before any thread: Qt's, qasync's, the codecs'
    args = build_parser().parse_args(argv)
    # Log with defaults first so a settings-file warning is visible, then reconfigure.
    setup_logging()
    settings = load_effective_settings(args)
    log_file = setup_logging(
        settings.log_level, settings.log_format, args.log_dir or default_log_dir()
    )
    log.info("app.start", extra={"version": __version__, "log_file": str(log_file)})
    if args.self_test:
        from softphone.selftest import main_self_test

        return main_self_test()  # headless: no QApplication
    return run_gui(settings, demo=args.demo, log_dir=log_file.parent if log_file else None)


def run_gui(settings: Settings, *, demo: bool, log_dir: Path | None = None) -> int:
    import platformdirs
    import qasync
    from PySide6.QtWidgets import QApplication

    from softphone.ui.crash import install_crash_handlers
    from softphone.ui.i18n import install_translators, system_language
    from softphone.ui.preferences import Preferences
    from softphone.ui.single_instance import SingleInstance, instance_name

    app = QApplication.instance() or QApplication(sys.argv)
    QApplication.setApplicationName("Softphone")
    QApplication.setOrganizationName("Softphone")
    QApplication.setApplicationVersion(__version__)
    QApplication.setDesktopFileName("softphone")
    # Per user and profile: a second launch shows the running window and exits.
    instance = SingleInstance(instance_name(platformdirs.user_config_dir("softphone")))
    if instance.notify_running():
        log.info("app.focus_running_instance")
        return 0
    instance.listen()
    apply_autostart(settings.start_with_session)
    language = system_language(Preferences().language(settings.language))
    translators = install_translators(language)  # noqa: F841 (kept alive for the run)
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    install_crash_handlers(loop)
    try:
        with loop:
            return loop.run_until_complete(_gui_main(settings, demo, log_dir, instance))
    finally:
        instance.close()
        asyncio.set_event_loop(None)


async def _gui_main(
    settings: Settings, demo: bool, log_dir: Path | None, instance: SingleInstance
) -> int:
    from PySide6.QtCore import QCoreApplication

    from softphone.ui.main_window import MainWindow, app_icon
    from softphone.ui.shell import AppShell
    from softphone.ui.tray import Tray

    loop = asyncio.get_running_loop()
    quit_requested: asyncio.Future[str] = loop.create_future()

    def request_quit(reason: str) -> None:
        if not quit_requested.done():
            quit_requested.set_result(reason)

    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, request_quit, signal.Signals(signum).name)
    window = MainWindow()
    tray = Tray(app_icon())
    window.tray_available = tray.available
    window.close_requested.connect(lambda: request_quit("window-closed"))
    tray.show_requested.connect(window.bring_to_front)
    tray.quit_requested.connect(window.request_quit)
    instance.activation_requested.connect(window.bring_to_front)
    # The demo's calls are not the agent's: they go to a history deleted at exit.
    demo_history = tempfile.TemporaryDirectory(prefix="softphone-demo-") if demo else None
    history_path = Path(demo_history.name) / "history.sqlite3" if demo_history else None
    shell = AppShell(settings, window, tray=tray, log_dir=log_dir, history_path=history_path)
    if settings.start_minimized and tray.available:
        tray.notify(
            "Softphone",
            QCoreApplication.translate("App", "Running in the tray; calls will ring here."),
        )
    else:
        window.show()
    log.info("app.ready")
    startup = loop.create_task(_start_session(shell, demo), name="app-startup")
    demo_handles = None
    try:
        reason = await quit_requested
    finally:
        startup.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            demo_handles = await startup
    log.info("app.quit", extra={"reason": reason})
    await shell.close()
    if demo_handles is not None:
        await demo_handles.stop()
    if demo_history is not None:
        demo_history.cleanup()
    tray.hide()
    window.hide()
    await cancel_pending_tasks()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.remove_signal_handler(signum)
    return 0


async def _start_session(shell: AppShell, demo: bool) -> DemoHandles | None:
    """Sign in (the demo signs in by itself and stays available); the result is the demo
    to stop at exit. Runs beside the quit wait, so a dialog never delays a SIGTERM."""
    if not demo:
        await shell.sign_in_and_start()
        return None
    from softphone.demo import DEMO_AGENT, start_demo

    handles = await start_demo()
    try:
        # The demo's agent sends the test pattern and tone, like its visitor.
        await shell.start_session(handles.agent_config(), DEMO_AGENT, available=True)
    except BaseException:
        await handles.stop()
        raise
    return handles


async def cancel_pending_tasks(rounds: int = 5) -> None:
    """Cancel every other task, in rounds: closing aiortc objects spawns new tasks."""
    current = asyncio.current_task()
    for _ in range(rounds):
        pending = [t for t in asyncio.all_tasks() if t is not current and not t.done()]
        if not pending:
            return
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)


if __name__ == "__main__":
    sys.exit(main())
