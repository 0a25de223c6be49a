"""Outages that outlast a reconnect attempt (issue 12): the call recovers on attempt 2 or 3.

The product policy (softphone/call/reconnect.py): attempts of 10 s, 1 s then 2 s of backoff,
so attempt 2 starts ~12 s and attempt 3 ~24 s after the detection. The agent's cable stays
pulled until the agent has started the wanted attempt and for ``INTO_ATTEMPT_S`` more
(outages of ~14 s and ~27 s), so the restore lands inside that attempt whatever the
machine's load does to the timing. The longer one also outlives the signaling heartbeat
(10 s interval, two missed = dead socket): the socket is declared dead during the outage and
must come back after the restore. Python visitor (labnet/call_runner.py) on the LAN
topology; media both ways after the restore, one DTLS handshake, nothing ended.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from labnet.netns import Event, JsonLines, Topology, is_frame
from tests.net.support import (
    assert_media_back,
    assert_one_dtls_handshake,
    call_state,
    frames_from,
    log_event,
    matching,
)

pytestmark = [pytest.mark.netns, pytest.mark.slow]

INTO_ATTEMPT_S = 2.0
SETTLE_S = 5.0
ATTEMPT_STARTS_WITHIN_S = 40.0  # attempt 3 starts ~25 s after the cut; room for load


def attempt_started(attempt: str) -> Callable[[Event], bool]:
    return lambda e: log_event("reconnect.start")(e) and e.get("attempt") == attempt


def signaling(state: str) -> Callable[[Event], bool]:
    return lambda e: e.get("ev") == "signaling" and e.get("state") == state


def story(peer: JsonLines, after: int, since: float) -> str:
    """What happened, for a failure message: seconds since ``since``, event, details."""
    kinds = ("log", "call_state", "signaling", "peer_state", "path")
    return "\n".join(
        f"{e['t'] - since:7.2f} {e.get('msg') or e['ev']} {e.get('state') or ''} "
        f"{e.get('attempt') or ''} {e.get('reason') or ''} {e.get('path') or ''}"
        for e in peer.snapshot()[after:]
        if e.get("ev") in kinds
    )


def assert_frames_advance(call: tuple[JsonLines, JsonLines]) -> None:
    for peer in call:
        last = matching(peer, is_frame)[-1]
        peer.expect(frames_from(last["n"] + 15), 5.0, f"{peer.name}: frames advancing")


def before(events: list[Event], moment: float) -> list[Event]:
    return [e for e in events if e["t"] <= moment]


@pytest.mark.parametrize("attempt", [2, 3])
def test_outage_past_an_attempt_recovers_on_the_next_one(
    topo: Topology, call: tuple[JsonLines, JsonLines], attempt: int
) -> None:
    agent, _ = call
    mark = len(agent.snapshot())
    wanted = f"{attempt}/3"
    cut_at = topo.cut(topo.agent)
    agent.expect(call_state("reconnecting"), 5.0, "reconnecting", after=mark)
    agent.expect(attempt_started(wanted), ATTEMPT_STARTS_WITHIN_S, f"attempt {wanted}", after=mark)
    time.sleep(INTO_ATTEMPT_S)
    restored_at = topo.restore(topo.agent)
    assert_media_back(call, restored_at)
    success = agent.expect(log_event("reconnect.success"), 10.0, "reconnect.success", after=mark)
    assert success["attempt"] == wanted, (restored_at - cut_at, success)
    # The episode that recovered ran exactly attempts 1..N. (Right after it, the restart
    # offers the visitor re-issued during the outage arrive all at once and, in about one run
    # of four, end in a short second episode that recovers on its own: docs/networks.md.)
    starts = before(matching(agent, log_event("reconnect.start"), mark), success["t"])
    failed = before(matching(agent, log_event("reconnect.attempt_failed"), mark), success["t"])
    timeline = story(agent, mark, cut_at)
    assert [e["attempt"] for e in starts] == [f"{n}/3" for n in range(1, attempt + 1)], timeline
    assert [e["attempt"] for e in failed] == [f"{n}/3" for n in range(1, attempt)], timeline
    time.sleep(SETTLE_S)  # whatever follows the recovery has settled: the call is connected
    states = matching(agent, lambda e: e.get("ev") == "call_state", mark)
    assert states[-1]["state"] == "connected", timeline
    assert_frames_advance(call)
    for peer in call:
        assert matching(peer, lambda e: e.get("ev") == "ended") == [], peer.name
        assert matching(peer, log_event("reconnect.exhausted")) == [], peer.name
    if attempt == 3:
        # ~27 s without a pong: the heartbeat declared the socket dead during the outage,
        # and signaling came back soon after the restore (the recovery itself may come first:
        # the old path answering again is success too).
        lost = agent.expect(signaling("reconnecting"), 1.0, "signaling lost", after=mark)
        back = agent.expect(signaling("connected"), 1.0, "signaling back", after=mark)
        assert cut_at < lost["t"] < restored_at < back["t"] < restored_at + 5.0, timeline
    assert_one_dtls_handshake(call)
