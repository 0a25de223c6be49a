"""The Python agent for browser tests in network namespaces: labnet/call_runner.py's agent,
reporting *every* decoded video frame (Chromium's fake camera carries no test-pattern stamp,
so call_runner's stamped-frame events would never come).

    python -m labnet.browsers.agent_runner --url ws://HOST:PORT/ws --token TOKEN

JSON lines on stdout as in labnet/call_runner.py, with ``{"ev": "frame", "n": <frames
decoded so far>}`` and ``{"ev": "audio", "n": <audio frames so far>}`` whenever they grow.
Commands on stdin: as in labnet/call_runner.py (``restart``, ``hangup``, ``tasks``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal

from labnet.call_runner import emit, install_logging, serve_agent
from softphone.agent import AgentConfig, AgentSession
from softphone.malloc_arenas import limit_malloc_arenas
from softphone.rtc.ice import IceSettings

POLL_S = 0.01


async def report(session: AgentSession, stop: asyncio.Event) -> None:
    last = {"video": 0, "audio": 0}
    while not stop.is_set():
        call = session.call
        if call is not None:
            for kind, event in (("video", "frame"), ("audio", "audio")):
                frames = call.peer.received(kind).frames
                if frames != last[kind]:
                    last[kind] = frames
                    emit(event, n=frames)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), POLL_S)


async def run(url: str, token: str, loopback: bool) -> None:
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set)
    ice = IceSettings(host_allowlist=("127.0.0.1",)) if loopback else IceSettings()
    await serve_agent(AgentSession(AgentConfig(server_url=url, token=token, ice=ice)), stop, report)


def main() -> None:
    limit_malloc_arenas()  # as the app does, before any thread
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--loopback", action="store_true", help="pin host candidates to 127.0.0.1")
    args = parser.parse_args()
    install_logging()
    asyncio.run(run(args.url, args.token, args.loopback))


if __name__ == "__main__":
    main()
