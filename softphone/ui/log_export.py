"""Support helpers without Qt: the tail of the log file and a zip of the log folder."""

from __future__ import annotations

import zipfile
from pathlib import Path

TAIL_BYTES = 64 * 1024


def tail_text(path: Path, max_bytes: int = TAIL_BYTES) -> str:
    """The last ``max_bytes`` of the log, starting at a whole line."""
    try:
        with path.open("rb") as file:
            size = file.seek(0, 2)
            file.seek(max(0, size - max_bytes))
            data = file.read()
    except OSError as exc:
        return f"(cannot read {path}: {exc})"
    if len(data) == max_bytes and b"\n" in data:
        data = data.split(b"\n", 1)[1]
    return data.decode("utf-8", "replace")


def export_logs(log_dir: Path, destination: Path) -> Path:
    """Zip every file of the log folder (rotated ones included) for a support ticket."""
    if destination.suffix != ".zip":
        destination = destination.with_suffix(".zip")
    with zipfile.ZipFile(destination, "w", zipfile.ZIP_DEFLATED) as archive:
        for file in sorted(log_dir.glob("*")):
            if file.is_file() and file != destination:
                archive.write(file, file.name)
    return destination
