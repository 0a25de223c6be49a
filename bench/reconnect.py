"""Reconnection benchmark on real network faults (root; builds and removes its own namespaces).

    sudo .venv/bin/python -m bench.reconnect --runs 5

Prints a Markdown table (DESIGN.md "Targets"):

- ``detect_cut``: link cut → the agent shows "reconnecting"
- ``address_switch``: the agent's address changes → media captured after it arrives at both ends
- ``restore_after_5s``: link restored after a 5 s outage → media captured after it at both ends
- ``healthy_restart_gap``: manual ICE restart on a healthy network → longest frame gap at
  either end (from 0.5 s before to 3 s after)
- ``aiortc_baseline_detect``: plain aiortc, link cut → any connection state change (cap 60 s)

``recovered`` counts runs where media flowed again afterwards and the agent's call was
"connected" again (for the baseline: media after the link came back once aiortc noticed).
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from labnet.netns import (
    Event,
    JsonLines,
    Topology,
    can_create_namespaces,
    captured_after,
    is_frame,
    start_call,
    start_signaling,
    sweep_stale,
)

RUNNER = "labnet.call_runner"
BASELINE_RUNNER = "labnet.aiortc_peer"
MEDIA_TIMEOUT_S = 40.0  # generous: a slow recovery is measured, not cut off
BASELINE_CAP_S = 60.0


@dataclass
class Outcome:
    seconds: float | None  # None: not measured (timed out); left out of the statistics
    recovered: bool


@dataclass
class Row:
    scenario: str
    outcomes: list[Outcome] = field(default_factory=list)

    def format(self) -> str:
        values = [o.seconds for o in self.outcomes if o.seconds is not None]
        recovered = sum(o.recovered for o in self.outcomes)
        stats = (
            [f"{statistics.median(values):.3f}", f"{min(values):.3f}", f"{max(values):.3f}"]
            if values
            else ["n/a"] * 3
        )
        cells = [
            self.scenario,
            str(len(self.outcomes)),
            *stats,
            f"{recovered}/{len(self.outcomes)}",
        ]
        return "| " + " | ".join(cells) + " |"


def media_back_at_both_ends(agent: JsonLines, visitor: JsonLines, since: float) -> float | None:
    """Seconds from ``since`` until both ends decoded a frame captured after it."""
    arrivals = [p.wait_for(captured_after(since), MEDIA_TIMEOUT_S) for p in (agent, visitor)]
    if None in arrivals:
        return None
    return max(e["t"] for e in arrivals if e is not None) - since


def call_state(state: str) -> Callable[[Event], bool]:
    return lambda e: e.get("ev") == "call_state" and e.get("state") == state


def recovered(agent: JsonLines, media_back: float | None, *, after: int) -> bool:
    """Media flows again *and* the agent's call is "connected" again (not still reconnecting
    towards a teardown while media happens to flow on the old pair)."""
    return (
        media_back is not None
        and agent.wait_for(call_state("connected"), MEDIA_TIMEOUT_S, after=after) is not None
    )


def detect_cut(topo: Topology) -> Outcome:
    agent, visitor = start_call(topo, RUNNER)
    mark = len(agent.snapshot())
    cut_at = topo.cut(topo.agent)
    shown = agent.wait_for(call_state("reconnecting"), 10.0, after=mark)
    restored_at = topo.restore(topo.agent)
    back = media_back_at_both_ends(agent, visitor, restored_at)
    return Outcome(shown["t"] - cut_at if shown else None, recovered(agent, back, after=mark))


def address_switch(topo: Topology) -> Outcome:
    agent, visitor = start_call(topo, RUNNER)
    mark = len(agent.snapshot())
    _, switched_at = topo.switch_address(topo.agent, "198.18.1.3")
    back = media_back_at_both_ends(agent, visitor, switched_at)
    return Outcome(back, recovered(agent, back, after=mark))


def restore_after_5s(topo: Topology) -> Outcome:
    agent, visitor = start_call(topo, RUNNER)
    mark = len(agent.snapshot())
    topo.cut(topo.agent)
    time.sleep(5.0)
    restored_at = topo.restore(topo.agent)
    back = media_back_at_both_ends(agent, visitor, restored_at)
    return Outcome(back, recovered(agent, back, after=mark))


def longest_frame_gap(lines: JsonLines, start: float, end: float) -> float:
    times = [e["t"] for e in lines.snapshot() if is_frame(e) and start <= e["t"] <= end]
    return max((b - a for a, b in itertools.pairwise(times)), default=end - start)


def healthy_restart_gap(topo: Topology) -> Outcome:
    agent, visitor = start_call(topo, RUNNER)
    time.sleep(1.0)
    mark = len(agent.snapshot())
    restart_at = time.time()
    agent.send("restart")
    done = agent.wait_for(
        lambda e: e.get("ev") == "log" and e.get("msg") == "reconnect.success", 5.0, after=mark
    )
    time.sleep(max(0.0, restart_at + 3.0 - time.time()))
    window = (restart_at - 0.5, restart_at + 3.0)
    gap = max(longest_frame_gap(p, *window) for p in (agent, visitor))
    return Outcome(gap if done else None, done is not None)


def aiortc_baseline_detect(topo: Topology) -> Outcome:
    agent, _ = start_call(topo, BASELINE_RUNNER)
    mark = len(agent.snapshot())
    cut_at = topo.cut(topo.agent)
    noticed = agent.wait_for(lambda e: e.get("ev") == "state", BASELINE_CAP_S, after=mark)
    restored_at = topo.restore(topo.agent)
    back = agent.wait_for(captured_after(restored_at), 5.0)
    return Outcome(noticed["t"] - cut_at if noticed else None, back is not None)


SCENARIOS: dict[str, Callable[[Topology], Outcome]] = {
    "detect_cut": detect_cut,
    "address_switch": address_switch,
    "restore_after_5s": restore_after_5s,
    "healthy_restart_gap": healthy_restart_gap,
    "aiortc_baseline_detect": aiortc_baseline_detect,
}


def run_scenario(name: str, runs: int) -> Row:
    row = Row(name)
    for index in range(runs):
        with Topology() as topo:
            start_signaling(topo)
            try:
                outcome = SCENARIOS[name](topo)
            except AssertionError as exc:  # a run that could not even start its call
                print(f"{name} run {index + 1}: {exc}", file=sys.stderr)
                outcome = Outcome(None, False)
        row.outcomes.append(outcome)
        print(f"{name} run {index + 1}: {outcome}", file=sys.stderr, flush=True)
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--scenarios", nargs="+", choices=list(SCENARIOS), default=list(SCENARIOS))
    args = parser.parse_args(argv)
    if not can_create_namespaces():
        parser.error("needs root and a working `ip netns`")
    sweep_stale()
    print_table([run_scenario(name, args.runs) for name in args.scenarios])
    return 0


def print_table(rows: list[Row]) -> None:
    print("| scenario | runs | median_s | min_s | max_s | recovered |")
    print("| --- | --- | --- | --- | --- | --- |")
    for row in rows:
        print(row.format())


if __name__ == "__main__":
    sys.exit(main())
