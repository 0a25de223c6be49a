"""Lossy and one-way links (issue 12): no false alarms under random loss, and the side
whose outgoing media is lost notices on its own.

Loss is nftables ``numgen random`` in the hub on forwarded UDP (labnet/topologies.py);
signaling (TCP) is untouched.
"""

from __future__ import annotations

import time

import pytest

from labnet.netns import JsonLines, Topology
from labnet.topologies import add_loss, remove_loss
from tests.net.support import assert_media_back, call_state, frames_from, log_event, matching

pytestmark = [pytest.mark.netns, pytest.mark.slow]

LOSSY_S = 12.0


@pytest.mark.parametrize("percent", [5, 15])
def test_random_loss_on_the_visitor_link_raises_no_reconnect(
    topo: Topology, call: tuple[JsonLines, JsonLines], percent: int
) -> None:
    agent, visitor = call
    marks = [len(agent.snapshot()), len(visitor.snapshot())]
    table = add_loss(topo, topo.hub, topo.visitor.hub_dev, percent)
    time.sleep(LOSSY_S)
    remove_loss(topo, topo.hub, table)
    for peer, mark in zip(call, marks, strict=True):
        assert matching(peer, log_event("reconnect.start"), mark) == [], peer.name
        assert matching(peer, call_state("reconnecting"), mark) == [], peer.name
        frames = [e for e in peer.snapshot()[mark:] if e.get("ev") == "frame"]
        assert frames, f"{peer.name}: no video decoded under {percent} % loss"
        peer.expect(frames_from(frames[-1]["n"] + 15), 5.0, "advancing frames")


def test_agent_detects_its_own_outgoing_loss(
    topo: Topology, call: tuple[JsonLines, JsonLines]
) -> None:
    """Everything the agent sends to the visitor is dropped; what the visitor sends still
    arrives, so only unanswered probes can tell the agent (it used to wait for the
    visitor's restart, 8.2 s)."""
    agent, _ = call
    mark = len(agent.snapshot())
    table = add_loss(topo, topo.hub, topo.agent.hub_dev, 100, direction="in")
    lost_at = time.time()
    noticed = agent.expect(
        lambda e: e.get("msg") == "rtc.connectivity" and e.get("reason") == "outbound-unanswered",
        6.0,
        "the agent's own one-way loss detection",
        after=mark,
    )
    assert noticed["t"] - lost_at < 4.0
    time.sleep(1.0)
    remove_loss(topo, topo.hub, table)
    healed_at = time.time()
    assert_media_back(call, healed_at)
    agent.expect(call_state("connected"), 10.0, "connected again", after=mark)
