"""The widget, in Chromium and in Firefox, survives real network faults (network
namespaces, labnet/netns.py): a link cut and an address switch recover on the same DTLS
session; a link that stays down ends with a clear error on both sides; an outage of the
agent's link into its reconnect attempt 2 or 3 recovers on that attempt (Chromium). Behind two
port-randomising NATs (labnet/topologies.py) Chromium reaches the Python agent only through
coturn, with the per-call TURN credentials the signaling server mints, and a cut of the
agent's own link recovers over the relays."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import pytest

from labnet.browsers import netns_call as nc
from labnet.netns import (
    JsonLines,
    Topology,
    can_create_namespaces,
    cut_into_attempt,
    runner_attempt,
    stop_process,
    sweep_stale,
)
from labnet.topologies import NatTopology
from labnet.turn import Coturn, TurnUrls
from tests.browser.browsers import BROWSERS, require
from tests.net.support import (
    assert_recovered_on_attempt,
    assert_signaling_lost_and_back,
    log_event,
    matching,
    story,
)

if TYPE_CHECKING:
    from labnet.browsers.netns_call import SyncPage

pytestmark = [pytest.mark.netns, pytest.mark.slow]

STATUS = "document.querySelector('.sp-status').textContent"


# A short reconnect policy, from the server (welcome.reconnect) and, for a server that does
# not send one yet, from the embedding page's mount() settings.
QUICK_POLICY = {"max_attempts": 3, "attempt_timeout_s": 2.0, "backoff_s": [0.5, 0.5]}
QUICK_PAGE = {"attemptTimeoutMs": 2000, "backoffMs": [500, 500]}


@pytest.fixture(params=BROWSERS)
def browser(request: pytest.FixtureRequest) -> str:
    require(request.param)
    return str(request.param)


@pytest.fixture
def topo(request: pytest.FixtureRequest, browser: str) -> Iterator[Topology]:
    """``request.param`` (indirect parametrisation): the server's [reconnect] policy."""
    if not can_create_namespaces():
        pytest.fail("`ip netns` does not work here although we are root")
    sweep_stale()
    with Topology() as topology:
        try:
            nc.start_server(topology, getattr(request, "param", None))
            yield topology
        finally:
            for ns in (topology.agent.ns, topology.visitor.ns):
                nc.kill_namespace_processes(ns)


@contextlib.contextmanager
def in_call(
    topo: Topology, browser: str, widget_config: dict[str, object] | None = None
) -> Iterator[SyncPage]:
    from playwright.sync_api import sync_playwright

    with (
        sync_playwright() as pw,
        nc.browser_page(pw, topo.visitor.ns, nc.origin(topo.visitor), browser) as page,
    ):
        nc.call_from_widget(page, topo.visitor, widget_config)
        yield page


def decoded_after(agent: JsonLines, moment: float, timeout: float) -> bool:
    return (
        agent.wait_for(lambda e: e.get("ev") == "frame" and e["t"] >= moment, timeout) is not None
    )


def test_link_cut_and_restore_recovers_the_call(topo: Topology, browser: str) -> None:
    agent = nc.start_agent_runner(topo)
    with in_call(topo, browser) as page:
        agent.expect(lambda e: e.get("ev") == "frame", 20, "agent decoding Chromium's video")
        call_id = page.evaluate(f"{nc.HANDLE}.callId")
        time.sleep(1.0)
        cut_at = topo.cut(topo.visitor)
        nc.wait_js(page, f"{STATUS}.startsWith('Reconnecting')", 10, "'Reconnecting…' shown")
        time.sleep(max(0.0, cut_at + 5.0 - time.time()))
        restored_at = topo.restore(topo.visitor)

        # Chromium shows the agent's test pattern captured after the restore ...
        nc.wait_js(
            page,
            f"window.__probe.since({restored_at * 1000}).frames.some("
            f"f => f.ts !== null && ((f.t - f.ts) >>> 0) <= f.t - {restored_at * 1000})",
            20,
            "agent video captured after the restore, shown in Chromium",
        )
        # ... the agent decodes Chromium's camera again, and it is the same call and DTLS.
        assert decoded_after(agent, restored_at + 0.5, 20)
        nc.wait_js(page, f"{STATUS} === 'Connected' || {STATUS} === 'Reconnected'", 15, "UI")
        assert page.evaluate(f"{nc.HANDLE}.callId") == call_id
        events = agent.snapshot()
        assert sum(e.get("ev") == "dtls_connected" for e in events) == 1
        assert not any(e.get("ev") == "ended" for e in events)
        assert not page.is_visible(".sp-error")


@pytest.mark.parametrize("topo", [QUICK_POLICY], indirect=True)
def test_a_link_that_stays_down_ends_with_a_clear_error(topo: Topology, browser: str) -> None:
    agent = nc.start_agent_runner(topo)
    with in_call(topo, browser, QUICK_PAGE) as page:
        time.sleep(1.0)
        topo.cut(topo.visitor)
        nc.wait_js(page, f"{STATUS}.startsWith('Reconnecting')", 10, "'Reconnecting…' shown")
        nc.wait_js(page, f"{STATUS}.includes('3 of 3')", 15, "the third attempt")
        error = nc.wait_js(
            page,
            "!document.querySelector('.sp-error').hidden && "
            "document.querySelector('.sp-error').textContent",
            15,
            "the error message",
        )
        assert "could not be restored" in error and "network" in error
        assert page.is_visible(".sp-call")  # the visitor can call again
        # The agent's side ends too, with the same reason (its own attempts, or the
        # widget's hangup when the link comes back is not needed: it stays down).
        ended = agent.wait_for(lambda e: e.get("ev") == "ended", 45)
        assert ended is not None and ended["reason"] in ("reconnect-failed", "peer-lost")


@pytest.mark.parametrize("browser", ["chromium"], indirect=True)
@pytest.mark.parametrize("attempt", [2, 3])
def test_an_agent_outage_past_an_attempt_recovers_on_the_next_one(
    topo: Topology, browser: str, attempt: int
) -> None:
    """Issue 12 with Chromium as the visitor (tests/net/test_long_outages.py has the Python
    one): the agent's cable stays pulled into its attempt 2 or 3 (~14 s, ~27 s; the longer
    one outlives the agent's signaling heartbeat). The widget runs its own attempts
    meanwhile; the call must come back on the agent's attempt N without either side giving
    up, on the same DTLS session."""
    agent = nc.start_agent_runner(topo)
    with in_call(topo, browser) as page:
        agent.expect(lambda e: e.get("ev") == "frame", 20, "agent decoding Chromium's video")
        call_id = page.evaluate(f"{nc.HANDLE}.callId")
        mark = len(agent.snapshot())
        cut_at, restored_at = cut_into_attempt(
            topo, topo.agent, runner_attempt(agent, attempt, mark)
        )

        shows_agent_video_captured_after(page, restored_at, 20)
        assert decoded_after(agent, restored_at + 0.5, 20)
        assert_recovered_on_attempt(agent, mark, attempt, cut_at)
        time.sleep(5.0)  # whatever follows the recovery has settled

        # Still flowing both ways, and both ends still in the call they had.
        shows_agent_video_captured_after(page, time.time() - 1.0, 5)
        assert decoded_after(agent, time.time() - 1.0, 5)
        timeline = story(agent, mark, cut_at)
        states = matching(agent, lambda e: e.get("ev") == "call_state", mark)
        assert states[-1]["state"] == "connected", timeline
        assert matching(agent, lambda e: e.get("ev") == "ended") == [], timeline
        assert matching(agent, log_event("reconnect.exhausted")) == [], timeline
        assert len(matching(agent, lambda e: e.get("ev") == "dtls_connected")) == 1, timeline
        if attempt == 3:
            assert_signaling_lost_and_back(agent, mark, cut_at, restored_at)
        widget = widget_story(page, cut_at)
        assert page.evaluate(f"{nc.HANDLE}.call.state") == "connected", widget
        assert page.evaluate(f"{nc.HANDLE}.callId") == call_id, widget
        assert page.evaluate(STATUS) in ("Connected", "Reconnected"), widget
        assert not page.is_visible(".sp-error"), widget
        assert nc.page_events(page, "call.failed", cut_at * 1000) == [], widget
        # The widget lived through the outage in its own reconnect episode (its attempts
        # run in step with the agent's, ~0.2 s ahead: its silence watchdog fires first),
        # which recovered on its attempt N too.
        episodes = nc.page_events(page, "call.episode", cut_at * 1000)
        outcomes = [(e["outcome"], e["attempts"]) for e in episodes]
        assert outcomes[:1] == [("recovered", attempt)], widget


def widget_story(page: SyncPage, since: float) -> str:
    """The widget's event log since ``since``, for a failure message."""
    return "\n".join(
        f"{e['t'] / 1000 - since:7.2f} {e['event']} "
        + " ".join(f"{k}={v}" for k, v in e.items() if k not in ("t", "event", "sdp"))
        for e in page.evaluate(f"{nc.HANDLE}.events.items")
        if e["t"] >= since * 1000 and e["event"] != "call.candidate_ignored"
    )


def test_a_visitor_address_switch_recovers_the_call(topo: Topology, browser: str) -> None:
    """The visitor's address changes under the call (Wi-Fi to another network): the old
    address is gone, so media and signaling must move to the new one."""
    agent = nc.start_agent_runner(topo)
    with in_call(topo, browser) as page:
        agent.expect(lambda e: e.get("ev") == "frame", 20, "agent decoding the browser's video")
        call_id = page.evaluate(f"{nc.HANDLE}.callId")
        time.sleep(1.0)
        _, switched_at = topo.switch_address(topo.visitor, "198.18.2.3")
        nc.wait_js(
            page,
            f"window.__probe.since({switched_at * 1000}).frames.some("
            f"f => f.ts !== null && ((f.t - f.ts) >>> 0) <= f.t - {switched_at * 1000})",
            30,
            "agent video captured after the switch, shown in the browser",
        )
        assert decoded_after(agent, switched_at + 0.5, 30)
        nc.wait_js(page, f"{STATUS} === 'Connected' || {STATUS} === 'Reconnected'", 15, "UI")
        assert page.evaluate(f"{nc.HANDLE}.callId") == call_id
        events = agent.snapshot()
        assert sum(e.get("ev") == "dtls_connected" for e in events) == 1
        assert not any(e.get("ev") == "ended" for e in events)


# The pair the widget's connection uses: (local, remote) candidate types from getStats().
SELECTED_PAIR = f"""async () => {{
  const stats = await {nc.HANDLE}.call.pc.getStats();
  for (const r of stats.values()) {{
    if (r.type === "transport" && r.selectedCandidatePairId) {{
      const pair = stats.get(r.selectedCandidatePairId);
      return [stats.get(pair.localCandidateId).candidateType,
              stats.get(pair.remoteCandidateId).candidateType];
    }}
  }}
  return null;
}}"""


def assert_relayed(page: SyncPage) -> None:
    """The call goes through coturn: one end's relay at least. (Usually both; Chromium may
    also reach the agent's relay straight through its own NAT, since coturn's permissions
    are per IP: its local candidate is then peer-reflexive.)"""
    pair = page.evaluate(SELECTED_PAIR)
    assert pair is not None and "relay" in pair, pair


def shows_agent_video_captured_after(page: SyncPage, moment: float, timeout: float) -> None:
    """Chromium shows the Python agent's test pattern stamped after ``moment``."""
    nc.wait_js(
        page,
        f"window.__probe.since({moment * 1000}).frames.some("
        f"f => f.ts !== null && ((f.t - f.ts) >>> 0) <= f.t - {moment * 1000})",
        timeout,
        "agent video captured after the fault, shown in Chromium",
    )


def agent_cut_for_5s(topo: NatTopology, agent: JsonLines) -> float:
    """The agent's own cable, pulled for 5 s; returns when it is back."""
    cut_at = topo.cut(topo.agent)
    agent.expect(
        lambda e: e.get("ev") == "call_state" and e.get("state") == "reconnecting",
        10,
        "the agent's 'Reconnecting…'",
    )
    time.sleep(max(0.0, cut_at + 5.0 - time.time()))
    return topo.restore(topo.agent)


def agent_address_switch(topo: NatTopology, agent: JsonLines) -> float:
    """The agent's inside address changes (its laptop moves to another office subnet
    address); the old one is gone."""
    return topo.switch_address(topo.agent, "198.19.1.3")[1]


@pytest.mark.parametrize("fault", [agent_cut_for_5s, agent_address_switch], ids=["cut", "switch"])
def test_chromium_behind_nat_reaches_the_agent_only_through_turn_and_survives_agent_faults(
    fault: Callable[[NatTopology, JsonLines], float],
) -> None:
    """Both ends behind their own ``--random-fully`` NAT: host and server-reflexive pairs
    cannot work, so the call can only be relayed by coturn, with the credentials the server
    put into ``ring``/``accepted``. Then the agent's own network fails (Chromium as the
    visitor: the agent's faults, not the visitor's)."""
    require("chromium")
    if not can_create_namespaces():
        pytest.fail("`ip netns` does not work here although we are root")
    from playwright.sync_api import sync_playwright

    sweep_stale()
    with NatTopology() as topo, sync_playwright() as pw:
        coturn = Coturn(topo).start()
        agent: JsonLines | None = None
        try:
            nc.start_server(topo, turn=(coturn, TurnUrls()))
            agent = nc.start_agent_runner(topo, trust=coturn.ca_path)
            with nc.browser_page(pw, topo.visitor.ns, nc.origin(topo.visitor)) as page:
                nc.call_from_widget(page, topo.visitor)
                agent.expect(lambda e: e.get("ev") == "frame", 20, "agent decoding Chromium")
                assert_relayed(page)
                assert coturn.allocations(), "coturn holds no allocation for the call"
                call_id = page.evaluate(f"{nc.HANDLE}.callId")

                restored_at = fault(topo, agent)

                shows_agent_video_captured_after(page, restored_at, 20)
                assert decoded_after(agent, restored_at + 0.5, 20)
                nc.wait_js(
                    page, f"{STATUS} === 'Connected' || {STATUS} === 'Reconnected'", 15, "UI"
                )
                assert page.evaluate(f"{nc.HANDLE}.callId") == call_id
                assert_relayed(page)
                events = agent.snapshot()
                assert sum(e.get("ev") == "dtls_connected" for e in events) == 1
                assert not any(e.get("ev") == "ended" for e in events)
                assert not page.is_visible(".sp-error")
        finally:
            if agent is not None:  # before coturn, so it can release its allocations
                stop_process(agent.proc)
            for ns in (topo.agent.ns, topo.visitor.ns):
                nc.kill_namespace_processes(ns)
            coturn.close()
