"""``softphone --demo``: an embedded signaling server plus a simulated visitor that keeps
calling in, so the GUI rings and the agent can take real calls with no infrastructure."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from dataclasses import dataclass

from softphone.agent import AgentConfig
from softphone.media.local import MediaChoice
from softphone.rtc.ice import LOOPBACK
from softphone.signaling.config import ServerConfig
from softphone.signaling.server import SignalingServer
from softphone.visitor.peer import VisitorConfig, VisitorPeer

log = logging.getLogger(__name__)

DEMO_AGENT = "Demo agent"


@dataclass
class DemoHandles:
    server: SignalingServer
    agent_token: str
    visitor_task: asyncio.Task[None]
    stopping: asyncio.Event

    def agent_config(self, media: MediaChoice | None = None) -> AgentConfig:
        """Loopback-only ICE: the demo's visitor lives in this process and host."""
        return AgentConfig(
            self.server.url, self.agent_token, ice=LOOPBACK, media=media or MediaChoice()
        )

    async def stop(self) -> None:
        """Hang up the visitor's call (a clean hang-up, not a cancel), then the server."""
        self.stopping.set()
        await self.visitor_task
        await self.server.close()


async def start_demo(pause: float = 3.0, visitor_name: str = "Demo visitor") -> DemoHandles:
    """Start the server on 127.0.0.1 (free port) and a visitor that calls again
    ``pause`` seconds after each call ends or finds no available agent."""
    token, site_key = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
    server = SignalingServer(
        ServerConfig(
            host="127.0.0.1", port=0, agent_tokens={DEMO_AGENT: token}, site_keys=[site_key]
        )
    )
    await server.start()
    config = VisitorConfig(server.url, site_key, visitor_name, ice=LOOPBACK)
    stopping = asyncio.Event()
    task = asyncio.create_task(_call_repeatedly(config, pause, stopping), name="demo-visitor")
    log.info("demo.started", extra={"url": server.url})
    return DemoHandles(server, token, task, stopping)


async def _call_repeatedly(config: VisitorConfig, pause: float, stopping: asyncio.Event) -> None:
    while not stopping.is_set():
        visitor = VisitorPeer(config)
        run = asyncio.create_task(visitor.run())
        stop = asyncio.create_task(stopping.wait())
        await asyncio.wait({run, stop}, return_when=asyncio.FIRST_COMPLETED)
        visitor.hangup()  # harmless when the call is already over
        stop.cancel()
        try:
            summary = await run
            log.info("demo.call_over", extra={"reason": summary.ended_reason})
        except Exception:  # the demo outlives a failed call; the next one retries
            log.exception("demo.visitor_failed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stopping.wait(), pause)
