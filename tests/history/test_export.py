"""CSV export: what leaves the app must be safe to open in a spreadsheet."""

from __future__ import annotations

import csv
from datetime import datetime
from pathlib import Path

import pytest

from softphone.call.state import RestartOrigin
from softphone.history import CallRecord, Interruption, InterruptionOutcome, export_csv
from softphone.history.export import CSV_COLUMNS, csv_cell
from softphone.history.records import format_duration

EPISODES = (
    Interruption(1000.0, 2.44, 2, RestartOrigin.LOCAL, InterruptionOutcome.RECOVERED),
    Interruption(1100.0, 0.8, 0, RestartOrigin.PEER, InterruptionOutcome.RECOVERED),
    Interruption(1200.0, 30.0, 3, RestartOrigin.LOCAL, InterruptionOutcome.FAILED),
)


def record(**changes: object) -> CallRecord:
    fields: dict[str, object] = {
        "call_id": "c1",
        "started_at": 1_800_000_000.0,
        "ended_at": 1_800_000_185.0,
        "visitor_name": "Zoë 李",
        "page": "/fr/tarifs",
        "end_reason": "reconnect-failed",
        "interruptions": EPISODES,
        "notes": "Rappeler demain\nligne 2: « ok »",
        "transferred_by": "Ada",
    }
    fields.update(changes)
    return CallRecord(**fields)  # type: ignore[arg-type]


def read_back(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as file:
        return list(csv.DictReader(file))


def test_export_round_trips_unicode_and_multiline_notes(tmp_path: Path) -> None:
    path = tmp_path / "calls.csv"
    assert export_csv([record(), record(call_id="c2", interruptions=())], path) == 2
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")  # the BOM Excel needs for UTF-8
    first, second = read_back(path)
    assert tuple(first) == CSV_COLUMNS
    assert first["visitor_name"] == "Zoë 李"
    assert first["notes"] == "Rappeler demain\nligne 2: « ok »"
    assert first["duration_s"] == "185.0"
    assert first["interruptions"] == "3"
    assert first["interruption_details"] == (
        "recovered after 2.4 s (2 att.); recovered after 0.8 s (peer restart); "
        "failed after 30.0 s (3 att.)"
    )
    assert first["transferred_by"] == "Ada"
    assert datetime.fromisoformat(first["started_at"]).timestamp() == 1_800_000_000.0
    assert (second["interruptions"], second["interruption_details"]) == ("0", "")


@pytest.mark.parametrize("attack", ['=HYPERLINK("http://x")', "+1+1", "-2+3", "@SUM(A1)", "\t=1"])
def test_cells_a_spreadsheet_would_run_are_defused(tmp_path: Path, attack: str) -> None:
    path = tmp_path / "calls.csv"
    export_csv([record(visitor_name=attack, page=attack, notes=attack)], path)
    (row,) = read_back(path)
    for column in ("visitor_name", "page", "notes"):
        assert row[column] == "'" + attack


def test_harmless_cells_are_left_as_they_are() -> None:
    for text in ("Bob", "", "100% sure", "a=b", "'quoted"):
        assert csv_cell(text) == text


def test_a_failed_export_leaves_no_half_file(tmp_path: Path) -> None:
    path = tmp_path / "calls.csv"
    path.write_text("previous export")

    def records() -> object:
        yield record()
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        export_csv(records(), path)  # type: ignore[arg-type]
    assert path.read_text() == "previous export"
    assert [p.name for p in tmp_path.iterdir()] == ["calls.csv"]


@pytest.mark.parametrize(
    ("seconds", "shown"), [(0, "0:00"), (59.4, "0:59"), (61, "1:01"), (3725, "1:02:05")]
)
def test_durations_read_like_talk_time(seconds: float, shown: str) -> None:
    assert format_duration(seconds) == shown
