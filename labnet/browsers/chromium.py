"""Headless Chromium for interop tests and the browser benchmark: flags, launch, cleanup.

Debian's ``chromium`` package driven by playwright (never ``playwright install``). Every
launch carries a unique ``--softphone-run=<tag>`` flag (Chromium ignores unknown flags), so
cleanup can find and kill exactly the processes of this run by PID, even when playwright
itself is gone. Inside a network namespace Chromium starts through a tiny wrapper script
(``ip netns exec NS chromium ...``); playwright talks to it over a pipe, so that works.
"""

from __future__ import annotations

import base64
import contextlib
import os
import secrets
import signal
import stat
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
MEDIA_PROBE = Path(__file__).resolve().parent / "media_probe.js"

BASE_FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # Host candidates as real addresses, not mDNS names aiortc cannot resolve.
    "--disable-features=WebRtcHideLocalIpsWithMdns",
    "--allow-loopback-in-peer-connection",
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    "--autoplay-policy=no-user-gesture-required",
)


@dataclass(frozen=True)
class Sound:
    """Real sound for a page (bench/audio.py): the fake microphone's speech, the speakers.

    ``speech``: a WAV the fake microphone speaks in a loop (with the fake camera, which
    ``--use-fake-device-for-media-stream`` keeps). ``sink``: the PulseAudio sink the page
    plays into; Chromium's PulseAudio output opens the default sink, which ``PULSE_SINK``
    names, and playwright's default ``--mute-audio`` must go. Without a sink: muted.
    """

    speech: Path | None = None
    sink: str | None = None

    def flags(self) -> list[str]:
        return [f"--use-file-for-fake-audio-capture={self.speech}"] if self.speech else []

    def env(self) -> dict[str, str] | None:
        return {**os.environ, "PULSE_SINK": self.sink} if self.sink else None

    def ignored_defaults(self) -> list[str]:
        return ["--mute-audio"] if self.sink else []


def available() -> bool:
    try:
        import playwright  # noqa: F401
    except ImportError:
        return False
    return CHROMIUM.exists()


def require() -> None:
    """Skip a browser test without Chromium/playwright; fail if SOFTPHONE_REQUIRE_BROWSER=1."""
    if available():
        return
    import pytest

    why = "needs Debian's chromium (/usr/bin/chromium) and the playwright package"
    if os.environ.get("SOFTPHONE_REQUIRE_BROWSER") == "1":
        pytest.fail(f"SOFTPHONE_REQUIRE_BROWSER=1 but this machine {why}")
    pytest.skip(why)


def flags(tag: str, secure_origins: Sequence[str] = ()) -> list[str]:
    """``secure_origins``: plain-http origins that may call getUserMedia (netns tests)."""
    extra = [f"--softphone-run={tag}"]
    if secure_origins:
        extra.append("--unsafely-treat-insecure-origin-as-secure=" + ",".join(secure_origins))
    return [*BASE_FLAGS, *extra]


def new_tag() -> str:
    return secrets.token_hex(6)


def pids_of_run(tag: str) -> list[int]:
    """Chromium processes (browser, renderers, helpers) launched with ``tag``."""
    marker = f"--softphone-run={tag}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            if marker in (entry / "cmdline").read_bytes():
                found.append(int(entry.name))
    return found


def kill_run(tag: str) -> None:
    for pid in pids_of_run(tag):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


@contextlib.contextmanager
def executable_in(ns: str | None, nice: int = 0) -> Iterator[str]:
    """The path playwright should start: Chromium itself, or a wrapper entering ``ns`` (at
    ``nice``: a bench gives the browsers the priority it gives the Python peers)."""
    if ns is None and not nice:
        yield str(CHROMIUM)
        return
    enter = f"ip netns exec {ns} " if ns else ""
    fd, path = tempfile.mkstemp(prefix="chromium-netns-", suffix=".sh")
    with os.fdopen(fd, "w") as fh:
        fh.write(f'#!/bin/sh\nexec nice -n {nice} {enter}{CHROMIUM} "$@"\n')
    os.chmod(path, stat.S_IRWXU)
    try:
        yield path
    finally:
        os.unlink(path)


# JS run in the page: the remote <video>'s current picture as a luma plane (base64), so the
# test can read the agent's test-pattern stamp with softphone.media.pattern.read_stamp.
GRAB_REMOTE_LUMA = """() => {
  const video = document.querySelector('.sp-remote');
  if (!video || !video.videoWidth) return null;
  const w = video.videoWidth, h = video.videoHeight;
  const canvas = document.createElement('canvas');
  canvas.width = w; canvas.height = h;
  const ctx = canvas.getContext('2d', {willReadFrequently: true});
  ctx.drawImage(video, 0, 0, w, h);
  const rgba = ctx.getImageData(0, 0, w, h).data;
  const luma = new Uint8Array(w * h);
  for (let i = 0; i < w * h; i++) {
    luma[i] = (rgba[4*i] * 77 + rgba[4*i+1] * 150 + rgba[4*i+2] * 29) >> 8;
  }
  let bin = '';
  for (let i = 0; i < luma.length; i += 8192) {
    bin += String.fromCharCode.apply(null, luma.subarray(i, i + 8192));
  }
  return {w: w, h: h, luma: btoa(bin)};
}"""


def decode_luma(grab: dict[str, object]) -> tuple[bytes, int, int]:
    return base64.b64decode(str(grab["luma"])), int(str(grab["w"])), int(str(grab["h"]))


# JS run in the page (arg: a selector of an element whose ``softphone.stream`` is the local
# camera+microphone stream, e.g. the widget): taps the microphone track as the sender gets
# it (after Chromium's audio processing), so the audio bench knows when the fake microphone
# "spoke" each sample. Chunks are placed by their capture timestamps (a dropped chunk leaves
# a hole, not a shift); ``t0`` is the earliest wall-clock bound of sample 0.
START_MOUTH_TAP = """(selector) => {
  const [track] = document.querySelector(selector).softphone.stream.getAudioTracks();
  const reader = new MediaStreamTrackProcessor({ track: track }).readable.getReader();
  const tap = { chunks: [], rate: 0, first: null, t0: Infinity, stop: false };
  window.__mouthTap = tap;
  (async () => {
    while (!tap.stop) {
      const { value, done } = await reader.read();
      if (done) break;
      const now = performance.timeOrigin + performance.now();
      if (tap.first === null) tap.first = value.timestamp;
      tap.rate = value.sampleRate;
      const pos = Math.round(((value.timestamp - tap.first) * tap.rate) / 1e6);
      const pcm = new Float32Array(value.numberOfFrames);
      value.copyTo(pcm, { planeIndex: 0, format: "f32-planar" });
      value.close();
      tap.chunks.push([pos, pcm]);
      tap.t0 = Math.min(tap.t0, now - ((pos + pcm.length) / tap.rate) * 1000);
    }
    reader.cancel();
  })();
}"""

# Stops the tap: {rate, t0 (wall-clock ms of sample 0), pcm (base64 s16le mono)}.
READ_MOUTH_TAP = """() => {
  const tap = window.__mouthTap;
  tap.stop = true;
  const last = tap.chunks[tap.chunks.length - 1];
  const pcm = new Int16Array(last ? last[0] + last[1].length : 0);
  for (const [pos, chunk] of tap.chunks) {
    for (let i = 0; i < chunk.length; i++) {
      pcm[pos + i] = Math.max(-32768, Math.min(32767, Math.round(chunk[i] * 32768)));
    }
  }
  const bytes = new Uint8Array(pcm.buffer);
  let bin = '';
  for (let i = 0; i < bytes.length; i += 8192) {
    bin += String.fromCharCode.apply(null, bytes.subarray(i, i + 8192));
  }
  return { rate: tap.rate, t0: tap.t0, pcm: btoa(bin) };
}"""

# JS run in the page (arg: a selector of an element whose ``softphone.call`` is the widget's
# Call, e.g. ``[data-softphone-widget]`` or the test agent page's ``[data-softphone-agent]``):
# the received audio stream's getStats() counters, for the audio bench's concealed ratio,
# bitrate and jitter-buffer delay, or null before the call has one.
READ_AUDIO_RECEIVED = """async (selector) => {
  const call = document.querySelector(selector).softphone.call;
  if (!call) return null;
  const audio = (await call.transportStats()).inbound.audio;
  if (!audio) return null;
  return { t: audio.timestamp, bytes: audio.bytesReceived + (audio.headerBytesReceived || 0),
           samples: audio.totalSamplesReceived, concealed: audio.concealedSamples,
           jbDelay: audio.jitterBufferDelay, jbEmitted: audio.jitterBufferEmittedCount,
           jitter: audio.jitter };
}"""
