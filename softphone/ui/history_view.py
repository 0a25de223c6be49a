"""The call-history list: a table of recent calls, a search field and "Export CSV…".

A thin view over :class:`softphone.history.CallHistory`: the store searches, the history
module words every cell (``table_row``) and writes the CSV; this widget only shows rows and
asks for a file name without blocking the asyncio loop (``open()`` + ``finished``, never
``exec()``). Cells are plain text: visitor names and pages come from the visitor's browser.
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

from softphone.history import CallHistory, CallRecord, export_csv
from softphone.history.records import TABLE_COLUMNS, table_row
from softphone.ui.session_bridge import gui_thread_only

log = logging.getLogger(__name__)

EXPORT_NAME = "softphone-calls.csv"
SEARCH_SHORTCUT = "Ctrl+F"
EXPORT_SHORTCUT = "Ctrl+Shift+E"
SEARCH_DELAY_MS = 150  # one search when the agent pauses typing, not one per keystroke
SIZE_SAMPLE_ROWS = 50  # rows measured to size the columns

Index = QModelIndex | QPersistentModelIndex


class HistoryTableModel(QAbstractTableModel):
    """Read-only rows; a row is worded when first painted (1000 rows cost ~15 ms to word)."""

    def __init__(self) -> None:
        super().__init__()
        self._records: list[CallRecord] = []
        self._rows: dict[int, tuple[str, ...]] = {}

    def set_records(self, records: list[CallRecord]) -> None:
        self.beginResetModel()
        self._records = records
        self._rows = {}
        self.endResetModel()

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008, N802 (Qt API)
        return 0 if parent.isValid() else len(self._records)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008, N802 (Qt API)
        return 0 if parent.isValid() else len(TABLE_COLUMNS)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> str | None:
        if role != Qt.ItemDataRole.DisplayRole or not index.isValid():
            return None
        row = self._rows.get(index.row())
        if row is None:
            row = self._rows[index.row()] = table_row(self._records[index.row()])
        return row[index.column()]

    def headerData(  # noqa: N802 (Qt API)
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> str | None:
        if orientation is Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return TABLE_COLUMNS[section]
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
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search visitor, page or notes")
        self.search.setClearButtonEnabled(True)
        self.search.setToolTip(f"Search visitor, page or notes ({SEARCH_SHORTCUT})")
        self._search_delay = QTimer(self)
        self._search_delay.setSingleShot(True)
        self._search_delay.setInterval(SEARCH_DELAY_MS)
        self._search_delay.timeout.connect(self.reload)
        self.search.textChanged.connect(lambda _text: self._search_delay.start())
        self.export_button = QPushButton("Export CSV…")
        self.export_button.setToolTip(
            f"Save the calls listed below as a CSV file ({EXPORT_SHORTCUT})"
        )
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
                f"Call history is off ({self.history.problem}): see the log for details."
            )
            self.export_button.setEnabled(False)
            self.shortcuts[EXPORT_SHORTCUT].setEnabled(False)

    def ask_export(self) -> None:
        dialog = QFileDialog(self, "Export call history", str(Path.home() / EXPORT_NAME))
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setNameFilter("CSV files (*.csv)")
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
            self.notice.setText(f"Export failed: {exc}")
            log.warning("ui.history_export_failed", extra={"reason": str(exc)})
            return None
        log.info("ui.history_exported", extra={"rows": rows})
        self.notice.setText(f"Saved {rows} call{'' if rows == 1 else 's'} to {destination.name}")
        return rows
