"""Start with the session: an XDG autostart entry, written while the setting is on.

Desktop environments that follow the XDG Autostart spec (GNOME, KDE, Xfce, Cinnamon, …)
start every ``$XDG_CONFIG_HOME/autostart/*.desktop`` at login. The entry carries a marker
line, so switching the setting off removes only an entry this app wrote, never one the
agent or their IT department put there. A failure to write is logged, never fatal: the
app must still start and take calls.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

log = logging.getLogger(__name__)

ENTRY_NAME = "softphone.desktop"
MARKER = "X-Softphone-Autostart=true"
_NEEDS_QUOTES = set(" \t\"'\\><~|&;$*?#()`")


def autostart_path(env: Mapping[str, str] = os.environ) -> Path:
    """The per-user autostart entry (a relative XDG_CONFIG_HOME is ignored, per the spec)."""
    base = env.get("XDG_CONFIG_HOME", "")
    folder = Path(base) if os.path.isabs(base) else Path.home() / ".config"
    return folder / "autostart" / ENTRY_NAME


def launch_command(env: Mapping[str, str] = os.environ) -> list[str]:
    """How this installation starts: the AppImage file (its mount point changes every run),
    the frozen binary, or the installed console script."""
    if env.get("APPIMAGE"):
        return [env["APPIMAGE"]]
    if getattr(sys, "frozen", False):
        return [sys.executable]
    script = shutil.which("softphone")
    return [script] if script else [sys.executable, "-m", "softphone"]


def exec_value(command: Sequence[str]) -> str:
    """``Exec=`` value per the Desktop Entry spec: quote where needed, escape ``%``."""
    parts = []
    for arg in command:
        if "\n" in arg or "\r" in arg:
            raise ValueError(f"autostart.bad_command: line break in {arg!r}")
        if arg and not _NEEDS_QUOTES & set(arg):
            parts.append(arg.replace("%", "%%"))
            continue
        quoted = "".join("\\" + c if c in '"`$\\' else c for c in arg).replace("%", "%%")
        parts.append(f'"{quoted}"')
    # The string-value escape rule applies on top of the quoting rule: every backslash doubles.
    return " ".join(parts).replace("\\", "\\\\")


def desktop_entry(command: Sequence[str]) -> str:
    return (
        "[Desktop Entry]\n"
        "Type=Application\n"
        "Name=Softphone\n"
        "Comment=Answer website visitors' audio and video calls\n"
        f"Exec={exec_value(command)}\n"
        "Icon=softphone\n"
        "Terminal=false\n"
        "X-GNOME-Autostart-enabled=true\n"
        f"{MARKER}\n"
    )


def apply_autostart(
    enabled: bool, command: Sequence[str] | None = None, path: Path | None = None
) -> bool:
    """Make the entry match the setting; True when it now does (also when nothing changed)."""
    path = path or autostart_path()
    try:
        current = path.read_text(encoding="utf-8") if path.is_file() else None
        if not enabled:
            if current is not None and MARKER in current.splitlines():
                path.unlink()
                log.info("autostart.removed", extra={"path": str(path)})
            return True
        wanted = desktop_entry(command or launch_command())
        if current != wanted:
            path.parent.mkdir(parents=True, exist_ok=True)
            partial = path.with_name(f".{path.name}.partial")
            partial.write_text(wanted, encoding="utf-8")
            partial.replace(path)
            log.info("autostart.written", extra={"path": str(path)})
        return True
    except (OSError, ValueError) as exc:
        log.warning("autostart.failed", extra={"path": str(path), "reason": str(exc)})
        return False
