from __future__ import annotations

import pytest

from softphone.call.state import RECONNECT_FAILED, CallState, CallStatus, RestartOrigin
from softphone.ui.status_text import banner_text, call_text, end_reason_text, signaling_text

LOCAL_2 = CallStatus("c1", CallState.RECONNECTING, attempt=2, max_attempts=3)
PEER = CallStatus("c1", CallState.RECONNECTING, origin=RestartOrigin.PEER)
RECOVERED = CallStatus("c1", CallState.CONNECTED, recovered_after_s=2.34)


@pytest.mark.parametrize(
    ("status", "flash", "expected"),
    [
        (None, False, "No call"),
        (CallStatus("c1", CallState.CONNECTING), False, "Call: connecting…"),
        (CallStatus("c1", CallState.CONNECTED), False, "Call: connected"),
        (LOCAL_2, False, "Reconnecting… (attempt 2 of 3)"),
        (PEER, False, "Reconnecting… (visitor's network)"),
        (RECOVERED, True, "Reconnected after 2.3 s"),
        (RECOVERED, False, "Call: connected"),  # after the flash
        (CallStatus("c1", CallState.FAILED, end_reason=RECONNECT_FAILED), False, "Call lost"),
        (CallStatus("c1", CallState.ENDED, end_reason="local-hangup"), False, "Call ended"),
    ],
)
def test_call_text(status: CallStatus | None, flash: bool, expected: str) -> None:
    assert call_text(status, flash=flash) == expected


def test_no_text_ever_counts_attempt_zero() -> None:
    for origin in RestartOrigin:
        status = CallStatus("c1", CallState.RECONNECTING, max_attempts=3, origin=origin)
        assert "attempt 0" not in call_text(status)
        assert "attempt 0" not in (banner_text(status) or "")


def test_banner_only_while_reconnecting() -> None:
    assert banner_text(LOCAL_2) == "Connection lost — reconnecting (attempt 2 of 3)…"
    assert "visitor" in (banner_text(PEER) or "")
    for state in (CallState.CONNECTING, CallState.CONNECTED, CallState.FAILED, CallState.ENDED):
        assert banner_text(CallStatus("c1", state)) is None
    assert banner_text(None) is None


def test_signaling_text_covers_client_states() -> None:
    for state in ("connecting", "connected", "reconnecting", "closed"):
        assert signaling_text(state).startswith("Server: ")
    assert signaling_text("closed") == "Server: offline"


def test_end_reasons_read_as_words_and_unknown_codes_as_sent() -> None:
    assert end_reason_text("normal") == "the visitor hung up"
    assert end_reason_text("peer-lost") == "the visitor's connection was lost"
    assert end_reason_text("some-new-code") == "some-new-code"
    assert end_reason_text(None) == "unknown reason"
