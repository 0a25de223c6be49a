"""The core never loads Qt (docs/architecture.md "Layers"): it stays testable without a GUI.

``lint-imports`` checks our own import statements; this test imports every core module in a
fresh interpreter and looks at what was really loaded, so Qt pulled in at import time by
a third-party package (which a static contract cannot follow) fails too.
"""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import softphone

CORE_PREFIXES = (
    "softphone.signaling",
    "softphone.rtc",
    "softphone.call",
    "softphone.media",
    "softphone.visitor",
    "softphone.agent",
    "softphone.events",
    "softphone.settings",
    "softphone.logging_setup",
    "softphone.selftest",
)


def core_modules() -> list[str]:
    names = [
        info.name
        for info in pkgutil.walk_packages(softphone.__path__, "softphone.")
        if info.name.startswith(CORE_PREFIXES)
    ]
    return sorted(names)


def test_core_modules_import_no_qt() -> None:
    modules = core_modules()
    assert {"softphone.rtc.aiortc_compat.check", "softphone.call.recovery"} <= set(modules)
    probe = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "qt = ('PySide6', 'shiboken6', 'qasync')\n"
        "print(sorted(m for m in sys.modules if m.startswith(qt)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "[]"
