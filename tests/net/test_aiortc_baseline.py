"""Why the project needs its own recovery: plain aiortc does not notice a cut link.

docs/aiortc-notes.md: 29-33 s (consent freshness); this test stays bounded and only
checks the first 5 s of an outage: media stops, yet aiortc reports nothing.
"""

from __future__ import annotations

import time

import pytest

from labnet.netns import JsonLines, Topology, is_frame, start_call

pytestmark = pytest.mark.netns

OBSERVE_S = 5.0


def test_plain_aiortc_reports_no_state_change_for_5s_after_a_cut(
    topo: Topology, server: JsonLines
) -> None:
    agent, visitor = start_call(topo, "labnet.aiortc_peer")
    marks = {p.name: len(p.snapshot()) for p in (agent, visitor)}
    cut_at = topo.cut(topo.agent)
    time.sleep(OBSERVE_S)
    for peer in (agent, visitor):
        during = [e for e in peer.snapshot()[marks[peer.name] :] if e["t"] <= cut_at + OBSERVE_S]
        late_frames = [e for e in during if is_frame(e) and e["t"] > cut_at + 0.5]
        assert late_frames == [], f"{peer.name}: media still flows, the cut did not bite"
        states = [e for e in during if e.get("ev") == "state"]
        assert states == [], f"{peer.name}: aiortc noticed the cut: {states}"
