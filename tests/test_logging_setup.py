from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from softphone.logging_setup import LOG_FILE_NAME, setup_logging


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
            handler.close()
    root.setLevel(level)


@pytest.mark.usefixtures("restore_logging")
def test_json_lines_carry_structured_fields(tmp_path: Path) -> None:
    log_file = setup_logging("INFO", "json", tmp_path)
    assert log_file == tmp_path / LOG_FILE_NAME
    log = logging.getLogger("softphone.test")
    log.info("reconnect.start", extra={"call_id": "c1", "attempt": "1/3", "reason": "link"})
    log.debug("hidden at INFO")
    for handler in logging.getLogger().handlers:
        handler.flush()
    lines = [json.loads(line) for line in log_file.read_text().splitlines()]
    assert len(lines) == 1
    entry = lines[0]
    assert entry["event"] == "reconnect.start"
    assert entry["call_id"] == "c1"
    assert entry["attempt"] == "1/3"
    assert entry["reason"] == "link"
    assert entry["level"] == "INFO"


@pytest.mark.usefixtures("restore_logging")
def test_text_format_appends_fields_and_setup_is_idempotent(tmp_path: Path) -> None:
    setup_logging("INFO", "text", tmp_path)
    log_file = setup_logging("INFO", "text", tmp_path)
    assert log_file is not None
    logging.getLogger("softphone.test").warning("call.ended", extra={"call_id": "c9"})
    for handler in logging.getLogger().handlers:
        handler.flush()
    lines = log_file.read_text().splitlines()
    assert len(lines) == 1  # one file handler despite two setups
    assert "call.ended" in lines[0]
    assert "call_id='c9'" in lines[0]


@pytest.mark.usefixtures("restore_logging")
def test_unwritable_log_dir_does_not_crash(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert setup_logging("INFO", "text", blocker / "logs") is None
