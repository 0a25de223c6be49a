"""Reconnection with a browser as the visitor (root; builds and removes its own namespaces).

    sudo .venv/bin/python -m bench.browser_reconnect --runs 3

The topology and faults are labnet/netns.py's; the visitor is the web widget in headless
Chromium (Debian's ``chromium`` through playwright) or Firefox ESR (Debian's ``firefox-esr``
over WebDriver BiDi) inside the visitor namespace. Faults hit the *visitor's* link, the side
whose behaviour is under test. Setups:

- ``py-agent`` / ``py-agent-firefox``: the Python agent (AgentSession,
  labnet/browsers/agent_runner.py) with Chromium / Firefox as the visitor
- ``chromium-agent`` / ``firefox-agent``: a second browser of the same kind running the
  widget's call logic as the agent (labnet/browsers/pages/agent.html), the browser-to-browser
  reference
- ``chromium-native-detect``: Chromium↔Chromium with the widget's silence watchdog off, so
  that only Chromium's own detection (connectionState) triggers restarts

Scenarios (seconds; ``recovered`` = media flowed again at both ends afterwards):

- ``detect_cut``: visitor link cut → the widget shows "Reconnecting…"
- ``agent_detect_cut``: the same cut → the agent shows "reconnecting"
- ``address_switch_video`` / ``address_switch_audio``: the visitor's address changes →
  video / audio arrives again at both ends
- ``restore_after_5s``: link back after a 5 s outage → video arrives again at both ends
- ``healthy_restart_gap``: agent-initiated ICE restart on a healthy network → longest video
  gap at either end

"Arrives again": at the browser, the first shown frame whose test-pattern stamp was captured
after the event when the agent sends the pattern; at the Python agent, the first decoded
frame whose media time puts its capture after the event (the media clock read against the
wall clock by the fastest frame of the 2 s before it); otherwise the first decoded frame (or
audio packet) that ends a silence of at least 0.5 s after the event (getStats polled every
50 ms, so those numbers carry up to 50 ms of polling delay).

Video: the Python agent sends the product's default 640x360@30; browsers send their fake
camera at its default size. Each fault waits a random delay first
(``--seed`` repeats the sequence); the table shows valid/total runs and the target per row,
and a run whose detection never happened counts as not recovered.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import itertools
import random
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from bench.reconnect import Outcome, Row, print_table, settle_phase
from labnet.browsers import netns_call as nc
from labnet.netns import JsonLines, Topology, can_create_namespaces, sweep_stale

if TYPE_CHECKING:
    from playwright.sync_api import Playwright

    from labnet.browsers.netns_call import SyncPage

MEDIA_TIMEOUT_S = 20.0
DETECT_TIMEOUT_S = 20.0
MIN_GAP_S = 0.5
LOOKBACK_S = 2.0  # frames read back from a page before the event
POLL_S = 0.1
CLOCK_SLACK_S = 0.1  # how much faster than the fastest frame before the event one may come


class End(Protocol):
    """One side of the call, as the benchmark observes it (wall-clock seconds)."""

    def reconnecting_since(self, since: float) -> float | None: ...

    def video_back(self, since: float) -> float | None: ...

    def audio_back(self, since: float) -> float | None: ...

    def video_times(self, start: float, end: float) -> list[float]: ...

    def audio_times(self, start: float, end: float) -> list[float]: ...


@dataclass
class PageEnd:
    page: SyncPage

    def reconnecting_since(self, since: float) -> float | None:
        shown = nc.page_events(self.page, "call.reconnecting", since * 1000)
        return shown[0]["t"] / 1000 if shown else None

    def _probe(self, since: float) -> dict[str, Any]:
        return nc.probe_since(self.page, (since - LOOKBACK_S) * 1000)

    def video_back(self, since: float) -> float | None:
        probe = self._probe(since)
        stamped = [f for f in probe["frames"] if f.get("ts") is not None]
        if stamped:
            after = [f["t"] for f in stamped if (nc.captured_at_ms(f) or 0) >= since * 1000]
            return after[0] / 1000 if after else None
        return _resumed([t / 1000 for t in probe["decoded"]], since, since - LOOKBACK_S)

    def audio_back(self, since: float) -> float | None:
        return _resumed([t / 1000 for t in self._probe(since)["audio"]], since, since - LOOKBACK_S)

    def video_times(self, start: float, end: float) -> list[float]:
        decoded = nc.probe_since(self.page, start * 1000)["decoded"]
        return [t / 1000 for t in decoded if t <= end * 1000]

    def audio_times(self, start: float, end: float) -> list[float]:
        heard = nc.probe_since(self.page, start * 1000)["audio"]
        return [t / 1000 for t in heard if t <= end * 1000]


@dataclass
class RunnerEnd:
    lines: JsonLines

    def reconnecting_since(self, since: float) -> float | None:
        for e in self.lines.snapshot():
            if e.get("ev") == "call_state" and e.get("state") == "reconnecting" and e["t"] >= since:
                return float(e["t"])
        return None

    def _times(self, ev: str) -> list[float]:
        return [float(e["t"]) for e in self.lines.snapshot() if e.get("ev") == ev]

    def video_back(self, since: float) -> float | None:
        frames = [e for e in self.lines.snapshot() if e.get("ev") == "frame"]
        timed = [(float(e["t"]), float(e["media_s"])) for e in frames if "media_s" in e]
        if any(t < since for t, _ in timed):
            return captured_after(timed, since)
        return _resumed(self._times("frame"), since, 0.0)

    def audio_back(self, since: float) -> float | None:
        return _resumed(self._times("audio"), since, 0.0)

    def video_times(self, start: float, end: float) -> list[float]:
        return [t for t in self._times("frame") if start <= t <= end]

    def audio_times(self, start: float, end: float) -> list[float]:
        return [t for t in self._times("audio") if start <= t <= end]


def captured_after(frames: list[tuple[float, float]], since: float) -> float | None:
    """The first decoded frame captured at/after ``since``; ``frames``: (decoded at, media
    time). The media clock is put on the wall clock by the frames decoded in the
    ``LOOKBACK_S`` before ``since`` (all earlier ones if none): the fastest of them, so a
    frame held back by the fault is not taken for a new one. A media time that would put a
    capture after its decoding (a timestamp wrap taken for one) is no frame of ours."""
    before = [t - m for t, m in frames if t < since]
    recent = [t - m for t, m in frames if since - LOOKBACK_S <= t < since]
    offset = min(recent or before)
    for t, m in frames:
        if t >= since and since <= m + offset <= t + CLOCK_SLACK_S:
            return t
    return None


def _resumed(times: list[float], since: float, silent_from: float) -> float | None:
    return nc.resumed_after(times, since, MIN_GAP_S, silent_from)


@dataclass
class Call:
    agent: End
    visitor: PageEnd
    restart: Callable[[], object]  # an agent-initiated ICE restart


Setup = Callable[[Topology, "Playwright", contextlib.ExitStack], Call]


def py_agent(
    topo: Topology,
    pw: Playwright,
    stack: contextlib.ExitStack,
    browser: str = "chromium",
    *,
    trust: Path | None = None,
    extra_flags: Sequence[str] = (),
) -> Call:
    """``trust``/``extra_flags``: coturn's test CA for the agent, flags for Chromium
    (bench/networks.py)."""
    agent = nc.start_agent_runner(topo, trust=trust)
    page = stack.enter_context(
        nc.browser_page(
            pw, topo.visitor.ns, nc.origin(topo.visitor), browser, extra_flags=extra_flags
        )
    )
    nc.call_from_widget(page, topo.visitor)
    agent.expect(lambda e: e.get("ev") == "frame", 20, "agent decoding video")
    return Call(RunnerEnd(agent), PageEnd(page), lambda: agent.send("restart"))


def browser_agent(
    topo: Topology,
    pw: Playwright,
    stack: contextlib.ExitStack,
    *,
    browser: str = "chromium",
    widget_config: dict[str, object] | None = None,
    extra_flags: Sequence[str] = (),
) -> Call:
    """``extra_flags``: for both Chromiums (bench/networks.py: trust coturn's test CA)."""

    def page_in(ns: str, origin: str) -> SyncPage:
        return stack.enter_context(
            nc.browser_page(pw, ns, origin, browser, extra_flags=extra_flags)
        )

    agent_page = page_in(topo.agent.ns, nc.origin(topo.agent))
    nc.open_agent_page(agent_page, topo.agent, widget_config)
    page = page_in(topo.visitor.ns, nc.origin(topo.visitor))
    nc.call_from_widget(page, topo.visitor, widget_config)
    nc.wait_js(agent_page, nc.CALL_CONNECTED, 20, "agent page connected")
    return Call(
        PageEnd(agent_page),
        PageEnd(page),
        lambda: agent_page.evaluate(f"{nc.HANDLE}.call.restart('manual')"),
    )


def wait_for(measure: Callable[[], float | None], timeout: float) -> float | None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = measure()
        if value is not None:
            return value
        time.sleep(POLL_S)
    return None


def both_back(call: Call, since: float, kind: str = "video") -> float | None:
    """Seconds from ``since`` until ``kind`` arrives again at both ends (None: timed out)."""
    arrivals = []
    for end in (call.agent, call.visitor):
        back = end.video_back if kind == "video" else end.audio_back
        arrival = wait_for(lambda back=back: back(since), MEDIA_TIMEOUT_S)  # type: ignore[misc]
        if arrival is None:
            return None
        arrivals.append(arrival)
    return max(arrivals) - since


def settle(rng: random.Random) -> None:
    """A steady call, then a random delay so the fault lands at any phase of the pollers."""
    time.sleep(2.0)
    settle_phase(rng)


def detect_cut(topo: Topology, call: Call, rng: random.Random) -> dict[str, Outcome]:
    settle(rng)
    cut_at = topo.cut(topo.visitor)
    shown = wait_for(lambda: call.visitor.reconnecting_since(cut_at), DETECT_TIMEOUT_S)
    agent_shown = wait_for(lambda: call.agent.reconnecting_since(cut_at), DETECT_TIMEOUT_S)
    restored_at = topo.restore(topo.visitor)
    back = both_back(call, restored_at)
    # A run whose detection never happened is a failure, whatever the media did after.
    return {
        "detect_cut": Outcome(
            shown - cut_at if shown else None, back is not None and shown is not None
        ),
        "agent_detect_cut": Outcome(
            agent_shown - cut_at if agent_shown else None,
            back is not None and agent_shown is not None,
        ),
    }


def address_switch(topo: Topology, call: Call, rng: random.Random) -> dict[str, Outcome]:
    settle(rng)
    _, switched_at = topo.switch_address(topo.visitor, "198.18.2.3")
    video = both_back(call, switched_at, "video")
    audio = both_back(call, switched_at, "audio")
    return {
        "address_switch_video": Outcome(video, video is not None),
        "address_switch_audio": Outcome(audio, audio is not None),
    }


def restore_after_5s(topo: Topology, call: Call, rng: random.Random) -> dict[str, Outcome]:
    settle(rng)
    topo.cut(topo.visitor)
    time.sleep(5.0)
    restored_at = topo.restore(topo.visitor)
    back = both_back(call, restored_at)
    return {"restore_after_5s": Outcome(back, back is not None)}


def longest_gap(times: list[float], start: float, end: float) -> float:
    points = [start, *times, end]
    return max(b - a for a, b in itertools.pairwise(points))


def healthy_restart_gap(topo: Topology, call: Call, rng: random.Random) -> dict[str, Outcome]:
    settle(rng)
    restart_at = time.time()
    call.restart()
    time.sleep(3.0)
    window = (restart_at - 0.5, restart_at + 3.0)
    ends = (call.agent, call.visitor)
    gap = max(longest_gap(end.video_times(*window), *window) for end in ends)
    flowing = all(end.video_times(window[1] - 1.0, window[1]) for end in ends)
    return {"healthy_restart_gap": Outcome(gap, flowing)}


Scenario = Callable[[Topology, Call, random.Random], dict[str, Outcome]]
SETUPS: dict[str, Setup] = {
    "py-agent": py_agent,
    "chromium-agent": browser_agent,
    # Chromium's own loss detection only (the widget's silence watchdog off): the baseline.
    "chromium-native-detect": functools.partial(browser_agent, widget_config={"silenceMs": 0}),
    "py-agent-firefox": functools.partial(py_agent, browser="firefox"),
    "firefox-agent": functools.partial(browser_agent, browser="firefox"),
}
SCENARIOS: dict[str, Scenario] = {
    "detect_cut": detect_cut,
    "address_switch": address_switch,
    "restore_after_5s": restore_after_5s,
    "healthy_restart_gap": healthy_restart_gap,
}


@contextlib.contextmanager
def fresh_call(setup: Setup, pw: Playwright) -> Iterator[tuple[Topology, Call]]:
    with Topology() as topo, contextlib.ExitStack() as stack:
        try:
            nc.start_server(topo)
            yield topo, setup(topo, pw, stack)
        finally:
            stack.close()
            for ns in (topo.agent.ns, topo.visitor.ns):
                nc.kill_namespace_processes(ns)


def run_rows(
    setup_name: str, scenario: str, runs: int, pw: Playwright, rng: random.Random
) -> list[Row]:
    rows: dict[str, Row] = {}
    for index in range(runs):
        try:
            with fresh_call(SETUPS[setup_name], pw) as (topo, call):
                outcomes = SCENARIOS[scenario](topo, call, rng)
        except AssertionError as exc:  # the call could not even start
            print(f"{setup_name} {scenario} run {index + 1}: {exc}", file=sys.stderr)
            outcomes = {scenario: Outcome(None, False)}
        for name, outcome in outcomes.items():
            rows.setdefault(name, Row(name, setup=setup_name)).outcomes.append(outcome)
        print(f"{setup_name} {scenario} run {index + 1}: {outcomes}", file=sys.stderr, flush=True)
    return list(rows.values())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--setups", nargs="+", choices=list(SETUPS), default=list(SETUPS))
    parser.add_argument("--scenarios", nargs="+", choices=list(SCENARIOS), default=list(SCENARIOS))
    parser.add_argument("--seed", type=int, default=None, help="repeat a fault-phase sequence")
    args = parser.parse_args(argv)
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(2**32)
    rng = random.Random(seed)
    if not can_create_namespaces():
        parser.error("needs root and a working `ip netns`")
    from playwright.sync_api import sync_playwright

    sweep_stale()
    rows: list[Row] = []
    with sync_playwright() as pw:
        for setup_name in args.setups:
            for scenario in args.scenarios:
                rows += run_rows(setup_name, scenario, args.runs, pw, rng)
    print(f"fault phases seed {seed}\n")
    print_table(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
