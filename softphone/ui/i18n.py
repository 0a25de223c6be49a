"""The agent's language: Qt translators for the app's own strings
(resources/i18n/softphone_<lang>.qm, built by scripts/translations) and for Qt's
(qtbase_<lang>.qm: key names in shortcuts, context menus, file dialogs).

The language follows the system (``QLocale.system().uiLanguages()``) unless the settings
name one. Every visible string goes through :func:`translate` with a literal context,
so ``pyside6-lupdate`` finds it and a class rename never orphans a translation.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from PySide6.QtCore import QCoreApplication, QLibraryInfo, QLocale, QTranslator

from softphone.resources import resource_path

log = logging.getLogger(__name__)

SOURCE_LANGUAGE = "en"
# Each language names itself in the selector, so an agent finds theirs in any UI language.
LANGUAGE_NAMES = {"en": "English", "de": "Deutsch"}

# Bare calls with a literal context: pyside6-lupdate extracts ``translate("Ctx", "text")``.
translate = QCoreApplication.translate


def catalog_path(language: str, prefix: str = "softphone") -> str:
    return str(resource_path("i18n", f"{prefix}_{language}.qm"))


def available_languages() -> list[str]:
    """The source language plus every language whose compiled catalog is bundled."""
    found = sorted(p.stem.removeprefix("softphone_") for p in resource_path("i18n").glob("*.qm"))
    return [SOURCE_LANGUAGE, *(code for code in found if code != SOURCE_LANGUAGE)]


def pick_language(override: str, ui_languages: Sequence[str]) -> str:
    """The override if we ship it, else the first system UI language we ship, else English."""
    available = available_languages()
    if override:
        if override in available:
            return override
        log.warning("i18n.unknown_language", extra={"language": override})
    for tag in ui_languages:
        code = tag.replace("_", "-").split("-")[0].lower()
        if code in available:
            return code
    return SOURCE_LANGUAGE


def system_language(override: str = "") -> str:
    return pick_language(override, QLocale.system().uiLanguages())


def install_translators(language: str) -> list[QTranslator]:
    """Load and install the catalogs of ``language`` on the running application; the
    caller keeps the returned translators alive (Qt does not own them)."""
    app = QCoreApplication.instance()
    if app is None:
        return []
    QLocale.setDefault(QLocale(language))  # numbers as the words around them: 2,3 s in German
    if language == SOURCE_LANGUAGE:
        return []
    qt_own = QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)
    installed = []
    for path, directory in ((catalog_path(language), ""), (f"qtbase_{language}", qt_own)):
        translator = QTranslator(app)
        if translator.load(path, directory) and app.installTranslator(translator):
            installed.append(translator)
        else:
            log.warning("i18n.catalog_missing", extra={"catalog": path, "dir": directory})
    log.info("i18n.language", extra={"language": language, "catalogs": len(installed)})
    return installed
