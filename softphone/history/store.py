"""The call-history store: one SQLite file in the platform data folder, newest N calls kept.

History is a convenience, the call is not: a corrupt, locked or newer-version file is logged
once with a stable code and the app runs on without history (``problem`` says why, for the
view); a failed write loses that record, never the call. The file itself is left untouched
for support to look at. Every query is parameterised; text is clipped at this door.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sqlite3
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Any, Final, TypeVar

import platformdirs

from softphone.call.state import RestartOrigin
from softphone.events import Signal
from softphone.history.records import CallRecord, Interruption, InterruptionOutcome
from softphone.history.schema import NewerSchemaError, migrate, transaction
from softphone.settings import APP_NAME

log = logging.getLogger(__name__)

T = TypeVar("T")

DEFAULT_MAX_CALLS: Final = 1000
# The store runs on the GUI/asyncio thread: wait briefly for a lock, never freeze the window.
BUSY_TIMEOUT_S: Final = 0.25
# Limits at the door: visitor name and page come from the visitor's browser.
MAX_NAME_CHARS: Final = 200
MAX_PAGE_CHARS: Final = 2000
MAX_REASON_CHARS: Final = 100
MAX_NOTES_CHARS: Final = 10_000
MAX_QUERY_CHARS: Final = 200
MAX_INTERRUPTIONS: Final = 50  # a flapping call keeps its first 50 episodes

_CALL_COLUMNS = (
    "id, call_id, started_at, ended_at, visitor_name, page, end_reason, transferred_by, notes"
)


class HistoryProblem(StrEnum):
    """Stable codes for why history is off (or why one operation failed)."""

    CORRUPT = "history-corrupt"
    LOCKED = "history-locked"
    NEWER_SCHEMA = "history-newer-schema"
    UNAVAILABLE = "history-unavailable"  # cannot create, open or write the file


def default_history_path() -> Path:
    return Path(platformdirs.user_data_dir(APP_NAME)) / "history.sqlite3"


def classify(exc: sqlite3.Error) -> HistoryProblem:
    primary = getattr(exc, "sqlite_errorcode", 0) & 0xFF
    if primary in (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB):
        return HistoryProblem.CORRUPT
    if primary in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
        return HistoryProblem.LOCKED
    return HistoryProblem.UNAVAILABLE


def _clip(text: str, limit: int) -> str:
    return text[:limit]


def _casefold(value: object) -> str:
    return value.casefold() if isinstance(value, str) else ""


class CallHistory:
    """Recent calls, newest first; ``changed`` fires after every successful write."""

    def __init__(self, path: Path | None = None, *, max_calls: int = DEFAULT_MAX_CALLS) -> None:
        if max_calls < 1:
            raise ValueError("max_calls must be at least 1")
        self.path = path or default_history_path()
        self.max_calls = max_calls
        self.changed: Signal[[]] = Signal("history.changed")
        self.problem: HistoryProblem | None = None
        self._db = self._open()

    @property
    def available(self) -> bool:
        return self._db is not None

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    # --- writes ---------------------------------------------------------------------------

    def add(self, record: CallRecord) -> bool:
        """Store one finished call and drop the oldest beyond ``max_calls``."""
        ok = self._run("add", lambda db: self._insert(db, record), False)
        if ok:
            self.changed.emit()
        return ok

    def set_notes(self, call_id: str, notes: str) -> bool:
        """Wrap-up notes for the latest record of ``call_id``; False if there is none."""

        def update(db: sqlite3.Connection) -> bool:
            with transaction(db):
                cursor = db.execute(
                    "UPDATE calls SET notes = ? WHERE id = "
                    "(SELECT id FROM calls WHERE call_id = ? ORDER BY id DESC LIMIT 1)",
                    (_clip(notes, MAX_NOTES_CHARS), call_id),
                )
            return cursor.rowcount == 1

        ok = self._run("set_notes", update, False)
        if ok:
            self.changed.emit()
        return ok

    # --- reads ----------------------------------------------------------------------------

    def recent(self, query: str = "", limit: int | None = None) -> list[CallRecord]:
        """Newest first; a query matches visitor name, page or notes, ignoring case."""
        limit = self.max_calls if limit is None else max(0, limit)
        needle = _casefold(query.strip()[:MAX_QUERY_CHARS])

        def select(db: sqlite3.Connection) -> list[CallRecord]:
            if needle:
                rows = db.execute(
                    f"SELECT {_CALL_COLUMNS} FROM calls WHERE "
                    "instr(casefold(visitor_name), ?1) > 0 OR instr(casefold(page), ?1) > 0 "
                    "OR instr(casefold(notes), ?1) > 0 "
                    "ORDER BY started_at DESC, id DESC LIMIT ?2",
                    (needle, limit),
                ).fetchall()
            else:
                rows = db.execute(
                    f"SELECT {_CALL_COLUMNS} FROM calls ORDER BY started_at DESC, id DESC LIMIT ?",
                    (limit,),
                ).fetchall()
            return self._with_interruptions(db, rows)

        return self._run("recent", select, [])

    # --- internals ------------------------------------------------------------------------

    def _open(self) -> sqlite3.Connection | None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # Visitor names and notes are personal data: owner-only (SQLite gives its
            # -wal/-shm files the same mode). An empty file is a valid new database.
            with contextlib.suppress(FileExistsError):  # an existing file is not touched
                self.path.touch(mode=0o600, exist_ok=False)
            db = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
        except (OSError, sqlite3.Error) as exc:
            problem = classify(exc) if isinstance(exc, sqlite3.Error) else None
            self._disable(problem or HistoryProblem.UNAVAILABLE, "open", exc)
            return None
        try:
            db.create_function("casefold", 1, _casefold, deterministic=True)
            db.execute("PRAGMA foreign_keys = ON")
            # Damage inside pages is only reported as text, not as an error code.
            (check,) = db.execute("PRAGMA quick_check").fetchone()
            if check != "ok":
                db.close()
                self._disable(HistoryProblem.CORRUPT, "open", f"quick_check: {check[:300]}")
                return None
            migrate(db)
            # WAL + NORMAL: a commit costs ~0.05 ms instead of ~10 ms of fsyncs (measured,
            # bench/history_store.py); an app crash loses nothing, a power cut at most the
            # last calls. After migrate: a newer release's file is not touched at all.
            db.execute("PRAGMA journal_mode = WAL")
            db.execute("PRAGMA synchronous = NORMAL")
        except NewerSchemaError as exc:
            db.close()
            self._disable(HistoryProblem.NEWER_SCHEMA, "open", exc)
            return None
        except sqlite3.Error as exc:
            db.close()
            self._disable(classify(exc), "open", exc)
            return None
        return db

    def _run(self, operation: str, work: Callable[[sqlite3.Connection], T], default: T) -> T:
        if self._db is None:
            return default
        try:
            return work(self._db)
        except sqlite3.Error as exc:
            problem = classify(exc)
            if problem is HistoryProblem.CORRUPT:
                self.close()
                self._disable(problem, operation, exc)
            else:  # locked or full: this operation is lost, the next one may work
                log.error(
                    "history.operation_failed",
                    extra={"code": str(problem), "operation": operation, "reason": str(exc)},
                )
            return default

    def _disable(self, problem: HistoryProblem, operation: str, reason: object) -> None:
        self.problem = problem
        log.error(
            "history.unavailable: the app runs on without call history",
            extra={
                "code": str(problem),
                "operation": operation,
                "path": str(self.path),
                "reason": str(reason),
            },
        )

    def _insert(self, db: sqlite3.Connection, record: CallRecord) -> bool:
        with transaction(db):
            cursor = db.execute(
                "INSERT INTO calls (call_id, started_at, ended_at, visitor_name, page, "
                "end_reason, transferred_by, notes) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    _clip(record.call_id, MAX_REASON_CHARS),
                    record.started_at,
                    record.ended_at,
                    _clip(record.visitor_name, MAX_NAME_CHARS),
                    None if record.page is None else _clip(record.page, MAX_PAGE_CHARS),
                    _clip(record.end_reason, MAX_REASON_CHARS),
                    None
                    if record.transferred_by is None
                    else _clip(record.transferred_by, MAX_NAME_CHARS),
                    _clip(record.notes, MAX_NOTES_CHARS),
                ),
            )
            db.executemany(
                "INSERT INTO interruptions (call, seq, started_at, duration_s, attempts, "
                "origin, outcome) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    (
                        cursor.lastrowid,
                        seq,
                        e.started_at,
                        e.duration_s,
                        e.attempts,
                        str(e.origin),
                        str(e.outcome),
                    )
                    for seq, e in enumerate(record.interruptions[:MAX_INTERRUPTIONS])
                ),
            )
            # Interruptions follow their call out through ON DELETE CASCADE.
            db.execute(
                "DELETE FROM calls WHERE id IN (SELECT id FROM calls "
                "ORDER BY started_at DESC, id DESC LIMIT -1 OFFSET ?)",
                (self.max_calls,),
            )
        return True

    @staticmethod
    def _with_interruptions(db: sqlite3.Connection, rows: list[Any]) -> list[CallRecord]:
        """Records with their episodes; a row that does not fit (a hand-edited file) is
        skipped with a warning rather than breaking the list."""
        episodes: dict[int, list[Interruption]] = {}
        # One JSON parameter instead of one "?" per call: no limit on the number of ids.
        for row in db.execute(
            "SELECT call, started_at, duration_s, attempts, origin, outcome FROM interruptions "
            "WHERE call IN (SELECT value FROM json_each(?)) ORDER BY call, seq",
            (json.dumps([row[0] for row in rows]),),
        ):
            try:
                episodes.setdefault(row[0], []).append(_interruption(row))
            except (TypeError, ValueError) as exc:
                log.warning("history.bad_row", extra={"table": "interruptions", "reason": str(exc)})
        records = []
        for row in rows:
            try:
                records.append(_record(row, tuple(episodes.get(row[0], ()))))
            except (TypeError, ValueError) as exc:
                log.warning("history.bad_row", extra={"table": "calls", "reason": str(exc)})
        return records


def _interruption(row: Any) -> Interruption:
    _call, started_at, duration_s, attempts, origin, outcome = row
    return Interruption(
        float(started_at),
        float(duration_s),
        int(attempts),
        RestartOrigin(origin),
        InterruptionOutcome(outcome),
    )


def _record(row: Any, interruptions: tuple[Interruption, ...]) -> CallRecord:
    _id, call_id, started_at, ended_at, name, page, reason, transferred_by, notes = row
    return CallRecord(
        call_id=str(call_id),
        started_at=float(started_at),
        ended_at=float(ended_at),
        visitor_name=str(name),
        page=None if page is None else str(page),
        end_reason=str(reason),
        interruptions=interruptions,
        notes=str(notes),
        transferred_by=None if transferred_by is None else str(transferred_by),
    )
