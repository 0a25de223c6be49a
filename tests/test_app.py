"""The real entry point in a subprocess: starts, shows the window, exits 0 on signals."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from softphone import __version__


def _start(tmp_path: Path, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_CONFIG_HOME": str(tmp_path)}
    return subprocess.Popen(
        [sys.executable, "-m", "softphone", "--log-dir", str(tmp_path / "logs"), *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for_log(path: Path, needle: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and needle in path.read_text():
            return
        time.sleep(0.1)
    raise AssertionError(f"{needle!r} not logged within {timeout}s")


def test_version_flag() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "softphone", "--version"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0
    assert result.stdout.strip() == f"softphone {__version__}"


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_signal_exits_zero_after_clean_shutdown(tmp_path: Path, signum: signal.Signals) -> None:
    proc = _start(tmp_path)
    log_file = tmp_path / "logs" / "softphone.log"
    try:
        _wait_for_log(log_file, "app.ready")
        proc.send_signal(signum)
        proc.wait(timeout=20)
    finally:
        proc.kill()
        proc.communicate(timeout=10)
    assert proc.returncode == 0
    assert f"reason='{signum.name}'" in log_file.read_text()


def test_corrupt_config_warns_and_still_starts(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text("[[[ broken")
    proc = _start(tmp_path, "--config", str(config))
    log_file = tmp_path / "logs" / "softphone.log"
    try:
        _wait_for_log(log_file, "app.ready")
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=20)
    finally:
        proc.kill()
    assert proc.returncode == 0
    assert "settings.invalid" in stderr


def test_self_test_flag_runs_a_headless_call(tmp_path: Path) -> None:
    env = {**os.environ, "XDG_CONFIG_HOME": str(tmp_path)}
    env.pop("DISPLAY", None)
    env.pop("QT_QPA_PLATFORM", None)  # headless: no QApplication may be needed
    result = subprocess.run(
        [sys.executable, "-m", "softphone", "--self-test", "--log-dir", str(tmp_path / "logs")],
        capture_output=True,
        text=True,
        timeout=90,
        env=env,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "Softphone self-test: PASSED" in result.stdout


def test_demo_signs_in_and_rings(tmp_path: Path) -> None:
    proc = _start(tmp_path, "--demo")
    log_file = tmp_path / "logs" / "softphone.log"
    try:
        _wait_for_log(log_file, "ui.signed_in")
        _wait_for_log(log_file, "ui.ring_start")
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=20)
    finally:
        proc.kill()
        proc.communicate(timeout=10)
    assert proc.returncode == 0
    assert "agent='Demo agent'" in log_file.read_text()


def test_second_launch_focuses_the_first_and_exits(tmp_path: Path) -> None:
    first = _start(tmp_path)
    log_file = tmp_path / "logs" / "softphone.log"
    try:
        _wait_for_log(log_file, "app.ready")
        second = _start(tmp_path)
        _, _ = second.communicate(timeout=30)
        assert second.returncode == 0
        assert "app.focus_running_instance" in log_file.read_text()
        first.send_signal(signal.SIGTERM)
        first.wait(timeout=20)
    finally:
        first.kill()
        first.communicate(timeout=10)
    assert first.returncode == 0
