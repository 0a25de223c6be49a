"""Diagnostics for support: live call quality with warnings, "Restart ICE now", the log
tail and "Export logs…". The controller feeds it stats; it does no I/O of its own
except reading and zipping the log folder the agent asked for."""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QDialog,
    QFileDialog,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from softphone.rtc.stats import CallStats
from softphone.ui.a11y import describe, mnemonic_text
from softphone.ui.i18n import translate
from softphone.ui.log_export import export_logs, tail_text
from softphone.ui.quality import quality_warnings, stats_rows
from softphone.ui.theme import repolish

log = logging.getLogger(__name__)


class DiagnosticsDialog(QDialog):
    restart_ice_requested = Signal()

    def __init__(self, log_dir: Path | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(translate("Diagnostics", "Softphone diagnostics"))
        self.resize(620, 460)
        self.log_dir = log_dir
        self._export_dialog: QFileDialog | None = None
        layout = QVBoxLayout(self)
        tabs = QTabWidget()
        tabs.addTab(self._quality_tab(), translate("Diagnostics", "Call quality"))
        tabs.addTab(self._logs_tab(), translate("Diagnostics", "Logs"))
        describe(
            tabs,
            translate("Diagnostics", "Diagnostics pages"),
            translate("Diagnostics", "Call quality and the log"),
        )
        layout.addWidget(tabs)
        self.show_stats(None, 0.0)

    def _quality_tab(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        grid = QGridLayout()
        self._values: dict[str, QLabel] = {}
        for row, (label, _value) in enumerate(stats_rows(CallStats())):
            name = QLabel(translate("Diagnostics", "{label}:").format(label=label))
            grid.addWidget(name, row, 0)
            value = QLabel("—")
            value.setAccessibleName(label)
            value.setTextFormat(Qt.TextFormat.PlainText)  # e.g. the peer's candidate address
            value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            grid.addWidget(value, row, 1)
            self._values[label] = value
        grid.setColumnStretch(2, 1)
        layout.addLayout(grid)
        self.warnings = QLabel()
        self.warnings.setWordWrap(True)
        self.warnings.setObjectName("qualityWarnings")
        self.warnings.setAccessibleName(translate("Diagnostics", "Call quality warnings"))
        layout.addWidget(self.warnings)
        layout.addStretch()
        self.restart_button = QPushButton(translate("Diagnostics", "&Restart ICE now"))
        restart_help = translate(
            "Diagnostics",
            "Re-establish the media path without ending the call (try this if audio froze)",
        )
        self.restart_button.setToolTip(
            f"{restart_help} ({mnemonic_text(self.restart_button.text())})"
        )
        describe(self.restart_button, translate("Diagnostics", "Restart ICE now"), restart_help)
        self.restart_button.clicked.connect(self.restart_ice_requested)
        restart_row = QHBoxLayout()
        restart_row.addStretch()
        restart_row.addWidget(self.restart_button)
        layout.addLayout(restart_row)
        return page

    def _logs_tab(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        self.log_view = QPlainTextEdit()
        self.log_view.setReadOnly(True)
        describe(
            self.log_view,
            translate("Diagnostics", "Log"),
            translate("Diagnostics", "The newest lines of the application log"),
        )
        self.log_view.setFont(QFont("monospace", 9))
        self.log_view.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        layout.addWidget(self.log_view)
        row = QHBoxLayout()
        refresh = QPushButton(translate("Diagnostics", "Re&fresh"))
        describe(
            refresh,
            translate("Diagnostics", "Refresh"),
            translate("Diagnostics", "Read the newest log lines again"),
        )
        refresh.setToolTip(f"{refresh.accessibleDescription()} ({mnemonic_text(refresh.text())})")
        refresh.clicked.connect(self.refresh_log)
        self.export_button = QPushButton(translate("Diagnostics", "&Export logs…"))
        describe(
            self.export_button,
            translate("Diagnostics", "Export logs…"),
            translate("Diagnostics", "Save all log files in one zip archive for support"),
        )
        self.export_button.setToolTip(
            f"{self.export_button.accessibleDescription()} "
            f"({mnemonic_text(self.export_button.text())})"
        )
        self.export_button.clicked.connect(self.ask_export)
        self.export_status = QLabel()
        row.addWidget(self.export_status, 1)
        row.addWidget(refresh)
        row.addWidget(self.export_button)
        layout.addLayout(row)
        return page

    def set_restart_available(self, available: bool) -> None:
        self.restart_button.setEnabled(available)

    def show_stats(self, stats: CallStats | None, silent_for_s: float) -> None:
        if stats is None:
            for value in self._values.values():
                value.setText("—")
            self._show_warnings(translate("Diagnostics", "No call in progress."), "none")
            return
        for label, text in stats_rows(stats):
            self._values[label].setText(text)
        warnings = quality_warnings(stats, silent_for_s)
        if warnings:  # the symbol and the words carry it; the colour only repeats it
            self._show_warnings("⚠ " + "\n⚠ ".join(warnings), "warn")
        else:
            self._show_warnings("✓ " + translate("Diagnostics", "Call quality is good."), "good")

    def _show_warnings(self, text: str, level: str) -> None:
        self.warnings.setText(text)
        self.warnings.setAccessibleDescription(text)
        self.warnings.setProperty("level", level)
        repolish(self.warnings)

    def refresh_log(self) -> None:
        if self.log_dir is None:
            self.log_view.setPlainText(translate("Diagnostics", "(logging to the console only)"))
            return
        self.log_view.setPlainText(tail_text(self.log_dir / "softphone.log"))
        bar = self.log_view.verticalScrollBar()
        bar.setValue(bar.maximum())

    def ask_export(self) -> None:
        dialog = QFileDialog(
            self,
            translate("Diagnostics", "Export logs"),
            str(Path.home() / "softphone-logs.zip"),
        )
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setNameFilter(translate("Diagnostics", "Zip archives (*.zip)"))
        dialog.fileSelected.connect(lambda path: self.export_to(Path(path)))
        self._export_dialog = dialog
        dialog.open()

    def export_to(self, destination: Path) -> Path | None:
        if self.log_dir is None:
            return None
        try:
            written = export_logs(self.log_dir, destination)
        except OSError as exc:
            self.export_status.setText(
                translate("Diagnostics", "Export failed: {error}").format(error=exc)
            )
            return None
        log.info("ui.logs_exported", extra={"path": str(written)})
        self.export_status.setText(
            translate("Diagnostics", "Saved {file}").format(file=written.name)
        )
        return written

    def showEvent(self, event: object) -> None:  # noqa: N802 (Qt override)
        self.refresh_log()
        super().showEvent(event)  # type: ignore[arg-type]
