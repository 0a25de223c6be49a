"""The call-history list: a table of recent calls, a search field and "Export CSV…".

A thin view over :class:`softphone.history.CallHistory`: the store searches and the history
module writes the CSV (stable English codes for spreadsheets); this widget words each row in
the agent's language (:func:`history_row`) and asks for a file name without blocking the
asyncio loop (``open()`` + ``finished``, never ``exec()``). Cells are plain text: visitor
names and pages come from the visitor's browser.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, QTimer
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from softphone.call.state import RestartOrigin
from softphone.history import CallHistory, CallRecord, Interruption, InterruptionOutcome, export_csv
from softphone.history.records import format_duration, local_time
from softphone.ui.a11y import describe, shortcut_text
from softphone.ui.i18n import translate
from softphone.ui.session_bridge import gui_thread_only
from softphone.ui.status_text import decimal, end_reason_text

log = logging.getLogger(__name__)

EXPORT_NAME = "softphone-calls.csv"
SEARCH_SHORTCUT = "Ctrl+F"
EXPORT_SHORTCUT = "Ctrl+Shift+E"
SEARCH_DELAY_MS = 150  # one search when the agent pauses typing, not one per keystroke
SIZE_SAMPLE_ROWS = 50  # rows measured to size the columns

Index = QModelIndex | QPersistentModelIndex
NONE = "—"  # an empty cell


def column_titles() -> tuple[str, ...]:
    """The list's headers, in :func:`history_row` order."""
    return (
        translate("HistoryView", "Started"),
        translate("HistoryView", "Visitor"),
        translate("HistoryView", "Page"),
        translate("HistoryView", "Duration"),
        translate("HistoryView", "Interruptions"),
        translate("HistoryView", "Ended"),
        translate("HistoryView", "Transferred by"),
        translate("HistoryView", "Notes"),
    )


def interruption_text(episode: Interruption) -> str:
    """One reconnect episode in words: how it ended, after how long, whose restart."""
    outcomes = {
        InterruptionOutcome.RECOVERED: translate("HistoryView", "recovered after {seconds} s"),
        InterruptionOutcome.FAILED: translate("HistoryView", "failed after {seconds} s"),
        InterruptionOutcome.CALL_ENDED: translate("HistoryView", "hung up after {seconds} s"),
    }
    if episode.origin is RestartOrigin.PEER:
        by = translate("HistoryView", "the visitor's restart")
    else:
        by = translate("HistoryView", "attempts: {attempts}").format(attempts=episode.attempts)
    outcome = outcomes[episode.outcome].format(seconds=decimal(episode.duration_s))
    return f"{outcome} ({by})"


def history_row(record: CallRecord) -> tuple[str, ...]:
    """One line of the list, in :func:`column_titles` order (single-line cells)."""
    count = len(record.interruptions)
    episodes = "; ".join(interruption_text(e) for e in record.interruptions)
    return (
        local_time(record.started_at).strftime("%Y-%m-%d %H:%M"),
        record.visitor_name or NONE,
        record.page or NONE,
        format_duration(record.duration_s),
        f"{count}: {episodes}" if count else NONE,
        end_reason_text(record.end_reason),
        record.transferred_by or NONE,
        " ".join(record.notes.split()) or NONE,
    )


class HistoryTableModel(QAbstractTableModel):
    """Read-only rows; a row is worded when first painted (1000 rows cost ~15 ms to word)."""

    def __init__(self) -> None:
        super().__init__()
        self._records: list[CallRecord] = []
        self._rows: dict[int, tuple[str, ...]] = {}
        self._titles = column_titles()

    def set_records(self, records: list[CallRecord]) -> None:
        self.beginResetModel()
        self._records = records
        self._rows = {}
        self.endResetModel()

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008, N802 (Qt API)
        return 0 if parent.isValid() else len(self._records)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008, N802 (Qt API)
        return 0 if parent.isValid() else len(self._titles)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> str | None:
        if role != Qt.ItemDataRole.DisplayRole or not index.isValid():
            return None
        row = self._rows.get(index.row())
        if row is None:
            row = self._rows[index.row()] = history_row(self._records[index.row()])
        return row[index.column()]

    def headerData(  # noqa: N802 (Qt API)
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> str | None:
        if orientation is Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self._titles[section]
        return None


class HistoryView(QWidget):
    def __init__(self, history: CallHistory, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.history = history
        self.model = HistoryTableModel()
        self.export_dialog: QFileDialog | None = None
        self._setup_ui()
        self.reload()
        self.table.resizeColumnsToContents()  # once: per reload it cost ~0.5 s for 1000 rows

    def _setup_ui(self) -> None:
        self.setWindowTitle(translate("HistoryView", "Call history — Softphone"))
        self.search = QLineEdit()
        search_help = translate("HistoryView", "Search visitor, page or notes")
        self.search.setPlaceholderText(search_help)
        self.search.setClearButtonEnabled(True)
        self.search.setToolTip(f"{search_help} ({shortcut_text(SEARCH_SHORTCUT)})")
        describe(
            self.search,
            translate("HistoryView", "Search calls"),
            translate("HistoryView", "Lists only the calls whose visitor, page or notes match"),
        )
        self._search_delay = QTimer(self)
        self._search_delay.setSingleShot(True)
        self._search_delay.setInterval(SEARCH_DELAY_MS)
        self._search_delay.timeout.connect(self.reload)
        self.search.textChanged.connect(lambda _text: self._search_delay.start())
        self.export_button = QPushButton(translate("HistoryView", "Export CSV…"))
        export_help = translate("HistoryView", "Save the calls listed below as a CSV file")
        self.export_button.setToolTip(f"{export_help} ({shortcut_text(EXPORT_SHORTCUT)})")
        describe(self.export_button, translate("HistoryView", "Export CSV"), export_help)
        self.export_button.clicked.connect(self.ask_export)
        top = QHBoxLayout()
        top.addWidget(self.search, 1)
        top.addWidget(self.export_button)

        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.verticalHeader().hide()
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setResizeContentsPrecision(SIZE_SAMPLE_ROWS)
        header.setStretchLastSection(True)
        describe(
            self.table,
            translate("HistoryView", "Recent calls"),
            translate("HistoryView", "Newest first, one line per call"),
        )

        self.notice = QLabel()
        self.notice.setTextFormat(Qt.TextFormat.PlainText)
        self.notice.setWordWrap(True)

        self.shortcuts: dict[str, QShortcut] = {}
        for keys, action in (
            (SEARCH_SHORTCUT, self.search.setFocus),
            (EXPORT_SHORTCUT, self.ask_export),
        ):
            shortcut = QShortcut(QKeySequence(keys), self)
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            shortcut.activated.connect(action)
            self.shortcuts[keys] = shortcut

        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.notice)

    @gui_thread_only
    def reload(self) -> None:
        """Show the store's newest calls matching the search (connect to ``history.changed``)."""
        self.model.set_records(self.history.recent(query=self.search.text()))
        if self.history.problem is not None:
            self.notice.setText(
                translate(
                    "HistoryView", "Call history is off ({problem}): see the log for details."
                ).format(problem=self.history.problem)
            )
            self.export_button.setEnabled(False)
            self.shortcuts[EXPORT_SHORTCUT].setEnabled(False)

    def ask_export(self) -> None:
        title = translate("HistoryView", "Export call history")
        dialog = QFileDialog(self, title, str(Path.home() / EXPORT_NAME))
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setNameFilter(translate("HistoryView", "CSV files (*.csv)"))
        dialog.setDefaultSuffix("csv")
        dialog.finished.connect(self._export_chosen)
        self.export_dialog = dialog
        dialog.open()  # never exec(): it would block the asyncio loop

    def _export_chosen(self, result: int) -> None:
        dialog, self.export_dialog = self.export_dialog, None
        if dialog is None:
            return
        dialog.deleteLater()
        if result == QDialog.DialogCode.Accepted and dialog.selectedFiles():
            self.export_to(Path(dialog.selectedFiles()[0]))

    def export_to(self, destination: Path) -> int | None:
        """Write the calls the list shows now (the search applies); None if it failed."""
        try:
            rows = export_csv(self.history.recent(query=self.search.text()), destination)
        except OSError as exc:
            self.notice.setText(
                translate("HistoryView", "Export failed: {error}").format(error=exc)
            )
            log.warning("ui.history_export_failed", extra={"reason": str(exc)})
            return None
        log.info("ui.history_exported", extra={"rows": rows})
        self.notice.setText(
            translate("HistoryView", "Calls saved to {file}: {rows}").format(
                file=destination.name, rows=rows
            )
        )
        return rows
