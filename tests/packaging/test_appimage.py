"""The AppImage: its AppDir and squashfs payload, the final file (the project's own runtime
followed by the image), and the frozen app's self-test run from it: extracted to a temporary
folder as in CI containers without FUSE, and from a FUSE mount where FUSE is usable.

The runtime itself is tested on a small AppDir in test_appimage_runtime.py.
"""

from __future__ import annotations

import os
import platform
import subprocess
from pathlib import Path

import pytest

from tests.packaging.conftest import run_build

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200)]


@pytest.fixture(scope="module")
def appimage_build(build_dir: Path) -> Path:
    """The .AppImage built the default way (the runtime compiled from source), from the
    session's one bundle; zstd level 1 keeps the image to seconds."""
    run_build("build_appimage.sh", build_dir, APPIMAGE_ZSTD_LEVEL="1")
    images = list((build_dir / "dist").glob("Softphone-*.AppImage"))
    assert len(images) == 1
    return images[0]


def _run_frozen(
    appimage: Path, tmp_path: Path, *args: str, **env: str
) -> subprocess.CompletedProcess[str]:
    """Runs the AppImage as an agent would, checking the exit status and that the runtime
    left nothing in its temporary folder."""
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    result = subprocess.run(
        [str(appimage), *args],
        env={
            **os.environ,
            "QT_QPA_PLATFORM": "offscreen",
            "XDG_CONFIG_HOME": str(tmp_path / "config"),
            "XDG_STATE_HOME": str(tmp_path / "state"),
            "TMPDIR": str(tmp),
            **env,
        },
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    assert list(tmp.iterdir()) == []
    return result


@pytest.mark.usefixtures("appimage_build")
def test_appdir_has_the_entry_points_appimage_tools_read(build_dir: Path) -> None:
    appdir = build_dir / "appimage" / "Softphone.AppDir"
    assert os.readlink(appdir / "AppRun") == "usr/bin/softphone"
    assert (appdir / "softphone.desktop").read_text() == (
        Path(__file__).parents[2] / "packaging" / "linux" / "softphone.desktop"
    ).read_text()
    assert (appdir / ".DirIcon").resolve() == (appdir / "softphone.png").resolve()
    assert (appdir / "usr/share/metainfo/io.github.softphone.Softphone.metainfo.xml").is_file()
    version = subprocess.run(
        [str(appdir / "AppRun"), "--version"],
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert version.returncode == 0 and version.stdout.startswith("softphone "), version.stderr


def test_appimage_is_the_runtime_followed_by_the_squashfs_payload(
    appimage_build: Path, build_dir: Path, tmp_path: Path
) -> None:
    runtime = build_dir / "appimage" / f"runtime-{platform.machine()}"
    size = runtime.stat().st_size
    assert os.access(appimage_build, os.X_OK)
    with appimage_build.open("rb") as image:
        assert image.read(size) == runtime.read_bytes()
    assert int(_run_frozen(appimage_build, tmp_path, "--appimage-offset").stdout) == size
    listing = subprocess.run(
        ["unsquashfs", "-o", str(size), "-l", "-d", "", str(appimage_build)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    for path in ("/AppRun", "/.DirIcon", "/softphone.desktop", "/usr/lib/softphone/softphone"):
        assert path in listing, path


def test_frozen_self_test_passes_from_the_extracted_appimage(
    appimage_build: Path, tmp_path: Path
) -> None:
    """How CI containers (no FUSE) and locked-down desktops run it."""
    result = _run_frozen(appimage_build, tmp_path, "--self-test", APPIMAGE_EXTRACT_AND_RUN="1")
    assert "Softphone self-test: PASSED" in result.stdout


@pytest.mark.fuse
def test_frozen_self_test_passes_from_the_fuse_mounted_appimage(
    appimage_build: Path, tmp_path: Path
) -> None:
    """How agents' desktops run it: the frozen app from the read-only FUSE mount."""
    result = _run_frozen(appimage_build, tmp_path, "--self-test")
    assert "Softphone self-test: PASSED" in result.stdout
    assert "FUSE is not usable" not in result.stderr  # no fallback to a temporary copy
