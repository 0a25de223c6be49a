"""Cost of the call-history store on the GUI thread, with a full file (the newest N kept).

The store runs where the recorder runs: on the qasync loop, i.e. the GUI thread. A call's
record is written once when it ends; the list reloads on each keystroke of the search field.
The target is one 60 Hz frame (16 ms) for those, so neither stutters the window.
Prints a Markdown table; runs on a temp file on the local disk.

    .venv/bin/python bench/history_store.py [--calls 1000] [--runs 50]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from softphone.call.state import RestartOrigin
from softphone.history import (
    CallHistory,
    CallRecord,
    Interruption,
    InterruptionOutcome,
    export_csv,
)

EPISODE = Interruption(0.0, 2.5, 2, RestartOrigin.LOCAL, InterruptionOutcome.RECOVERED)


def a_call(index: int) -> CallRecord:
    return CallRecord(
        call_id=f"call-{index}",
        started_at=1_800_000_000.0 + index * 300,
        ended_at=1_800_000_000.0 + index * 300 + 240,
        visitor_name=f"Visitor {index} Zoë",
        page=f"/products/{index % 40}?ref=campaign",
        end_reason="local-hangup",
        interruptions=(EPISODE,) if index % 5 == 0 else (),
        notes=f"Follow-up {index}: asked about pricing and delivery times. " * 3,
    )


def timed_ms(action: Callable[[], object], runs: int) -> tuple[list[float], int]:
    """Durations of the runs that did their job (truthy result), and how many did."""
    samples: list[float] = []
    for _ in range(runs):
        start = time.perf_counter()
        ok = action()
        elapsed = (time.perf_counter() - start) * 1000
        if ok:
            samples.append(elapsed)
    return samples, len(samples)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=1000, help="the retention limit (N)")
    parser.add_argument("--runs", type=int, default=50)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "history.sqlite3"
        history = CallHistory(path, max_calls=args.calls)
        for index in range(args.calls):
            history.add(a_call(index))
        counter = iter(range(args.calls, args.calls + args.runs))
        export_to = Path(folder) / "export.csv"
        operations: list[tuple[str, Callable[[], object], float]] = [
            (
                "add a call (full file, prunes the oldest)",
                lambda: history.add(a_call(next(counter))),
                16,
            ),
            ("set wrap-up notes", lambda: history.set_notes(f"call-{args.calls}", "Ready"), 16),
            (
                f"list all {args.calls} (the view's reload)",
                lambda: len(history.recent()) == args.calls,
                16,
            ),
            ("search (case-folded, name/page/notes)", lambda: history.recent(query="7 ZOË"), 16),
            (
                f"export {args.calls} rows to CSV",
                lambda: export_csv(history.recent(), export_to),
                250,
            ),
            ("open a full file (quick_check + migrate)", lambda: reopen(path, args.calls), 100),
        ]
        print(f"history store, {args.calls} calls kept, {args.runs} runs each")
        print("| operation | valid/total | median_ms | p95_ms | max_ms | target_ms |")
        print("| --- | --- | --- | --- | --- | --- |")
        for name, action, target in operations:
            samples, valid = timed_ms(action, args.runs)
            if not samples:
                print(f"| {name} | 0/{args.runs} | — | — | — | ≤ {target:g} |")
                continue
            p95 = statistics.quantiles(samples, n=20)[-1] if len(samples) > 1 else samples[0]
            print(
                f"| {name} | {valid}/{args.runs} | {statistics.median(samples):.2f} "
                f"| {p95:.2f} | {max(samples):.2f} | ≤ {target:g} |"
            )
        history.close()
    return 0


def reopen(path: Path, max_calls: int) -> bool:
    history = CallHistory(path, max_calls=max_calls)
    ok = history.available
    history.close()
    return ok


if __name__ == "__main__":
    raise SystemExit(main())
