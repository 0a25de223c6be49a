"""Signaling is not the call: when the server cannot reach the peer (it lost the call or
our session), media flowing again ends a reconnect episode as a success, and every episode
is kept for the end-of-call report."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from softphone.call.reconnect import Episode
from softphone.call.state import CallState, RestartOrigin
from tests.rtc.test_reconnect import Harness, settle


@pytest.fixture
async def h(_no_leaked_tasks: None) -> AsyncIterator[Harness]:
    harness = Harness()
    await harness.connect()
    yield harness
    await harness.ctl.close()


async def test_media_alone_is_success_when_the_peer_cannot_be_reached(h: Harness) -> None:
    h.ctl.on_disconnected("disconnected")
    await h.clock.advance(1.0)
    h.ctl.on_media_received()  # the link is back: the peer's media arrives
    await h.clock.advance(1.0)
    assert h.ctl.state is CallState.RECONNECTING, "with signaling working, media alone is not"
    h.ctl.on_peer_unreachable()  # the server answered our restart offer: no such call
    await settle()
    assert h.ctl.state is CallState.CONNECTED
    assert h.recoveries == [(1, pytest.approx(2.0))]
    assert h.driver.teardowns == [] and h.failures == []


async def test_unreachable_without_media_still_exhausts_and_a_new_episode_forgets_it(
    h: Harness,
) -> None:
    h.ctl.on_disconnected()
    h.ctl.on_peer_unreachable()
    await h.clock.advance(60)
    assert h.ctl.state is CallState.FAILED  # no media, no success: the policy still holds
    assert h.driver.teardowns == ["reconnect-failed"]
    assert [(e.outcome, e.attempts) for e in h.ctl.episodes] == [("failed", 3)]


async def test_unreachable_before_an_episode_means_nothing(h: Harness) -> None:
    h.ctl.on_peer_unreachable()  # connected: nothing to decide
    h.ctl.on_disconnected()
    await h.clock.advance(0.5)
    h.ctl.on_media_received()
    await h.clock.advance(1.0)
    assert h.ctl.state is CallState.RECONNECTING


async def test_every_episode_is_recorded_for_the_call_report(h: Harness) -> None:
    h.ctl.on_disconnected("disconnected")
    await h.clock.advance(2.0)
    await h.recover()
    h.ctl.on_remote_restart(1)  # the peer's restart: we only answer
    await h.clock.advance(0.5)
    await h.recover()
    h.ctl.on_network_change()
    await h.clock.advance(1.0)
    await h.ctl.close()  # hung up mid-episode
    assert h.ctl.episodes == [
        Episode("disconnected", "recovered", 2.0, 1, RestartOrigin.LOCAL),
        Episode("remote-restart", "recovered", 0.5, 0, RestartOrigin.PEER),
        Episode("network-change", "call-ended", 1.0, 1, RestartOrigin.LOCAL),
    ]
