"""The call model: one derivation, emitted only on change."""

from __future__ import annotations

from softphone.call.state import (
    RECONNECT_FAILED,
    CallState,
    CallStateModel,
    CallStatus,
    RestartOrigin,
)


def recorded(model: CallStateModel) -> list[CallStatus]:
    seen: list[CallStatus] = []
    model.changed.connect(seen.append)
    return seen


def test_a_local_episode_counts_attempts_and_ends_connected_with_the_flash() -> None:
    model = CallStateModel("c1")
    seen = recorded(model)
    model.media_connected()
    model.reconnecting(1, 3)
    model.reconnecting(1, 3)  # re-issued offer: no change, no emit
    model.reconnecting(2, 3)
    model.recovered(4.2)
    assert [(s.state, s.attempt) for s in seen] == [
        (CallState.CONNECTED, 0),
        (CallState.RECONNECTING, 1),
        (CallState.RECONNECTING, 2),
        (CallState.CONNECTED, 0),
    ]
    assert seen[-1].recovered_after_s == 4.2


def test_a_peer_started_restart_has_no_attempt_number() -> None:
    model = CallStateModel("c1")
    model.media_connected()
    model.reconnecting(0, 3, RestartOrigin.PEER)
    assert model.status.state is CallState.RECONNECTING
    assert (model.status.attempt, model.status.max_attempts) == (0, 0)
    assert model.status.origin is RestartOrigin.PEER


def test_terminal_states_stick() -> None:
    model = CallStateModel("c1")
    seen = recorded(model)
    model.media_connected()
    model.ended(RECONNECT_FAILED)
    model.reconnecting(1, 3)
    model.recovered(1.0)
    model.ended("local-hangup")
    assert [s.state for s in seen] == [CallState.CONNECTED, CallState.FAILED]
    assert seen[-1].end_reason == RECONNECT_FAILED
    assert seen[-1].call_id == "c1"


def test_recovered_outside_an_episode_changes_nothing() -> None:
    model = CallStateModel("c1")
    seen = recorded(model)
    model.recovered(1.0)
    assert seen == []
    assert model.status.state is CallState.CONNECTING
