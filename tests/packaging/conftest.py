"""One PyInstaller build per test session, shared by the bundle and the package tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]


def run_build(script: str, out: Path, **env: str) -> str:
    """Run a packaging/ script into ``out`` with this interpreter (PyInstaller installed)."""
    result = subprocess.run(
        [str(ROOT / "packaging" / script)],
        env={**os.environ, "BUILD_DIR": str(out), "SOFTPHONE_BUILD_PYTHON": sys.executable, **env},
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    print(result.stdout)
    return result.stdout


@pytest.fixture(scope="session")
def build_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """BUILD_DIR after packaging/build.sh: dist/softphone and its tar.gz."""
    out = tmp_path_factory.mktemp("build")
    run_build("build.sh", out)
    return out
