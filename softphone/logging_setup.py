"""One place that configures logging for the app, the server and the visitor.

Core modules log event names with structured fields via ``extra=`` (call_id, attempt,
reason, elapsed_ms …); the formatters here render those fields so support can grep them.
"""

from __future__ import annotations

import json
import logging
import logging.handlers
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

LOG_FILE_NAME = "softphone.log"
_MAX_BYTES = 2 * 1024 * 1024
_BACKUPS = 5

# Attributes every LogRecord has; anything else on a record came from ``extra=``.
_STANDARD_ATTRS = frozenset(
    vars(logging.LogRecord("", 0, "", 0, "", None, None)).keys() | {"message", "asctime"}
)


def structured_fields(record: logging.LogRecord) -> dict[str, object]:
    return {k: v for k, v in vars(record).items() if k not in _STANDARD_ATTRS}


class TextFormatter(logging.Formatter):
    """Human-readable line with ``key=value`` fields appended."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        fields = structured_fields(record)
        if fields:
            line += " " + " ".join(f"{k}={v!r}" for k, v in sorted(fields.items()))
        return line


class JsonLinesFormatter(logging.Formatter):
    """One JSON object per line: machine-readable logs for support and tests."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "event": record.getMessage(),
        }
        entry.update(structured_fields(record))
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def setup_logging(
    level: str = "INFO",
    fmt: Literal["text", "json"] = "text",
    log_dir: Path | None = None,
) -> Path | None:
    """Console + rotating file (in ``log_dir``); returns the log file path, if any.

    Safe to call again (e.g. after settings are loaded): it replaces its own handlers.
    """
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_softphone", False):
            root.removeHandler(handler)
            handler.close()
    formatter: logging.Formatter = JsonLinesFormatter() if fmt == "json" else TextFormatter()
    console = logging.StreamHandler(sys.stderr)
    console.setFormatter(formatter)
    handlers: list[logging.Handler] = [console]
    log_file: Path | None = None
    if log_dir is not None:
        try:
            log_dir.mkdir(parents=True, exist_ok=True)
            log_file = log_dir / LOG_FILE_NAME
            rotating = logging.handlers.RotatingFileHandler(
                log_file, maxBytes=_MAX_BYTES, backupCount=_BACKUPS, encoding="utf-8"
            )
            rotating.setFormatter(formatter)
            handlers.append(rotating)
        except OSError as exc:
            log_file = None
            print(f"softphone: cannot write logs to {log_dir}: {exc}", file=sys.stderr)
    for handler in handlers:
        handler._softphone = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    root.setLevel(level)
    # aioice/aiortc are chatty at DEBUG; keep them at INFO unless asked for DEBUG.
    for noisy in ("aioice", "aiortc", "websockets"):
        logging.getLogger(noisy).setLevel(level if level == "DEBUG" else "WARNING")
    return log_file
