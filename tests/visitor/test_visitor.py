"""The headless visitor: its CLI, its duration and its summary, against the real server."""

from __future__ import annotations

import asyncio
import secrets

import pytest

from softphone.agent import AgentConfig, AgentSession
from softphone.rtc.ice import LOOPBACK
from softphone.signaling.config import ServerConfig
from softphone.signaling.server import SignalingServer
from softphone.visitor.cli import main, parse_args
from softphone.visitor.peer import VisitorConfig, VisitorPeer


def test_cli_arguments_build_an_explicit_config() -> None:
    config = parse_args(
        [
            "--server",
            "ws://127.0.0.1:1/ws",
            "--site-key",
            "k",
            "--duration",
            "2.5",
            "--host-candidate",
            "127.0.0.1",
        ]
    )
    assert (config.server_url, config.site_key, config.duration) == (
        "ws://127.0.0.1:1/ws",
        "k",
        2.5,
    )
    assert config.ice.host_allowlist == ("127.0.0.1",) and config.ice.ice_servers == ()
    assert parse_args([]).ice.host_allowlist is None


async def test_visitor_hangs_up_after_its_duration_and_reports_media() -> None:
    token = secrets.token_urlsafe(8)
    server = SignalingServer(ServerConfig(host="127.0.0.1", port=0, agent_tokens={"Bob": token}))
    await server.start()
    agent = AgentSession(AgentConfig(server.url, token, ice=LOOPBACK))
    accepted: list[asyncio.Task[None]] = []
    agent.incoming_call.connect(
        lambda info: accepted.append(asyncio.create_task(agent.accept(info.call_id)))
    )
    try:
        await agent.start()
        await agent.set_available(True)
        visitor = VisitorPeer(
            VisitorConfig(server.url, ice=LOOPBACK, duration=2.5, min_video_frames=30)
        )
        summary = await asyncio.wait_for(visitor.run(), 15)
        await asyncio.gather(*accepted)
        assert summary.ended_reason == "visitor-hangup"
        assert summary.passed, summary.format()
        assert summary.agent_name == "Bob" and summary.connected_after_s is not None
        assert summary.stamped_frames >= 30 and summary.audio_frames >= 50
        assert "OK" in summary.format()
    finally:
        await agent.stop()
        await server.close()


def test_cli_exits_1_when_no_agent_answers(capsys: pytest.CaptureFixture[str]) -> None:
    async def serve_then_call() -> int:
        server = SignalingServer(ServerConfig(host="127.0.0.1", port=0))
        await server.start()
        try:
            return await asyncio.to_thread(main, ["--server", server.url])
        finally:
            await server.close()

    assert asyncio.run(serve_then_call()) == 1
    assert "FAILED (no-agent-available)" in capsys.readouterr().out
