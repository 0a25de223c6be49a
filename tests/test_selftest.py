"""The self-test really runs a call: it passes here, and its report says what ran."""

from __future__ import annotations

import pytest

from softphone.rtc.aiortc_compat import check
from softphone.selftest import SelfTestReport, SelfTestStep, run_self_test


async def test_self_test_passes_on_loopback() -> None:
    report = await run_self_test(step_timeout=15)
    assert report.passed, report.format_report()
    names = [step.name for step in report.steps]
    assert names[:2] == ["aiortc internals (ICE restart)", "start signaling server"]
    assert names[-1] == "clean close"
    assert "ICE restart available" in report.steps[0].detail
    media = next(step for step in report.steps if "both ways" in step.name)
    assert "agent: " in media.detail and "visitor: " in media.detail
    assert "PASSED" in report.format_report()


def test_a_failed_step_fails_the_report() -> None:
    report = SelfTestReport([SelfTestStep("a", 0.1, True), SelfTestStep("b", 2.0, False, "x")])
    assert not report.passed
    text = report.format_report()
    assert "FAILED" in text and "[FAIL] b" in text and "2000 ms — x" in text
    assert not SelfTestReport().passed


async def test_a_step_that_times_out_fails_the_report_and_still_cleans_up() -> None:
    # 0.3 s is enough to sign in and ring, never to decode 60 frames each way.
    report = await run_self_test(step_timeout=0.3)
    assert not report.passed
    failed = [step for step in report.steps if not step.ok]
    assert len(failed) == 1 and "timed out" in failed[0].detail
    assert report.steps[-1] is failed[0]  # later steps did not run


async def test_missing_aiortc_internals_fail_the_self_test_and_say_why(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(check, "_versions", lambda: ("1.99.0", "0.13.0"))
    check.compatibility.cache_clear()
    try:
        report = await run_self_test(step_timeout=15)
    finally:
        monkeypatch.undo()
        check.compatibility.cache_clear()
    assert not report.passed
    assert "ICE restart disabled" in report.format_report()
    assert "aiortc 1.99.0 is not the tested 1.16.0" in report.steps[0].detail
