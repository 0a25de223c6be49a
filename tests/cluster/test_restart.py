"""A call survives its signaling server: SIGKILL mid-call, a new server (no memory, the same
call-ticket secret) on the same port, both parties re-attach their call with its ticket, and
a link cut 10 s later still recovers through the new server (issue 13).

Agent (AgentSession) and visitor (VisitorPeer) run as processes in their own namespaces
(labnet/call_runner.py); the server in the hub.
"""

from __future__ import annotations

import time

import pytest

from labnet.netns import (
    SERVER_PORT,
    Topology,
    captured_after,
    healthz,
    start_call,
    start_signaling,
)
from labnet.topologies import new_connections_dropped
from tests.net.support import (
    RUNNER,
    assert_media_back,
    assert_one_dtls_handshake,
    log_event,
    matching,
)

pytestmark = [pytest.mark.netns, pytest.mark.slow]
NODES = (SERVER_PORT, SERVER_PORT + 1)  # node A first


def test_a_call_survives_a_killed_server_and_recovers_through_the_new_one(
    topo: Topology,
) -> None:
    old = start_signaling(topo, name="server-old")
    call = start_call(topo, RUNNER)
    agent, _ = call
    marks = [len(p.snapshot()) for p in call]

    old.proc.kill()  # SIGKILL: no drain, no goodbye
    killed_at = time.time()
    old.proc.wait(5)
    time.sleep(1.0)
    start_signaling(topo, name="server-new")
    for peer, mark in zip(call, marks, strict=True):
        peer.expect(log_event("call.reattached"), 10.0, "the call re-attached", after=mark)
        assert not matching(peer, lambda e: e.get("ev") == "ended", mark), peer.name
    back = [
        matching(p, log_event("call.reattached"), m)[0]["t"] - killed_at
        for p, m in zip(call, marks, strict=True)
    ]
    # Media never depended on the server: frames captured during the outage arrived.
    for peer in call:
        peer.expect(captured_after(killed_at + 0.5), 3.0, "media during the outage")
    status = healthz(topo, topo.agent.ns, topo.agent.gateway)
    assert status["calls"] == 1 and status["sessions"] == 2

    # 10 s later a link cut: the restart offers go through the new server.
    time.sleep(max(0.0, killed_at + 10.0 - time.time()))
    mark = len(agent.snapshot())
    cut_at = topo.cut(topo.agent)
    time.sleep(4.0)
    restored_at = topo.restore(topo.agent)
    assert_media_back(call, restored_at)
    agent.expect(log_event("reconnect.success"), 10.0, "reconnect.success", after=mark)
    assert not matching(agent, log_event("reconnect.exhausted"), mark)
    for peer in call:
        assert not matching(peer, lambda e: e.get("ev") == "ended"), peer.name
    assert_one_dtls_handshake(call)
    print(f"re-attached after the kill: {[round(b, 2) for b in back]} s; cut at {cut_at:.1f}")


@pytest.mark.parametrize("stop", ["sigkill", "sigterm"])
def test_clients_move_to_the_other_node_with_their_call(topo: Topology, stop: str) -> None:
    """Two nodes; agent and visitor on node A; A is killed (or drained): both are back on
    node B within 2 s, re-attached, media never stopped, and a later link cut recovers."""
    node_a = start_signaling(topo, name="node-a")
    start_signaling(topo, name="node-b", port=SERVER_PORT + 1)
    call = start_call(topo, RUNNER, ports=NODES)
    agent, _ = call
    marks = [len(p.snapshot()) for p in call]

    stopped_at = time.time()
    if stop == "sigkill":
        node_a.proc.kill()
    else:
        node_a.proc.terminate()  # drain: notice, close 1012
    node_a.proc.wait(15)
    back = []
    for peer, mark in zip(call, marks, strict=True):
        event = peer.expect(log_event("call.reattached"), 10.0, "re-attached on B", after=mark)
        back.append(event["t"] - stopped_at)
    assert max(back) <= 2.0, back
    for peer in call:
        peer.expect(captured_after(stopped_at + 0.5), 3.0, "media during the move")

    mark = len(agent.snapshot())
    topo.cut(topo.visitor)
    time.sleep(3.0)
    restored_at = topo.restore(topo.visitor)
    assert_media_back(call, restored_at)
    agent.expect(log_event("reconnect.success"), 10.0, "reconnect.success", after=mark)
    for peer in call:
        assert not matching(peer, lambda e: e.get("ev") == "ended"), peer.name
    assert_one_dtls_handshake(call)
    print(f"{stop}: both back on node B after {[round(b, 2) for b in back]} s")


def test_a_rolling_restart_of_both_nodes_keeps_the_call(topo: Topology) -> None:
    """Deploy: node A drains and comes back, then node B: the call moves A → B → A and
    a link cut afterwards still recovers."""
    node_a = start_signaling(topo, name="node-a")
    node_b = start_signaling(topo, name="node-b", port=SERVER_PORT + 1)
    call = start_call(topo, RUNNER, ports=NODES)
    agent, _ = call
    for node, name, port in (
        (node_a, "node-a2", SERVER_PORT),
        (node_b, "node-b2", SERVER_PORT + 1),
    ):
        marks = [len(p.snapshot()) for p in call]
        stopped_at = time.time()
        node.proc.terminate()
        node.proc.wait(15)
        for peer, mark in zip(call, marks, strict=True):
            moved = peer.expect(log_event("call.reattached"), 10.0, "re-attached", after=mark)
            assert moved["t"] - stopped_at <= 2.0, (name, peer.name)
        for peer in call:
            peer.expect(captured_after(stopped_at + 0.5), 3.0, "media during the move")
        start_signaling(topo, name=name, port=port)  # the new version of that node
    mark = len(agent.snapshot())
    topo.cut(topo.agent)
    time.sleep(3.0)
    restored_at = topo.restore(topo.agent)
    assert_media_back(call, restored_at)
    agent.expect(log_event("reconnect.success"), 10.0, "reconnect.success", after=mark)
    for peer in call:
        assert not matching(peer, lambda e: e.get("ev") == "ended"), peer.name
    assert_one_dtls_handshake(call)


def test_a_server_name_with_two_addresses_gets_past_a_dead_host(topo: Topology) -> None:
    """DNS round robin: both clients know the service by one name with two addresses (node
    A's first). Node A dies and its address answers no more (a connection attempt to it
    vanishes: no refusal, no ICMP): both re-attach on B within 2 s, instead of waiting out
    a connect timeout on A's address first."""
    name, host_a, host_b = "signal.test", "198.18.9.1", "198.18.9.2"
    for address in (host_a, host_b):
        topo.add_hub_address(address)
    topo.name_hosts(name, [host_a, host_b])
    node_a = start_signaling(topo, name="node-a", host=host_a)
    start_signaling(topo, name="node-b", host=host_b)
    call = start_call(topo, RUNNER, url=f"ws://{name}:{SERVER_PORT}/ws")
    assert healthz(topo, topo.agent.ns, host_a)["calls"] == 1  # both went to A, in order
    marks = [len(p.snapshot()) for p in call]

    # A's address stops answering: new connections to it vanish (no refusal, no ICMP), so
    # only the open sockets learn that the node died.
    new_connections_dropped(topo.hub, host_a)
    node_a.proc.kill()
    died_at = time.time()
    back = []
    for peer, mark in zip(call, marks, strict=True):
        event = peer.expect(log_event("call.reattached"), 10.0, "re-attached on B", after=mark)
        back.append(event["t"] - died_at)
    assert max(back) <= 2.0, back
    assert healthz(topo, topo.agent.ns, host_b)["calls"] == 1
    for peer in call:
        peer.expect(captured_after(died_at + 0.5), 3.0, "media during the move")
        assert not matching(peer, lambda e: e.get("ev") == "ended"), peer.name
    assert_one_dtls_handshake(call)
    print(f"both back on B after {[round(b, 2) for b in back]} s")
