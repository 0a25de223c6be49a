"""Automatic call recovery on real network faults (issue 5), end to end.

Agent (AgentSession) and visitor (VisitorPeer) run as processes in their own namespaces
(labnet/call_runner.py) and talk through the real signaling server in the hub; faults are
real link, address and route changes (labnet/netns.py). Each test stays well under 60 s.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from labnet.netns import (
    AGENT_TOKEN,
    Event,
    JsonLines,
    Topology,
    captured_after,
    healthz,
    is_frame,
    signaling_url,
    start_call,
)
from tests.net.support import (
    RUNNER,
    assert_media_back,
    assert_one_dtls_handshake,
    call_state,
    log_event,
    matching,
)

pytestmark = [pytest.mark.netns, pytest.mark.slow]


def signaling_state(state: str) -> Callable[[Event], bool]:
    return lambda e: e.get("ev") == "signaling" and e.get("state") == state


def test_link_cut_for_5s_recovers_with_one_attempt(
    topo: Topology, call: tuple[JsonLines, JsonLines]
) -> None:
    agent, _ = call
    mark = len(agent.snapshot())
    cut_at = topo.cut(topo.agent)
    shown = agent.expect(call_state("reconnecting"), 5.0, "reconnecting", after=mark)
    assert shown["t"] - cut_at < 2.5, "the agent must see 'Reconnecting…' within ~1.5 s"
    time.sleep(max(0.0, cut_at + 5.0 - time.time()))
    restored_at = topo.restore(topo.agent)
    assert_media_back(call, restored_at)
    agent.expect(log_event("reconnect.success"), 5.0, "reconnect.success", after=mark)
    starts = matching(agent, log_event("reconnect.start"), mark)
    assert [e["attempt"] for e in starts] == ["1/3"]
    assert matching(agent, log_event("reconnect.attempt_failed"), mark) == []
    assert_one_dtls_handshake(call)


def test_one_way_loss_is_detected_and_recovered(
    topo: Topology, call: tuple[JsonLines, JsonLines]
) -> None:
    agent, _ = call
    mark = len(agent.snapshot())
    lost_at = topo.blackhole(topo.hub, topo.agent.address)  # nothing reaches the agent
    shown = agent.expect(call_state("reconnecting"), 5.0, "reconnecting", after=mark)
    assert shown["t"] - lost_at < 2.5
    time.sleep(1.0)
    healed_at = topo.unblackhole(topo.hub, topo.agent.address)
    assert_media_back(call, healed_at)
    agent.expect(call_state("connected"), 5.0, "connected again", after=mark)
    assert_one_dtls_handshake(call)


def test_address_switch_restarts_proactively_and_media_returns(
    topo: Topology, call: tuple[JsonLines, JsonLines]
) -> None:
    """Handover: the agent's address disappears and another appears. Signaling must not sit
    on the socket bound to the old address until its heartbeat gives up (that took 23 s):
    it resumes at once and the first restart offer goes out on the new socket."""
    agent, _ = call
    mark = len(agent.snapshot())
    _, switched_at = topo.switch_address(topo.agent, "198.18.1.3")
    start = agent.expect(log_event("reconnect.start"), 3.0, "a restart", after=mark)
    assert start["t"] - switched_at < 1.0
    agent.expect(log_event("signaling.reconnect_now"), 1.0, "signaling reconnect", after=mark)
    sent = agent.expect(log_event("reconnect.offer_sent"), 3.0, "restart offer sent", after=mark)
    assert sent["attempt"] == "1/3" and sent["t"] - switched_at < 1.5
    for peer in call:
        first = peer.expect(captured_after(switched_at), 3.0, "media soon after the switch")
        assert first["t"] - switched_at < 3.0
    assert_media_back(call, switched_at)
    agent.expect(call_state("connected"), 5.0, "connected again", after=mark)
    assert [e["attempt"] for e in matching(agent, log_event("reconnect.start"), mark)] == ["1/3"]
    assert_one_dtls_handshake(call)


def test_idle_agent_resumes_signaling_at_once_after_an_address_switch(
    topo: Topology, server: JsonLines
) -> None:
    """No call to watch the network: the session itself must drop the socket bound to the
    vanished address, or the next ring is lost in it."""
    agent = topo.spawn_python(
        topo.agent.ns, "agent", RUNNER,
        "--url", signaling_url(topo.agent), "--role", "agent", "--token", AGENT_TOKEN,
    )  # fmt: skip
    agent.expect(lambda e: e.get("ev") == "signed_in", 30.0, "agent sign-in")
    mark = len(agent.snapshot())
    _, switched_at = topo.switch_address(topo.agent, "198.18.1.3")
    back = agent.expect(signaling_state("connected"), 3.0, "signaling back", after=mark)
    assert back["t"] - switched_at < 1.5
    assert matching(agent, signaling_state("reconnecting"), mark), "it reconnected"
    visitor = topo.spawn_python(
        topo.visitor.ns,
        "visitor",
        RUNNER,
        "--url",
        signaling_url(topo.visitor),
        "--role",
        "visitor",
    )
    for peer in (agent, visitor):
        peer.expect(is_frame, 30.0, "a call to the switched agent")


def test_outage_longer_than_the_policy_fails_cleanly_after_exactly_3_attempts(
    topo: Topology, server: JsonLines
) -> None:
    # A short policy keeps the test short: 3 x 2 s attempts, 0.5 s and 1 s backoff.
    agent, visitor = start_call(
        topo, RUNNER, agent_args=("--attempt-timeout", "2", "--backoff", "0.5", "1")
    )
    mark = len(agent.snapshot())
    topo.cut_peer_path()  # media dies for good; signaling stays, so teardown reaches all
    agent.expect(log_event("reconnect.exhausted"), 20.0, "reconnect.exhausted", after=mark)
    agent.expect(lambda e: e.get("ev") == "ended", 5.0, "the agent's call ending", after=mark)
    ended = visitor.expect(lambda e: e.get("ev") == "ended", 5.0, "the visitor's call ending")
    assert "reconnect-failed" in ended["reason"]
    starts = matching(agent, log_event("reconnect.start"), mark)
    assert [e["attempt"] for e in starts] == ["1/3", "2/3", "3/3"]
    failed = matching(agent, log_event("reconnect.attempt_failed"), mark)
    assert [e["attempt"] for e in failed] == ["1/3", "2/3", "3/3"]
    backoffs = [start["t"] - fail["t"] for fail, start in zip(failed, starts[1:], strict=False)]
    assert backoffs == [pytest.approx(0.5, abs=0.25), pytest.approx(1.0, abs=0.25)]
    assert len(matching(agent, log_event("reconnect.exhausted"), mark)) == 1
    states = [e["state"] for e in matching(agent, lambda e: e.get("ev") == "call_state", mark)]
    assert states[-1] == "failed"  # terminal: the call is over, FAILED is what it ended as
    assert matching(agent, log_event("reconnect.success"), mark) == []
    assert healthz(topo, topo.agent.ns, topo.agent.gateway)["calls"] == 0


def lowest_metrics(peer: JsonLines, since: float) -> dict[str, int]:
    """The lowest tasks/fds/RSS sampled since ``since``: an old ICE agent in its grace
    period or a restart in flight is not a leak, what stays is."""
    samples = matching(peer, lambda e: e.get("ev") == "metrics" and e["t"] >= since)
    assert samples, f"{peer.name} reports no metrics"
    return {key: min(s[key] for s in samples) for key in ("tasks", "fds", "rss_kb")}


def settled_pair(peers: tuple[JsonLines, JsonLines]) -> dict[str, dict[str, int]]:
    """Both ends settle in parallel (their metric lines are sampled independently)."""
    time.sleep(2.0)
    start = time.time()
    time.sleep(3.0)
    return {peer.name: lowest_metrics(peer, since=start) for peer in peers}


def test_20_short_outages_all_recover_without_leaking(
    topo: Topology, call: tuple[JsonLines, JsonLines]
) -> None:
    warm: dict[str, dict[str, int]] = {}
    for cycle in range(20):
        topo.cut(topo.agent)
        time.sleep(1.0)
        restored_at = topo.restore(topo.agent)
        for peer in call:
            peer.expect(captured_after(restored_at), 5.0, f"media after outage {cycle + 1}")
        if cycle == 4:  # the first restarts create lasting state (e.g. the monitor's probes)
            warm = settled_pair(call)
    final = settled_pair(call)
    for peer in call:
        baseline = warm[peer.name]
        now = final[peer.name]
        assert now["tasks"] <= baseline["tasks"] + 1, (peer.name, baseline, now)
        assert now["fds"] <= baseline["fds"] + 1, (peer.name, baseline, now)
        assert now["rss_kb"] <= baseline["rss_kb"] + 20_000, (peer.name, baseline, now)
        assert matching(peer, log_event("reconnect.exhausted")) == []
    assert_one_dtls_handshake(call)
