"""The window's look in one style sheet per contrast level, selected by object names and
properties (no per-widget colours), so the high-contrast look replaces all of it at once.

Colour is never the only signal: every state also has a text, icon or symbol; the
high-contrast sheet only makes those stronger (black/white/yellow, visible focus).
"""

from __future__ import annotations

from PySide6.QtWidgets import QWidget

from softphone.ui.a11y import high_contrast

STYLE = """
QMainWindow { background: #f4f6fa; }
#header { background: #ffffff; border-bottom: 1px solid #dde2ea; }
#appName { font-size: 16px; font-weight: 700; color: #1d2330; }
#agentName { color: #5a6275; font-size: 14px; }
#availability { border-radius: 14px; padding: 5px 14px; font-weight: 600; border: none; }
#availability[available="true"] { background: #e3f4ea; color: #1f7a45; }
#availability[available="false"] { background: #fdf0dc; color: #9a5b00; }
#availability:disabled { background: #eceff4; color: #5f6779; }
#availability:focus { border: 2px solid #2f80ed; }
QToolButton { border: none; padding: 4px; border-radius: 6px; }
QToolButton:hover, QToolButton:focus { background: #eceff4; }
#idleTitle, #ringTitle { font-size: 22px; font-weight: 600; color: #1d2330; }
#idleHint, #ringPage { font-size: 14px; color: #5a6275; }
#ringCountdown { color: #5f6779; }
#ringTransfer { background: #e8f0fd; color: #1d2330; font-size: 14px; padding: 8px 12px;
  border-radius: 6px; }
#holdTime { color: #ebcb8b; font-weight: 600; }
#consultBar { background: #34405a; }
#consultLabel { color: #e5e9f0; font-size: 14px; font-weight: 600; }
QStatusBar { background: #ffffff; border-top: 1px solid #dde2ea; color: #3b4252; }
#callInfo, #callControls { background: #262d3b; }
#callInfo QLabel { color: #e5e9f0; }
#visitorName { font-size: 16px; font-weight: 600; }
#visitorPage { color: #aab3c5; }
#callTimer { font-size: 16px; font-family: monospace; }
#audioOnly { background: #1d2330; }
#audioOnlyLabel { color: #d8dee9; font-size: 16px; }
#reconnectBanner { background: rgba(208, 135, 0, 225); color: white; font-weight: 600;
  padding: 8px 16px; border-radius: 6px; }
QPushButton[tone] { color: white; border: none; border-radius: 20px; padding: 8px 22px;
  font-weight: 600; }
QPushButton[tone="accept"] { background: #2e7d4f; }
QPushButton[tone="danger"] { background: #c62828; }
QPushButton[tone="neutral"] { background: #4c566a; }
QPushButton[tone]:hover { background: #5a6275; }
QPushButton[tone]:checked { background: #5a6275; }
QPushButton[tone]:focus { outline: none; border: 2px solid #9cc4ff; }
#problems { color: #b3261e; }
#note, #qualityWarnings[level="none"] { color: #5a6275; }
#qualityWarnings[level="good"] { color: #2e7d4f; }
#qualityWarnings[level="warn"] { color: #b3261e; }
#reconnectError { background: #ffffff; border: 1px solid #c7ccd6; }
#reconnectError QLabel { color: #1d2330; }
"""

# Black, white and yellow only; thick borders mark every control and the focus.
HIGH_CONTRAST_STYLE = """
QMainWindow, QDialog, QMessageBox, #header, QStatusBar, #callInfo, #callControls,
#audioOnly { background: #000000; color: #ffffff; }
QLabel, QStatusBar QLabel { color: #ffffff; }
#availability, QToolButton, QPushButton, QPushButton[tone] { background: #000000;
  color: #ffffff; border: 2px solid #ffffff; border-radius: 4px; padding: 6px 14px;
  font-weight: 700; }
QToolButton { background: #ffffff; }  /* the icons are dark: keep them on white */
#availability:disabled, QPushButton:disabled { color: #c0c0c0; border-style: dashed; }
#availability:focus, QToolButton:focus, QPushButton:focus, QLineEdit:focus,
QComboBox:focus, QSpinBox:focus, QDoubleSpinBox:focus { border: 3px solid #ffff00; }
QPushButton[tone]:checked { color: #ffff00; border: 4px double #ffff00; }
QLineEdit, QComboBox, QSpinBox, QDoubleSpinBox, QPlainTextEdit { background: #000000;
  color: #ffffff; border: 2px solid #ffffff; }
#idleTitle, #ringTitle, #visitorName, #callTimer { font-size: 22px; font-weight: 700; }
#reconnectBanner { background: #ffff00; color: #000000; font-weight: 700;
  border: 3px solid #000000; padding: 8px 16px; }
#problems, #qualityWarnings { color: #ffff00; font-weight: 700; }
#reconnectError { border: 3px solid #ffffff; }
#ringTransfer { border: 2px solid #ffffff; padding: 8px 12px; }
#holdTime, #consultLabel { color: #ffff00; font-weight: 700; }
#consultBar { background: #000000; border-bottom: 2px solid #ffffff; }
"""


def style_sheet() -> str:
    return HIGH_CONTRAST_STYLE if high_contrast() else STYLE


def repolish(widget: QWidget) -> None:
    """Re-evaluate property selectors after a property change (e.g. ``available``)."""
    widget.style().unpolish(widget)
    widget.style().polish(widget)
