"""The history file: migrations from old files, search, retention, and bad files that must
not take the app down."""

from __future__ import annotations

import logging
import os
import sqlite3
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from softphone.call.state import RestartOrigin
from softphone.history import CallHistory, CallRecord, HistoryProblem, Interruption
from softphone.history.records import InterruptionOutcome
from softphone.history.schema import LATEST_VERSION, MIGRATIONS, Migration, migrate
from softphone.history.store import MAX_NAME_CHARS

# The v1 file exactly as the first release wrote it (frozen here on purpose: if a shipped
# migration is edited by mistake, upgrading a real old file is what breaks).
V1_FILE_SQL = """
CREATE TABLE schema_version (
    version INTEGER PRIMARY KEY, applied_at REAL NOT NULL, why TEXT NOT NULL);
CREATE TABLE calls (
    id INTEGER PRIMARY KEY AUTOINCREMENT, call_id TEXT NOT NULL, started_at REAL NOT NULL,
    ended_at REAL NOT NULL, visitor_name TEXT NOT NULL, page TEXT, end_reason TEXT NOT NULL,
    transferred_by TEXT);
CREATE INDEX calls_by_start ON calls (started_at);
CREATE INDEX calls_by_call_id ON calls (call_id);
CREATE TABLE interruptions (
    call INTEGER NOT NULL REFERENCES calls (id) ON DELETE CASCADE, seq INTEGER NOT NULL,
    started_at REAL NOT NULL, duration_s REAL NOT NULL, attempts INTEGER NOT NULL,
    origin TEXT NOT NULL, outcome TEXT NOT NULL, PRIMARY KEY (call, seq));
INSERT INTO schema_version VALUES (1, 1700000000.0, 'recent calls and their reconnect episodes');
INSERT INTO calls VALUES (1, 'old-1', 1700000100.0, 1700000400.0, 'Zoë Old', '/pricing',
    'local-hangup', NULL);
INSERT INTO calls VALUES (2, 'old-2', 1700000500.0, 1700000560.0, 'Bob', NULL,
    'reconnect-failed', 'Ada');
INSERT INTO interruptions VALUES (1, 0, 1700000200.0, 2.5, 2, 'local', 'recovered');
INSERT INTO interruptions VALUES (2, 0, 1700000530.0, 30.0, 3, 'local', 'failed');
"""


def a_call(
    call_id: str,
    started_at: float,
    *,
    name: str = "Visitor",
    page: str | None = "/",
    notes: str = "",
    interruptions: tuple[Interruption, ...] = (),
) -> CallRecord:
    return CallRecord(
        call_id=call_id,
        started_at=started_at,
        ended_at=started_at + 60.0,
        visitor_name=name,
        page=page,
        end_reason="local-hangup",
        interruptions=interruptions,
        notes=notes,
    )


@pytest.fixture
def store(tmp_path: Path) -> Iterator[CallHistory]:
    history = CallHistory(tmp_path / "history.sqlite3")
    yield history
    history.close()


def write_v1_file(path: Path) -> None:
    db = sqlite3.connect(path)
    db.executescript(V1_FILE_SQL)
    db.commit()
    db.close()


def versions(path: Path) -> list[int]:
    db = sqlite3.connect(path)
    try:
        return [v for (v,) in db.execute("SELECT version FROM schema_version ORDER BY version")]
    finally:
        db.close()


def test_a_fresh_file_is_created_at_the_latest_version(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "folder" / "history.sqlite3"
    history = CallHistory(path)
    assert history.available and history.problem is None
    history.add(a_call("c1", 1.0))
    if os.name == "posix":  # personal data: readable by the agent's account only
        for file in path.parent.iterdir():
            assert stat.S_IMODE(file.stat().st_mode) == 0o600, file.name
    history.close()
    assert versions(path) == [m.version for m in MIGRATIONS]
    assert LATEST_VERSION >= 2


def test_an_old_v1_file_upgrades_and_keeps_its_calls(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    write_v1_file(path)
    history = CallHistory(path)
    assert history.problem is None
    assert versions(path) == [1, 2]
    old = {r.call_id: r for r in history.recent()}
    assert set(old) == {"old-1", "old-2"}
    assert old["old-1"].visitor_name == "Zoë Old" and old["old-1"].page == "/pricing"
    assert old["old-1"].duration_s == 300.0
    assert old["old-1"].notes == ""  # the v2 column, defaulted for old rows
    assert old["old-1"].interruptions == (
        Interruption(1700000200.0, 2.5, 2, RestartOrigin.LOCAL, InterruptionOutcome.RECOVERED),
    )
    assert old["old-2"].transferred_by == "Ada"
    assert old["old-2"].interruptions[0].outcome is InterruptionOutcome.FAILED
    # The upgraded file takes v2 data, and it survives a restart of the app.
    assert history.set_notes("old-2", "Callback promised")
    history.add(a_call("new-1", 1700001000.0, notes="fresh"))
    history.close()
    again = CallHistory(path)
    assert [(r.call_id, r.notes) for r in again.recent()] == [
        ("new-1", "fresh"),
        ("old-2", "Callback promised"),
        ("old-1", ""),
    ]
    again.close()


def test_a_failing_migration_leaves_the_file_at_its_old_version(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    write_v1_file(path)
    broken = (
        *MIGRATIONS,
        Migration(3, "half-done change", ("ALTER TABLE calls ADD COLUMN x TEXT", "NOT SQL")),
    )
    db = sqlite3.connect(path, isolation_level=None)
    with pytest.raises(sqlite3.OperationalError):
        migrate(db, broken)
    db.close()
    assert versions(path) == [1, 2]  # v2 committed, v3 rolled back as a whole
    db = sqlite3.connect(path)
    columns = [row[1] for row in db.execute("PRAGMA table_info(calls)")]
    db.close()
    assert "notes" in columns and "x" not in columns


def test_a_file_from_a_newer_release_is_left_alone(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "history.sqlite3"
    CallHistory(path).close()
    db = sqlite3.connect(path)
    db.execute("INSERT INTO schema_version VALUES (99, 0, 'from the future')")
    db.commit()
    db.close()
    os.utime(path, (1_000_000, 1_000_000))
    with caplog.at_level(logging.ERROR):
        history = CallHistory(path)
    assert history.problem is HistoryProblem.NEWER_SCHEMA and not history.available
    assert path.stat().st_mtime == 1_000_000  # not even touched
    assert history.recent() == [] and not history.add(a_call("c", 1.0))
    assert versions(path)[-1] == 99
    assert any(getattr(r, "code", None) == "history-newer-schema" for r in caplog.records)


def test_search_matches_name_page_and_notes_ignoring_case(store: CallHistory) -> None:
    store.add(a_call("c1", 100.0, name="Élodie Martin", page="/fr/tarifs"))
    store.add(a_call("c2", 200.0, name="Bob", page="/pricing", notes="Wants a REFUND"))
    store.add(a_call("c3", 300.0, name="Carol", page=None, notes="asked about pricing"))
    store.add(a_call("c4", 400.0, name="100% sure_", page="/x"))

    def found(query: str) -> list[str]:
        return [r.call_id for r in store.recent(query=query)]

    assert found("élodie") == ["c1"]  # non-ASCII case folding, which SQL LIKE lacks
    assert found("TARIFS") == ["c1"]
    assert found("refund") == ["c2"]
    assert found("pricing") == ["c3", "c2"]  # notes and page; newest first
    assert found("  bob ") == ["c2"]
    assert found("%") == ["c4"] and found("_") == ["c4"]  # no wildcards
    assert found("' OR 1=1 --") == []  # the query is a parameter, never SQL
    assert found("") == ["c4", "c3", "c2", "c1"]
    assert found("nobody") == []


def test_only_the_newest_calls_are_kept(tmp_path: Path) -> None:
    history = CallHistory(tmp_path / "h.sqlite3", max_calls=3)
    episode = Interruption(0.0, 1.0, 1, RestartOrigin.LOCAL, InterruptionOutcome.RECOVERED)
    for i in range(6):
        history.add(a_call(f"c{i}", float(i), interruptions=(episode,)))
    assert [r.call_id for r in history.recent()] == ["c5", "c4", "c3"]
    assert history.recent(limit=1)[0].call_id == "c5"
    history.close()
    db = sqlite3.connect(tmp_path / "h.sqlite3")
    (orphans,) = db.execute(
        "SELECT count(*) FROM interruptions WHERE call NOT IN (SELECT id FROM calls)"
    ).fetchone()
    db.close()
    assert orphans == 0  # the dropped calls took their episodes with them


def test_text_from_the_visitor_is_clipped_at_the_door(store: CallHistory) -> None:
    store.add(a_call("c1", 1.0, name="x" * 10_000, page="/" + "p" * 100_000))
    (record,) = store.recent()
    assert len(record.visitor_name) == MAX_NAME_CHARS
    assert len(record.page or "") < 100_000


def test_notes_go_to_the_latest_leg_of_a_call(store: CallHistory) -> None:
    store.add(a_call("same", 1.0))
    store.add(a_call("same", 2.0))  # e.g. transferred back to this agent
    assert store.set_notes("same", "second leg")
    assert [(r.started_at, r.notes) for r in store.recent()] == [(2.0, "second leg"), (1.0, "")]
    assert not store.set_notes("unknown", "nothing to attach to")


def test_changed_fires_after_each_write(store: CallHistory) -> None:
    fired: list[None] = []
    store.changed.connect(lambda: fired.append(None))
    store.add(a_call("c1", 1.0))
    store.set_notes("c1", "n")
    assert len(fired) == 2


@pytest.mark.parametrize(
    ("damage", "seen_as"),
    [
        pytest.param(
            lambda data: b"this is not sqlite at all" * 200, "not a database", id="not-a-database"
        ),
        pytest.param(
            lambda data: data[:100] + b"\xff" * (len(data) - 100), "malformed", id="garbled-pages"
        ),
        # Readable header and schema, one bad table page: only PRAGMA quick_check sees it.
        pytest.param(lambda data: data[:-4088] + b"\x07" * 4088, "quick_check", id="bad-last-page"),
    ],
)
def test_a_corrupt_file_turns_history_off_without_crashing(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, damage: object, seen_as: str
) -> None:
    path = tmp_path / "history.sqlite3"
    history = CallHistory(path)
    for i in range(20):
        history.add(a_call(f"c{i}", float(i), notes="n" * 500))
    history.close()
    damaged = damage(path.read_bytes())  # type: ignore[operator]
    path.write_bytes(damaged)
    with caplog.at_level(logging.ERROR):
        broken = CallHistory(path)
    assert broken.problem is HistoryProblem.CORRUPT and not broken.available
    assert broken.recent() == [] and broken.recent(query="x") == []
    assert not broken.add(a_call("during-outage", 1.0))
    assert not broken.set_notes("c1", "x")
    assert path.read_bytes() == damaged  # left as found, for support
    (logged,) = [r for r in caplog.records if getattr(r, "code", None) == "history-corrupt"]
    assert seen_as in logged.reason  # type: ignore[attr-defined]


def test_rows_that_do_not_fit_are_skipped_not_fatal(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "history.sqlite3"
    write_v1_file(path)
    db = sqlite3.connect(path)  # a hand-edited file: SQLite columns take any type
    db.execute("UPDATE calls SET started_at = 'yesterday' WHERE call_id = 'old-1'")
    db.execute("UPDATE interruptions SET outcome = 'exploded' WHERE call = 2")
    db.execute("UPDATE calls SET visitor_name = 42 WHERE call_id = 'old-2'")
    db.commit()
    db.close()
    history = CallHistory(path)
    with caplog.at_level(logging.WARNING):
        (record,) = history.recent()
    assert (record.call_id, record.visitor_name, record.interruptions) == ("old-2", "42", ())
    assert [getattr(r, "table", None) for r in caplog.records if r.msg == "history.bad_row"] == [
        "interruptions",
        "calls",
    ]
    history.close()


def test_an_unwritable_folder_turns_history_off(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the data folder should be")
    history = CallHistory(blocker / "history.sqlite3")
    assert history.problem is HistoryProblem.UNAVAILABLE
    assert history.recent() == []


def test_a_locked_file_loses_one_write_not_the_app(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "history.sqlite3"
    history = CallHistory(path)
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")  # e.g. a second copy of the app, or a DB browser
    try:
        with caplog.at_level(logging.ERROR):
            assert not history.add(a_call("while-locked", 1.0))
        assert history.available and history.problem is None  # transient: stays on
        assert any(getattr(r, "code", None) == "history-locked" for r in caplog.records)
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert history.add(a_call("after", 2.0))
    assert [r.call_id for r in history.recent()] == ["after"]
    history.close()


def test_a_file_locked_during_its_upgrade_turns_history_off(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    write_v1_file(path)
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    try:
        history = CallHistory(path)
        assert history.problem is HistoryProblem.LOCKED and not history.available
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert versions(path) == [1]  # nothing half-migrated
    upgraded = CallHistory(path)  # the next start upgrades
    assert upgraded.problem is None and len(upgraded.recent()) == 2
    upgraded.close()
