"""One side of the audio bench's call (bench/audio.py), run inside a network namespace.

``--role visitor --speech FILE`` calls in and speaks FILE as its microphone; the mouth time
of its first sample arrives as ``{"ev": "log", "msg": "media.file_mic_started", "at": t}``.
``--role agent --sink NAME`` is the agent app's real playout path: the AgentSession answers
and the remote audio goes through :class:`softphone.ui.audio_playout.AudioPlayout` into the
PulseAudio sink NAME, on a qasync loop like the app's. ``--microphone ID``: the agent's
microphone (a device id as in the settings, e.g. ``default``: ALSA's default capture).
JSON lines as in labnet/call_runner.py, plus ``{"ev": "playout", ...}`` every second
(buffer depth, dropped and concealed audio, the call's stats: received bitrate, audio the
decoder produced, rebuilt from FEC and concealed) and ``{"ev": "mic", ...}`` (the live
microphone's backlog and dropped audio).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys

from labnet.call_runner import emit, install_logging, run_visitor, serve_agent
from softphone.agent import AgentConfig, AgentSession
from softphone.media.file_mic import FILE_PREFIX
from softphone.media.live_mic import LiveMicTrack
from softphone.media.local import MediaChoice
from softphone.rtc.stats import CallStats

VOICE_ONLY = {"camera": None, "width": 320, "height": 180, "fps": 5}


def decoder_counts(stats: CallStats) -> dict[str, float]:
    return {
        "decoded_ms": stats.audio_ms,
        "recovered_ms": stats.audio_recovered_ms,
        "decoder_concealed_ms": stats.audio_concealed_ms,
    }


async def run_agent(args: argparse.Namespace, stop: asyncio.Event) -> None:
    from aiortc import MediaStreamTrack
    from PySide6.QtMultimedia import QMediaDevices

    from softphone.ui.audio_playout import AudioPlayout

    devices = [d for d in QMediaDevices.audioOutputs() if bytes(d.id()).decode() == args.sink]
    if args.sink and not devices:
        emit("error", error=f"no sound output {args.sink!r}")
        return
    playouts: list[AudioPlayout] = []

    def on_audio(track: MediaStreamTrack) -> None:
        for old in playouts:
            old.stop()
        playouts.append(AudioPlayout(track, devices[0]))
        emit("playout_started", error=playouts[-1].error)

    async def reporter(_session: AgentSession, stop: asyncio.Event) -> None:
        while not stop.is_set():
            call = _session.call
            mic = call.peer.media.audio.source if call is not None else None
            if isinstance(mic, LiveMicTrack):
                emit("mic", backlog_ms=mic.backlog_ms, dropped_ms=mic.dropped_ms)
            if playouts:
                buffer = playouts[-1].buffer
                stats = await _session.stats()
                emit(
                    "playout",
                    depth_ms=buffer.depth_ms,
                    target_ms=buffer.target_ms,
                    lead_ms=playouts[-1].lead_ms,
                    sink_underruns=playouts[-1].sink_underruns,
                    **vars(buffer.counters),
                    kbps_in=stats.bitrate_in_kbps if stats else None,
                    **(decoder_counts(stats) if stats else {}),  # none once the call ended
                )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 1.0)

    media = MediaChoice(microphone=args.microphone, **VOICE_ONLY)  # type: ignore[arg-type]
    session = AgentSession(AgentConfig(server_url=args.url, token=args.token, media=media))
    if args.sink:
        session.remote_audio_track.connect(on_audio)
    try:
        await serve_agent(session, stop, reporter)
    finally:
        for playout in playouts:
            await playout.close()


async def main_async(args: argparse.Namespace) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: loop.call_soon_threadsafe(stop.set))
    if args.role == "agent":
        await run_agent(args, stop)
    else:
        media = MediaChoice(microphone=FILE_PREFIX + args.speech, **VOICE_ONLY)  # type: ignore[arg-type]
        await run_visitor(args, media, stop)
    emit("exit")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", required=True)
    parser.add_argument("--role", choices=["agent", "visitor"], required=True)
    parser.add_argument("--token")
    parser.add_argument("--sink", help="agent: PulseAudio sink name to play into (else none)")
    parser.add_argument("--microphone", help="agent: microphone device id (else silence)")
    parser.add_argument("--speech", help="visitor: the file its microphone speaks")
    parser.set_defaults(ice_servers=None)  # no ICE servers: host candidates in the namespaces
    args = parser.parse_args()
    install_logging()
    if args.role == "visitor":
        asyncio.run(main_async(args))
        return
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # no window, only sound
    import qasync
    from PySide6.QtGui import QGuiApplication

    app = QGuiApplication.instance() or QGuiApplication(sys.argv)
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    with loop:
        loop.run_until_complete(main_async(args))


if __name__ == "__main__":
    main()
