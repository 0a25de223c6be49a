"""The history list in the agent UI: rows from the store, live search, export via a
non-blocking file dialog (docs/qt-notes.md: never exec())."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtWidgets import QFileDialog
from pytestqt.qtbot import QtBot

from softphone.call.state import RestartOrigin
from softphone.history import CallHistory, CallRecord, Interruption, InterruptionOutcome
from softphone.ui.history_view import HistoryView, column_titles, history_row

HTML_NAME = "<b>Mallory</b><img src=x>"


@pytest.fixture
def history(tmp_path: Path) -> Iterator[CallHistory]:
    store = CallHistory(tmp_path / "history.sqlite3")
    episode = Interruption(0.0, 3.2, 2, RestartOrigin.LOCAL, InterruptionOutcome.RECOVERED)
    calls = [
        ("c1", "Élodie", "/fr/tarifs", "", ()),
        ("c2", "Bob", "/pricing", "Wants a refund", (episode,)),
        ("c3", HTML_NAME, "/", "=cmd|' /C calc'!A0", ()),
    ]
    for i, (call_id, name, page, notes, episodes) in enumerate(calls):
        store.add(
            CallRecord(
                call_id,
                1_800_000_000.0 + i * 600,
                1_800_000_095.0 + i * 600,
                name,
                page,
                "local-hangup",
                episodes,
                notes,
            )
        )
    yield store
    store.close()


def test_the_list_shows_one_plain_line_per_call() -> None:
    episodes = (
        Interruption(1000.0, 2.44, 2, RestartOrigin.LOCAL, InterruptionOutcome.RECOVERED),
        Interruption(1100.0, 0.8, 0, RestartOrigin.PEER, InterruptionOutcome.RECOVERED),
        Interruption(1200.0, 30.0, 3, RestartOrigin.LOCAL, InterruptionOutcome.FAILED),
    )
    call = CallRecord(
        "c1",
        1_800_000_000.0,
        1_800_000_185.0,
        "Zoë 李",
        "/fr/tarifs",
        "reconnect-failed",
        episodes,
        "Rappeler demain\nligne 2: « ok »",
        "Ada",
    )
    row = dict(zip(column_titles(), history_row(call), strict=True))
    assert row["Visitor"] == "Zoë 李"
    assert row["Duration"] == "3:05"
    assert row["Interruptions"] == (
        "3: recovered after 2.4 s (attempts: 2); recovered after 0.8 s (the visitor's restart); "
        "failed after 30.0 s (attempts: 3)"
    )
    assert row["Ended"] == "the connection could not be restored"
    assert row["Notes"] == "Rappeler demain ligne 2: « ok »"  # one line in the table
    empty = CallRecord("c2", 1_800_000_000.0, 1_800_000_001.0, "", None, "some-new-code")
    row = dict(zip(column_titles(), history_row(empty), strict=True))
    assert (row["Visitor"], row["Page"], row["Interruptions"]) == ("—", "—", "—")
    assert (row["Transferred by"], row["Notes"]) == ("—", "—")  # a screen reader names it
    assert row["Ended"] == "some-new-code"  # a code we have no words for is shown as sent


def cells(view: HistoryView, column: str) -> list[str]:
    model = view.table.model()
    col = column_titles().index(column)
    return [model.index(row, col).data() for row in range(model.rowCount(QModelIndex()))]


def test_rows_come_from_the_store_newest_first_as_plain_text(
    qtbot: QtBot, history: CallHistory
) -> None:
    view = HistoryView(history)
    qtbot.addWidget(view)
    assert cells(view, "Visitor") == [HTML_NAME, "Bob", "Élodie"]
    assert cells(view, "Duration") == ["1:35", "1:35", "1:35"]
    assert cells(view, "Interruptions")[1] == "1: recovered after 3.2 s (attempts: 2)"
    assert cells(view, "Ended") == ["you hung up"] * 3  # the end reason in words
    header = view.table.model().headerData(0, Qt.Orientation.Horizontal)
    assert header == "Started"
    # Visitor text is data, never markup: the default delegate paints DisplayRole verbatim.
    assert view.table.model().index(0, 1).data(Qt.ItemDataRole.ToolTipRole) is None


def test_search_filters_once_the_agent_pauses_and_a_new_call_appears(
    qtbot: QtBot, history: CallHistory
) -> None:
    view = HistoryView(history)
    qtbot.addWidget(view)
    history.changed.connect(view.reload)
    reloads: list[None] = []
    view.model.modelReset.connect(lambda: reloads.append(None))
    qtbot.keyClicks(view.search, "REFUND")
    assert len(cells(view, "Visitor")) == 3  # not yet: one search per pause, not per key
    qtbot.waitUntil(lambda: cells(view, "Visitor") == ["Bob"], timeout=2000)
    assert len(reloads) == 1
    view.search.clear()
    qtbot.waitUntil(lambda: len(cells(view, "Visitor")) == 3, timeout=2000)
    view.search.setText("tarifs")
    qtbot.waitUntil(lambda: cells(view, "Visitor") == ["Élodie"], timeout=2000)
    history.add(CallRecord("c4", 1_900_000_000.0, 1_900_000_010.0, "Tarifs Inc", None, "x"))
    assert cells(view, "Visitor") == ["Tarifs Inc", "Élodie"]  # reloaded, search kept


def test_export_asks_without_blocking_and_writes_what_is_listed(
    qtbot: QtBot, history: CallHistory, tmp_path: Path
) -> None:
    view = HistoryView(history)
    qtbot.addWidget(view)
    view.search.setText("e")  # Élodie, Bob (refund), not the third
    qtbot.waitUntil(lambda: len(cells(view, "Visitor")) == 2, timeout=2000)
    qtbot.mouseClick(view.export_button, Qt.MouseButton.LeftButton)
    dialog = view.export_dialog
    assert isinstance(dialog, QFileDialog)
    assert dialog.isVisible() and dialog.isModal()  # open(): window-modal, loop keeps running
    target = tmp_path / "out" / "calls"  # no suffix: the dialog adds .csv
    target.parent.mkdir()
    dialog.selectFile(str(target))
    with qtbot.waitSignal(dialog.finished, timeout=2000):
        dialog.accept()
    written = tmp_path / "out" / "calls.csv"
    with written.open(encoding="utf-8-sig", newline="") as file:
        rows = list(csv.DictReader(file))
    assert [r["visitor_name"] for r in rows] == ["Bob", "Élodie"]
    assert view.notice.text() == "Calls saved to calls.csv: 2"
    assert view.export_dialog is None


def test_a_cancelled_or_failed_export_writes_nothing(
    qtbot: QtBot, history: CallHistory, tmp_path: Path
) -> None:
    view = HistoryView(history)
    qtbot.addWidget(view)
    view.ask_export()
    dialog = view.export_dialog
    assert dialog is not None
    with qtbot.waitSignal(dialog.finished, timeout=2000):
        dialog.reject()
    assert list(tmp_path.glob("*.csv")) == [] and view.notice.text() == ""
    assert view.export_to(tmp_path / "missing-folder" / "calls.csv") is None
    assert view.notice.text().startswith("Export failed:")


def test_a_broken_history_says_so_instead_of_crashing(qtbot: QtBot, tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    path.write_bytes(b"not a database" * 100)
    view = HistoryView(CallHistory(path))
    qtbot.addWidget(view)
    assert cells(view, "Visitor") == []
    assert "history-corrupt" in view.notice.text()
    assert not view.export_button.isEnabled()
    assert not view.shortcuts["Ctrl+Shift+E"].isEnabled()


def test_keyboard_first_search_and_export(qtbot: QtBot, history: CallHistory) -> None:
    view = HistoryView(history)
    qtbot.addWidget(view)
    view.table.setFocus()
    for keys, widget in (("Ctrl+F", view.search), ("Ctrl+Shift+E", view.export_button)):
        assert keys in widget.toolTip()  # the shortcut is shown where the action is
        assert view.shortcuts[keys].key().toString() == keys
    view.shortcuts["Ctrl+F"].activated.emit()
    assert view.focusWidget() is view.search
    view.shortcuts["Ctrl+Shift+E"].activated.emit()
    dialog = view.export_dialog
    assert dialog is not None and dialog.isVisible()
    with qtbot.waitSignal(dialog.finished, timeout=2000):
        dialog.reject()
