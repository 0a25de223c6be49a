"""Translations: every visible string goes through Qt's translation system (a pseudo-locale
built from the .ts at test time must transform every text on every screen), the German
catalog is complete and compiled, and the .ts lists every string in the code."""

from __future__ import annotations

import asyncio
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QCoreApplication, QLocale, QTranslator
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from softphone.ui.i18n import LANGUAGE_NAMES, pick_language
from softphone.ui.main_window import MainWindow
from tests.ui.screens import PEER_TEXT, SCREENS, open_screen, pages, shown_texts

ROOT = Path(__file__).resolve().parents[2]
I18N = ROOT / "resources" / "i18n"
GERMAN = I18N / "softphone_de.ts"
TOOLS = Path(sys.executable).parent  # pyside6-lupdate/-lrelease come with PySide6-Essentials
OPEN, CLOSE = "⟦", "⟧"
PLACEHOLDER = re.compile(r"\{[a-z_]+\}")
SHORTCUT = re.compile(r"\b(?:(?:Ctrl|Shift|Alt|Meta)\+)+\S+")
URL = re.compile(r"\bwss?://\S+")
UNITS = re.compile(r"\b(?:ms|s|kbit/s|fps)\b")


def run_tool(name: str, *args: str) -> None:
    subprocess.run([str(TOOLS / name), *args], check=True, capture_output=True, timeout=60)


def pseudo_ts(source: Path, destination: Path) -> None:
    """Every entry of ``source`` translated to itself inside ⟦…⟧ (placeholders kept)."""
    tree = ET.parse(source)
    for message in tree.getroot().iter("message"):
        translation = message.find("translation")
        assert translation is not None
        translation.attrib.clear()
        translation.text = f"{OPEN}{message.findtext('source')}{CLOSE}"
    tree.write(destination, encoding="utf-8", xml_declaration=True)


@pytest.fixture(scope="module")
def pseudo_locale(qapp: QApplication, tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    folder = tmp_path_factory.mktemp("pseudo")
    pseudo_ts(GERMAN, folder / "pseudo.ts")
    run_tool("pyside6-lrelease", "-silent", str(folder / "pseudo.ts"))
    translator = QTranslator()
    assert translator.load(str(folder / "pseudo.qm"))
    assert qapp.installTranslator(translator)
    yield
    qapp.removeTranslator(translator)


def untranslated(text: str) -> str:
    """What is left of ``text`` once translated parts, peer text, shortcuts, URLs, units,
    numbers and the product's name are taken out: empty when nothing escaped translation."""
    rest, previous = text, None
    while rest != previous:  # innermost first: "⟦Availability: ⟦Away⟧⟧"
        previous, rest = rest, re.sub(f"{OPEN}[^{OPEN}{CLOSE}]*{CLOSE}", "", rest)
    for peer in (*PEER_TEXT, "Softphone", *LANGUAGE_NAMES.values()):
        rest = rest.replace(peer, "")
    for pattern in (SHORTCUT, URL, UNITS, re.compile(r"<[^>]+>")):
        rest = pattern.sub("", rest)
    return rest if re.search(r"[A-Za-z]{2,}", rest) else ""


@pytest.mark.parametrize("screen", SCREENS)
def test_every_visible_text_is_translated(
    screen: str, pseudo_locale: None, qtbot: QtBot, qloop: asyncio.AbstractEventLoop
) -> None:
    with open_screen(screen, qtbot, qloop) as (top, _window):
        found: list[tuple[str, str]] = []
        for _page in pages(top):
            found += shown_texts(top)
        assert len(found) > 5, "the walk saw nothing: it would pass whatever the UI shows"
        assert any(OPEN in text for _where, text in found)
        missed = sorted({(where, text) for where, text in found if untranslated(text)})
        assert not missed, f"not translatable on {screen}: {missed}"


def test_pseudo_check_catches_a_plain_string(pseudo_locale: None, qtbot: QtBot) -> None:
    """The walk fails on a string set without translate() (the check can fail)."""
    window = MainWindow()
    qtbot.addWidget(window)
    window.idle_hint.setText("Plain English, never translated")
    assert untranslated(window.idle_hint.text())
    assert not untranslated(window.idle_label.text())


def test_german_catalog_is_complete() -> None:
    tree = ET.parse(GERMAN)
    assert tree.getroot().get("language") == "de"
    messages = list(tree.getroot().iter("message"))
    assert len(messages) > 150
    problems = []
    for message in messages:
        source = message.findtext("source") or ""
        translation = message.find("translation")
        assert translation is not None
        text = translation.text or ""
        if translation.get("type") in ("unfinished", "vanished", "obsolete") or not text:
            problems.append(("unfinished", source))
        elif sorted(PLACEHOLDER.findall(text)) != sorted(PLACEHOLDER.findall(source)):
            problems.append(("placeholders differ", source))
        elif source.count("&") != text.count("&"):
            problems.append(("mnemonic lost", source))
    assert not problems


def test_catalog_lists_every_string_and_the_qm_is_built_from_it(tmp_path: Path) -> None:
    """scripts/translations was run after the last string change: lupdate finds nothing new
    and lrelease makes the committed .qm."""
    fresh = tmp_path / "softphone_de.ts"
    shutil.copy(GERMAN, fresh)
    sources = [
        "softphone/app.py",
        *sorted(str(p.relative_to(ROOT)) for p in (ROOT / "softphone" / "ui").rglob("*.py")),
    ]
    subprocess.run(
        [
            str(TOOLS / "pyside6-lupdate"),
            "-no-obsolete",
            "-locations",
            "none",
            *sources,
            "-ts",
            str(fresh),
        ],
        check=True,
        capture_output=True,
        cwd=ROOT,
        timeout=60,
    )
    entries = lambda path: {  # noqa: E731
        (m.findtext("source"), (m.find("translation").get("type") or ""))
        for m in ET.parse(path).getroot().iter("message")  # type: ignore[union-attr]
    }
    assert entries(fresh) == entries(GERMAN), "run scripts/translations and translate"
    run_tool("pyside6-lrelease", "-silent", str(GERMAN), "-qm", str(tmp_path / "de.qm"))
    assert (tmp_path / "de.qm").read_bytes() == (I18N / "softphone_de.qm").read_bytes()


def test_german_catalog_loads_and_translates(qapp: QApplication) -> None:
    translator = QTranslator()
    assert translator.load(str(I18N / "softphone_de.qm"))
    qapp.installTranslator(translator)
    try:
        assert QCoreApplication.translate("StatusText", "Call lost") == "Gespräch verloren"
    finally:
        qapp.removeTranslator(translator)


@pytest.mark.parametrize(
    ("override", "system", "expected"),
    [
        ("", ["de-AT", "en-US"], "de"),
        ("", ["fr-FR", "de-DE"], "de"),
        ("", ["fr-FR"], "en"),
        ("en", ["de-DE"], "en"),
        ("de", ["en-US"], "de"),
        ("xx", ["de_CH"], "de"),
    ],
)
def test_language_follows_the_system_unless_overridden(
    override: str, system: list[str], expected: str
) -> None:
    assert pick_language(override, system) == expected


def test_decimal_follows_the_language() -> None:
    from softphone.ui.status_text import decimal

    previous = QLocale()
    try:
        QLocale.setDefault(QLocale("de"))
        assert decimal(2.34) == "2,3"
        QLocale.setDefault(QLocale("en"))
        assert decimal(2.34) == "2.3"
    finally:
        QLocale.setDefault(previous)


def test_settings_dialog_offers_the_languages_and_remembers_the_choice(
    qtbot: QtBot, tmp_path: Path
) -> None:
    from PySide6.QtCore import QSettings

    from softphone.settings import MediaSettings, ReconnectSettings
    from softphone.ui.dialogs.settings_dialog import SettingsDialog
    from softphone.ui.preferences import Preferences

    dialog = SettingsDialog(MediaSettings(), ReconnectSettings(), None, [], language="de")
    qtbot.addWidget(dialog)
    choice = dialog.language_choice
    items = [(choice.itemText(i), choice.itemData(i)) for i in range(choice.count())]
    assert [data for _text, data in items] == ["", "en", "de"]
    assert ("Deutsch", "de") in items and ("English", "en") in items
    assert dialog.language() == "de"
    choice.setCurrentIndex(0)
    assert dialog.language() == ""

    prefs = Preferences(QSettings(str(tmp_path / "p.ini"), QSettings.Format.IniFormat))
    assert prefs.language("de") == "de"  # nothing chosen yet: the settings file's value
    prefs.save_language("en")
    assert prefs.language("de") == "en"
    prefs.store.setValue("ui/language", "../../x")  # a hand-edited store never loads junk
    assert prefs.language("de") == ""
