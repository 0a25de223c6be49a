"""The harness itself: the leaked-task check must really fail a leaking test."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest


async def test_clean_async_test_passes() -> None:
    task = asyncio.create_task(asyncio.sleep(0.01))
    await task


def _run_pytest(tmp_path: Path, body: str, *extra: str) -> subprocess.CompletedProcess[str]:
    test_file = tmp_path / "test_probe.py"
    test_file.write_text(textwrap.dedent(body))
    conftest = Path(__file__).with_name("conftest.py")
    (tmp_path / "conftest.py").write_text(conftest.read_text())
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-c",
            "pyproject.toml",
            str(test_file),
            *extra,
        ],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=Path(__file__).parents[1],
        check=False,
    )


def test_leaked_task_fails_the_test(tmp_path: Path) -> None:
    result = _run_pytest(
        tmp_path,
        """
        import asyncio

        async def test_leaks():
            asyncio.create_task(asyncio.sleep(30))
        """,
    )
    assert result.returncode == 1, result.stdout
    assert "leaked 1 asyncio task" in result.stdout


@pytest.mark.parametrize(
    ("is_root", "required", "expected"),
    [(True, True, "run"), (True, False, "run"), (False, False, "skip"), (False, True, "fail")],
)
def test_netns_tests_never_skip_silently_when_required(
    is_root: bool, required: bool, expected: str
) -> None:
    from tests.conftest import netns_action

    assert netns_action(is_root=is_root, required=required) == expected


def test_required_netns_test_fails_the_run_when_not_root(tmp_path: Path) -> None:
    result = _run_pytest(
        tmp_path,
        """
        import pytest
        import conftest as harness

        harness.REQUIRE_NETNS = True
        harness.os.geteuid = lambda: 1000  # pretend to be an ordinary user

        @pytest.mark.netns
        def test_needs_namespaces():
            pass
        """,
    )
    assert result.returncode == 1, result.stdout
    assert "SOFTPHONE_REQUIRE_NETNS=1 but not root" in result.stdout


def test_async_fixture_teardown_runs_before_the_leak_check(tmp_path: Path) -> None:
    result = _run_pytest(
        tmp_path,
        """
        import asyncio
        import pytest

        @pytest.fixture
        async def background():
            task = asyncio.create_task(asyncio.sleep(30))
            yield task
            task.cancel()

        async def test_uses_fixture(background):
            assert not background.done()
        """,
    )
    assert result.returncode == 0, result.stdout
