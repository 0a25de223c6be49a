"""The ``audio`` marker: CI (SOFTPHONE_REQUIRE_AUDIO=1) fails instead of skipping."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.test_harness import _run_pytest


@pytest.mark.parametrize(
    ("available", "required", "expected"),
    [(True, True, "run"), (True, False, "run"), (False, False, "skip"), (False, True, "fail")],
)
def test_requirements_never_skip_silently_when_required(
    available: bool, required: bool, expected: str
) -> None:
    from tests.conftest import requirement_action

    assert requirement_action(available=available, required=required) == expected


def test_required_audio_test_fails_the_run_without_pulseaudio(tmp_path: Path) -> None:
    result = _run_pytest(
        tmp_path,
        """
        import pytest
        import labnet.pulse
        import conftest as harness

        harness.REQUIRE_AUDIO = True
        labnet.pulse.pulse_running = lambda: False  # pretend no sound server runs

        @pytest.mark.audio
        def test_needs_sound():
            pass
        """,
    )
    assert result.returncode == 1, result.stdout
    assert "SOFTPHONE_REQUIRE_AUDIO=1 but no PulseAudio" in result.stdout
