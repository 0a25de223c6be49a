from __future__ import annotations

import pytest

from softphone.ui.status_text import call_text, signaling_text


@pytest.mark.parametrize(
    ("state", "attempt", "max_attempts", "expected"),
    [
        ("connected", 0, 0, "Call: connected"),
        ("reconnecting", 1, 3, "Reconnecting… (attempt 1 of 3)"),
        ("reconnecting", 0, 0, "Reconnecting…"),
        ("reconnected", 0, 0, "Reconnected"),
        ("failed", 3, 3, "Call lost"),
        ("idle", 0, 0, "No call"),
    ],
)
def test_call_text(state: str, attempt: int, max_attempts: int, expected: str) -> None:
    assert call_text(state, attempt, max_attempts) == expected


def test_signaling_text_covers_client_states() -> None:
    for state in ("connecting", "connected", "reconnecting", "closed"):
        assert signaling_text(state).startswith("Server: ")
    assert signaling_text("closed") == "Server: offline"
