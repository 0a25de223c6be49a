"""CSV export of the history for a supervisor's spreadsheet.

Cells that a spreadsheet would run as a formula (OWASP "CSV injection": a leading ``=``, ``+``,
``-``, ``@``, tab or carriage return) get a leading apostrophe: visitor names and pages come
from the visitor's browser. UTF-8 with a byte-order mark, so Excel shows accents correctly.
"""

from __future__ import annotations

import csv
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Final

from softphone.history.records import CallRecord, describe_interruptions, local_time

CSV_COLUMNS: Final = (
    "call_id",
    "started_at",
    "visitor_name",
    "page",
    "duration_s",
    "end_reason",
    "interruptions",
    "interruption_details",
    "transferred_by",
    "notes",
)
_FORMULA_STARTS: Final = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: str) -> str:
    return "'" + value if value.startswith(_FORMULA_STARTS) else value


def csv_row(record: CallRecord) -> list[str]:
    return [
        csv_cell(cell)
        for cell in (
            record.call_id,
            local_time(record.started_at).isoformat(timespec="seconds"),
            record.visitor_name,
            record.page or "",
            f"{record.duration_s:.1f}",
            record.end_reason,
            str(len(record.interruptions)),
            describe_interruptions(record),
            record.transferred_by or "",
            record.notes,
        )
    ]


def export_csv(records: Iterable[CallRecord], destination: Path) -> int:
    """Write the file whole or not at all (temp file + rename); returns the row count."""
    rows = 0
    fd, temp = tempfile.mkstemp(prefix=".history-", suffix=".csv", dir=destination.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8-sig", newline="") as file:
            writer = csv.writer(file)
            writer.writerow(CSV_COLUMNS)
            for record in records:
                writer.writerow(csv_row(record))
                rows += 1
        os.replace(temp, destination)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return rows
