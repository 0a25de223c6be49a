"""Browsers in network namespaces (labnet/netns.py's topology): the widget as the visitor
in Chromium or Firefox, the Python agent (labnet/browsers/agent_runner.py) or a second
browser running the test agent page as the agent.

Shared by tests/browser/test_widget_netns.py and bench/browser_reconnect.py. Synchronous
(playwright's sync API, threads for the runners): every wait is bounded.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import tempfile
import time
import urllib.parse
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from labnet.browsers import chromium, firefox
from labnet.netns import (
    AGENT_NAME,
    AGENT_TOKEN,
    SERVER_PORT,
    JsonLines,
    Side,
    Topology,
    run,
    signaling_url,
    start_signaling,
)
from labnet.turn import Coturn, TurnUrls

if TYPE_CHECKING:
    from playwright.sync_api import Playwright

PAGES_DIR = Path(__file__).resolve().parent / "pages"
AGENT_RUNNER = "labnet.browsers.agent_runner"


def origin(side: Side) -> str:
    """The server's HTTP origin as seen from ``side`` (the hub's address on its link, or
    behind a NAT the hub's address on the router's link)."""
    return f"http://{side.server or side.gateway}:{SERVER_PORT}"


# The handle of the page's widget or test agent (the host element's ``softphone``).
HANDLE = "document.querySelector('.softphone-widget, [data-softphone-agent]').softphone"


def start_server(
    topo: Topology,
    reconnect: dict[str, object] | None = None,
    turn: tuple[Coturn, TurnUrls] | None = None,
) -> JsonLines:
    """The signaling server in the hub, serving the widget (by default) and the test pages.

    ``reconnect``: the server's ``[reconnect]`` policy (PROTOCOL item 6), which the widget
    takes from ``welcome``; a server without that section in its config ignores it.
    ``turn``: coturn and the transports whose URLs the server hands both parties of each
    call, with per-call credentials it mints itself (its ``[turn]`` section).
    """
    fd, path = tempfile.mkstemp(prefix="softphone-browser-", suffix=".toml")
    with open(fd, "w") as fh:
        if reconnect:
            fh.write("[reconnect]\n")
            fh.writelines(f"{key} = {json.dumps(value)}\n" for key, value in reconnect.items())
        if turn is not None:
            coturn, transports = turn
            fh.write(f"[turn]\nsecret = {json.dumps(coturn.secret)}\n")
            fh.write(f"urls = {json.dumps(transports.urls(coturn.address))}\n")
        fh.write(f'[static]\n"/test" = {json.dumps(str(PAGES_DIR))}\n')
    try:
        return start_signaling(topo, "--config", path)
    finally:
        Path(path).unlink()


class SyncPage(Protocol):
    """What the namespace tests and the bench call on a page, in either browser."""

    def goto(self, url: str, timeout: float = ...) -> Any: ...

    def evaluate(self, expression: str, arg: Any = None) -> Any: ...

    def click(self, selector: str) -> None: ...

    def is_visible(self, selector: str) -> bool: ...


@contextlib.contextmanager
def browser_page(
    pw: Playwright | None,
    ns: str,
    secure_origin: str,
    browser: str = "chromium",
    *,
    sound: chromium.Sound | None = None,
    nice: int = 0,
    extra_flags: Sequence[str] = (),
) -> Iterator[SyncPage]:
    """A page of ``browser`` inside ``ns``; killed however it ends (Chromium by its run
    tag, Firefox by its process group). ``pw``: playwright, for Chromium; ``sound``: its
    microphone speech and speakers, ``nice``: its priority, ``extra_flags``: more command
    line flags (Chromium only)."""
    if browser == "firefox":
        assert sound is None and not nice and not extra_flags, "Chromium only"
        with firefox.launch_sync(ns) as ff_page:
            ff_page.add_init_script(chromium.MEDIA_PROBE)
            yield ff_page
        return
    assert pw is not None
    sound = sound or chromium.Sound()
    tag = chromium.new_tag()
    try:
        with chromium.executable_in(ns, nice) as executable:
            launched = pw.chromium.launch(
                executable_path=executable,
                args=[*chromium.flags(tag, [secure_origin]), *sound.flags(), *extra_flags],
                ignore_default_args=sound.ignored_defaults(),
                env=sound.env(),
                timeout=30_000,
            )
            try:
                context = launched.new_context()
                context.grant_permissions(["camera", "microphone"], origin=secure_origin)
                context.add_init_script(path=chromium.MEDIA_PROBE)
                yield context.new_page()
            finally:
                with contextlib.suppress(Exception):
                    launched.close()
    finally:
        chromium.kill_run(tag)


def kill_namespace_processes(ns: str) -> None:
    """Whatever still runs in one of our namespaces (a wedged Chromium helper)."""
    for pid in run("ip", "netns", "pids", ns, check=False).stdout.split():
        with contextlib.suppress(ProcessLookupError, ValueError):
            os.kill(int(pid), signal.SIGKILL)


def wait_js(page: SyncPage, expression: str, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = page.evaluate(expression)
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"no {what} within {timeout} s")


def start_agent_runner(
    topo: Topology, timeout: float = 30.0, trust: Path | None = None
) -> JsonLines:
    """``trust``: an extra CA file for TURN over TLS (coturn's test CA)."""
    agent = topo.spawn_python(
        topo.agent.ns,
        "agent",
        AGENT_RUNNER,
        "--url",
        signaling_url(topo.agent),
        "--token",
        AGENT_TOKEN,
        env={"SSL_CERT_FILE": str(trust)} if trust is not None else None,
    )
    agent.expect(lambda e: e.get("ev") == "signed_in", timeout, "agent sign-in")
    return agent


def page_config(config: dict[str, object] | None) -> str:
    return urllib.parse.quote(json.dumps(config or {}))


def call_from_widget(
    page: SyncPage, side: Side, config: dict[str, object] | None = None, timeout: float = 30.0
) -> None:
    """Open the widget in ``side``'s Chromium and call; returns once connected.

    Without ``config`` the server's own /widget/ page; with it, a test embedding page that
    mounts the widget with those settings (e.g. a detector off) from its own script.
    """
    url = "/widget/" if config is None else f"/test/visitor.html#{page_config(config)}"
    page.goto(origin(side) + url, timeout=timeout * 1000)
    page.click(".sp-call")
    wait_js(page, CALL_CONNECTED, timeout, "connected widget call")


def open_agent_page(
    page: SyncPage, side: Side, config: dict[str, object] | None = None, timeout: float = 30.0
) -> None:
    query = f"name={AGENT_NAME}&token={AGENT_TOKEN}&config={page_config(config)}"
    page.goto(origin(side) + f"/test/agent.html?{query}", timeout=timeout * 1000)
    wait_js(
        page,
        f"{HANDLE}.events.items.some(e => e.event === 'agent.signed_in')",
        timeout,
        "agent page sign-in",
    )


CALL_CONNECTED = f"{HANDLE} && {HANDLE}.call && {HANDLE}.call.state === 'connected'"


def page_events(page: SyncPage, name: str, since_ms: float) -> list[dict[str, Any]]:
    """The page's EventLog entries called ``name`` at or after wall-clock ``since_ms``."""
    result: list[dict[str, Any]] = page.evaluate(
        f"([name, t]) => {HANDLE}.events.items.filter(e => e.event === name && e.t >= t)",
        [name, since_ms],
    )
    return result


def probe_since(page: SyncPage, since_ms: float) -> dict[str, Any]:
    result: dict[str, Any] = page.evaluate("(t) => window.__probe.since(t)", since_ms)
    return result


def captured_at_ms(frame: dict[str, Any]) -> float | None:
    """Capture wall-clock ms of a stamped frame (stamps hold ms modulo 2**32)."""
    if frame.get("ts") is None:
        return None
    shown = int(frame["t"])
    return shown - ((shown - int(frame["ts"])) & 0xFFFFFFFF)


def resumed_after(
    times: list[float], since: float, min_gap: float, silent_from: float
) -> float | None:
    """The first arrival at/after ``since`` that ends a silence of ``min_gap`` or more.

    ``times`` start at ``silent_from``: with no arrival before ``since``, the silence is
    taken to have begun there.
    """
    previous = silent_from
    for t in sorted(times):
        if t >= since and t - previous >= min_gap:
            return t
        previous = t
    return None
