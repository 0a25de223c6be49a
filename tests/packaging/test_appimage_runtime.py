"""The project's AppImage runtime (packaging/linux/appimage_runtime.c) on a small AppDir whose
AppRun reports what it was given: the offset, extraction, extract-and-run (the way CI
containers without FUSE run AppImages), the FUSE mount, signals and a broken image.

Compiling the runtime takes a second, so these tests need no PyInstaller bundle;
test_appimage.py runs the real app through the same runtime.
"""

from __future__ import annotations

import os
import signal
import struct
import subprocess
from pathlib import Path
from typing import IO

import pytest

from tests.packaging.conftest import ROOT

APPRUN = """#!/bin/sh
echo "APPDIR=$APPDIR"
echo "APPIMAGE=$APPIMAGE"
echo "ARGV0=$ARGV0"
echo "FSTYPE=$(stat -f -c %T "$APPDIR")"
for arg in "$@"; do echo "ARG=$arg"; done
case "$1" in
  wait) trap 'kill $!; echo got TERM; exit 5' TERM; echo ready; sleep 30 & wait; exit 9 ;;
  # Ctrl+C: the app still reads its own files while it shuts down.
  interrupt) trap 'kill $!; sleep 0.5; cat "$APPDIR/usr/share/data.txt"; exit 3' INT
    echo ready; sleep 30 & wait; exit 9 ;;
esac
exit 7
"""


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("runtime") / "runtime"
    build = subprocess.run(
        [str(ROOT / "packaging" / "linux" / "build_appimage_runtime.sh"), str(out)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert build.returncode == 0, build.stderr
    return out


@pytest.fixture(scope="module")
def appimage(runtime: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """runtime + squashfs of an AppDir with AppRun, a read-only folder and a symlink; the
    file name has a space, as the specification requires to work."""
    folder = tmp_path_factory.mktemp("toy")
    appdir = folder / "Toy.AppDir"
    (appdir / "usr" / "share").mkdir(parents=True)
    (appdir / "AppRun").write_text(APPRUN)
    (appdir / "AppRun").chmod(0o755)
    (appdir / "usr" / "share" / "data.txt").write_text("payload\n")
    (appdir / "usr" / "share" / "link").symlink_to("data.txt")
    (appdir / "usr" / "share").chmod(0o555)
    image = folder / "toy.squashfs"
    subprocess.run(
        ["mksquashfs", str(appdir), str(image), "-root-owned", "-noappend", "-quiet"],
        capture_output=True,
        check=True,
    )
    (appdir / "usr" / "share").chmod(0o755)  # so pytest can delete it
    result = folder / "Toy App.AppImage"
    result.write_bytes(runtime.read_bytes() + image.read_bytes())
    result.chmod(0o755)
    return result


def _run(appimage: Path, *args: str, tmp: Path, **env: str) -> subprocess.CompletedProcess[str]:
    tmp.mkdir(exist_ok=True)
    return subprocess.run(
        [str(appimage), *args],
        env={**os.environ, "TMPDIR": str(tmp), **env},
        cwd=tmp,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _reported(stdout: str) -> dict[str, list[str]]:
    values: dict[str, list[str]] = {}
    for line in stdout.splitlines():
        key, _, value = line.partition("=")
        values.setdefault(key, []).append(value)
    return values


def _wait_for_ready(stdout: IO[str]) -> None:
    """Until AppRun says "ready" (bounded: 200 lines or its end of output)."""
    for _ in range(200):
        line = stdout.readline()
        if line.strip() == "ready" or not line:
            break
    assert line.strip() == "ready"


def _elf_size(path: Path) -> int:
    """Where the ELF file ends: its section header table comes last (as ld writes it)."""
    header = path.read_bytes()[:64]
    assert header[:4] == b"\x7fELF" and header[4] == 2  # ELFCLASS64
    (shoff,) = struct.unpack_from("<Q", header, 0x28)
    shentsize, shnum = struct.unpack_from("<HH", header, 0x3A)
    return shoff + shentsize * shnum


def test_runtime_carries_the_type2_magic_and_reports_its_own_size_as_the_offset(
    runtime: Path, appimage: Path, tmp_path: Path
) -> None:
    assert runtime.read_bytes()[8:11] == b"AI\x02"
    result = _run(appimage, "--appimage-offset", tmp=tmp_path)
    assert result.returncode == 0, result.stderr
    assert int(result.stdout) == runtime.stat().st_size == _elf_size(runtime)


def test_runtime_needs_no_shared_library(runtime: Path) -> None:
    program_headers = subprocess.run(
        ["readelf", "--program-headers", "--dynamic", str(runtime)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "INTERP" not in program_headers and "NEEDED" not in program_headers


@pytest.mark.parametrize(
    ("args", "env"),
    [
        (["--appimage-extract-and-run"], {}),
        ([], {"APPIMAGE_EXTRACT_AND_RUN": "1"}),
    ],
    ids=["option", "environment"],
)
def test_extract_and_run_passes_arguments_environment_and_exit_status_then_cleans_up(
    appimage: Path, tmp_path: Path, args: list[str], env: dict[str, str]
) -> None:
    tmp = tmp_path / "tmp"
    result = _run(appimage, *args, "two words", "--flag", tmp=tmp, **env)
    assert result.returncode == 7, result.stderr
    seen = _reported(result.stdout)
    assert seen["ARG"] == ["two words", "--flag"]
    assert seen["APPIMAGE"] == [str(appimage)]
    assert seen["ARGV0"] == [str(appimage)]
    assert seen["APPDIR"][0].startswith(f"{tmp}/appimage_extracted_")
    assert seen["FSTYPE"] != ["fuseblk"]
    assert list(tmp.iterdir()) == []  # the temporary copy is gone


def test_extract_writes_squashfs_root_once_and_never_over_an_existing_one(
    appimage: Path, tmp_path: Path
) -> None:
    assert _run(appimage, "--appimage-extract", tmp=tmp_path).returncode == 0
    root = tmp_path / "squashfs-root"
    assert (root / "usr" / "share" / "data.txt").read_text() == "payload\n"
    assert os.readlink(root / "usr" / "share" / "link") == "data.txt"
    assert os.access(root / "AppRun", os.X_OK)
    (root / "usr" / "share" / "data.txt").write_text("changed by the user\n")
    again = _run(appimage, "--appimage-extract", tmp=tmp_path)
    assert again.returncode != 0 and "squashfs-root" in again.stderr
    assert (root / "usr" / "share" / "data.txt").read_text() == "changed by the user\n"


def test_sigterm_reaches_the_app_and_the_copy_is_still_deleted(
    appimage: Path, tmp_path: Path
) -> None:
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    proc = subprocess.Popen(
        [str(appimage), "--appimage-extract-and-run", "wait"],
        env={**os.environ, "TMPDIR": str(tmp)},
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        _wait_for_ready(proc.stdout)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 5  # AppRun's own answer to TERM
        assert "got TERM" in proc.stdout.read()
    finally:
        proc.kill()
        proc.wait(timeout=10)
    assert list(tmp.iterdir()) == []


@pytest.mark.fuse
def test_ctrl_c_reaches_the_app_while_the_mount_stays_until_it_has_quit(
    appimage: Path, tmp_path: Path
) -> None:
    """A terminal sends SIGINT to the whole process group: the FUSE server must not unmount
    under the app's feet while the app is still shutting down."""
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    # A terminal's Ctrl+C is not ignored. A suite started in the background by a shell
    # without job control inherits SIGINT ignored, and so would the app; a shell cannot
    # trap a signal ignored on entry. A handler (reset to the default by exec) is not.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        proc = subprocess.Popen(
            [str(appimage), "interrupt"],
            env={**os.environ, "TMPDIR": str(tmp)},
            stdout=subprocess.PIPE,
            text=True,
            start_new_session=True,  # its own process group, as under a terminal
        )
    finally:
        signal.signal(signal.SIGINT, previous)
    try:
        assert proc.stdout is not None
        _wait_for_ready(proc.stdout)
        os.killpg(proc.pid, signal.SIGINT)
        assert proc.wait(timeout=30) == 3
        assert "payload" in proc.stdout.read()  # read from the mount after Ctrl+C
    finally:
        proc.kill()
        proc.wait(timeout=10)
    assert list(tmp.iterdir()) == []  # unmounted and the mount point removed


def test_a_broken_image_is_a_clear_error_without_leftovers(runtime: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken.AppImage"
    broken.write_bytes(runtime.read_bytes() + b"not a squashfs image" * 100)
    broken.chmod(0o755)
    tmp = tmp_path / "tmp"
    result = _run(broken, "--appimage-extract-and-run", tmp=tmp)
    assert result.returncode == 127
    assert f"{broken} has no readable image at offset {runtime.stat().st_size}" in result.stderr
    assert list(tmp.iterdir()) == []
    unknown = _run(broken, "--appimage-frobnicate", tmp=tmp)
    assert unknown.returncode == 127 and "--appimage-help" in unknown.stderr


@pytest.mark.fuse
def test_without_options_the_image_is_fuse_mounted_and_unmounted_after_the_app(
    appimage: Path, tmp_path: Path
) -> None:
    tmp = tmp_path / "tmp"
    result = _run(appimage, "one", tmp=tmp)
    assert result.returncode == 7, result.stderr
    seen = _reported(result.stdout)
    assert seen["FSTYPE"] == ["fuseblk"]
    assert seen["ARG"] == ["one"]
    mountpoint = seen["APPDIR"][0]
    assert mountpoint.startswith(f"{tmp}/.mount_")
    assert mountpoint not in Path("/proc/self/mounts").read_text().replace("\\040", " ")
    assert list(tmp.iterdir()) == []


@pytest.mark.netns  # root: a private mount namespace where /dev/fuse is not a FUSE device
def test_when_the_mount_fails_the_app_still_runs_from_a_temporary_copy(
    appimage: Path, tmp_path: Path
) -> None:
    """/dev/fuse opens but mounting fails (as in a container given the device but not the
    right to mount): the runtime says so and runs the app from a copy instead."""
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    # Where there is no /dev/fuse at all (most containers) the runtime falls back the same way.
    script = '[ ! -e /dev/fuse ] || mount --bind /dev/null /dev/fuse || exit 99; exec "$0" "$@"'
    result = subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "sh", "-c", script, str(appimage)],
        env={**os.environ, "TMPDIR": str(tmp)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 7, result.stderr
    assert "running from a temporary copy" in result.stderr
    assert _reported(result.stdout)["APPDIR"][0].startswith(f"{tmp}/appimage_extracted_")
    assert list(tmp.iterdir()) == []
