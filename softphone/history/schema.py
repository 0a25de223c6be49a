"""The history file's schema: a version table and ordered migrations, never edited once shipped.

A migration runs in one transaction together with the row that records it, so a file is
always at exactly one known version; an interrupted upgrade leaves the old version intact.
To change the schema, append a migration; old files upgrade in order on the next start.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True)
class Migration:
    version: int
    why: str
    statements: tuple[str, ...]


MIGRATIONS: Final = (
    Migration(
        1,
        "recent calls and their reconnect episodes",
        (
            """CREATE TABLE schema_version (
                version INTEGER PRIMARY KEY,
                applied_at REAL NOT NULL,
                why TEXT NOT NULL
            )""",
            """CREATE TABLE calls (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                call_id TEXT NOT NULL,
                started_at REAL NOT NULL,
                ended_at REAL NOT NULL,
                visitor_name TEXT NOT NULL,
                page TEXT,
                end_reason TEXT NOT NULL,
                transferred_by TEXT
            )""",
            "CREATE INDEX calls_by_start ON calls (started_at)",
            "CREATE INDEX calls_by_call_id ON calls (call_id)",
            """CREATE TABLE interruptions (
                call INTEGER NOT NULL REFERENCES calls (id) ON DELETE CASCADE,
                seq INTEGER NOT NULL,
                started_at REAL NOT NULL,
                duration_s REAL NOT NULL,
                attempts INTEGER NOT NULL,
                origin TEXT NOT NULL,
                outcome TEXT NOT NULL,
                PRIMARY KEY (call, seq)
            )""",
        ),
    ),
    Migration(
        2,
        "wrap-up notes written during after-call work (issue 17)",
        ("ALTER TABLE calls ADD COLUMN notes TEXT NOT NULL DEFAULT ''",),
    ),
)
LATEST_VERSION: Final = MIGRATIONS[-1].version


class NewerSchemaError(Exception):
    """The file was written by a newer release: reading it could misread, writing could harm."""

    def __init__(self, found: int, known: int) -> None:
        super().__init__(f"history schema v{found} is newer than this release's v{known}")
        self.found = found


@contextmanager
def transaction(db: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """BEGIN IMMEDIATE … COMMIT on an autocommit connection; rolls back on any error.

    IMMEDIATE takes the write lock up front, so a locked file fails here, before any change.
    """
    db.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        if db.in_transaction:
            db.rollback()
        raise
    db.execute("COMMIT")


def schema_version(db: sqlite3.Connection) -> int:
    """0 for a fresh (empty) file."""
    exists = db.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'"
    ).fetchone()
    if exists is None:
        return 0
    (version,) = db.execute("SELECT coalesce(max(version), 0) FROM schema_version").fetchone()
    return int(version)


def migrate(db: sqlite3.Connection, migrations: tuple[Migration, ...] = MIGRATIONS) -> int:
    """Bring the file to the newest version, one migration per transaction; returns it."""
    current = schema_version(db)
    latest = migrations[-1].version
    if current > latest:
        raise NewerSchemaError(current, latest)
    for migration in migrations:
        if migration.version <= current:
            continue
        with transaction(db):
            for statement in migration.statements:
                db.execute(statement)
            db.execute(
                "INSERT INTO schema_version (version, applied_at, why) VALUES (?, ?, ?)",
                (migration.version, time.time(), migration.why),
            )
        current = migration.version
    return current
