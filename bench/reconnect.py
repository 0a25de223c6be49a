"""Reconnection benchmark on real network faults (root; builds and removes its own namespaces).

    sudo .venv/bin/python -m bench.reconnect --runs 5

Prints a Markdown table with the targets of docs/architecture.md "Targets":

- ``detect_cut``: link cut → the agent shows "Reconnecting…"
- ``address_switch``: the agent's address changes → media captured after it arrives at both ends
- ``restore_after_5s``: link restored after a 5-7.5 s outage → media captured after it at
  both ends
- ``restore_state_lag``: in the same runs, media back at the agent → the agent's call shows
  "connected" again (state must follow the media)
- ``healthy_restart_gap``: manual ICE restart on a healthy network → longest frame gap at
  either end, counted from the window's edges (0.5 s before to 3 s after)
- ``no_restart_gap``: the control for it: the longest gap in a 3.5 s window of the same
  call just before, with no restart (what the machine's load alone does)
- ``aiortc_baseline_detect``: plain aiortc, link cut → any connection state change (cap 60 s)

How it keeps itself honest: ``valid`` counts runs that produced the figure (medians, min and
max are over those only); ``recovered`` counts runs where the fault was *detected* (the agent
showed "Reconnecting…"), media flowed again and the agent's call showed "connected" after
that — a run whose detection never happened is a failure. Each fault waits a random delay
first (and each outage lasts a random extra 0-2.5 s), so it hits every phase of the pollers
(0.05 s ticks, 0.25 s address poll, 0.5 s probes, 2.5 s re-issue); ``--seed`` repeats a
sequence. Calls use the product's default video size (MediaChoice) unless ``--video`` says
otherwise; the table header says which.
"""

from __future__ import annotations

import argparse
import itertools
import random
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
from softphone.media.local import MediaChoice

RUNNER = "labnet.call_runner"
BASELINE_RUNNER = "labnet.aiortc_peer"
MEDIA_TIMEOUT_S = 40.0  # generous: a slow recovery is measured, not cut off
BASELINE_CAP_S = 60.0


POLLER_PHASE_S = 0.5  # the longest sub-second poller period (the probe timeout)
REISSUE_PHASE_S = 2.5  # the periodic restart re-issue

TARGETS = {
    "detect_cut": "<= 1.5 s",
    "agent_detect_cut": "<= 1.5 s",
    "address_switch": "<= 0.5 s median",
    "address_switch_video": "<= 0.5 s median",
    "address_switch_audio": "<= 0.5 s median",
    "restore_after_5s": "<= 1 s median",
    "restore_state_lag": "~0 s (state follows media)",
    "healthy_restart_gap": "<= 0.1 s",
    "no_restart_gap": "(control: same call, no restart)",
    "aiortc_baseline_detect": "(reference: no target)",
}


@dataclass
class Outcome:
    seconds: float | None  # None: not measured (timed out); left out of the statistics
    recovered: bool


@dataclass
class Row:
    scenario: str
    outcomes: list[Outcome] = field(default_factory=list)
    setup: str = ""  # which stack ran it, for benches that compare several

    def format(self) -> str:
        values = [o.seconds for o in self.outcomes if o.seconds is not None]
        recovered = sum(o.recovered for o in self.outcomes)
        stats = (
            [f"{statistics.median(values):.3f}", f"{min(values):.3f}", f"{max(values):.3f}"]
            if values
            else ["n/a"] * 3
        )
        cells = [
            f"{self.setup} {self.scenario}" if self.setup else self.scenario,
            f"{len(values)}/{len(self.outcomes)}",
            *stats,
            f"{recovered}/{len(self.outcomes)}",
            TARGETS.get(self.scenario, "n/a"),
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


def connected_again(agent: JsonLines, *, after: int) -> Event | None:
    """The agent's "connected" after a "reconnecting" seen after ``after`` (the fault):
    without the detection there was nothing to recover from, so it counts as a failure."""
    shown = agent.wait_for(call_state("reconnecting"), MEDIA_TIMEOUT_S, after=after)
    if shown is None:
        return None
    index = agent.snapshot().index(shown)
    return agent.wait_for(call_state("connected"), MEDIA_TIMEOUT_S, after=index + 1)


def recovered(agent: JsonLines, media_back: float | None, *, after: int) -> bool:
    """Detected, media flows again *and* the agent's call is "connected" again (not still
    reconnecting towards a teardown while media happens to flow on the old pair)."""
    return media_back is not None and connected_again(agent, after=after) is not None


def settle_phase(rng: random.Random, span: float = POLLER_PHASE_S) -> None:
    """A random delay so the fault lands at any phase of the pollers."""
    time.sleep(rng.uniform(0.0, span))


def detect_cut(topo: Topology, call: Call, rng: random.Random) -> dict[str, Outcome]:
    agent, visitor = call
    settle_phase(rng)
    mark = len(agent.snapshot())
    cut_at = topo.cut(topo.agent)
    shown = agent.wait_for(call_state("reconnecting"), 10.0, after=mark)
    restored_at = topo.restore(topo.agent)
    back = media_back_at_both_ends(agent, visitor, restored_at)
    ok = recovered(agent, back, after=mark)
    return {"detect_cut": Outcome(shown["t"] - cut_at if shown else None, ok)}


def address_switch(topo: Topology, call: Call, rng: random.Random) -> dict[str, Outcome]:
    agent, visitor = call
    settle_phase(rng)
    mark = len(agent.snapshot())
    _, switched_at = topo.switch_address(topo.agent, "198.18.1.3")
    back = media_back_at_both_ends(agent, visitor, switched_at)
    return {"address_switch": Outcome(back, recovered(agent, back, after=mark))}


def restore_after_5s(topo: Topology, call: Call, rng: random.Random) -> dict[str, Outcome]:
    agent, visitor = call
    settle_phase(rng)
    mark = len(agent.snapshot())
    topo.cut(topo.agent)
    time.sleep(5.0 + rng.uniform(0.0, REISSUE_PHASE_S))
    restored_at = topo.restore(topo.agent)
    back = media_back_at_both_ends(agent, visitor, restored_at)
    connected = connected_again(agent, after=mark) if back is not None else None
    agent_media = agent.wait_for(captured_after(restored_at), 1.0)
    lag = (
        connected["t"] - agent_media["t"]
        if connected is not None and agent_media is not None
        else None
    )
    ok = back is not None and connected is not None
    return {
        "restore_after_5s": Outcome(back, ok),
        "restore_state_lag": Outcome(lag, ok),
    }


def longest_frame_gap(lines: JsonLines, start: float, end: float) -> float:
    """Counted from the window's edges: frames stopping before ``end`` are a gap too."""
    inside = [e["t"] for e in lines.snapshot() if is_frame(e) and start <= e["t"] <= end]
    return max(b - a for a, b in itertools.pairwise([start, *inside, end]))


def healthy_restart_gap(topo: Topology, call: Call, rng: random.Random) -> dict[str, Outcome]:
    """The restart's frame gap, and the same window's gap on the same call without a
    restart (the control: what this machine's load alone does to frame timing)."""
    agent, visitor = call
    time.sleep(0.5 + rng.uniform(0.0, POLLER_PHASE_S))  # a window with frames before it
    quiet_at = time.time()
    time.sleep(3.5)
    control = max(longest_frame_gap(p, quiet_at, quiet_at + 3.5) for p in (agent, visitor))
    mark = len(agent.snapshot())
    restart_at = time.time()
    agent.send("restart")
    done = agent.wait_for(
        lambda e: e.get("ev") == "log" and e.get("msg") == "reconnect.success", 5.0, after=mark
    )
    time.sleep(max(0.0, restart_at + 3.0 - time.time()))
    window = (restart_at - 0.5, restart_at + 3.0)
    gap = max(longest_frame_gap(p, *window) for p in (agent, visitor))
    return {
        "healthy_restart_gap": Outcome(gap if done else None, done is not None),
        "no_restart_gap": Outcome(control, True),
    }


def aiortc_baseline_detect(topo: Topology, call: Call, rng: random.Random) -> dict[str, Outcome]:
    agent, _ = call
    settle_phase(rng)
    mark = len(agent.snapshot())
    cut_at = topo.cut(topo.agent)
    noticed = agent.wait_for(lambda e: e.get("ev") == "state", BASELINE_CAP_S, after=mark)
    restored_at = topo.restore(topo.agent)
    back = agent.wait_for(captured_after(restored_at), 5.0)
    outcome = Outcome(noticed["t"] - cut_at if noticed else None, back is not None)
    return {"aiortc_baseline_detect": outcome}


Call = tuple[JsonLines, JsonLines]
Scenario = Callable[[Topology, Call, random.Random], dict[str, Outcome]]
SCENARIOS: dict[str, Scenario] = {
    "detect_cut": detect_cut,
    "address_switch": address_switch,
    "restore_after_5s": restore_after_5s,
    "healthy_restart_gap": healthy_restart_gap,
    "aiortc_baseline_detect": aiortc_baseline_detect,
}
ROWS = {name: [name] for name in SCENARIOS} | {
    "restore_after_5s": ["restore_after_5s", "restore_state_lag"],
    "healthy_restart_gap": ["healthy_restart_gap", "no_restart_gap"],
}


def run_scenario(name: str, runs: int, video: tuple[int, int], rng: random.Random) -> list[Row]:
    rows = {row: Row(row) for row in ROWS[name]}
    size = ("--width", str(video[0]), "--height", str(video[1]))
    for index in range(runs):
        with Topology() as topo:
            start_signaling(topo)
            try:
                if name == "aiortc_baseline_detect":
                    call = start_call(topo, BASELINE_RUNNER)
                else:
                    call = start_call(topo, RUNNER, agent_args=size, visitor_args=size)
                outcomes = SCENARIOS[name](topo, call, rng)
            except AssertionError as exc:  # a run that could not even start its call
                print(f"{name} run {index + 1}: {exc}", file=sys.stderr)
                outcomes = {row: Outcome(None, False) for row in rows}
        for row, outcome in outcomes.items():
            rows[row].outcomes.append(outcome)
        print(f"{name} run {index + 1}: {outcomes}", file=sys.stderr, flush=True)
    return list(rows.values())


def parse_video(text: str) -> tuple[int, int]:
    width, _, height = text.partition("x")
    return int(width), int(height)


def main(argv: list[str] | None = None) -> int:
    default = MediaChoice()
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--scenarios", nargs="+", choices=list(SCENARIOS), default=list(SCENARIOS))
    parser.add_argument(
        "--video",
        type=parse_video,
        default=(default.width, default.height),
        help="WxH of both sides' test pattern (default: the product's)",
    )
    parser.add_argument("--seed", type=int, default=None, help="repeat a fault-phase sequence")
    args = parser.parse_args(argv)
    if not can_create_namespaces():
        parser.error("needs root and a working `ip netns`")
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(2**32)
    rng = random.Random(seed)
    sweep_stale()
    rows = [
        row for name in args.scenarios for row in run_scenario(name, args.runs, args.video, rng)
    ]
    width, height = args.video
    product = " (the product's default)" if args.video == (default.width, default.height) else ""
    baseline = (
        "; aiortc_baseline_detect sends 320x180@15 (labnet/aiortc_peer.py)"
        if "aiortc_baseline_detect" in args.scenarios
        else ""
    )
    print(f"video {width}x{height}@{default.fps}{product}{baseline}; fault phases seed {seed}\n")
    print_table(rows)
    return 0


def print_table(rows: list[Row]) -> None:
    print("| scenario | valid/total | median_s | min_s | max_s | recovered | target |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for row in rows:
        print(row.format())


if __name__ == "__main__":
    sys.exit(main())
