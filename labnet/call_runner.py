"""Runs one side of a real Softphone call headless, for network-fault tests and benchmarks.

``--role agent`` signs an :class:`~softphone.agent.AgentSession` in and auto-accepts calls
while idle; ``--role visitor`` runs a :class:`~softphone.visitor.peer.VisitorPeer`. Runs
inside a network namespace (labnet/netns.py) and reports JSON lines on stdout, each with
wall-clock ``t`` so the parent can time faults across processes:

- ``{"ev": "signed_in"}``, ``{"ev": "call_state", "state": ..., "attempt": ..., "origin": ...}``
  (the agent's CallStatus), ``{"ev": "ended", "reason"}``
- ``{"ev": "frame", "n": N, "lat": ms}``: the last decoded test-pattern frame number, when it
  changes, and its capture-to-decode latency (so ``t - lat/1000`` is when it was captured)
- ``{"ev": "log", "msg": "reconnect.start", "attempt": "1/3", ...}``: reconnect/ICE records
- ``{"ev": "dtls_connected"}``: one per DTLS handshake (aiortc's transport state log)
- ``{"ev": "metrics", "tasks": ..., "fds": ..., "rss_kb": ...}``: every second

Commands on stdin (one per line): ``restart`` (a manual ICE restart, either side),
``hangup``, ``tasks`` (``{"ev": "tasks", "names": [...]}``: what is running, to hunt a leak),
``memory`` (``{"ev": "memory", "types": {...}, "grown": [...]}``: live objects per type
from the garbage collector and, with ``--tracemalloc``, the allocation sites that grew most
since the previous ``memory`` command: to find what an RSS growth is made of).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import logging
import os
import signal
import sys
import time
import tracemalloc
from collections import Counter
from collections.abc import Callable, Coroutine, Mapping
from typing import Any

from aiortc import RTCIceServer

from softphone.agent import AgentConfig, AgentSession, CallInfo
from softphone.call.reconnect import ReconnectPolicy
from softphone.call.state import CallStatus
from softphone.malloc_arenas import limit_malloc_arenas
from softphone.media.local import MediaChoice
from softphone.rtc.aiortc_compat.transport import restartable_transports
from softphone.rtc.aiortc_compat.turn_gathering import path_of
from softphone.rtc.ice import IceSettings
from softphone.rtc.peer import CallPeer
from softphone.visitor.peer import VisitorConfig, VisitorPeer

FRAME_POLL_S = 0.01  # frame-number resolution of the media-gap measurements
REPORTED_LOGGERS = ("softphone", "aiortc.rtcdtlstransport")
REPORTED_PREFIXES = ("reconnect.", "ice.", "call.", "rtc.", "media.", "signaling.")
Command = Callable[[], Coroutine[Any, Any, None] | None]
# LogRecord's own attributes, and the keys every event line already has.
NOT_EXTRA = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "ev", "t", "level"}


def emit(ev: str, **fields: object) -> None:
    print(json.dumps({"ev": ev, "t": time.time(), **fields}, default=str), flush=True)


class JsonLogHandler(logging.Handler):
    """Reconnect/ICE records with their ``extra`` fields, and DTLS handshakes, as events."""

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if record.name.startswith("aiortc.rtcdtlstransport"):
            # aiortc 1.16: "RTCDtlsTransport(client) - State.CONNECTING -> State.CONNECTED"
            if message.endswith("-> State.CONNECTED"):
                emit("dtls_connected")
            return
        if message.startswith(REPORTED_PREFIXES):
            extra = {k: v for k, v in vars(record).items() if k not in NOT_EXTRA}
            emit("log", msg=message, level=record.levelname, **extra)


def install_logging() -> None:
    logging.basicConfig(level=logging.INFO, stream=sys.stderr)
    handler = JsonLogHandler()
    for name in REPORTED_LOGGERS:
        logging.getLogger(name).addHandler(handler)
    # aiortc logs its DTLS state changes at DEBUG only; nothing else of it is wanted.
    dtls = logging.getLogger("aiortc.rtcdtlstransport")
    dtls.setLevel(logging.DEBUG)
    dtls.propagate = False


def task_names() -> None:
    """What is running, for a leak hunt: coroutine names, most common first."""
    names = [t.get_coro().__qualname__ for t in asyncio.all_tasks()]  # type: ignore[union-attr]
    emit("tasks", names=sorted(names))


class MemoryProbe:
    """Objects per type (gc) and, when tracing, allocation sites grown since the last call."""

    TOP = 25
    FRAMES = 6

    def __init__(self) -> None:
        self._previous: tracemalloc.Snapshot | None = None

    def __call__(self) -> None:
        gc.collect()
        types = Counter(type(o).__qualname__ for o in gc.get_objects())
        grown: list[str] = []
        if tracemalloc.is_tracing():
            snapshot = tracemalloc.take_snapshot().filter_traces(
                [tracemalloc.Filter(False, tracemalloc.__file__)]
            )
            if self._previous is not None:
                diff = snapshot.compare_to(self._previous, "traceback")
                grown = [
                    f"{stat.size_diff / 1024:+.0f} KiB {stat.count_diff:+d} blocks: "
                    + " <- ".join(  # the allocating frame first, then its callers
                        f"{'/'.join(f.filename.split('/')[-2:])}:{f.lineno}"
                        for f in reversed(stat.traceback[-self.FRAMES :])
                    )
                    for stat in diff[: self.TOP]
                ]
            self._previous = snapshot
        emit("memory", types=dict(types), grown=grown)


def metrics() -> dict[str, int]:
    with open("/proc/self/statm") as statm:
        rss_pages = int(statm.read().split()[1])
    return {
        "tasks": len(asyncio.all_tasks()),
        "fds": len(os.listdir("/proc/self/fd")),
        "rss_kb": rss_pages * os.sysconf("SC_PAGE_SIZE") // 1024,
    }


def selected_path(peer: CallPeer) -> str | None:
    """host/srflx/relay-udp/relay-tcp/relay-tls: the local side of the pair carrying media."""
    transports = restartable_transports(peer.pc)
    return path_of(transports[0].sending_connection()) if transports else None


async def report(peer_of: object, stop: asyncio.Event) -> None:
    """Poll the call's peer: frame numbers (often), process metrics (every second)."""
    last_frame: int | None = None
    last_state = ""
    last_path: str | None = None
    next_metrics = 0.0
    while not stop.is_set():
        call = getattr(peer_of, "call", None)
        peer: CallPeer | None = call.peer if call is not None else None
        if peer is not None:
            video = peer.received("video")
            number = video.last_frame_number
            if number is not None and number != last_frame:
                last_frame = number
                emit("frame", n=number, lat=video.latency_ms)
            if peer.state != last_state:
                last_state = peer.state
                emit("peer_state", state=last_state)
            path = selected_path(peer)
            if path != last_path and path is not None:
                last_path = path
                emit("path", path=path)
        if time.monotonic() >= next_metrics:
            next_metrics = time.monotonic() + 1.0
            emit("metrics", **metrics())
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), FRAME_POLL_S)


async def read_commands(handlers: Mapping[str, Command]) -> None:
    reader = asyncio.StreamReader()
    loop = asyncio.get_running_loop()
    # A pipe reader, unlike a thread blocked in readline(), is cancelled at shutdown.
    transport, _ = await loop.connect_read_pipe(
        lambda: asyncio.StreamReaderProtocol(reader), sys.stdin
    )
    try:
        await _dispatch(reader, handlers)
    finally:
        transport.close()


async def _dispatch(reader: asyncio.StreamReader, handlers: Mapping[str, Command]) -> None:
    while line := (await reader.readline()).decode():
        handler = handlers.get(line.strip())
        if handler is None:
            emit("command_unknown", command=line.strip())
            continue
        result = handler()
        if asyncio.iscoroutine(result):
            await result
        emit("command_done", command=line.strip())


def report_status(status: CallStatus) -> None:
    """The agent's published call status, as the UI would render it."""
    emit(
        "call_state",
        state=str(status.state),
        attempt=status.attempt,
        max_attempts=status.max_attempts,
        origin=str(status.origin),
        recovered_after_s=status.recovered_after_s,
    )
    if status.terminal:
        emit("ended", reason=status.end_reason)


def ice_from(args: argparse.Namespace) -> IceSettings:
    """``--ice-servers``: a JSON list of RTCIceServer-shaped dicts (e.g. from labnet/turn.py)."""
    servers = json.loads(args.ice_servers) if args.ice_servers else []
    return IceSettings(ice_servers=tuple(RTCIceServer(**server) for server in servers))


def policy_from(args: argparse.Namespace) -> ReconnectPolicy:
    defaults = ReconnectPolicy()
    return ReconnectPolicy(
        attempt_timeout_s=args.attempt_timeout or defaults.attempt_timeout_s,
        backoff_s=tuple(args.backoff or defaults.backoff_s),
    )


async def run_agent(args: argparse.Namespace, media: MediaChoice, stop: asyncio.Event) -> None:
    config = AgentConfig(
        server_url=args.url,
        token=args.token,
        media=media,
        reconnect=policy_from(args),
        ice=ice_from(args),
    )
    await serve_agent(AgentSession(config), stop, report)


async def serve_agent(
    session: AgentSession,
    stop: asyncio.Event,
    reporter: Callable[[AgentSession, asyncio.Event], Coroutine[Any, Any, None]],
) -> None:
    """Sign in, accept every call that rings while idle, report and obey stdin commands
    until ``stop`` (shared with the browser tests' agent, which reports differently)."""
    accepting: set[asyncio.Task[None]] = set()

    def on_incoming(info: CallInfo) -> None:
        if session.call is None:
            accepting.add(asyncio.create_task(session.accept(info.call_id)))

    session.incoming_call.connect(on_incoming)
    session.call_status.connect(report_status)
    session.signaling_state.connect(lambda state: emit("signaling", state=state))
    await session.start()
    await session.set_available(True)
    emit("signed_in", role="agent")
    commands: dict[str, Command] = {
        "restart": lambda: session.restart_ice("manual"),
        "hangup": session.hangup,
        "tasks": task_names,
        "memory": MemoryProbe(),
    }
    tasks = [
        asyncio.create_task(reporter(session, stop)),
        asyncio.create_task(read_commands(commands)),
    ]
    try:
        await stop.wait()
    finally:
        await session.stop()
        for task in [*tasks, *accepting]:
            task.cancel()
        await asyncio.gather(*tasks, *accepting, return_exceptions=True)
        emit("exit")


async def run_visitor(args: argparse.Namespace, media: MediaChoice, stop: asyncio.Event) -> None:
    visitor = VisitorPeer(VisitorConfig(server_url=args.url, ice=ice_from(args), media=media))
    stop_reporting = asyncio.Event()
    reporter = asyncio.create_task(report(visitor, stop_reporting))
    stop_waiter = asyncio.create_task(stop.wait())
    stop_waiter.add_done_callback(lambda _: visitor.hangup())

    def restart() -> None:
        if not visitor.restart_ice("manual"):
            emit("command_failed", command="restart", error="no connected call")

    commands: dict[str, Command] = {
        "restart": restart,
        "hangup": visitor.hangup,
        "tasks": task_names,
        "memory": MemoryProbe(),
    }
    reader = asyncio.create_task(read_commands(commands))
    emit("signed_in", role="visitor")
    try:
        summary = await visitor.run()
        emit("ended", reason=summary.ended_reason)
    finally:
        stop_reporting.set()
        stop_waiter.cancel()
        reader.cancel()
        await asyncio.gather(reporter, stop_waiter, reader, return_exceptions=True)


async def main_async(args: argparse.Namespace) -> None:
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set)
    media = MediaChoice(width=args.width, height=args.height, fps=args.fps)
    if args.role == "agent":
        await run_agent(args, media, stop)
    else:
        await run_visitor(args, media, stop)
    emit("exit")


def main() -> None:
    limit_malloc_arenas()  # as the app does, before any thread
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", required=True)
    parser.add_argument("--role", choices=["agent", "visitor"], required=True)
    parser.add_argument("--token")
    parser.add_argument("--width", type=int, default=320)
    parser.add_argument("--height", type=int, default=180)
    parser.add_argument("--fps", type=int, default=30)
    parser.add_argument("--attempt-timeout", type=float, help="agent: reconnect policy")
    parser.add_argument("--backoff", type=float, nargs="+", help="agent: reconnect policy")
    parser.add_argument("--ice-servers", help="JSON list of {urls, username, credential}")
    parser.add_argument("--trust", help="extra CA file for TURN over TLS (a test CA)")
    parser.add_argument(
        "--tracemalloc", type=int, metavar="FRAMES", help="trace allocations (the memory command)"
    )
    args = parser.parse_args()
    if args.tracemalloc:
        tracemalloc.start(args.tracemalloc)
    if args.trust:
        os.environ["SSL_CERT_FILE"] = args.trust  # OpenSSL's default verify paths read it
    install_logging()
    asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
