"""The Python agent for browser tests in network namespaces: labnet/call_runner.py's agent,
reporting *every* decoded video frame (Chromium's fake camera carries no test-pattern stamp,
so call_runner's stamped-frame events would never come).

    python -m labnet.browsers.agent_runner --url ws://HOST:PORT/ws --token TOKEN

JSON lines on stdout as in labnet/call_runner.py, with ``{"ev": "frame", "n": <frames
decoded so far>, "media_s": <this one's media time>}`` for each decoded video frame and
``{"ev": "audio", "n": <audio frames so far>}`` whenever that grows. The media time (the
RTP timestamp in seconds) runs on the sender's capture clock: it lets a bench tell a frame
captured after an event from one the event merely delayed, as the test pattern's stamp
does for a page.
Commands on stdin: as in labnet/call_runner.py (``restart``, ``hangup``, ``tasks``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal

from aiortc.mediastreams import MediaStreamError

from labnet.call_runner import emit, install_logging, serve_agent
from softphone.agent import AgentConfig, AgentSession
from softphone.malloc_arenas import limit_malloc_arenas
from softphone.media.receiver import TrackMonitor
from softphone.rtc.ice import IceSettings

POLL_S = 0.01


async def report_video(monitor: TrackMonitor) -> None:
    """Reads the call's video tap (which nothing else reads here) until it ends: a frame
    event for each frame as it is decoded, with its media time."""
    with contextlib.suppress(MediaStreamError):
        while True:
            frame = await monitor.tap.recv()
            media = {}
            if frame.pts is not None and frame.time_base is not None:
                media["media_s"] = float(frame.pts * frame.time_base)
            emit("frame", n=monitor.received.frames, **media)


async def report(session: AgentSession, stop: asyncio.Event) -> None:
    audio = 0
    video: tuple[TrackMonitor, asyncio.Task[None]] | None = None
    try:
        while not stop.is_set():
            call = session.call
            monitor = call.peer.monitors.get("video") if call is not None else None
            if monitor is not None and (video is None or video[0] is not monitor):
                if video is not None:
                    video[1].cancel()
                video = (monitor, asyncio.create_task(report_video(monitor)))
            frames = call.peer.received("audio").frames if call is not None else audio
            if frames != audio:
                audio = frames
                emit("audio", n=frames)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), POLL_S)
    finally:
        if video is not None:
            video[1].cancel()


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
