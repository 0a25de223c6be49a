"""ConnectivityMonitor on real aiortc peers over 127.0.0.1: fast loss, no false alarm on mute."""

from __future__ import annotations

import asyncio
import contextlib
import time

import pytest

from softphone.rtc.aiortc_compat.host_allowlist import set_host_candidate_allowlist
from softphone.rtc.aiortc_compat.media import set_senders_paused
from softphone.rtc.connectivity import Connectivity, ConnectivityMonitor, usable
from tests.rtc.loopback import LoopbackPair, connected_pair

pytestmark = pytest.mark.timeout(60)

DETECTION_BOUND_S = 2.0  # target ~1.5 s (docs/architecture.md); slack for a loaded CI box


async def wait_for_state(
    monitor: ConnectivityMonitor, state: Connectivity, within_s: float
) -> bool:
    """True once ``monitor`` reports ``state`` (at once if it already does)."""
    if monitor.state is state:
        return True
    reached = asyncio.Event()

    def on_change(new: Connectivity, reason: str) -> None:
        if new is state:
            reached.set()

    monitor.state_changed.connect(on_change)
    try:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(within_s):
                await reached.wait()
    finally:
        monitor.state_changed.disconnect(on_change)
    return reached.is_set()


async def monitored(pair: LoopbackPair) -> tuple[ConnectivityMonitor, list[Connectivity]]:
    monitor = ConnectivityMonitor(pair.offerer.ice)
    seen: list[Connectivity] = []
    monitor.state_changed.connect(lambda state, reason: seen.append(state))
    monitor.start()
    return monitor, seen


async def test_muted_peer_is_not_disconnected() -> None:
    pair = await connected_pair(audio=True, video=True)
    set_senders_paused(pair.answerer.pc, True)  # the peer mutes camera and microphone
    monitor, seen = await monitored(pair)
    try:
        await asyncio.sleep(3.0)
        assert monitor.probes > 0  # the silence did start probes ...
        assert Connectivity.DISCONNECTED not in seen  # ... and the peer answered them
        assert monitor.state is Connectivity.CONNECTED
    finally:
        await monitor.stop()
        await pair.close()


async def test_loss_is_detected_fast_and_recovery_reported() -> None:
    pair = await connected_pair(audio=True, video=True)
    monitor, seen = await monitored(pair)
    try:
        await asyncio.sleep(0.5)
        pair.answerer.ice.set_dropping(True)  # everything the peer sends is lost
        cut = time.monotonic()
        assert await wait_for_state(monitor, Connectivity.DISCONNECTED, within_s=5.0)
        detected_s = time.monotonic() - cut
        print(f"loss detected in {detected_s * 1000:.0f} ms")
        assert detected_s <= DETECTION_BOUND_S

        pair.answerer.ice.set_dropping(False)
        assert await wait_for_state(monitor, Connectivity.CONNECTED, within_s=3.0)
        assert seen == [Connectivity.DISCONNECTED, Connectivity.CONNECTED]
    finally:
        await monitor.stop()
        await pair.close()


async def test_ice_failure_is_reported() -> None:
    pair = await connected_pair(audio=True, video=False)
    monitor, _ = await monitored(pair)
    try:
        await pair.offerer.ice._connection.close()  # e.g. consent expired
        assert await wait_for_state(monitor, Connectivity.FAILED, within_s=1.0)
    finally:
        await monitor.stop()
        await pair.close()


def test_usable_addresses_follow_the_allowlist() -> None:
    here = frozenset({"127.0.0.1", "198.18.0.7"})
    set_host_candidate_allowlist(["127.0.0.1"])
    assert usable(here) == {"127.0.0.1"}
    set_host_candidate_allowlist(["198.18.200.200"])  # not on this machine
    assert usable(here) == set()
    set_host_candidate_allowlist(None)
    assert usable(here) == {"198.18.0.7"}  # aioice never gathers loopback itself
    set_host_candidate_allowlist(["127.0.0.1"])
