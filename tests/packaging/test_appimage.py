"""The AppImage's AppDir and squashfs payload, and the final file's layout (runtime + image).

No package registry this project uses ships the AppImage runtime (packaging/README.md), so
the final step is checked with a stand-in runtime: an ELF file carrying the AppImage type-2
magic. The real runtime finds its payload the same way, right after its own bytes.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.packaging.conftest import run_build

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200)]


@pytest.fixture(scope="module")
def appimage_build(build_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    runtime = tmp_path_factory.mktemp("runtime") / "runtime-x86_64"
    shutil.copyfile("/bin/true", runtime)
    with runtime.open("r+b") as handle:  # ELF ident padding: ignored by loaders
        handle.seek(8)
        handle.write(b"AI\x02")
    run_build(
        "build_appimage.sh", build_dir, APPIMAGE_RUNTIME=str(runtime), APPIMAGE_ZSTD_LEVEL="1"
    )
    return runtime


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
    appimage_build: Path, build_dir: Path
) -> None:
    images = list((build_dir / "dist").glob("Softphone-*.AppImage"))
    assert len(images) == 1
    image = images[0]
    assert os.access(image, os.X_OK)
    assert image.read_bytes()[: appimage_build.stat().st_size] == appimage_build.read_bytes()
    listing = subprocess.run(
        ["unsquashfs", "-o", str(appimage_build.stat().st_size), "-l", "-d", "", str(image)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    for path in ("/AppRun", "/.DirIcon", "/softphone.desktop", "/usr/lib/softphone/softphone"):
        assert path in listing, path
