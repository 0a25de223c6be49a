"""The one adapter from AgentSession's call signals of today to CallStatus (deleted with
softphone/ui/legacy_call_status.py once AgentSession publishes call_status itself)."""

from __future__ import annotations

from collections.abc import Coroutine
from typing import Any

import pytest

from softphone.call.state import RECONNECT_FAILED, CallState, CallStatus, RestartOrigin
from softphone.rtc.reconnect import ReconnectFailure
from softphone.ui.legacy_call_status import LegacyCallStatus
from tests.ui.fakes import FakeSession, ring


def finish(coro: Coroutine[Any, Any, None]) -> None:
    """The fake's coroutines never wait: run one to its end without an event loop."""
    with pytest.raises(StopIteration):
        coro.send(None)


def test_the_real_event_order_becomes_one_status_per_change() -> None:
    session = FakeSession()
    statuses: list[CallStatus] = []
    LegacyCallStatus(session).changed.connect(statuses.append)  # type: ignore[arg-type]
    session.ring(ring("c9"))
    finish(session.accept("c9"))
    session.connected()
    session.reconnecting(0, 3)  # the visitor restarted ICE
    session.recovered(0, 0.5)
    session.reconnecting(1, 3)
    session.reconnecting(2, 3)
    session.exhausted(ReconnectFailure(2, 20.0, "ice-timeout", "disconnected"))
    assert [(s.state, s.attempt, s.origin, s.recovered_after_s) for s in statuses] == [
        (CallState.CONNECTING, 0, RestartOrigin.LOCAL, None),
        (CallState.CONNECTED, 0, RestartOrigin.LOCAL, None),
        (CallState.RECONNECTING, 0, RestartOrigin.PEER, None),
        (CallState.CONNECTED, 0, RestartOrigin.LOCAL, 0.5),
        (CallState.RECONNECTING, 1, RestartOrigin.LOCAL, None),
        (CallState.RECONNECTING, 2, RestartOrigin.LOCAL, None),
        (CallState.FAILED, 0, RestartOrigin.LOCAL, None),
    ]
    assert {s.call_id for s in statuses} == {"c9"}
    assert statuses[-1].end_reason == RECONNECT_FAILED


def test_a_hangup_ends_the_call_and_the_next_call_starts_fresh() -> None:
    session = FakeSession()
    statuses: list[CallStatus] = []
    LegacyCallStatus(session).changed.connect(statuses.append)  # type: ignore[arg-type]
    finish(session.accept("a"))
    session.connected()
    finish(session.hangup())
    finish(session.accept("b"))
    assert [(s.call_id, s.state, s.end_reason) for s in statuses] == [
        ("a", CallState.CONNECTING, None),
        ("a", CallState.CONNECTED, None),
        ("a", CallState.ENDED, "local-hangup"),
        ("b", CallState.CONNECTING, None),
    ]
