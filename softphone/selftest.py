"""``softphone --self-test``: a whole call on this machine, checked end to end.

An embedded signaling server on 127.0.0.1, this app's AgentSession and the headless
visitor in one process; both sides must decode the test pattern and hear the tone.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

from softphone.agent import AgentConfig, AgentSession, CallInfo
from softphone.call.state import CallState
from softphone.media.local import MediaChoice
from softphone.rtc.aiortc_compat.check import compatibility
from softphone.rtc.ice import LOOPBACK
from softphone.rtc.peer import CallPeer
from softphone.signaling.config import ServerConfig
from softphone.signaling.server import SignalingServer
from softphone.visitor.peer import VisitorConfig, VisitorPeer

log = logging.getLogger(__name__)

MIN_VIDEO_FRAMES = 60
MAX_FRAME_GAP = 10


@dataclass
class SelfTestStep:
    name: str
    seconds: float
    ok: bool
    detail: str = ""


@dataclass
class SelfTestReport:
    steps: list[SelfTestStep] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return bool(self.steps) and all(step.ok for step in self.steps)

    def format_report(self) -> str:
        lines = [f"Softphone self-test: {'PASSED' if self.passed else 'FAILED'}"]
        for step in self.steps:
            mark = "ok  " if step.ok else "FAIL"
            detail = f" — {step.detail}" if step.detail else ""
            lines.append(f"  [{mark}] {step.name:<28} {step.seconds * 1000:7.0f} ms{detail}")
        return "\n".join(lines)


class _StepError(Exception):
    pass


class _Recorder:
    def __init__(self, report: SelfTestReport) -> None:
        self.report = report

    @contextlib.asynccontextmanager
    async def step(self, name: str, timeout: float) -> AsyncIterator[list[str]]:  # noqa: ASYNC109
        """Times one step; the yielded list collects its detail text."""
        detail: list[str] = []
        started = time.monotonic()
        try:
            async with asyncio.timeout(timeout):
                yield detail
        except Exception as exc:
            text = f"timed out after {timeout:.0f} s" if isinstance(exc, TimeoutError) else str(exc)
            self.report.steps.append(
                SelfTestStep(name, time.monotonic() - started, False, "; ".join([*detail, text]))
            )
            raise _StepError(name) from exc
        self.report.steps.append(
            SelfTestStep(name, time.monotonic() - started, True, "; ".join(detail))
        )


async def _until(condition: Callable[[], bool]) -> None:
    # Frame counters are plain integers updated per frame; polling them is cheapest.
    while not condition():  # noqa: ASYNC110
        await asyncio.sleep(0.05)


def _media_ok(peer: CallPeer) -> bool:
    video, audio = peer.received("video"), peer.received("audio")
    return video.stamped_frames >= MIN_VIDEO_FRAMES and audio.frames > 0


def _describe(side: str, peer: CallPeer) -> str:
    video, audio = peer.received("video"), peer.received("audio")
    return (
        f"{side}: {video.stamped_frames} frames, gap {video.max_gap}, {audio.frames} audio frames"
    )


async def run_self_test(step_timeout: float = 15.0) -> SelfTestReport:
    report = SelfTestReport()
    steps = _Recorder(report)
    token, site_key = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
    server = SignalingServer(
        ServerConfig(
            host="127.0.0.1", port=0, agent_tokens={"Self-test agent": token}, site_keys=[site_key]
        )
    )
    agent: AgentSession | None = None
    visitor_task: asyncio.Task[object] | None = None
    rings: asyncio.Queue[CallInfo] = asyncio.Queue()
    tasks_before = asyncio.all_tasks()
    try:
        async with steps.step("aiortc internals (ICE restart)", step_timeout) as detail:
            compat = compatibility()
            detail.append(compat.describe())
            if not compat.ok:
                raise RuntimeError("calls would not recover from network drops")
        async with steps.step("start signaling server", step_timeout) as detail:
            await server.start()
            detail.append(server.url)
        async with steps.step("agent signs in", step_timeout):
            agent = AgentSession(AgentConfig(server.url, token, ice=LOOPBACK, media=MediaChoice()))
            agent.incoming_call.connect(rings.put_nowait)
            await agent.start()
            await agent.set_available(True)
        visitor = VisitorPeer(
            VisitorConfig(
                server.url,
                site_key,
                "Self-test visitor",
                ice=LOOPBACK,
                min_video_frames=MIN_VIDEO_FRAMES,
                max_gap=MAX_FRAME_GAP,
            )
        )
        async with steps.step("visitor calls, agent rings", step_timeout):
            visitor_task = asyncio.create_task(visitor.run())
            ring = await rings.get()
        async with steps.step("agent accepts, ICE/DTLS up", step_timeout):
            connected = asyncio.Event()
            agent.call_status.connect(
                lambda status: connected.set() if status.state is CallState.CONNECTED else None
            )
            await agent.accept(ring.call_id)
            await connected.wait()
            await visitor.connected.wait()
        assert agent.call is not None and visitor.call is not None
        agent_peer, visitor_peer = agent.call.peer, visitor.call.peer
        async with steps.step("video and audio both ways", step_timeout) as detail:
            try:
                await _until(lambda: _media_ok(agent_peer) and _media_ok(visitor_peer))
            finally:
                detail += [_describe("agent", agent_peer), _describe("visitor", visitor_peer)]
            gaps = max(p.received("video").max_gap for p in (agent_peer, visitor_peer))
            if gaps > MAX_FRAME_GAP:
                raise RuntimeError(f"{gaps} consecutive frames lost")
        async with steps.step("agent hangs up", step_timeout) as detail:
            await agent.hangup()
            summary = await visitor_task
            detail.append(str(getattr(summary, "ended_reason", "")))
        async with steps.step("clean close", step_timeout):
            await agent.stop()
            await server.close()
            await _until(lambda: not _leftover_tasks(tasks_before))
    except _StepError as exc:
        log.error("selftest.failed", extra={"step": str(exc)})
    finally:
        async with contextlib.AsyncExitStack() as cleanup:
            cleanup.push_async_callback(server.close)
            if agent is not None:
                cleanup.push_async_callback(agent.stop)
            if visitor_task is not None and not visitor_task.done():
                visitor.hangup()
                cleanup.push_async_callback(asyncio.wait_for, visitor_task, step_timeout)
    return report


def _leftover_tasks(before: set[asyncio.Task[object]]) -> list[asyncio.Task[object]]:
    current = asyncio.current_task()
    return [t for t in asyncio.all_tasks() if t not in before and t is not current]


def main_self_test() -> int:
    """Entry point for ``softphone --self-test``: prints the report, exit code 0 on success."""
    logging.basicConfig(level=logging.WARNING)
    report = asyncio.run(run_self_test())
    print(report.format_report())
    return 0 if report.passed else 1
