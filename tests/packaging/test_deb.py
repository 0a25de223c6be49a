"""The .deb as an agent's IT department uses it: apt installs it into a clean Debian root
(so `Depends` must be complete), the frozen self-test passes there, an upgrade keeps the
agent's settings and data, and removal leaves nothing behind.

Why debootstrap + chroot and not a container or the build machine: see packaging/README.md.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import pytest

from tests.packaging.conftest import run_build
from tests.packaging.debian_root import debian_root, run_in_root

# The first test also waits for the bundle and both .deb builds (minutes on a busy machine).
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]

AGENT = "1000:1000"
HOME = "/home/agent"
AGENT_ENV = {
    "HOME": HOME,
    "USER": "agent",
    "LOGNAME": "agent",
    "QT_QPA_PLATFORM": "offscreen",
}
SYSTEM_FILES = (
    "/usr/bin/softphone",
    "/usr/share/applications/softphone.desktop",
    "/usr/share/metainfo/io.github.softphone.Softphone.metainfo.xml",
    "/usr/share/icons/hicolor/scalable/apps/softphone.svg",
    "/usr/share/icons/hicolor/48x48/apps/softphone.png",
    "/usr/share/icons/hicolor/256x256/apps/softphone.png",
    "/usr/share/doc/softphone/copyright",
    "/opt/softphone/softphone",
)

# Starts the installed app, waits (at most 30 s) for its window, then asks it to quit.
GUI_START_AND_QUIT = """
softphone & app=$!
log="$HOME/.local/state/softphone/log/softphone.log"
for _ in $(seq 150); do grep -q app.ready "$log" 2>/dev/null && break; sleep 0.2; done
grep -q app.ready "$log" || { kill -9 $app; echo "no app.ready"; exit 1; }
kill -TERM $app; wait $app
"""


@pytest.fixture(scope="module")
def debs(build_dir: Path) -> tuple[Path, Path]:
    """Revision 1 and 2 of the same version: the second is the upgrade. zstd keeps the two
    builds to seconds (the release default, xz, takes minutes for the same content)."""
    built = []
    for revision in ("1", "2"):
        run_build("build_deb.sh", build_dir, DEB_REVISION=revision, DEB_COMPRESSION="zstd")
        built.append(next((build_dir / "dist").glob(f"softphone_*-{revision}_*.deb")))
    return built[0], built[1]


def _deb_field(deb: Path, field: str) -> str:
    return subprocess.run(
        ["dpkg-deb", "--field", str(deb), field], capture_output=True, text=True, check=True
    ).stdout.strip()


def test_deb_declares_the_system_libraries_and_ships_desktop_integration(
    debs: tuple[Path, Path],
) -> None:
    deb = debs[0]
    depends = {entry.split()[0] for entry in _deb_field(deb, "Depends").split(", ")}
    # Left out of the bundle on purpose (they must match the system's drivers and libc).
    assert {"libc6", "libgl1", "libegl1", "libxcb1", "xkb-data", "fontconfig-config"} <= depends
    assert int(_deb_field(deb, "Installed-Size")) > 100_000  # KiB: the whole bundle is in
    listing = subprocess.run(
        ["dpkg-deb", "--contents", str(deb)], capture_output=True, text=True, check=True
    ).stdout
    for path in SYSTEM_FILES:
        assert f".{path}" in listing, path
    assert "./usr/bin/softphone -> /opt/softphone/softphone" in listing
    assert "/opt/softphone/_internal/libmvec" not in listing  # glibc's own; never bundled


def _agent_run(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The installed app as the agent runs it: own user, loopback-only network."""
    return run_in_root(
        root, ["softphone", *args], user=AGENT, network=False, env=AGENT_ENV, timeout=180
    )


def _apt(root: Path, *args: str) -> None:
    result = run_in_root(
        root,
        ["apt-get", "-y", "-q", "--no-install-recommends", *args],
        env={"DEBIAN_FRONTEND": "noninteractive"},
        timeout=900,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]


def _installed_version(root: Path) -> str:
    query = run_in_root(root, ["dpkg-query", "-W", "-f=${Status} ${Version}", "softphone"])
    return query.stdout if query.returncode == 0 else ""


def _files_left(root: Path, owned: list[str]) -> list[str]:
    """Files and links of the package still there (shared folders may stay)."""
    paths = {p: root / p.lstrip("/") for p in owned}
    return [p for p, path in paths.items() if path.is_symlink() or path.is_file()]


@pytest.mark.netns  # root: debootstrap, chroot and a loopback-only namespace for the app
def test_deb_installs_self_tests_upgrades_and_removes_cleanly_in_a_clean_root(
    debs: tuple[Path, Path], tmp_path: Path
) -> None:
    timings: dict[str, float] = {}
    started = time.monotonic()
    with debian_root(tmp_path) as root:
        timings["clean root ready"] = time.monotonic() - started
        for deb in debs:
            (root / "tmp" / deb.name).write_bytes(deb.read_bytes())
        home = root / HOME.lstrip("/")
        home.mkdir(parents=True)
        subprocess.run(["chown", "-R", AGENT, str(home)], check=True)

        phase = time.monotonic()
        _apt(root, "install", f"/tmp/{debs[0].name}")
        timings["apt install (with Depends)"] = time.monotonic() - phase
        assert _installed_version(root).endswith("installed 0.1.0-1")
        for path in SYSTEM_FILES:
            assert os.path.lexists(root / path.lstrip("/")), path
        assert os.readlink(root / "usr/bin/softphone") == "/opt/softphone/softphone"
        owned = run_in_root(root, ["dpkg-query", "-L", "softphone"]).stdout.split("\n")
        owned = [p for p in owned if p.startswith("/")]

        phase = time.monotonic()
        first = _agent_run(root, "--self-test")
        timings["frozen self-test"] = time.monotonic() - phase
        assert first.returncode == 0, first.stdout + first.stderr[-3000:]
        assert "Softphone self-test: PASSED" in first.stdout

        # The window too: the self-test never loads Qt's GUI libraries, so without this step a
        # missing libgl1 or libxcb1 in Depends would pass. Offscreen, then SIGTERM.
        phase = time.monotonic()
        gui = run_in_root(
            root,
            ["sh", "-c", GUI_START_AND_QUIT],
            user=AGENT,
            network=False,
            env=AGENT_ENV,
            timeout=120,
        )
        assert gui.returncode == 0, gui.stdout + gui.stderr[-3000:]
        timings["window up and quit"] = time.monotonic() - phase

        # The agent's own files: settings (TOML), the GUI's remembered choices, the log.
        config = home / ".config" / "softphone" / "config.toml"
        prefs = home / ".config" / "Softphone" / "Softphone.conf"
        log_file = home / ".local" / "state" / "softphone" / "log" / "softphone.log"
        first_log = log_file.read_text()
        assert "app.start" in first_log
        for folder in (config.parent, prefs.parent):
            folder.mkdir(parents=True, exist_ok=True)
        config.write_text('log_format = "json"\n')  # the upgraded app must honour it
        prefs.write_text("[sign_in]\nserver_url=wss://calls.example.test/ws\nagent_name=Ana\n")
        subprocess.run(["chown", "-R", AGENT, str(home)], check=True)
        # All of the agent's settings and data, the call history among them (the window
        # started above created it).
        history = home / ".local" / "share" / "softphone" / "history.sqlite3"
        kept = {
            path: path.read_bytes()
            for folder in (home / ".config", home / ".local" / "share")
            for path in folder.rglob("*")
            if path.is_file()
        }
        assert {config, prefs, history} <= kept.keys()

        phase = time.monotonic()
        _apt(root, "install", f"/tmp/{debs[1].name}")
        timings["apt upgrade"] = time.monotonic() - phase
        assert _installed_version(root).endswith("installed 0.1.0-2")
        second = _agent_run(root, "--self-test")
        assert second.returncode == 0, second.stdout + second.stderr[-3000:]
        assert [p for p, data in kept.items() if p.read_bytes() != data] == []
        upgraded_log = log_file.read_text()
        assert upgraded_log.startswith(first_log)  # earlier history kept
        new_lines = upgraded_log[len(first_log) :].splitlines()
        assert new_lines and json.loads(new_lines[0])  # the kept settings file was read

        phase = time.monotonic()
        _apt(root, "purge", "softphone")
        timings["apt purge"] = time.monotonic() - phase
        assert _installed_version(root) == ""
        assert _files_left(root, owned) == []
        assert not (root / "opt" / "softphone").exists()
        assert all(path.exists() for path in [*kept, log_file])  # never the agent's
    timings["total (incl. cleanup)"] = time.monotonic() - started
    print("\n".join(f"{name:28} {seconds:6.1f} s" for name, seconds in timings.items()))
