"""PulseAudio for benches and tests: a private null sink and a timestamped recording of it.

Standard library only, so the audio bench and the real-device test share it. A null sink is
a sound card that plays into nothing at the real rate; its monitor is what it "played".
"""

from __future__ import annotations

import secrets
import shutil
import subprocess
import threading
import time
from types import TracebackType

RATE = 48_000
TIMEOUT_S = 10.0


def pulse_running() -> bool:
    if shutil.which("pactl") is None:
        return False
    probe = subprocess.run(["pactl", "info"], capture_output=True, timeout=TIMEOUT_S, check=False)
    return probe.returncode == 0


class NullSink:
    """A private 48 kHz mono null sink (other processes' sounds stay out), unloaded on exit."""

    def __init__(self) -> None:
        self.name = f"spnaudio{secrets.token_hex(3)}"
        self._module: str | None = None

    def __enter__(self) -> NullSink:
        self._module = subprocess.run(
            ["pactl", "load-module", "module-null-sink", f"sink_name={self.name}",
             f"rate={RATE}", "channels=1", "format=s16le"],
            check=True, capture_output=True, text=True, timeout=TIMEOUT_S,
        ).stdout.strip()  # fmt: skip
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._module:
            subprocess.run(["pactl", "unload-module", self._module], check=False, timeout=TIMEOUT_S)


class Recorder:
    """``parec`` on a sink's monitor; every chunk's arrival time bounds when it was rendered.

    A stream of zeros keeps the null sink running, so the monitor delivers a continuous
    timeline (an idle sink renders nothing, and the recording would have holes).
    """

    def __init__(self, sink: str) -> None:
        self._keepalive = subprocess.Popen(
            ["pacat", "--playback", "-d", sink, "--raw", "--format=s16le", f"--rate={RATE}",
             "--channels=1", "--latency-msec=20", "/dev/zero"],
        )  # fmt: skip
        self._proc = subprocess.Popen(
            ["parec", "-d", f"{sink}.monitor", "--raw", "--format=s16le", f"--rate={RATE}",
             "--channels=1", "--latency-msec=5"],
            stdout=subprocess.PIPE,
        )  # fmt: skip
        self._data = bytearray()
        self._t0 = float("inf")
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        assert self._proc.stdout is not None
        while chunk := self._proc.stdout.read1(4096):
            now = time.time()
            self._data += chunk
            # The newest sample was rendered before now: the earliest bound is the tightest.
            self._t0 = min(self._t0, now - len(self._data) / 2 / RATE)

    def wait_ready(self, timeout: float = TIMEOUT_S) -> None:
        """Until the monitor delivers (parec takes a moment to start)."""
        deadline = time.monotonic() + timeout
        while not self._data and time.monotonic() < deadline:
            time.sleep(0.05)
        if not self._data:
            raise AssertionError(f"parec delivered nothing within {timeout} s")

    def stop(self) -> tuple[bytes, float]:
        """The recording (s16le mono) and the wall-clock time of its first sample."""
        for proc in (self._proc, self._keepalive):
            proc.terminate()
            proc.wait(timeout=TIMEOUT_S)
        self._thread.join(timeout=TIMEOUT_S)
        return bytes(self._data[: len(self._data) - len(self._data) % 2]), self._t0
