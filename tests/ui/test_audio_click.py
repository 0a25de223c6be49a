"""Real devices: a click spoken into the visitor's microphone comes out of the agent's
speaker. Two Softphone peers on loopback (Opus for voice, the voice receive path), the
agent's QAudioSink playout on a private PulseAudio null sink, recorded from its monitor.

The bound is generous (a busy CI box): it proves the path works end to end and that no
stale buffering sits in it; the mouth-to-ear figures come from bench/audio.py."""

from __future__ import annotations

import asyncio
import logging
import wave
from array import array
from pathlib import Path

import pytest
from aiortc import MediaStreamTrack
from PySide6.QtMultimedia import QMediaDevices
from pytestqt.qtbot import QtBot

from labnet.pulse import RATE, NullSink, Recorder
from softphone.media.local import MediaChoice, open_local_media
from softphone.rtc.ice import LOOPBACK
from softphone.rtc.peer import CallPeer
from softphone.ui.audio_playout import AudioPlayout

pytestmark = [pytest.mark.audio, pytest.mark.timeout(60)]

CLICK_AT_S = 1.0  # into the file: the call has settled by then
ARRIVAL_BOUND_S = 1.0  # generous; the target (150 ms p50) is the bench's business
THRESHOLD = 8000


def write_click(path: Path) -> None:
    """Silence, a 5 ms full-scale click at CLICK_AT_S, silence."""
    samples = array("h", bytes(2 * RATE * 3))
    start = int(CLICK_AT_S * RATE)
    for n in range(start, start + RATE // 200):
        samples[n] = 30000 if (n // 24) % 2 else -30000  # a 1 kHz square burst
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(RATE)
        wav.writeframes(samples.tobytes())


class MicStart(logging.Handler):
    """When the file microphone spoke its first sample (wall clock)."""

    def __init__(self) -> None:
        super().__init__()
        self.at: float | None = None

    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage() == "media.file_mic_started":
            self.at = float(record.at)  # type: ignore[attr-defined]


def first_loud(pcm: bytes) -> int | None:
    samples = array("h", pcm)
    return next((i for i, s in enumerate(samples) if abs(s) > THRESHOLD), None)


def test_a_click_at_the_visitor_arrives_at_the_agents_sink(
    qtbot: QtBot, qloop: asyncio.AbstractEventLoop, tmp_path: Path
) -> None:
    click = tmp_path / "click.wav"
    write_click(click)
    mic_start = MicStart()
    mic_log = logging.getLogger("softphone.media.file_mic")
    mic_log.addHandler(mic_start)
    mic_log.setLevel(logging.INFO)
    with NullSink() as sink:
        qtbot.waitUntil(
            lambda: any(bytes(d.id()).decode() == sink.name for d in QMediaDevices.audioOutputs()),
            timeout=5000,
        )
        (device,) = [d for d in QMediaDevices.audioOutputs() if bytes(d.id()).decode() == sink.name]
        recorder = Recorder(sink.name)
        recorder.wait_ready()
        visitor_media = open_local_media(MediaChoice(camera=None, microphone=f"file:{click}"))
        agent_media = open_local_media(MediaChoice(camera=None, microphone=None))
        visitor = CallPeer("click", LOOPBACK, visitor_media, polite=True)
        agent = CallPeer("click", LOOPBACK, agent_media, polite=False)
        playouts: list[AudioPlayout] = []

        def on_track(track: MediaStreamTrack) -> None:
            if track.kind == "audio":
                playouts.append(AudioPlayout(track, device))

        agent.remote_track.connect(on_track)

        async def call() -> None:
            answer = await agent.accept_offer(await visitor.create_offer())
            await visitor.accept_answer(answer)

        try:
            calling = qloop.create_task(call())
            qtbot.waitUntil(calling.done, timeout=20_000)
            calling.result()
            qtbot.waitUntil(lambda: bool(playouts) and mic_start.at is not None, timeout=20_000)
            assert playouts[0].error is None
            qtbot.wait(int((CLICK_AT_S + ARRIVAL_BOUND_S + 0.5) * 1000))
        finally:
            pcm, rec_t0 = recorder.stop()
            mic_log.removeHandler(mic_start)
            mic_log.setLevel(logging.NOTSET)
            closing = qloop.create_task(close_all(playouts, visitor, agent))
            qtbot.waitUntil(closing.done, timeout=10_000)
    assert mic_start.at is not None
    index = first_loud(pcm)
    assert index is not None, "the click never reached the agent's sink"
    delay_s = rec_t0 + index / RATE - (mic_start.at + CLICK_AT_S)
    print(f"click: visitor microphone to agent sink in {delay_s * 1000:.0f} ms")
    assert 0 < delay_s < ARRIVAL_BOUND_S, f"click arrived after {delay_s * 1000:.0f} ms"


async def close_all(playouts: list[AudioPlayout], *peers: CallPeer) -> None:
    for playout in playouts:
        await playout.close()
    for peer in peers:
        await peer.close()
