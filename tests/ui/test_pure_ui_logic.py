"""Wording, thresholds and validation: pure functions, tested without Qt widgets."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from softphone.rtc.stats import CallStats
from softphone.ui.log_export import export_logs, tail_text
from softphone.ui.preferences import SignIn, parse_reconnect, validate_sign_in
from softphone.ui.quality import InboundWatch, quality_warnings
from softphone.ui.status_text import (
    agent_state_text,
    format_duration,
    reconnect_failure_text,
)


def test_healthy_call_has_no_warnings() -> None:
    stats = CallStats(rtt_ms=400, jitter_ms=30, loss_percent=1.0)
    assert quality_warnings(stats, silent_for_s=2.9) == []


@pytest.mark.parametrize(
    ("stats", "silent", "needle"),
    [
        (CallStats(rtt_ms=401), 0.0, "round-trip"),
        (CallStats(jitter_ms=31), 0.0, "jitter"),
        (CallStats(loss_percent=1.5), 0.0, "Packet loss 1.5"),
        (CallStats(), 3.0, "Nothing received for 3 s"),
    ],
)
def test_each_threshold_warns(stats: CallStats, silent: float, needle: str) -> None:
    warnings = quality_warnings(stats, silent)
    assert len(warnings) == 1
    assert needle.lower() in warnings[0].lower()


def test_inbound_watch_counts_time_without_bytes() -> None:
    watch = InboundWatch()
    assert watch.observe(10.0, 0.0) == 0.0  # first sample: no history yet
    assert watch.observe(11.0, 120.0) == 0.0
    assert watch.observe(12.0, 0.0) == 1.0
    assert watch.observe(14.5, 0.0) == 3.5
    assert watch.observe(15.0, 50.0) == 0.0


def test_failure_text_names_attempts_time_and_what_to_check() -> None:
    text = reconnect_failure_text(3, 41.2, "ice-failed")
    assert "after 3 attempts" in text and "41 seconds" in text
    for check in ("network", "VPN", "firewall"):
        assert check in text
    assert "after 1 attempt " in reconnect_failure_text(1, 5, "timeout")


def test_agent_state_and_timer_wording() -> None:
    assert agent_state_text(False, True, False) == "Offline"
    assert agent_state_text(True, True, True) == "In a call"
    assert agent_state_text(True, False, False) == "Away"
    assert format_duration(65.9) == "1:05"
    assert format_duration(3725) == "1:02:05"


def test_sign_in_validation() -> None:
    assert validate_sign_in("wss://calls.example.com/ws", "Ada", "t0k") == []
    problems = validate_sign_in("http://calls.example.com", " ", "")
    assert len(problems) == 3
    assert "t0k" not in repr(SignIn("ws://h/ws", "Ada", "t0k")), "token must not leak into logs"


def test_reconnect_policy_bounds_come_from_settings() -> None:
    policy, error = parse_reconnect(5, 12.5, "1, 2.5")
    assert error == "" and policy is not None
    assert policy.backoff_s == [1.0, 2.5]
    for attempts, timeout, backoff in [(0, 10, "1"), (11, 10, "1"), (3, 0.5, "1"), (3, 10, "31")]:
        policy, error = parse_reconnect(attempts, timeout, backoff)
        assert policy is None and "out of range" in error
    assert parse_reconnect(3, 10, "one")[0] is None
    assert parse_reconnect(3, 10, " ")[0] is None


def test_log_tail_and_export(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "softphone.log").write_text("".join(f"line {i}\n" for i in range(10_000)))
    (logs / "softphone.log.1").write_text("older\n")
    tail = tail_text(logs / "softphone.log", max_bytes=100)
    assert tail.endswith("line 9999\n") and tail.startswith("line ")
    archive = export_logs(logs, tmp_path / "support")
    assert archive.suffix == ".zip"
    with zipfile.ZipFile(archive) as zipped:
        assert sorted(zipped.namelist()) == ["softphone.log", "softphone.log.1"]
    assert "cannot read" in tail_text(tmp_path / "missing.log")
