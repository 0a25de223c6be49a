"""One-way loss seen from the side that still receives: ConnectivityMonitor over 127.0.0.1.

Everything the monitored side sends is lost while the peer's media still arrives, so
inbound silence never starts; only unanswered probes can tell (issue 12: the agent used to
wait 8.2 s for the visitor's restart).
"""

from __future__ import annotations

import asyncio
import time

import pytest

from softphone.rtc.connectivity import Connectivity, DetectionSettings
from tests.rtc.loopback import connected_pair
from tests.rtc.test_connectivity import DETECTION_BOUND_S, monitored, wait_for_state

pytestmark = pytest.mark.timeout(60)


async def test_outgoing_loss_is_detected_by_the_sender_and_recovery_reported() -> None:
    pair = await connected_pair(audio=True, video=True)
    monitor, seen = await monitored(pair)
    try:
        await asyncio.sleep(1.0)
        assert monitor.state is Connectivity.CONNECTED
        pair.offerer.ice.set_dropping(True)  # what we send is lost; the peer's media flows
        cut = time.monotonic()
        assert await wait_for_state(monitor, Connectivity.DISCONNECTED, within_s=5.0)
        detected_s = time.monotonic() - cut
        print(f"outgoing loss detected in {detected_s * 1000:.0f} ms")
        settings = DetectionSettings()
        assert detected_s >= settings.unheard_window_s  # several probes went unanswered
        assert detected_s <= DETECTION_BOUND_S + 0.3
        pair.offerer.ice.set_dropping(False)
        assert await wait_for_state(monitor, Connectivity.CONNECTED, within_s=3.0)
        assert seen == [Connectivity.DISCONNECTED, Connectivity.CONNECTED]
    finally:
        await monitor.stop()
        await pair.close()


async def test_a_healthy_two_way_call_raises_no_alarm_and_probes_sparingly() -> None:
    pair = await connected_pair(audio=True, video=True)
    monitor, seen = await monitored(pair)
    try:
        await asyncio.sleep(4.0)
        assert seen == []
        assert monitor.probes <= 4.0 / DetectionSettings().unheard_s + 2
    finally:
        await monitor.stop()
        await pair.close()
