"""Headless Firefox ESR over WebDriver BiDi: a small client on ``websockets``.

Why our own ~200 lines rather than a driver package: Firefox speaks BiDi natively, so no
geckodriver is needed; puppeteer would bring Node into every Python test and selenium's
BiDi support is a moving target, while these tests need only five commands
(``session.new``, ``browsingContext.getTree/navigate/close``, ``script.callFunction``) and
``websockets`` is already a dependency. Debian's ``firefox-esr`` is used as installed (no
browser downloads). A profile's ``user.js`` gives fake camera/microphone without prompts.

Inside a network namespace Firefox's BiDi port is on *that* namespace's loopback, which
the test process cannot reach: a tiny relay started in the namespace
(``python -m labnet.browsers.unix_relay``) exposes it on a Unix socket, whose path is the
same from every namespace.

Every Firefox runs in its own session (process group), killed as a whole afterwards.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import websockets
from websockets.asyncio.client import ClientConnection

FIREFOX = Path("/usr/bin/firefox-esr")
USER_JS = """\
user_pref("media.navigator.streams.fake", true);
user_pref("media.navigator.permission.disabled", true);
user_pref("media.autoplay.default", 0);
user_pref("media.autoplay.blocking_policy", 0);
user_pref("media.peerconnection.ice.loopback", true);
// Namespace tests serve the widget over plain http from 198.18.0.0/15 (not a secure context).
user_pref("media.devices.insecure.enabled", true);
user_pref("media.getusermedia.insecure.enabled", true);
user_pref("media.peerconnection.ice.obfuscate_host_addresses", false);
user_pref("browser.shell.checkDefaultBrowser", false);
user_pref("browser.startup.homepage_override.mstone", "ignore");
user_pref("datareporting.policy.dataSubmissionEnabled", false);
user_pref("toolkit.telemetry.reportingpolicy.firstRun", false);
user_pref("app.update.disabledForTesting", true);
user_pref("network.captive-portal-service.enabled", false);
user_pref("network.connectivity-service.enabled", false);
user_pref("browser.safebrowsing.update.enabled", false);
user_pref("extensions.update.enabled", false);
user_pref("remote.prefs.recommended", true);
"""
LISTENING = re.compile(rb"WebDriver BiDi listening on (ws://[\d.:\[\]]+)")

# Runs a page expression or function like playwright's page.evaluate: a function is called
# with the JSON argument; the (awaited) result comes back as JSON.
CALL = """async (source, argJson) => {
  let value = (0, eval)("(" + source + ")");
  if (typeof value === "function") value = value(JSON.parse(argJson));
  value = await value;
  return value === undefined ? "null" : JSON.stringify(value);
}"""


def available() -> bool:
    return FIREFOX.exists()


class BiDiError(RuntimeError):
    pass


class BiDi:
    """One WebDriver BiDi connection: commands by id, replies matched to their futures."""

    def __init__(self, ws: ClientConnection) -> None:
        self._ws = ws
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._reader = asyncio.create_task(self._read(), name="bidi-reader")

    async def _read(self) -> None:
        try:
            async for raw in self._ws:
                msg = json.loads(raw)
                future = self._pending.pop(msg.get("id", -1), None)
                if future is not None and not future.done():
                    future.set_result(msg)
        except websockets.ConnectionClosed:
            pass
        finally:
            for future in self._pending.values():
                if not future.done():
                    future.set_exception(BiDiError("connection to Firefox closed"))

    async def send(self, method: str, params: dict[str, Any], timeout: float = 30.0) -> Any:  # noqa: ASYNC109
        command_id = next(self._ids)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[command_id] = future
        await self._ws.send(json.dumps({"id": command_id, "method": method, "params": params}))
        reply = await asyncio.wait_for(future, timeout)
        if reply.get("type") == "error":
            raise BiDiError(f"{method}: {reply.get('error')}: {reply.get('message')}")
        return reply["result"]

    async def close(self) -> None:
        await self._ws.close()
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader


class FirefoxPage:
    """The page interface the browser tests use (the subset of playwright's Page they call)."""

    name = "firefox"

    def __init__(self, bidi: BiDi, context: str) -> None:
        self._bidi = bidi
        self._context = context

    async def goto(self, url: str, timeout: float = 30_000) -> None:  # noqa: ASYNC109
        await self._bidi.send(
            "browsingContext.navigate",
            {"context": self._context, "url": url, "wait": "complete"},
            timeout / 1000,
        )

    async def evaluate(self, expression: str, arg: object = None) -> Any:
        result = await self._bidi.send(
            "script.callFunction",
            {
                "functionDeclaration": CALL,
                "arguments": [
                    {"type": "string", "value": expression},
                    {"type": "string", "value": json.dumps(arg)},
                ],
                "target": {"context": self._context},
                "awaitPromise": True,
                "resultOwnership": "none",
            },
        )
        if result["type"] == "exception":
            details = result["exceptionDetails"]
            raise BiDiError(f"page: {details.get('text')} (in {expression[:80]!r})")
        return json.loads(result["result"]["value"])

    async def _element(self, selector: str, body: str, arg: object = None) -> Any:
        """Waits (bounded) for ``selector``; then runs ``body`` with ``el`` (and ``arg``)."""
        script = (
            "async ([selector, arg]) => { for (let i = 0; i < 100; i++) {"
            " const el = document.querySelector(selector);"
            f" if (el) {{ {body} }}"
            " await new Promise((r) => setTimeout(r, 100)); }"
            " throw new Error('no element ' + selector); }"
        )
        return await self.evaluate(script, [selector, arg])

    async def click(self, selector: str) -> None:
        # Like playwright: wait until it is visible and enabled, then click it.
        await self._element(
            selector, "if (el.offsetParent !== null && !el.disabled) { el.click(); return true; }"
        )

    async def text_content(self, selector: str) -> str | None:
        result = await self._element(selector, "return el.textContent;")
        return None if result is None else str(result)

    async def get_attribute(self, selector: str, name: str) -> str | None:
        result = await self._element(selector, "return el.getAttribute(arg);", name)
        return None if result is None else str(result)

    async def is_visible(self, selector: str) -> bool:
        return bool(
            await self.evaluate(
                "(s) => { const el = document.querySelector(s);"
                " return !!el && el.offsetParent !== null; }",
                selector,
            )
        )

    async def set_viewport_size(self, size: dict[str, int]) -> None:
        await self._bidi.send(
            "browsingContext.setViewport",
            {"context": self._context, "viewport": size},
        )

    async def add_init_script(self, path: str | Path) -> None:
        """Run the script at ``path`` in every document before its own scripts."""
        source = await asyncio.to_thread(Path(path).read_text)
        await self._bidi.send(
            "script.addPreloadScript",
            {"functionDeclaration": f"() => {{\n{source}\n}}", "contexts": [self._context]},
        )

    async def close(self) -> None:
        with contextlib.suppress(BiDiError, TimeoutError):
            await self._bidi.send("browsingContext.close", {"context": self._context}, 5)


def write_profile(directory: Path, locale: str | None = None) -> None:
    """``locale``: the browser's language (navigator.languages), e.g. "de-DE"."""
    prefs = USER_JS
    if locale is not None:
        prefs += f'user_pref("intl.accept_languages", {json.dumps(locale)});\n'
    (directory / "user.js").write_text(prefs)


def command(profile: Path, ns: str | None) -> list[str]:
    args = [str(FIREFOX), "--headless", "--no-remote", "--profile", str(profile)]
    args += ["--remote-debugging-port", "0"]
    return ["ip", "netns", "exec", ns, *args] if ns else args


async def _listening_url(process: asyncio.subprocess.Process, timeout: float) -> str:  # noqa: ASYNC109
    """Firefox prints its BiDi address on stderr once it listens."""
    assert process.stderr is not None
    async with asyncio.timeout(timeout):
        while line := await process.stderr.readline():
            if match := LISTENING.search(line):
                return match.group(1).decode()
    raise BiDiError("Firefox exited before its WebDriver BiDi server listened")


async def _drain(stream: asyncio.StreamReader | None) -> None:
    """Keep reading Firefox's chatter so that its pipe never fills up."""
    if stream is not None:
        while await stream.readline():
            pass


def kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


@contextlib.asynccontextmanager
async def launch(
    ns: str | None = None,
    timeout: float = 60.0,  # noqa: ASYNC109
    locale: str | None = None,
) -> AsyncIterator[FirefoxPage]:
    """A fresh headless Firefox (in ``ns`` when given, speaking ``locale`` when given) and
    its first tab."""
    profile = Path(tempfile.mkdtemp(prefix="softphone-firefox-"))
    write_profile(profile, locale)
    process = await asyncio.create_subprocess_exec(
        *command(profile, ns),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,  # its own process group: killed as a whole
    )
    relay: asyncio.subprocess.Process | None = None
    drain: asyncio.Task[None] | None = None
    bidi: BiDi | None = None
    try:
        url = await _listening_url(process, timeout)
        drain = asyncio.create_task(_drain(process.stderr), name="firefox-stderr")
        if ns is None:
            ws = await websockets.connect(url + "/session", max_size=None, open_timeout=timeout)
        else:
            socket_path = profile / "bidi.sock"
            relay = await asyncio.create_subprocess_exec(
                "ip", "netns", "exec", ns, sys.executable, "-m", "labnet.browsers.unix_relay",
                str(socket_path), url.rsplit(":", 1)[1],
                stdout=subprocess.PIPE, start_new_session=True,
            )  # fmt: skip
            assert relay.stdout is not None
            await asyncio.wait_for(relay.stdout.readline(), timeout)  # "ready"
            ws = await websockets.unix_connect(
                str(socket_path), url + "/session", max_size=None, open_timeout=timeout
            )
        bidi = BiDi(ws)
        await bidi.send("session.new", {"capabilities": {}}, timeout)
        tree = await bidi.send("browsingContext.getTree", {})
        yield FirefoxPage(bidi, tree["contexts"][0]["context"])
    finally:
        if bidi is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(bidi.send("browser.close", {}, 5), 6)
            await bidi.close()
        for proc in (relay, process):
            if proc is not None:
                kill_group(proc.pid)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(proc.wait(), 10)
        if drain is not None:
            drain.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await drain
        shutil.rmtree(profile, ignore_errors=True)


class SyncFirefoxPage:
    """The same page for synchronous code (the namespace tests and the bench): each call
    runs on an event loop in a thread of its own."""

    name = "firefox"

    def __init__(self, loop: asyncio.AbstractEventLoop, page: FirefoxPage) -> None:
        self._loop = loop
        self._page = page

    def _run(self, coro: Any, timeout: float = 120.0) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    def goto(self, url: str, timeout: float = 30_000) -> None:
        self._run(self._page.goto(url, timeout))

    def evaluate(self, expression: str, arg: object = None) -> Any:
        return self._run(self._page.evaluate(expression, arg))

    def click(self, selector: str) -> None:
        self._run(self._page.click(selector))

    def is_visible(self, selector: str) -> bool:
        return bool(self._run(self._page.is_visible(selector)))

    def text_content(self, selector: str) -> str | None:
        result = self._run(self._page.text_content(selector))
        return None if result is None else str(result)

    def add_init_script(self, path: str | Path) -> None:
        self._run(self._page.add_init_script(path))


@contextlib.contextmanager
def launch_sync(ns: str | None = None) -> Iterator[SyncFirefoxPage]:
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="firefox-bidi", daemon=True)
    thread.start()
    try:
        session = launch(ns)
        page = asyncio.run_coroutine_threadsafe(session.__aenter__(), loop).result(120)
        try:
            yield SyncFirefoxPage(loop, page)
        finally:
            exit_ = session.__aexit__(None, None, None)
            asyncio.run_coroutine_threadsafe(exit_, loop).result(60)
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()
