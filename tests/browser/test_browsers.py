"""The browser switch: without Firefox the Firefox half of every browser test is skipped,
unless SOFTPHONE_REQUIRE_BROWSER=1 (CI), where it fails instead."""

from __future__ import annotations

from pathlib import Path

import pytest

from labnet.browsers import firefox
from tests.browser.browsers import require


def test_a_missing_firefox_fails_when_browsers_are_required(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(firefox, "FIREFOX", Path("/nonexistent/firefox-esr"))
    monkeypatch.setenv("SOFTPHONE_REQUIRE_BROWSER", "1")
    with pytest.raises(pytest.fail.Exception, match="firefox-esr"):
        require("firefox")
    monkeypatch.delenv("SOFTPHONE_REQUIRE_BROWSER")
    with pytest.raises(pytest.skip.Exception):
        require("firefox")
