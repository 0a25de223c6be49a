"""Calls on the networks agents really have: one table, topology x fault (root).

    sudo .venv/bin/python -m bench.networks --runs 3

Topologies (labnet/netns.py, labnet/topologies.py, coturn from labnet/turn.py):

- ``lan``: both ends routable, host candidates, no TURN (the reference of bench/reconnect.py)
- ``nat+turn``: each end behind its own port-randomising NAT; TURN over UDP, TCP and TLS
- ``nat+turn/tcp``: the same, TURN over TCP only
- ``office``: the agent may only open TCP to port 443 (TURN over TLS on 443)

Faults, on the agent unless said otherwise:

- ``connect``: visitor's call request -> first decoded frame at both ends (``media_s``)
- ``cut_5s``: link cut -> "Reconnecting…" (``detect_s``); restored after 5 s -> media captured
  after the restore decoded at both ends (``media_s``)
- ``address_switch``: the agent's address changes -> media at both ends (``media_s``)
- ``one_way_out``: everything the agent sends is dropped -> the agent's own detection
  (``detect_s``); healed after 3 s -> media at both ends
- ``outage_attempt2`` / ``outage_attempt3``: link cut until the agent has started its
  reconnect attempt 2 / 3 and 2 s more (``labnet.netns.cut_into_attempt``: ~14 s / ~27 s);
  restored -> media at both ends (``media_s``); valid only if the agent recovered on that
  attempt (issue 12; the attempt-3 outage also outlives the agent's signaling heartbeat)
- ``loss_5`` / ``loss_15`` / ``loss_30``: random UDP loss on the visitor's link for
  ``--loss-s`` seconds -> reconnect episodes per minute at either end (``spurious_per_min``),
  the longest gap between decoded video frames at the agent and at the visitor
  (``stall_agent_s``/``_visitor``) and between audio arrivals at the agent
  (``audio_gap_agent_s``; not on path ``app``, whose runner reports no audio)

``valid/total``: runs that produced the measurement and ended with media flowing and the
agent's call "connected".

The loss faults' stall target is per run, so with path ``chromium`` a second table gives each
other path's longest stall at the agent over Chromium↔Chromium's in the run of the same
index, and Chromium↔Chromium's runs over each other (1:2, 3:4, …): how often one Chromium
receiver meets the target against another, the share a single run's luck decides.

``--paths app py-agent chromium``: each row also measured with the Python agent and the
widget in Chromium as the visitor (path ``py-agent``, bench/browser_reconnect.py's
``py-agent`` setup: every frame the agent decodes counts; Chromium's fake camera carries no
stamp, so media back at the agent is the first frame whose media time puts its capture after
the event) and Chromium↔Chromium (path ``chromium``; bench/browser_reconnect.py's ``chromium-agent``
setup: the widget as the visitor, labnet/browsers/pages/agent.html as the agent, both in
Chromium inside the namespaces, with the per-call TURN credentials the signaling server
mints), each on a fresh topology of the same kind in the same run. Path ``app`` counts a
frame when its test-pattern stamp reads back. Browser-visitor paths: faults ``connect``,
``cut_5s``, ``address_switch``, ``outage_attempt*``, ``loss_*`` (same actions; the detection
is the agent's "reconnecting", its attempts and the one that recovered are the agent page's
``call.reconnecting`` and ``call.episode``, episodes are ``call.reconnecting`` at a page and
``reconnect.start`` at the Python agent). Media back at a page (bench/browser_reconnect.py's
``both_back``): the first decoded frame that ends a gap of at least 0.5 s after the event
(Chromium's fake camera carries no capture stamp), polled every 50 ms.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bench import browser_reconnect as br
from bench.reconnect import call_state, media_back_at_both_ends
from labnet.browsers import netns_call as nc
from labnet.netns import (
    JsonLines,
    Topology,
    can_create_namespaces,
    cut_into_attempt,
    is_frame,
    runner_attempt,
    start_call,
    start_signaling,
    stop_process,
    sweep_stale,
)
from labnet.topologies import NatTopology, add_loss, remove_loss
from labnet.turn import Coturn, TurnUrls

if TYPE_CHECKING:
    from playwright.sync_api import Playwright

RUNNER = "labnet.call_runner"
ONE_WAY_S = 3.0


@dataclass
class Measure:
    valid: bool
    values: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Network:
    name: str
    make: Callable[[], Topology]
    turn: TurnUrls | None  # None: no TURN server


NETWORKS = {
    "lan": Network("lan", Topology, None),
    "nat+turn": Network("nat+turn", NatTopology, TurnUrls()),
    "nat+turn/tcp": Network("nat+turn/tcp", NatTopology, TurnUrls(udp=False, tls=False)),
    "office": Network("office", lambda: NatTopology(office_firewall=True), TurnUrls()),
}

TARGETS = {
    "connect": "media_s <= 3 (office: TURN/TLS 443)",
    "cut_5s": "detect_s <= 1.5; media_s within 0.3 of lan",
    "address_switch": "media_s within 0.3 of lan",
    "one_way_out": "detect_s <= 2",
    "outage_attempt2": "recovers on attempt 2; media_s within 0.3 of cut_5s",
    "outage_attempt3": "recovers on attempt 3; media_s within 0.3 of cut_5s",
    "loss_5": "0 spurious; stall <= 1.5x Chromium",
    "loss_15": "0 spurious; stall <= 1.5x Chromium",
    "loss_30": "stall <= 1.5x Chromium (spurious: reported)",
}


# Chromium↔Chromium rows are the reference the app's rows are judged against.
CHROMIUM_TARGET = "reference: app row ahead of it"
# coturn's certificate comes from a throw-away test CA that Chromium cannot be told about
# (its TURN/TLS sockets verify against the system store): trust any certificate there.
CHROMIUM_FLAGS = ("--ignore-certificate-errors",)


def event_named(name: str) -> Callable[[dict[str, object]], bool]:
    return lambda e: e.get("msg") == name


def connected_again(agent: JsonLines, mark: int) -> bool:
    return agent.wait_for(call_state("connected"), 20.0, after=mark) is not None


def connect(topo: Topology, call: tuple[JsonLines, JsonLines]) -> Measure:
    visitor = call[1]
    requested = visitor.snapshot()[0]["t"]  # the visitor signs in and calls at once
    firsts = [next(e for e in p.snapshot() if is_frame(e)) for p in call]
    return Measure(True, {"media_s": max(e["t"] for e in firsts) - requested})


def cut_5s(topo: Topology, call: tuple[JsonLines, JsonLines]) -> Measure:
    agent, visitor = call
    mark = len(agent.snapshot())
    cut_at = topo.cut(topo.agent)
    shown = agent.wait_for(call_state("reconnecting"), 5.0, after=mark)
    time.sleep(max(0.0, cut_at + 5.0 - time.time()))
    restored_at = topo.restore(topo.agent)
    back = media_back_at_both_ends(agent, visitor, restored_at)
    values = {}
    if shown:
        values["detect_s"] = shown["t"] - cut_at
    if back is not None:
        values["media_s"] = back
    return Measure(bool(shown) and back is not None and connected_again(agent, mark), values)


def address_switch(topo: Topology, call: tuple[JsonLines, JsonLines]) -> Measure:
    agent, visitor = call
    mark = len(agent.snapshot())
    new = "198.19.1.3" if isinstance(topo, NatTopology) else "198.18.1.3"
    _, switched_at = topo.switch_address(topo.agent, new)
    back = media_back_at_both_ends(agent, visitor, switched_at)
    valid = back is not None and connected_again(agent, mark)
    return Measure(valid, {"media_s": back} if back is not None else {})


def outage_into_attempt(attempt: int) -> Fault:
    def measure(topo: Topology, call: tuple[JsonLines, JsonLines]) -> Measure:
        agent, visitor = call
        mark = len(agent.snapshot())
        _, restored_at = cut_into_attempt(topo, topo.agent, runner_attempt(agent, attempt, mark))
        back = media_back_at_both_ends(agent, visitor, restored_at)
        success = agent.wait_for(event_named("reconnect.success"), 10.0, after=mark)
        on_attempt = success is not None and success.get("attempt") == f"{attempt}/3"
        valid = on_attempt and back is not None and connected_again(agent, mark)
        return Measure(valid, {"media_s": back} if back is not None else {})

    return measure


def one_way_out(topo: Topology, call: tuple[JsonLines, JsonLines]) -> Measure:
    agent, visitor = call
    mark = len(agent.snapshot())
    ns, device = _agent_uplink(topo)
    table = add_loss(topo, ns, device, 100, direction="in")
    lost_at = time.time()
    noticed = agent.wait_for(
        lambda e: e.get("msg") == "rtc.connectivity" and e.get("state") == "disconnected",
        10.0,
        after=mark,
    )
    time.sleep(max(0.0, lost_at + ONE_WAY_S - time.time()))
    remove_loss(topo, ns, table)
    back = media_back_at_both_ends(agent, visitor, time.time())
    values = {"detect_s": noticed["t"] - lost_at} if noticed else {}
    return Measure(bool(noticed) and back is not None and connected_again(agent, mark), values)


def _agent_uplink(topo: Topology) -> tuple[str, str]:
    """Where the agent's outgoing packets are forwarded: (namespace, inbound device)."""
    if isinstance(topo, NatTopology):
        return topo.agent_outside.ns, topo.agent.hub_dev
    return topo.hub, topo.agent.hub_dev


def _visitor_link(topo: Topology) -> tuple[str, str]:
    if isinstance(topo, NatTopology):
        return topo.visitor_outside.ns, topo.visitor_outside.dev
    return topo.hub, topo.visitor.hub_dev


def longest_stall(lines: JsonLines, start: float, end: float) -> float:
    """The longest time without a newly decoded frame in [start, end], edges included (a
    freeze that outlasts the window counts in full up to its end)."""
    times = [start, *(e["t"] for e in lines.snapshot() if is_frame(e) and start < e["t"] < end)]
    return max(b - a for a, b in itertools.pairwise([*times, end]))


# What starts an episode, for the per-run trace on stderr: the Python end's detector changes
# and episode starts, the widget's silence watchdog, connection state and restart messages.
RUNNER_TRACE = ("reconnect.start", "reconnect.remote_restart", "rtc.connectivity")
PAGE_TRACE = (
    "call.silence",
    "call.reconnecting",
    "call.restart_offered",
    "call.disconnected_ignored",
    "pc.connection_state",
)
TRACE_FIELDS = ("previous", "state", "reason", "attempt", "probes", "ms", "bytes")


def trace_runner(events: list[dict[str, object]], since: float) -> list[str]:
    """The Python end's episode trace: seconds into the loss, record, its fields."""
    return [
        _trace_line(float(e["t"]) - since, str(e["msg"]), e)
        for e in events
        if e.get("msg") in RUNNER_TRACE and float(e["t"]) >= since
    ]


def trace_page(end: br.PageEnd, since: float) -> list[str]:
    """A page's (the widget's) episode trace, as trace_runner()."""
    events = [e for name in PAGE_TRACE for e in nc.page_events(end.page, name, since * 1000)]
    return [
        _trace_line(e["t"] / 1000 - since, e["event"], e)
        for e in sorted(events, key=lambda e: e["t"])
    ]


# The selected pair's STUN counts: Chromium calls a path "disconnected" when its own checks
# of it go unanswered, whatever media arrives.
PAIR_STATS = f"""async () => {{
    const report = await {nc.HANDLE}.call.pc.getStats();
    const out = [];
    report.forEach((s) => {{
        if (s.type !== "transport" || !s.selectedCandidatePairId) return;
        const p = report.get(s.selectedCandidatePairId);
        out.push(["requestsSent", "responsesReceived", "requestsReceived", "responsesSent",
                  "consentRequestsSent", "currentRoundTripTime"].map((k) => `${{k}}=${{p[k]}}`)
                  .join(" "));
    }});
    return out;
}}"""


def pair_stats(end: br.PageEnd) -> list[str]:
    """The selected candidate pair's STUN counts at a page, one line per transport."""
    lines: list[str] = end.page.evaluate(PAIR_STATS)
    return [f"pair {line}" for line in lines]


# What the page's video sender did: its pacer's queueing (totalPacketSendDelay) and how much
# of what it sent were retransmissions; the difference between two reads is one window.
SEND_STATS = f"""async () => {{
    const report = await {nc.HANDLE}.call.pc.getStats();
    let out = null;
    report.forEach((s) => {{
        if (s.type !== "outbound-rtp" || s.kind !== "video") return;
        out = Object.fromEntries(["packetsSent", "retransmittedPacketsSent", "nackCount",
            "pliCount", "keyFramesEncoded", "framesSent", "totalPacketSendDelay",
            "targetBitrate"].map((k) => [k, s[k] ?? 0]));
    }});
    return out;
}}"""


def send_stats(end: br.PageEnd) -> dict[str, float]:
    stats: dict[str, float] | None = end.page.evaluate(SEND_STATS)
    return stats or {}


def send_window(before: dict[str, float], after: dict[str, float], seconds: float) -> str:
    """A page's video sending over a window: rates, retransmitted share, pacer delay."""
    if not before or not after:
        return "video out: no stats"
    d = {k: after[k] - before[k] for k in after if k != "targetBitrate"}
    packets = d["packetsSent"] or 1
    return (
        f"video out: {d['framesSent'] / seconds:.1f} frames/s, {packets / seconds:.1f} packets/s"
        f" ({d['retransmittedPacketsSent'] / packets:.0%} retransmitted), NACKs "
        f"{d['nackCount']:.0f}, PLIs {d['pliCount']:.0f}, keyframes {d['keyFramesEncoded']:.0f}"
        f", pacer delay {d['totalPacketSendDelay'] / packets * 1000:.0f} ms a packet, target "
        f"at the end {after['targetBitrate'] / 1000:.0f} kbps"
    )


def _trace_line(at: float, name: str, event: dict[str, object]) -> str:
    fields = " ".join(f"{k}={event[k]}" for k in TRACE_FIELDS if k in event)
    return f"{at:6.2f} {name} {fields}"


def print_trace(side: str, lines: list[str]) -> None:
    for line in lines:
        print(f"  {side}: {line}", file=sys.stderr)


def lossy(
    percent: int, seconds: float
) -> Callable[[Topology, tuple[JsonLines, JsonLines]], Measure]:
    def measure(topo: Topology, call: tuple[JsonLines, JsonLines]) -> Measure:
        marks = [len(p.snapshot()) for p in call]
        ns, device = _visitor_link(topo)
        table = add_loss(topo, ns, device, percent)
        start = time.time()
        time.sleep(seconds)
        remove_loss(topo, ns, table)
        end = time.time()
        episodes = sum(
            len([e for e in p.snapshot()[m:] if episode_started(e)])
            for p, m in zip(call, marks, strict=True)
        )
        agent, visitor = call
        for side, lines, mark in zip(("agent", "visitor"), call, marks, strict=True):
            print_trace(side, trace_runner(lines.snapshot()[mark:], start))
        return Measure(
            True,
            {
                "spurious_per_min": episodes * 60.0 / (end - start),
                "stall_agent_s": longest_stall(agent, start, end),
                "stall_visitor_s": longest_stall(visitor, start, end),
            },
        )

    return measure


Fault = Callable[[Topology, tuple[JsonLines, JsonLines]], Measure]

# --- the Chromium↔Chromium reference (bench/browser_reconnect.py's measuring) ---------------


def _switched_address(topo: Topology) -> str:
    return "198.19.1.3" if isinstance(topo, NatTopology) else "198.18.1.3"


def page_connected(call: br.Call) -> bool:
    assert isinstance(call.agent, br.PageEnd)
    try:
        nc.wait_js(call.agent.page, nc.CALL_CONNECTED, 20.0, "agent page connected")
    except AssertionError:
        return False
    return True


def agent_connected(call: br.Call) -> bool:
    """The agent's call is (again) connected within 20 s: the page's state, or the runner's
    last (media can be back a moment before the runner says so)."""
    if isinstance(call.agent, br.RunnerEnd):
        lines = call.agent.lines

        def connected() -> float | None:
            states = [e["state"] for e in lines.snapshot() if e.get("ev") == "call_state"]
            return 0.0 if states and states[-1] == "connected" else None

        return br.wait_for(connected, 20.0) is not None
    return page_connected(call)


def episode_started(event: dict[str, object]) -> bool:
    """The Python end's first attempt of an episode (``reconnect.start`` comes per attempt)."""
    return event.get("msg") == "reconnect.start" and str(event.get("attempt")).startswith("1/")


def episodes_since(end: br.End, since: float) -> int:
    if isinstance(end, br.RunnerEnd):
        return len([e for e in end.lines.snapshot() if episode_started(e) and e["t"] >= since])
    assert isinstance(end, br.PageEnd)
    # The widget says "reconnecting" at attempt 0 and again at each attempt of an episode.
    shown = nc.page_events(end.page, "call.reconnecting", since * 1000)
    return len([e for e in shown if e.get("attempt") == 0])


def chromium_connect(topo: Topology, call: br.Call) -> Measure:
    # The widget's first event: the visitor's click (after getUserMedia) signs in and calls.
    requested = call.visitor.page.evaluate(f"{nc.HANDLE}.events.items[0].t") / 1000
    back = br.both_back(call, requested)
    return Measure(back is not None, {"media_s": back} if back is not None else {})


def chromium_cut_5s(topo: Topology, call: br.Call) -> Measure:
    cut_at = topo.cut(topo.agent)
    shown = br.wait_for(lambda: call.agent.reconnecting_since(cut_at), 5.0)
    time.sleep(max(0.0, cut_at + 5.0 - time.time()))
    restored_at = topo.restore(topo.agent)
    back = br.both_back(call, restored_at)
    values = {}
    if shown is not None:
        values["detect_s"] = shown - cut_at
    if back is not None:
        values["media_s"] = back
    return Measure(shown is not None and back is not None and agent_connected(call), values)


def chromium_address_switch(topo: Topology, call: br.Call) -> Measure:
    _, switched_at = topo.switch_address(topo.agent, _switched_address(topo))
    back = br.both_back(call, switched_at)
    valid = back is not None and agent_connected(call)
    return Measure(valid, {"media_s": back} if back is not None else {})


def chromium_outage_into_attempt(attempt: int) -> ChromiumFault:
    def measure(topo: Topology, call: br.Call) -> Measure:
        assert isinstance(call.agent, br.PageEnd)
        page, since_ms = call.agent.page, time.time() * 1000

        def started(timeout: float) -> object:
            return nc.wait_js(
                page,
                f"{nc.HANDLE}.events.items.some(e => e.event === 'call.reconnecting' && "
                f"e.attempt === {attempt} && e.t >= {since_ms})",
                timeout,
                f"agent page's attempt {attempt}",
            )

        _, restored_at = cut_into_attempt(topo, topo.agent, started)
        back = br.both_back(call, restored_at)
        episodes = nc.page_events(page, "call.episode", since_ms)
        on_attempt = [(e["outcome"], e["attempts"]) for e in episodes[:1]] == [
            ("recovered", attempt)
        ]
        valid = on_attempt and back is not None and page_connected(call)
        return Measure(valid, {"media_s": back} if back is not None else {})

    return measure


def chromium_lossy(percent: int, seconds: float) -> Callable[[Topology, br.Call], Measure]:
    def measure(topo: Topology, call: br.Call) -> Measure:
        ns, device = _visitor_link(topo)
        sent_before = send_stats(call.visitor)
        table = add_loss(topo, ns, device, percent)
        start = time.time()
        time.sleep(seconds)
        remove_loss(topo, ns, table)
        end = time.time()
        print_trace("visitor", [send_window(sent_before, send_stats(call.visitor), end - start)])
        ends = (call.agent, call.visitor)
        episodes = sum(episodes_since(e, start) for e in ends)
        for side, end_ in zip(("agent", "visitor"), ends, strict=True):
            if isinstance(end_, br.RunnerEnd):
                print_trace(side, trace_runner(end_.lines.snapshot(), start))
            else:
                assert isinstance(end_, br.PageEnd)
                print_trace(side, [*trace_page(end_, start), *pair_stats(end_)])
        stalls = [br.longest_gap(e.video_times(start, end), start, end) for e in ends]
        audio = br.longest_gap(call.agent.audio_times(start, end), start, end)
        return Measure(
            agent_connected(call),
            {
                "spurious_per_min": episodes * 60.0 / (end - start),
                "stall_agent_s": stalls[0],
                "stall_visitor_s": stalls[1],
                "audio_gap_agent_s": audio,
            },
        )

    return measure


ChromiumFault = Callable[[Topology, br.Call], Measure]


def chromium_faults(loss_s: float) -> dict[str, ChromiumFault]:
    return {
        "connect": chromium_connect,
        "cut_5s": chromium_cut_5s,
        "address_switch": chromium_address_switch,
        "outage_attempt2": chromium_outage_into_attempt(2),
        "outage_attempt3": chromium_outage_into_attempt(3),
        "loss_5": chromium_lossy(5, loss_s),
        "loss_15": chromium_lossy(15, loss_s),
        "loss_30": chromium_lossy(30, loss_s),
    }


def run_chromium(
    network: Network, fault: ChromiumFault, name: str, pw: Playwright, path: str
) -> Measure:
    """One call with Chromium as the visitor on a fresh ``network``, the server minting TURN
    credentials; ``path``: ``chromium`` (Chromium as the agent too) or ``py-agent``."""
    with network.make() as topo, contextlib.ExitStack() as stack:
        coturn = Coturn(topo).start() if network.turn is not None else None
        try:
            turn = (coturn, network.turn) if coturn is not None and network.turn else None
            nc.start_server(topo, turn=turn)
            if path == "py-agent":
                trust = coturn.ca_path if coturn is not None else None
                call = br.py_agent(topo, pw, stack, trust=trust, extra_flags=CHROMIUM_FLAGS)
            else:
                call = br.browser_agent(topo, pw, stack, extra_flags=CHROMIUM_FLAGS)
            time.sleep(1.0)  # both pages decoding
            return fault(topo, call)
        except AssertionError as exc:  # the call could not even start
            print(f"{network.name} {name} {path}: {exc}"[:500], file=sys.stderr)
            return Measure(False)
        finally:
            stack.close()
            for ns in (topo.agent.ns, topo.visitor.ns):
                nc.kill_namespace_processes(ns)
            if coturn is not None:
                coturn.close()


def faults(loss_s: float) -> dict[str, Fault]:
    return {
        "connect": connect,
        "cut_5s": cut_5s,
        "address_switch": address_switch,
        "one_way_out": one_way_out,
        "outage_attempt2": outage_into_attempt(2),
        "outage_attempt3": outage_into_attempt(3),
        "loss_5": lossy(5, loss_s),
        "loss_15": lossy(15, loss_s),
        "loss_30": lossy(30, loss_s),
    }


COLUMNS = (
    "detect_s",
    "media_s",
    "spurious_per_min",
    "stall_agent_s",
    "stall_visitor_s",
    "audio_gap_agent_s",
)


def run_once(network: Network, fault: Fault, name: str) -> Measure:
    with network.make() as topo:
        coturn = Coturn(topo).start() if network.turn is not None else None
        try:
            start_signaling(topo)
            args = (
                (coturn.runner_args("agent", network.turn), coturn.runner_args("visitor"))
                if coturn is not None and network.turn is not None
                else ([], [])
            )
            call = start_call(topo, RUNNER, agent_args=args[0], visitor_args=args[1])
            measure = fault(topo, call)
            for peer in call:  # before coturn goes, so they can release their allocations
                stop_process(peer.proc)
            return measure
        except AssertionError as exc:  # the call could not even start
            print(f"{network.name} {name}: {exc}"[:500], file=sys.stderr)
            return Measure(False)
        finally:
            if coturn is not None:
                coturn.close()


def format_row(network: str, fault: str, path: str, measures: list[Measure]) -> str:
    cells = [network, fault, path]
    for column in COLUMNS:
        values = [m.values[column] for m in measures if column in m.values]
        cells.append(f"{statistics.median(values):.2f} (max {max(values):.2f})" if values else "")
    cells.append(f"{sum(m.valid for m in measures)}/{len(measures)}")
    cells.append(CHROMIUM_TARGET if path == "chromium" else TARGETS[fault])
    return "| " + " | ".join(cells) + " |"


DEFAULT_PLAN = [
    ("lan", f)
    for f in ("connect", "cut_5s", "address_switch", "one_way_out", "outage_attempt2",
              "outage_attempt3", "loss_5", "loss_15")
] + [
    ("nat+turn", f) for f in ("connect", "cut_5s", "address_switch", "one_way_out", "loss_15")
] + [
    (network, f)
    for network in ("nat+turn/tcp", "office")
    for f in ("connect", "cut_5s", "address_switch", "loss_15")
]  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--loss-s", type=float, default=20.0)
    parser.add_argument(
        "--only", nargs="+", metavar="NETWORK:FAULT", help="e.g. office:connect lan:loss_15"
    )
    parser.add_argument(
        "--paths",
        nargs="+",
        choices=PATHS,
        default=["app"],
        help="app: the Python agent and visitor; py-agent: the Python agent, Chromium as the "
        "visitor; chromium: the Chromium↔Chromium reference",
    )
    args = parser.parse_args(argv)
    if not can_create_namespaces():
        parser.error("needs root and a working `ip netns`")
    plan = [tuple(item.split(":", 1)) for item in args.only] if args.only else DEFAULT_PLAN
    sweep_stale()
    with contextlib.ExitStack() as stack:
        pw = None
        if {"chromium", "py-agent"} & set(args.paths):
            from playwright.sync_api import sync_playwright

            pw = stack.enter_context(sync_playwright())
        results = []
        for network, fault in plan:
            measures = measure_paths(
                NETWORKS[network], fault, args.paths, runs=args.runs, loss_s=args.loss_s, pw=pw
            )
            results.append((network, fault, measures))
    print("| network | fault | path | " + " | ".join(COLUMNS) + " | valid/total | target |")
    print("| --- " * (len(COLUMNS) + 5) + "|")
    for network, fault, measures in results:
        for path, path_measures in measures.items():
            print(format_row(network, fault, path, path_measures))
    ratios = [row for n, f, m in results for row in stall_ratio_rows(n, f, m)]
    if ratios:
        print()
        print(
            f"The agent's longest video stall / Chromium↔Chromium's, run by run (target <= "
            f"{STALL_RATIO_TARGET}x); Chromium against itself pairs its own runs 1:2, 3:4, …"
        )
        print("| network | fault | path | ratio per run | within target |")
        print("| --- " * 5 + "|")
        for row in ratios:
            print(row)
    return 0


STALL_RATIO_TARGET = 1.5


def _stalls(measures: list[Measure]) -> list[float | None]:
    return [m.values.get("stall_agent_s") for m in measures]


def stall_ratio_rows(network: str, fault: str, measures: dict[str, list[Measure]]) -> list[str]:
    """The loss faults' target is per run: each path's stall against the Chromium↔Chromium
    run of the same index. Chromium's runs paired with each other show how often one
    Chromium receiver meets that target against another (the luck in a single run)."""
    reference = _stalls(measures.get("chromium", []))
    pairs = {
        path: list(zip(_stalls(m), reference, strict=False))
        for path, m in measures.items()
        if path != "chromium"
    }
    pairs["chromium against itself"] = list(zip(reference[::2], reference[1::2], strict=False))
    rows = []
    for path, stalls in pairs.items():
        ratios = [a / b for a, b in stalls if a is not None and b]
        if not ratios:
            continue
        within = sum(r <= STALL_RATIO_TARGET for r in ratios)
        listed = ", ".join(f"{r:.2f}" for r in ratios)
        rows.append(f"| {network} | {fault} | {path} | {listed} | {within}/{len(ratios)} |")
    return rows


PATHS = ("app", "py-agent", "chromium")


def measure_paths(
    network: Network,
    fault: str,
    paths: list[str],
    *,
    runs: int,
    loss_s: float,
    pw: Playwright | None,
) -> dict[str, list[Measure]]:
    """Each path's runs, in order; the paths' runs alternate, so load drifts hit both alike."""
    measures: dict[str, list[Measure]] = {path: [] for path in paths}
    app, chromium = faults(loss_s), chromium_faults(loss_s)
    for index in range(runs):
        for path in paths:
            if path == "app":
                measure = run_once(network, app[fault], fault)
            elif fault in chromium:
                assert pw is not None
                measure = run_chromium(network, chromium[fault], fault, pw, path)
            else:
                continue  # no Chromium version of this fault (one_way_out)
            print(
                f"{network.name} {fault} {path} run {index + 1}: {measure}",
                file=sys.stderr,
                flush=True,
            )
            measures[path].append(measure)
    return {path: m for path, m in measures.items() if m}


if __name__ == "__main__":
    sys.exit(main())
