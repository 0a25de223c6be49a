"""Builds the PyInstaller bundle (~30 s) and runs the frozen app as an agent would."""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import tarfile
import time
from pathlib import Path

import pytest

from labnet.xserver import private_xvfb
from tests.packaging.conftest import ROOT

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]  # the first test waits for the build


@pytest.fixture(scope="module")
def bundle(build_dir: Path) -> Path:
    return build_dir / "dist"


def _frozen_env(tmp_path: Path) -> dict[str, str]:
    return {
        **os.environ,
        "QT_QPA_PLATFORM": "offscreen",
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "XDG_STATE_HOME": str(tmp_path / "state"),
    }


def test_bundle_leaves_out_unused_qt_parts_and_ships_resources(bundle: Path) -> None:
    internal = bundle / "softphone" / "_internal"
    names = {str(p.relative_to(internal)) for p in internal.rglob("*")}
    assert not any("libqgtk3" in n or "ffmpegmediaplugin" in n for n in names)
    assert not any("platforminputcontexts" in n or "libQt6Quick" in n for n in names)
    assert not any(n.startswith(("numpy", "scipy", "libmvec")) for n in names)
    assert "resources/icons/softphone.svg" in names
    assert (bundle / "softphone" / "softphone.desktop").is_file()
    archives = list(bundle.glob("softphone-*-linux-*.tar.gz"))
    assert len(archives) == 1
    with tarfile.open(archives[0]) as tar:
        assert "softphone/softphone" in tar.getnames()


def test_frozen_app_reports_version(bundle: Path, tmp_path: Path) -> None:
    result = subprocess.run(
        [str(bundle / "softphone" / "softphone"), "--version"],
        env=_frozen_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("softphone ")


def test_frozen_app_logs_hands_a_second_start_to_the_running_one_and_quits_cleanly(
    bundle: Path, tmp_path: Path
) -> None:
    proc = subprocess.Popen(
        [str(bundle / "softphone" / "softphone")],
        env=_frozen_env(tmp_path),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    log_file = tmp_path / "state" / "softphone" / "log" / "softphone.log"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if log_file.exists() and "app.ready" in log_file.read_text():
                break
            time.sleep(0.2)
        assert "app.ready" in log_file.read_text()
        # A second start from the menu: the desktop entry's command, found on PATH.
        exec_line = (ROOT / "packaging" / "linux" / "softphone.desktop").read_text()
        command = shlex.split(next(x for x in exec_line.splitlines() if x.startswith("Exec="))[5:])
        env = _frozen_env(tmp_path)
        second = subprocess.run(
            command,
            env={**env, "PATH": f"{bundle / 'softphone'}{os.pathsep}{env['PATH']}"},
            capture_output=True,
            timeout=30,
            check=False,
        )
        assert second.returncode == 0
        assert "app.focus_running_instance" in log_file.read_text()
        assert proc.poll() is None  # the first one keeps running
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        proc.kill()
        proc.wait(timeout=10)


@pytest.mark.xserver
def test_frozen_app_hears_system_wide_keys_on_x11_and_quits_with_them_on(
    bundle: Path, tmp_path: Path
) -> None:
    """pynput picks its X11 backend by name at run time: the frozen app must carry it."""
    config = tmp_path / "config" / "softphone" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text('call_shortcuts = "system"\n')
    log_file = tmp_path / "state" / "softphone" / "log" / "softphone.log"
    with private_xvfb() as display:
        env = {**_frozen_env(tmp_path), "DISPLAY": display, "XDG_SESSION_TYPE": "x11"}
        env.pop("WAYLAND_DISPLAY", None)
        proc = subprocess.Popen(
            [str(bundle / "softphone" / "softphone")],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                if log_file.exists() and "app.ready" in log_file.read_text():
                    break
                time.sleep(0.2)
            text = log_file.read_text()
            assert "ui.global_shortcuts.started" in text, text[-3000:]
            assert "ui.global_shortcuts.unavailable" not in text
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=30) == 0
            assert "ui.global_shortcuts.stopped" in log_file.read_text()
        finally:
            proc.kill()
            proc.wait(timeout=10)


def test_frozen_app_passes_its_self_test(bundle: Path, tmp_path: Path) -> None:
    """The support check of an installed app: a real loopback call inside the frozen binary."""
    result = subprocess.run(
        [str(bundle / "softphone" / "softphone"), "--self-test"],
        env=_frozen_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    assert "Softphone self-test: PASSED" in result.stdout
    assert "video and audio both ways" in result.stdout
