"""Calls through NAT and an office firewall, relayed by a real coturn (issue 12).

Agent and visitor each sit behind their own port-randomising NAT (labnet/topologies.py), so
host and server-reflexive paths fail and only TURN relays work; coturn runs in the hub on
UDP, TCP and TLS 443 (labnet/turn.py) and hands out REST-API credentials. Each test asserts
media both ways after the fault, the reconnect attempt count and what could leak (TURN
allocations counted by coturn itself, the agent's fds and tasks).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from labnet.netns import JsonLines, Topology, start_call, start_signaling, stop_process
from labnet.topologies import NatTopology, direct_udp_blocked
from labnet.turn import PLAIN_PORT, Coturn, TurnUrls
from tests.net.support import (
    RUNNER,
    assert_media_back,
    assert_one_dtls_handshake,
    frames_from,
    log_event,
    matching,
)

pytestmark = [pytest.mark.netns, pytest.mark.slow]

Call = tuple[JsonLines, JsonLines]
ALL_TURN = TurnUrls()
RETIRE_S = 4.0  # aiortc_compat.transport.RESTART_GRACE_S (2 s) + coturn's own bookkeeping


@pytest.fixture
def nat() -> Iterator[NatTopology]:
    with NatTopology() as topology:
        yield topology


@pytest.fixture
def office() -> Iterator[NatTopology]:
    with NatTopology(office_firewall=True) as topology:
        yield topology


def relay_call(topo: Topology, agent_turn: TurnUrls = ALL_TURN) -> tuple[Coturn, Call]:
    """coturn and the signaling server in the hub, then a call with video both ways."""
    coturn = Coturn(topo)
    try:
        coturn.start()
        start_signaling(topo)
        call = start_call(
            topo,
            RUNNER,
            agent_args=coturn.runner_args("agent", agent_turn),
            visitor_args=coturn.runner_args("visitor"),
        )
    except BaseException:
        coturn.close()
        raise
    return coturn, call


def hang_up(coturn: Coturn, call: Call) -> None:
    """The runners first, while coturn can still take their allocations back (else each
    waits out its TURN requests), then coturn."""
    for peer in call:
        stop_process(peer.proc)
    coturn.close()


def paths(lines: JsonLines, after: int = 0) -> list[str]:
    return [e["path"] for e in matching(lines, lambda e: e.get("ev") == "path", after)]


def gathered_kinds(lines: JsonLines) -> set[str]:
    return {e["kind"] for e in matching(lines, log_event("ice.relay_gathered"))}


def assert_frames_advance(call: Call) -> None:
    for peer in call:
        last = [e for e in peer.snapshot() if e.get("ev") == "frame"][-1]
        peer.expect(frames_from(last["n"] + 15), 5.0, "advancing frames")


def test_call_through_two_nats_is_relayed(nat: NatTopology) -> None:
    coturn, call = relay_call(nat)
    try:
        agent, visitor = call
        assert_frames_advance(call)
        for peer in call:  # every TURN transport gathered, at once
            assert gathered_kinds(peer) == {"udp", "tcp", "tls"}, peer.name
        # Symmetric NAT on both ends: no direct path exists, a relay carries the media.
        agent.expect(lambda e: e.get("ev") == "path", 5.0, "agent path")
        visitor.expect(lambda e: e.get("ev") == "path", 5.0, "visitor path")
        used = {paths(agent)[-1], paths(visitor)[-1]}
        assert any(p.startswith("relay-") for p in used), used
        assert "relay-tcp" not in used and "relay-tls" not in used, "UDP is preferred"
        assert coturn.allocations()
    finally:
        hang_up(coturn, call)


def test_the_servers_per_call_turn_credentials_carry_a_relay_only_call(
    nat: NatTopology, tmp_path: Path
) -> None:
    """No TURN settings on either client: the signaling server mints per-call credentials
    (``[turn]``, the REST scheme) and hands them out on ``ring`` and ``accepted`` only; behind
    two port-randomising NATs the call can only connect if both parties used them."""
    coturn = Coturn(nat)
    call: Call | None = None
    try:
        coturn.start()
        config = tmp_path / "server.toml"
        config.write_text(
            "[turn]\n"
            f'secret = "{coturn.secret}"\n'
            f"urls = {json.dumps(TurnUrls().urls(coturn.address))}\n"
            "ttl_s = 600\n"
        )
        start_signaling(nat, "--config", str(config))
        trust = ["--trust", str(coturn.ca_path)]
        call = start_call(nat, RUNNER, agent_args=trust, visitor_args=trust)
        agent, visitor = call
        assert_frames_advance(call)
        for peer in call:
            assert gathered_kinds(peer) == {"udp", "tcp", "tls"}, peer.name
            peer.expect(lambda e: e.get("ev") == "path", 5.0, f"{peer.name} path")
        assert any(p.startswith("relay-") for p in {paths(agent)[-1], paths(visitor)[-1]})
        assert coturn.allocations()
    finally:
        if call is not None:
            hang_up(coturn, call)
        else:
            coturn.close()


def test_office_firewall_call_goes_over_turn_tls_on_443(office: NatTopology) -> None:
    """The agent may only open TCP to port 443: its relay is TURN over TLS."""
    coturn, call = relay_call(office)
    try:
        agent, _ = call
        assert_frames_advance(call)
        assert gathered_kinds(agent) == {"tls"}
        agent.expect(lambda e: e.get("ev") == "path", 5.0, "agent path")
        assert paths(agent)[-1] == "relay-tls"
    finally:
        hang_up(coturn, call)


def test_relayed_call_recovers_from_a_link_cut_in_one_attempt(nat: NatTopology) -> None:
    coturn, call = relay_call(nat)
    try:
        agent, _ = call
        mark = len(agent.snapshot())
        nat.cut(nat.agent)
        time.sleep(4.0)
        restored_at = nat.restore(nat.agent)
        assert_media_back(call, restored_at)
        agent.expect(log_event("reconnect.success"), 5.0, "reconnect.success", after=mark)
        starts = matching(agent, log_event("reconnect.start"), mark)
        assert [e["attempt"] for e in starts] == ["1/3"]
        assert_one_dtls_handshake(call)
    finally:
        hang_up(coturn, call)


def test_after_a_cut_over_turn_tcp_the_stale_signaling_socket_is_replaced(
    nat: NatTopology,
) -> None:
    """Only TURN over TCP for the agent. During a 5 s cut the server's side of the agent's
    signaling socket backs off its retransmissions; once the restarted ICE agent reaches the
    TURN server again the agent must not wait for them: it resumes on a fresh socket and the
    restart completes over a fresh TURN/TCP allocation (attempt 1, one DTLS handshake), and
    the connects retried during the cut leave no allocation behind.

    The agent's UDP goes no further than coturn's STUN port: else its host candidate can
    reach the visitor's TURN/UDP relay (the permission the visitor opens to check the
    agent's srflx address covers the agent's NAT) and, host pairs outranking relay pairs,
    now and then wins the race and carries the call with no TURN/TCP on the agent's side."""
    with direct_udp_blocked(nat, nat.agent.ns, allowed_port=PLAIN_PORT):
        stale_signaling_socket_replaced_after_a_cut(nat)


def stale_signaling_socket_replaced_after_a_cut(nat: NatTopology) -> None:
    coturn, call = relay_call(nat, TurnUrls(udp=False, tls=False))
    try:
        agent, _ = call
        agent.expect(lambda e: e.get("ev") == "path", 5.0, "agent path")
        assert paths(agent)[-1] == "relay-tcp"
        time.sleep(RETIRE_S)  # the offerer's unbundled transport lets go of its relays
        allocations = coturn.allocations()
        mark = len(agent.snapshot())
        nat.cut(nat.agent)
        time.sleep(5.0)
        restored_at = nat.restore(nat.agent)
        assert_media_back(call, restored_at)
        agent.expect(log_event("reconnect.success"), 5.0, "reconnect.success", after=mark)
        stale = matching(
            agent,
            lambda e: (
                log_event("signaling.reconnect_now")(e) and e.get("reason") == "stale-after-outage"
            ),
            mark,
        )
        assert stale and stale[0]["t"] > restored_at, "replaced once the network was back"
        starts = matching(agent, log_event("reconnect.start"), mark)
        assert [e["attempt"] for e in starts] == ["1/3"]
        assert_one_dtls_handshake(call)
        restarts_settled(call, RETIRE_S, timeout_s=40.0)
        assert coturn.allocations() == allocations
    finally:
        hang_up(coturn, call)


def test_nat_outside_address_change_recovers_over_a_new_relay(nat: NatTopology) -> None:
    """The office router gets a new public address: every NAT mapping (and with it the
    agent's TURN allocation) is gone; the agent notices on its own and restarts."""
    coturn, call = relay_call(nat)
    try:
        agent, _ = call
        mark = len(agent.snapshot())
        _, switched_at = nat.switch_address(nat.agent_outside, "198.18.1.3")
        assert_media_back(call, switched_at)
        agent.expect(log_event("reconnect.success"), 10.0, "reconnect.success", after=mark)
        starts = matching(agent, log_event("reconnect.start"), mark)
        assert [e["attempt"] for e in starts] == ["1/3"]
    finally:
        hang_up(coturn, call)


def test_agent_inside_address_switch_recovers_over_relay(nat: NatTopology) -> None:
    coturn, call = relay_call(nat)
    try:
        agent, _ = call
        mark = len(agent.snapshot())
        _, switched_at = nat.switch_address(nat.agent, "198.19.1.3")
        assert_media_back(call, switched_at)
        agent.expect(log_event("reconnect.success"), 10.0, "reconnect.success", after=mark)
        starts = matching(agent, log_event("reconnect.start"), mark)
        assert [e["attempt"] for e in starts] == ["1/3"], [e.get("reason") for e in starts]
    finally:
        hang_up(coturn, call)


def restarts_settled(call: Call, quiet_s: float, timeout_s: float) -> None:
    """Return once neither peer has started, prepared or connected an ICE generation for
    ``quiet_s`` (every replaced agent retired by then), or after ``timeout_s``.

    On a starved machine the connectivity monitor may start an episode of its own after the
    last restart asked for (``outbound-unanswered``); counted in the middle of it, coturn
    holds the replaced generation's allocations too, for its retire grace."""
    deadline = time.time() + timeout_s
    names = ("reconnect.start", "ice.restart_prepared", "ice.restart_connected")
    while (now := time.time()) < deadline:
        events = (e for peer in call for e in peer.snapshot() if e.get("ev") == "log")
        last = max((e["t"] for e in events if e.get("msg") in names), default=0.0)
        if now >= last + quiet_s:
            return
        time.sleep(min(last + quiet_s, deadline) - now)


@pytest.mark.timeout(180)
def test_twenty_relay_restarts_leak_no_turn_allocation(nat: NatTopology) -> None:
    """Each ICE restart allocates fresh relays; the replaced agent must release its own
    (coturn's session list is the judge), and the agent's fds and tasks stay flat."""
    coturn, call = relay_call(nat)
    try:
        agent, _ = call
        time.sleep(RETIRE_S)  # the offerer's unbundled transport lets go of its relays
        before_allocations = coturn.allocations()
        before = [e for e in agent.snapshot() if e.get("ev") == "metrics"][-1]
        first = len(agent.snapshot())
        for restart in range(1, 21):
            mark = len(agent.snapshot())
            agent.send("restart")  # one episode each: the next waits for its success
            agent.expect(log_event("reconnect.success"), 10.0, f"restart {restart}", after=mark)
        assert len(matching(agent, log_event("ice.restart_connected"), first)) >= 20
        restarts_settled(call, RETIRE_S, timeout_s=40.0)
        assert_frames_advance(call)
        assert coturn.allocations() == before_allocations
        after = [e for e in agent.snapshot() if e.get("ev") == "metrics"][-1]
        assert after["fds"] <= before["fds"] + 1, (before, after)
        assert after["tasks"] <= before["tasks"] + 2, (before, after)
    finally:
        hang_up(coturn, call)


def test_restart_moves_a_relayed_call_to_the_direct_path_once_it_opens(topo: Topology) -> None:
    """Both ends routable, but a firewall on each lets UDP out only to the TURN server: the
    call starts relayed. The firewall lifts; the next ICE restart must find the direct path
    (host candidates outrank relays) and move the media onto it."""
    coturn = Coturn(topo).start()
    call: Call | None = None
    try:
        with direct_udp_blocked(topo, topo.agent.ns, topo.visitor.ns, allowed_port=PLAIN_PORT):
            start_signaling(topo)
            call = start_call(
                topo,
                RUNNER,
                agent_args=coturn.runner_args("agent"),
                visitor_args=coturn.runner_args("visitor"),
            )
            agent = call[0]
            for peer in call:
                peer.expect(lambda e: e.get("ev") == "path", 5.0, f"{peer.name} path")
                # Relayed (which relay transport wins the first checks is not this test's
                # business: test_call_through_two_nats_is_relayed judges the preference).
                assert paths(peer)[-1].startswith("relay-"), (peer.name, paths(peer))
            assert_frames_advance(call)
        marks = [len(peer.snapshot()) for peer in call]
        restarted_at = time.time()
        agent.send("restart")
        agent.expect(log_event("reconnect.success"), 10.0, "reconnect.success", after=marks[0])
        for peer, mark in zip(call, marks, strict=True):
            peer.expect(
                lambda e: e.get("ev") == "path" and e["path"] == "host",
                10.0,
                f"{peer.name} on the direct path",
                after=mark,
            )
        assert_media_back(call, restarted_at)
        time.sleep(RETIRE_S)  # the relayed agent is retired: nothing may fall back to it
        for peer in call:
            assert paths(peer)[-1] == "host", (peer.name, paths(peer))
        assert_frames_advance(call)
        assert_one_dtls_handshake(call)
    finally:
        if call is not None:
            hang_up(coturn, call)
        else:
            coturn.close()
