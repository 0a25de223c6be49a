"""Accessibility in one place: names and descriptions for assistive technology,
announcements of changes a screen-reader user must not miss, shortcuts shown the way
the platform (and the agent's language) writes them, and the system's contrast wish."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAccessible, QAccessibleAnnouncementEvent, QGuiApplication, QKeySequence
from PySide6.QtWidgets import QDialogButtonBox, QWidget


def describe(widget: QWidget, name: str, description: str) -> None:
    """What a screen reader says for a control: its name, then what it does."""
    widget.setAccessibleName(name)
    widget.setAccessibleDescription(description)


def dialog_buttons(
    *buttons: tuple[QDialogButtonBox.StandardButton, str, str],
) -> QDialogButtonBox:
    """A dialog's buttons, each with its (translated) text, which is also its accessible
    name, and a description of what it does."""
    box = QDialogButtonBox()
    for which, text, description in buttons:
        button = box.addButton(which)
        button.setText(text)
        describe(button, text, description)
    return box


def announce(widget: QWidget, text: str, *, assertive: bool = False) -> None:
    """Read ``text`` out now (assertive: interrupting), e.g. "Reconnecting…"."""
    if not text:
        return
    event = QAccessibleAnnouncementEvent(widget, text)
    if assertive:
        event.setPoliteness(QAccessible.AnnouncementPoliteness.Assertive)
    QAccessible.updateAccessibility(event)


def shortcut_text(keys: str) -> str:
    """A shortcut as the platform writes it (translated key names with qtbase_<lang>.qm)."""
    return QKeySequence(keys).toString(QKeySequence.SequenceFormat.NativeText)


def mnemonic_text(label: str) -> str:
    """The Alt+letter of a label's ``&`` mnemonic, which moves with the translation."""
    return QKeySequence.mnemonic(label).toString(QKeySequence.SequenceFormat.NativeText)


def high_contrast() -> bool:
    """The system asks for high contrast (Qt 6.10+: QStyleHints.accessibility())."""
    style_hints = QGuiApplication.styleHints()  # held: its child's wrapper dies with it
    contrast = style_hints.accessibility().contrastPreference()
    return contrast == Qt.ContrastPreference.HighContrast
