"""Audio bench: speech in at one end of a call, speech out of the other end's real playout.

    sudo .venv/bin/python -m bench.audio --runs 3 --loss 0 5 15 burst cut

Per run, espeak-ng speech (48 kHz mono) is spoken into one of three paths, each recorded
from a private PulseAudio null sink's monitor (``parec``, wall-clock timestamps) and scored
by the same code (docs/audio.md says more):

- ``agent-app``: the Python visitor's ``file:`` microphone (softphone.media.file_mic) → the
  agent (bench/audio_peer.py) playing the call through QtMultimedia's QAudioSink;
- ``chromium``, the reference: the widget in Chromium (fake microphone speaking the file)
  → the test agent page in a second Chromium playing into the sink;
- ``agent-mic``: the agent's own microphone (PyAV on ALSA → PulseAudio, the speech played
  into a sink whose monitor is the default source) → the widget in Chromium.

Everything runs in network namespaces (labnet/netns.py); random loss is an nftables rule in
the hub's forward chain (UDP only, so signaling is untouched); ``burst`` drops all media
for 200 ms every 5 s; ``cut`` pulls the visitor's cable for 5 s (agent-app only: audio gap,
stale audio, delay before/after). Root, a running PulseAudio and Chromium are required.

Measured against the original speech:

- ``m2e_p50/p95_ms``: mouth-to-ear latency, from the cross-correlation lag of every voiced
  0.5 s window (mouth = when the microphone spoke the sample, ear = when the sink rendered it)
- ``pesq``: wideband PESQ MOS-LQO (ITU-T P.862.2) and ``stoi`` on the aligned recording
- ``kbps_in``: what the Python agent receives (audio plus a 5 fps black video placeholder);
  for a browser receiver its audio stream (getStats ``bytesReceived`` + headers)
- ``concealed``: the share of the received audio made up for lost or late packets while
  the speech played (the agent: its decoder's concealment, from the call's stats, plus the
  jitter buffer's; a browser: getStats ``concealedSamples``/``totalSamplesReceived``), and
  for the agent the share its decoder rebuilt from FEC

Prints Markdown tables with valid/total runs, the gap to Chromium and the targets (issue:
≤ 150 ms p50, ≤ 30 ms behind Chromium, PESQ within 0.2 of it at 0 and 5 % loss).
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import functools
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import wave
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from pesq import pesq
from pystoi import stoi
from scipy import signal

from labnet.browsers import chromium
from labnet.browsers import netns_call as nc
from labnet.netns import (
    AGENT_TOKEN,
    JsonLines,
    Topology,
    can_create_namespaces,
    signaling_url,
    start_signaling,
    stop_process,
    sweep_stale,
)
from labnet.pulse import RATE, TIMEOUT_S, NullSink, Recorder

RUNNER = "bench.audio_peer"
WIDGET, AGENT_PAGE = "[data-softphone-widget]", "[data-softphone-agent]"  # pages' Call holders
SENTENCES = (
    "The quick brown fox jumps over the lazy dog.",
    "Please hold the line while I check your order number.",
    "Your parcel left our warehouse on Tuesday morning.",
    "Is there anything else I can help you with today?",
)
WINDOW_S = 0.5
UTTERANCE_SEARCH_S = 0.5
MAX_LATENCY_S = 1.5  # lags searched; a slower path is reported as not measured
TARGET_M2E_MS = 150


# --- speech and recording ------------------------------------------------------------------


def make_speech(directory: Path, times: int = 1) -> Path:
    """espeak-ng sentences with 0.4 s pauses, said ``times`` times, as a 48 kHz mono WAV."""
    parts = []
    for index, sentence in enumerate(SENTENCES):
        raw = directory / f"s{index}.wav"
        subprocess.run(["espeak-ng", "-s", "150", "-w", str(raw), sentence], check=True)
        parts.append(str(raw))
    out = directory / f"speech{times}.wav"
    subprocess.run(
        ["sox", *parts, "-r", str(RATE), "-c", "1", "-b", "16", str(out), "pad", "0.3", "0.4",
         "repeat", str(times - 1)],
        check=True,
    )  # fmt: skip
    return out


def read_wav(path: Path) -> np.ndarray:
    """A 48 kHz mono s16 WAV (what make_speech writes) as floats in [-1, 1)."""
    with wave.open(str(path)) as wav:
        assert (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) == (RATE, 1, 2)
        pcm = wav.readframes(wav.getnframes())
    return np.frombuffer(pcm, dtype=np.int16).astype(np.float64) / 32768


# --- analysis ------------------------------------------------------------------------------


@dataclass
class RunResult:
    latencies_ms: list[float] = field(default_factory=list)
    heard: list[tuple[float, float]] = field(default_factory=list)  # (spoken at s, m2e ms)
    cut: dict[str, float | None] = field(default_factory=dict)  # the cut scenario's figures
    pesq: float | None = None
    stoi: float | None = None
    kbps_in: float | None = None
    concealed_pct: float | None = None  # of the received audio, while the speech played
    recovered_pct: float | None = None  # rebuilt from FEC (the agent's decoder only)
    # The agent's last playout report (agent-app) or its microphone's backlog (agent-mic).
    playout: dict[str, float] = field(default_factory=dict)
    error: str | None = None

    @property
    def valid(self) -> bool:
        return self.error is None and bool(self.latencies_ms)


def best_lag(needle: np.ndarray, haystack: np.ndarray) -> tuple[int, float]:
    """Where ``needle`` sits in ``haystack`` and the normalised correlation there."""
    if len(haystack) < len(needle):
        return 0, 0.0
    corr = signal.correlate(haystack, needle, mode="valid", method="fft")
    cumulative = np.concatenate(([0.0], np.cumsum(haystack**2)))
    sliding = cumulative[len(needle) :] - cumulative[: -len(needle)]
    energy = np.sqrt(np.maximum(sliding, 0) * np.sum(needle**2))
    score = corr / np.maximum(energy, 1e-12)
    lag = int(np.argmax(score))
    return lag, float(score[lag])


def analyse(
    speech: np.ndarray,
    mouth_t: float,
    rec: np.ndarray,
    rec_t0: float,
    max_latency_s: float = MAX_LATENCY_S,
) -> RunResult:
    """Per-window latency, then PESQ/STOI on the recording, aligned utterance by utterance."""
    result = RunResult()
    window = int(WINDOW_S * RATE)
    search = int(max_latency_s * RATE)
    start_offset = round((mouth_t - rec_t0) * RATE)  # speech sample 0 at zero latency
    offsets = []
    for begin in range(0, len(speech) - window, window):
        needle = speech[begin : begin + window]
        if np.sqrt(np.mean(needle**2)) < 0.01:
            continue  # a pause: nothing to correlate
        lo = max(0, start_offset + begin)
        lag, score = best_lag(needle, rec[lo : lo + search + window])
        if score < 0.5:
            continue  # lost or unrecognisable here
        offsets.append(lo + lag - begin)
        result.latencies_ms.append((lo + lag - start_offset - begin) / RATE * 1000)
        result.heard.append((begin / RATE, result.latencies_ms[-1]))
    if not offsets:
        result.error = "speech not found in the recording"
        return result
    degraded = aligned_utterances(speech, rec, int(statistics.median(offsets)))
    ref16 = signal.resample_poly(speech, 1, 3)
    deg16 = signal.resample_poly(degraded, 1, 3)
    try:
        result.pesq = float(pesq(16_000, ref16, deg16, "wb"))
    except ValueError as exc:  # e.g. no utterance found: the run is reported, not fatal
        result.error = f"PESQ: {exc}"
    result.stoi = float(stoi(ref16, deg16, 16_000, extended=False))
    return result


def utterances(speech: np.ndarray, pause_s: float = 0.2) -> list[tuple[int, int]]:
    """Voiced stretches of the original, split at pauses of at least ``pause_s``."""
    frame = RATE // 50
    spans: list[tuple[int, int]] = []
    start: int | None = None
    end = quiet = 0
    for begin in range(0, len(speech), frame):
        if np.max(np.abs(speech[begin : begin + frame])) > 0.003:
            start = begin if start is None else start
            end, quiet = begin + frame, 0
        elif start is not None:
            quiet += frame
            if quiet >= pause_s * RATE:
                spans.append((start, end))
                start = None
    if start is not None:
        spans.append((start, end))
    return spans


def aligned_utterances(speech: np.ndarray, rec: np.ndarray, align: int) -> np.ndarray:
    """The recording cut to the original's timeline, each utterance at its own delay.

    The playout may change its delay in a pause (that is its job: drop or insert silence);
    that is not a degradation, so, as PESQ does internally, every utterance is aligned on
    its own (within ±UTTERANCE_SEARCH_S of the median delay) before PESQ and STOI compare.
    """
    degraded = np.zeros_like(speech)
    margin = int(UTTERANCE_SEARCH_S * RATE)
    for a, b in utterances(speech):
        lo = max(0, align + a - margin)
        lag, _score = best_lag(speech[a:b], rec[lo : lo + (b - a) + 2 * margin])
        piece = rec[lo + lag : lo + lag + (b - a)]
        degraded[a : a + len(piece)] = piece
    return degraded


# --- network conditions ----------------------------------------------------------------


LOSS_TABLE = ("inet", "spnloss")
BURST_EVERY_S, BURST_S = 5.0, 0.2  # the "200 ms burst outage every 5 s"


def add_loss_chain(topo: Topology) -> None:
    """A chain on the hub's forwarded traffic, for loss rules (signaling is TCP: untouched)."""
    topo.ns_run(topo.hub, "nft", "add", "table", *LOSS_TABLE)
    topo.ns_run(
        topo.hub, "nft", "add", "chain", *LOSS_TABLE, "lossy",
        "{ type filter hook forward priority 0 ; }",
    )  # fmt: skip


def add_loss(topo: Topology, percent: int) -> None:
    """Random loss of forwarded UDP (media) in the hub, both directions."""
    add_loss_chain(topo)
    topo.ns_run(
        topo.hub, "nft", "add", "rule", *LOSS_TABLE, "lossy",
        "meta", "l4proto", "udp", "numgen", "random", "mod", "100", "lt", str(percent), "drop",
    )  # fmt: skip


@contextlib.contextmanager
def burst_outages(topo: Topology) -> Iterator[None]:
    """All media dropped for BURST_S every BURST_EVERY_S, until the block ends."""
    add_loss_chain(topo)
    stop = threading.Event()

    def run() -> None:
        while not stop.wait(BURST_EVERY_S - BURST_S):
            topo.ns_run(topo.hub, "nft", "add", "rule", *LOSS_TABLE, "lossy",
                        "meta", "l4proto", "udp", "drop")  # fmt: skip
            time.sleep(BURST_S)
            topo.ns_run(topo.hub, "nft", "flush", "chain", *LOSS_TABLE, "lossy")

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=BURST_EVERY_S)


CUT = "cut"  # the visitor's cable pulled for CUT_S, CUT_AT_S into the speech
CUT_AT_S, CUT_S = 4.0, 5.0
CUT_MAX_LATENCY_S = 8.0  # stale audio replayed after the cut must still be found
SETTLED_S = 3.0  # "delay after": windows from this long after audio came back


def cut_and_restore(topo: Topology, spoken_at: float) -> tuple[float, float]:
    """Pull the visitor's cable CUT_AT_S into the speech, put it back CUT_S later: the call
    recovers with an ICE restart. Returns when (wall clock) it was cut and restored."""
    time.sleep(max(0.0, spoken_at + CUT_AT_S - time.time()))
    cut_at = topo.cut(topo.visitor)
    time.sleep(CUT_S)
    return cut_at, topo.restore(topo.visitor)


def cut_figures(
    heard: list[tuple[float, float]], mouth_t: float, cut_at: float, restored_at: float
) -> dict[str, float | None]:
    """The gap, stale audio and delay around a cut, from the windows heard (spoken offset s,
    m2e ms). Stale: heard after the restore but all spoken before it (buffered old speech)."""
    spoken = [(mouth_t + offset, ms) for offset, ms in heard]
    before = [(t, ms) for t, ms in spoken if t + WINDOW_S <= cut_at]
    after = [(t, ms) for t, ms in spoken if t >= restored_at]
    stale = [(t, ms) for t, ms in spoken if t + WINDOW_S <= restored_at <= t + ms / 1000]
    if not before or not after:
        return {"back_s": None}
    last_ear = max(t + WINDOW_S + ms / 1000 for t, ms in before)
    first_back = min(after)
    back_ear = first_back[0] + first_back[1] / 1000
    settled = [ms for t, ms in after if t >= first_back[0] + SETTLED_S]
    return {
        "gap_s": back_ear - last_ear,
        "back_s": back_ear - restored_at,
        "stale_s": len(stale) * WINDOW_S,
        "before_ms": statistics.median(ms for _t, ms in before),
        "after_ms": statistics.median(settled) if settled else None,
    }


def network(topo: Topology, condition: str) -> contextlib.AbstractContextManager[None]:
    """Random loss from now on (nothing to undo: the topology goes), or burst outages while
    the returned block runs (the call is set up on a clean network); a cut is timed by the
    caller."""
    if condition == "burst":
        return burst_outages(topo)
    if condition != CUT and int(condition):
        add_loss(topo, int(condition))
    return contextlib.nullcontext()


# --- the paths measured --------------------------------------------------------------------


def pcm_floats(pcm: bytes) -> np.ndarray:
    return np.frombuffer(pcm, dtype=np.int16).astype(np.float64) / 32768


def spoken_at(speech: np.ndarray, mouth: np.ndarray, mouth_t0: float) -> float:
    """When speech sample 0 was spoken, from a timed recording of the "mouth" (the first
    complete rendition of the speech in it)."""
    lag, score = best_lag(speech, mouth)
    if score < 0.5:
        raise AssertionError(f"speech not found at the mouth (correlation {score:.2f})")
    return mouth_t0 + lag / RATE


def peer_runner(tree: Path, nice: int) -> tuple[list[str], dict[str, str]]:
    """The audio peer's command line and environment, importing Softphone from ``tree``
    (A/B runs of two checkouts) at ``nice`` (negative: a foreground desktop app)."""
    # -P: the working directory (this checkout) must not shadow the tree under test.
    argv = ["nice", "-n", str(nice), sys.executable, "-P", "-u", "-m", RUNNER]
    return argv, {"PYTHONPATH": str(tree.resolve())}


def run_agent_app(
    speech_path: Path, speech: np.ndarray, condition: str, tree: Path, nice: int = 0
) -> RunResult:
    """The Python visitor speaks; the agent app's real playout path plays into a sink."""
    runner, env = peer_runner(tree, nice)
    duration = len(speech) / RATE
    with NullSink() as sink, Topology() as topo:
        start_signaling(topo)
        outages = network(topo, condition)
        agent = topo.spawn(
            topo.agent.ns, "agent", [*runner, "--url", signaling_url(topo.agent),
            "--role", "agent", "--token", AGENT_TOKEN, "--sink", sink.name], env,
        )  # fmt: skip
        agent.expect(lambda e: e.get("ev") == "signed_in", 30, "agent sign-in")
        recorder = Recorder(sink.name)
        recorder.wait_ready()
        visitor: JsonLines | None = None
        try:
            visitor = topo.spawn(
                topo.visitor.ns, "visitor", [*runner, "--url", signaling_url(topo.visitor),
                "--role", "visitor", "--speech", str(speech_path)], env,
            )  # fmt: skip
            started = visitor.expect(
                lambda e: e.get("msg") == "media.file_mic_started", 30, "microphone start"
            )
            playing = agent.expect(lambda e: e.get("ev") == "playout_started", 30, "playout")
            if playing.get("error"):
                return RunResult(error=str(playing["error"]))
            mouth_t = float(started["at"])
            max_latency = CUT_MAX_LATENCY_S if condition == CUT else MAX_LATENCY_S
            with outages:
                cut = cut_and_restore(topo, mouth_t) if condition == CUT else None
                time.sleep(max(0.0, mouth_t + duration + max_latency - time.time()))
        finally:
            pcm, rec_t0 = recorder.stop()
            if visitor is not None:
                stop_process(visitor.proc)
        result = analyse(speech, mouth_t, pcm_floats(pcm), rec_t0, max_latency)
        if cut is not None:
            result.cut = cut_figures(result.heard, mouth_t, *cut)
        reports = [e for e in agent.snapshot() if e.get("ev") == "playout"]
        result.playout = reports[-1] if reports else {}
        rates = [e["kbps_in"] for e in reports]
        rates = [r for r in rates if r]
        result.kbps_in = statistics.median(rates) if rates else None
        counted = [e for e in reports if "decoded_ms" in e]  # while the call had stats
        if counted:  # from the last report before the speech (or the first) to the end
            before = [e for e in counted if e["t"] <= mouth_t]
            agent_concealment(result, before[-1] if before else counted[0], counted[-1])
        return result


def agent_concealment(result: RunResult, first: dict[str, float], last: dict[str, float]) -> None:
    """The concealed and FEC-rebuilt shares between two of the agent's playout reports (the
    call's stats: decoder output; the jitter buffer's own concealment on top)."""

    def delta(key: str) -> float:
        return float(last.get(key, 0)) - float(first.get(key, 0))

    total = delta("decoded_ms") + delta("concealed_ms")
    if total > 0:
        result.concealed_pct = 100 * (delta("decoder_concealed_ms") + delta("concealed_ms")) / total
        result.recovered_pct = 100 * delta("recovered_ms") / total


def browser_received(
    result: RunResult, first: dict[str, float] | None, last: dict[str, float] | None
) -> None:
    """Bitrate and concealed share of a browser's received audio between two
    chromium.READ_AUDIO_RECEIVED samples."""
    if not first or not last or last["t"] <= first["t"]:
        return
    result.kbps_in = (last["bytes"] - first["bytes"]) * 8 / (last["t"] - first["t"])  # bits/ms
    samples = last["samples"] - first["samples"]
    if samples > 0:
        result.concealed_pct = 100 * (last["concealed"] - first["concealed"]) / samples
    emitted = last["jbEmitted"] - first["jbEmitted"]
    if emitted > 0:  # the receiver's own buffering (NetEq): where a browser spends its delay
        result.playout["jitter_buffer_ms"] = 1000 * (last["jbDelay"] - first["jbDelay"]) / emitted
    result.playout["arrival_jitter_ms"] = 1000 * last["jitter"]  # RFC 3550, at the end


def audio_received(page: nc.SyncPage, selector: str) -> dict[str, float] | None:
    """chromium.READ_AUDIO_RECEIVED, once the first audio arrived (a few tries)."""
    for _ in range(20):
        if stats := page.evaluate(chromium.READ_AUDIO_RECEIVED, selector):
            return dict(stats)
        time.sleep(0.1)
    return None


def run_chromium(speech_path: Path, speech: np.ndarray, condition: str, nice: int = 0) -> RunResult:
    """The reference: the widget in Chromium (fake microphone speaking the file, in a loop)
    calls the test agent page in a second Chromium, which plays the call into a sink.

    The mouth is a tap on the visitor's microphone track (chromium.START_MOUTH_TAP); the
    tap runs for two loops of the speech, so one whole rendition falls inside it."""
    from playwright.sync_api import sync_playwright

    duration = len(speech) / RATE
    with NullSink() as sink, Topology() as topo, sync_playwright() as pw:
        nc.start_server(topo)
        outages = network(topo, condition)
        speakers = chromium.Sound(sink=sink.name)
        with nc.browser_page(
            pw, topo.agent.ns, nc.origin(topo.agent), sound=speakers, nice=nice
        ) as agent:
            nc.open_agent_page(agent, topo.agent)
            recorder = Recorder(sink.name)
            try:
                recorder.wait_ready()
                microphone = chromium.Sound(speech=speech_path)
                with nc.browser_page(
                    pw, topo.visitor.ns, nc.origin(topo.visitor), sound=microphone, nice=nice
                ) as visitor:
                    nc.call_from_widget(visitor, topo.visitor)
                    visitor.evaluate(chromium.START_MOUTH_TAP, ".softphone-widget")
                    first = audio_received(agent, AGENT_PAGE)
                    with outages:
                        time.sleep(2 * duration + MAX_LATENCY_S)
                    tap = visitor.evaluate(chromium.READ_MOUTH_TAP)
                    last = audio_received(agent, AGENT_PAGE)
            finally:
                pcm, rec_t0 = recorder.stop()
    mouth = pcm_floats(base64.b64decode(tap["pcm"]))
    if int(tap["rate"]) != RATE:
        mouth = signal.resample_poly(mouth, RATE, int(tap["rate"]))
    mouth_t = spoken_at(speech, mouth, float(tap["t0"]) / 1000)
    result = analyse(speech, mouth_t, pcm_floats(pcm), rec_t0)
    browser_received(result, first, last)
    return result


def run_agent_mic(
    speech_path: Path, speech: np.ndarray, condition: str, tree: Path, nice: int = 0
) -> RunResult:
    """The other direction: the agent app captures its microphone with PyAV on ALSA (the
    pulse plugin, default source = a null sink's monitor, into which the speech is played
    and recorded as the mouth); the visitor is the widget in Chromium, playing into a sink."""
    from playwright.sync_api import sync_playwright

    runner, env = peer_runner(tree, nice)
    duration = len(speech) / RATE
    with (
        NullSink() as mouth_sink,
        NullSink() as ear_sink,
        Topology() as topo,
        sync_playwright() as pw,
    ):
        nc.start_server(topo)
        outages = network(topo, condition)
        agent = topo.spawn(
            topo.agent.ns, "agent", [*runner, "--url", signaling_url(topo.agent),
            "--role", "agent", "--token", AGENT_TOKEN, "--microphone", "default"],
            {**env, "PULSE_SOURCE": f"{mouth_sink.name}.monitor"},
        )  # fmt: skip
        agent.expect(lambda e: e.get("ev") == "signed_in", 30, "agent sign-in")
        ear = Recorder(ear_sink.name)
        mouth = Recorder(mouth_sink.name)
        try:
            ear.wait_ready()
            mouth.wait_ready()
            speakers = chromium.Sound(sink=ear_sink.name)
            with nc.browser_page(
                pw, topo.visitor.ns, nc.origin(topo.visitor), sound=speakers, nice=nice
            ) as visitor:
                nc.call_from_widget(visitor, topo.visitor)
                time.sleep(1.0)  # the call's first second: ICE, DTLS, the sink opening
                first = audio_received(visitor, WIDGET)
                with outages:
                    subprocess.run(
                        ["paplay", "-d", mouth_sink.name, str(speech_path)],
                        check=True, timeout=duration + TIMEOUT_S,
                    )  # fmt: skip
                    time.sleep(MAX_LATENCY_S)
                last = audio_received(visitor, WIDGET)
        finally:
            ear_pcm, ear_t0 = ear.stop()
            mouth_pcm, mouth_t0 = mouth.stop()
    mouth_t = spoken_at(speech, pcm_floats(mouth_pcm), mouth_t0)
    result = analyse(speech, mouth_t, pcm_floats(ear_pcm), ear_t0)
    browser_received(result, first, last)
    mic = [e for e in agent.snapshot() if e.get("ev") == "mic" and e["t"] >= mouth_t]
    if mic:  # the agent's microphone backlog while it spoke (median), what it dropped before
        result.playout |= {  # (the call's setup) and while it spoke
            "mic_backlog_ms": statistics.median(e["backlog_ms"] for e in mic),
            "mic_dropped_ms": mic[0]["dropped_ms"],
            "mic_dropped_speaking_ms": mic[-1]["dropped_ms"] - mic[0]["dropped_ms"],
        }
    return result


# --- table ---------------------------------------------------------------------------------


AGENT_APP, CHROMIUM, AGENT_MIC = "agent-app", "chromium", "agent-mic"
PATHS = {
    AGENT_APP: "Python visitor → agent app",
    CHROMIUM: "Chromium → Chromium (reference)",
    AGENT_MIC: "agent app mic → Chromium visitor",
}
TARGET_BEHIND_MS, TARGET_PESQ_GAP = 30, 0.2  # the issue: vs Chromium↔Chromium
PESQ_TARGET_CONDITIONS = ("0", "5")
CONDITIONS = {"0": "clean", "burst": f"{BURST_S * 1000:.0f} ms outage / {BURST_EVERY_S:.0f} s"}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def med(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def fmt(value: float | None, digits: int = 0, sign: str = "") -> str:
    return "-" if value is None else f"{value:{sign}.{digits}f}"


@dataclass
class Row:
    """One path under one condition, over its runs."""

    results: list[RunResult]

    @property
    def valid(self) -> list[RunResult]:
        return [r for r in self.results if r.valid]

    @property
    def latencies(self) -> list[float]:
        return [ms for r in self.valid for ms in r.latencies_ms]

    def p50(self) -> float | None:
        return percentile(self.latencies, 0.5) if self.latencies else None

    def pesq(self) -> float | None:
        return med([r.pesq for r in self.valid if r.pesq is not None])


def target(path: str, condition: str, ref: Row | None, row: Row) -> tuple[str, str]:
    """The target column and, for the agent app (either direction), its gap to Chromium."""
    if path == CHROMIUM:
        return "reference", ""
    wanted = f"p50 ≤ {TARGET_M2E_MS} ms, ≤ ref + {TARGET_BEHIND_MS} ms"
    if condition in PESQ_TARGET_CONDITIONS:
        wanted += f"; PESQ ≥ ref - {TARGET_PESQ_GAP}"
    if ref is None:
        return wanted, ""
    p50, ref_p50, pesq_, ref_pesq = row.p50(), ref.p50(), row.pesq(), ref.pesq()
    behind = p50 - ref_p50 if p50 is not None and ref_p50 is not None else None
    gap = pesq_ - ref_pesq if pesq_ is not None and ref_pesq is not None else None
    return wanted, f"{fmt(behind, 0, '+')} ms, PESQ {fmt(gap, 2, '+')}"


def concealment(row: Row) -> str:
    """Median concealed share of the runs, with the FEC-rebuilt share where it is known."""
    concealed = med([r.concealed_pct for r in row.valid if r.concealed_pct is not None])
    recovered = med([r.recovered_pct for r in row.valid if r.recovered_pct is not None])
    fec = f" ({fmt(recovered, 1)})" if recovered is not None else ""
    return fmt(concealed, 1) + fec


def print_table(heading: str, rows: dict[tuple[str, str], Row]) -> None:
    """``rows``: (path label, condition) → runs; the agent app is compared with the
    Chromium row of the same condition."""
    print(f"\n{heading}\n")
    print("| path | condition | valid/total | m2e p50 ms | m2e p95 ms | PESQ-WB | STOI "
          "| concealed % (FEC %) | kbit/s in | vs Chromium | target |")  # fmt: skip
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for (label, condition), row in rows.items():
        path = next(p for p, name in PATHS.items() if label.startswith(name))
        ref = rows.get((PATHS[CHROMIUM], condition))  # the one reference, for both directions
        wanted, versus = target(path, condition, ref, row)
        lat = row.latencies
        print(
            f"| {label} | {CONDITIONS.get(condition, condition + ' % loss')} "
            f"| {len(row.valid)}/{len(row.results)} "
            f"| {fmt(row.p50())} | {fmt(percentile(lat, 0.95) if lat else None)} "
            f"| {fmt(row.pesq(), 2)} "
            f"| {fmt(med([r.stoi for r in row.valid if r.stoi is not None]), 2)} "
            f"| {concealment(row)} "
            f"| {fmt(med([r.kbps_in for r in row.valid if r.kbps_in is not None]), 0)} "
            f"| {versus} | {wanted} |"
        )
    for (label, condition), row in rows.items():
        for r in row.results:
            if r.error:
                print(f"{label}, {condition}: invalid run: {r.error}", file=sys.stderr)


def condition_name(text: str) -> str:
    if text in ("burst", CUT) or (text.isdigit() and int(text) <= 100):
        return text
    raise argparse.ArgumentTypeError(f"{text!r}: a loss percentage, 'burst' or 'cut'")


def print_cut_table(rows: dict[tuple[str, str], Row]) -> None:
    """The cut scenario: medians over the valid runs."""
    print(f"\n{CUT_S:.0f} s link cut + ICE restart, {CUT_AT_S:.0f} s into the speech\n")
    print("| path | valid/total | audio gap s | back after restore s | stale audio s "
          "| m2e before ms | m2e after ms | target |")  # fmt: skip
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for (label, _condition), row in rows.items():
        figures = [r.cut for r in row.valid if r.cut.get("back_s") is not None]

        def median_of(key: str, figures: list[dict[str, float | None]] = figures) -> float | None:
            return med([v for f in figures if (v := f.get(key)) is not None])

        print(
            f"| {label} | {len(figures)}/{len(row.results)} | {fmt(median_of('gap_s'), 1)} "
            f"| {fmt(median_of('back_s'), 1)} | {fmt(median_of('stale_s'), 1)} "
            f"| {fmt(median_of('before_ms'))} | {fmt(median_of('after_ms'))} "
            f"| no stale audio; after ≈ before |"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--loss",
        type=condition_name,
        nargs="+",
        default=["0", "5", "15", "burst", CUT],
        help="random loss in percent, 'burst' (200 ms outage every 5 s) or 'cut' (a 5 s "
        "link cut and ICE restart; the agent app only)",
    )
    parser.add_argument(
        "--paths", nargs="+", choices=list(PATHS), default=list(PATHS), help="what to measure"
    )
    parser.add_argument(
        "--tree",
        action="append",
        metavar="LABEL=DIR",
        help="a checkout whose agent app to measure (repeatable; runs interleave, so a busy "
        "machine hurts all alike); default: this one",
    )
    parser.add_argument(
        "--nice", type=int, default=0, help="every peer's niceness, browsers too (negative: root)"
    )
    args = parser.parse_args()
    if not can_create_namespaces():
        print("bench.audio needs root (network namespaces)", file=sys.stderr)
        return 2
    here = Path(__file__).resolve().parent.parent
    trees = [tuple(t.split("=", 1)) for t in args.tree or [f"this checkout={here}"]]
    sweep_stale()
    rows: dict[tuple[str, str], Row] = {}
    with tempfile.TemporaryDirectory(prefix="softphone-audio-") as tmp:
        for condition in args.loss:
            # The cut needs speech after the call came back: the sentences twice.
            speech_path = make_speech(Path(tmp), 2 if condition == CUT else 1)
            speech = read_wav(speech_path)
            for run in range(args.runs):
                measures: list[tuple[str, Callable[[], RunResult]]] = []
                for path in args.paths:
                    if condition == CUT and path != AGENT_APP:
                        continue
                    if path == CHROMIUM:
                        measures.append(
                            (
                                PATHS[path],
                                functools.partial(run_chromium, speech_path, speech, condition),
                            )
                        )
                        continue
                    measure = run_agent_app if path == AGENT_APP else run_agent_mic
                    for label, tree in trees:
                        measures.append((
                            f"{PATHS[path]} ({label})" if len(trees) > 1 else PATHS[path],
                            functools.partial(
                                measure, speech_path, speech, condition, Path(tree), args.nice
                            ),
                        ))  # fmt: skip
                for label, measure_once in measures:
                    try:
                        result = measure_once()
                    except (AssertionError, subprocess.SubprocessError, OSError) as exc:
                        result = RunResult(error=str(exc)[:300])
                    rows.setdefault((label, condition), Row([])).results.append(result)
                    print(
                        f"{label}: {condition} run {run + 1}: p50 {fmt(med(result.latencies_ms))}"
                        f" ms, PESQ {fmt(result.pesq, 2)}, STOI {fmt(result.stoi, 2)} "
                        f"concealed {fmt(result.concealed_pct, 1)} % "
                        f"(FEC {fmt(result.recovered_pct, 1)} %), {fmt(result.kbps_in)} kbit/s "
                        f"{result.error or result.cut or result.playout} "
                        f"(load {os.getloadavg()[0]:.1f})",
                        file=sys.stderr,
                        flush=True,
                    )
    if loss_rows := {key: row for key, row in rows.items() if key[1] != CUT}:
        print_table(f"nice {args.nice}, load average {os.getloadavg()[0]:.1f}", loss_rows)
    if cut_rows := {key: row for key, row in rows.items() if key[1] == CUT}:
        print_cut_table(cut_rows)
    return 0


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(main())
