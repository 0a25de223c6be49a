"""A real ``softphone-server`` process on loopback with small, fast limits; attackers that
come from other loopback addresses (127.0.0.2 and up, all on Linux's ``lo``); and the proof
that service goes on: a real agent and a real visitor (``SignalingClient``, from 127.0.0.1)
sign in and complete a call (call request, ring, accept, offer and answer relayed)."""

from __future__ import annotations

import asyncio
import http.client
import json
import os
import re
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import pytest
import websockets
from websockets.asyncio.client import ClientConnection

from softphone.signaling.client import SignalingClient
from softphone.signaling.protocol import (
    PROTOCOL_VERSION,
    Accept,
    Accepted,
    Answer,
    CallRequest,
    Hangup,
    Hello,
    Message,
    Offer,
    Ring,
    Welcome,
    decode,
    encode,
)

AGENTS = {"alice": "alice-secret-0123456789", "bob": "bob-secret-0123456789"}
SITE, SITE_SECRET, SHOP = "site-1", "site-secret-1-" + "s" * 32, "https://shop.test"
TURN_SECRET, METRICS_TOKEN = "turn-secret-" + "t" * 32, "metrics-token"
CONFIG = f"""
origins = ["{SHOP}"]
frame_ancestors = ["{SHOP}"]
metrics_token = "{METRICS_TOKEN}"
[sites.{SITE}]
secret = "{SITE_SECRET}"
origins = ["{SHOP}"]
self_mint = true
[turn]
secret = "{TURN_SECRET}"
urls = ["turn:127.0.0.1:3478"]
ttl_s = 600
[limits]
hello_timeout = 2.0
ring_timeout = 5.0
resume_grace = 5.0
visitor_idle_timeout = 2.0
max_connections = 60
max_connections_per_ip = 10
calls_per_minute_per_ip = 5
waiting_per_ip = 2
signin_free_failures = 3
tokens_per_minute_per_ip = 20
"""
M = TypeVar("M", bound=Message)


@dataclass
class LiveServer:
    proc: subprocess.Popen[str]
    url: str
    log: Path

    @property
    def base(self) -> str:
        return self.url.replace("ws://", "http://").removesuffix("/ws")

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1].split("/")[0])

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")

    def rss_mib(self) -> float:
        with open(f"/proc/{self.proc.pid}/status") as fh:
            match = re.search(r"VmRSS:\s+(\d+) kB", fh.read())
        assert match
        return int(match.group(1)) / 1024

    def request(
        self,
        method: str,
        path: str,
        headers: dict[str, str] | None = None,
        source: str = "127.0.0.1",
    ) -> tuple[int, dict[str, str], bytes]:
        """One HTTP request from ``source`` (a loopback address)."""
        conn = http.client.HTTPConnection(
            "127.0.0.1", self.port, timeout=5, source_address=(source, 0)
        )
        try:
            conn.request(method, path, headers=headers or {})
            response = conn.getresponse()
            return response.status, dict(response.getheaders()), response.read()
        finally:
            conn.close()

    def metrics(self) -> dict[str, float]:
        status, _, body = self.request(
            "GET", "/metrics", {"Authorization": f"Bearer {METRICS_TOKEN}"}
        )
        assert status == 200
        samples = (line.split() for line in body.decode().splitlines() if line[:1] != "#")
        return {name.partition("{")[0]: float(value) for name, value in samples}

    def mint(self, source: str = "127.0.0.1", origin: str | None = SHOP) -> str:
        """A visitor token as the widget gets one (POST /visitor-token from a page)."""
        status, _, body = self.request(
            "POST", f"/visitor-token?site_key={SITE}", {"Origin": origin} if origin else {}, source
        )
        assert status == 200, body
        return str(json.loads(body)["token"])


@pytest.fixture
def live_server(tmp_path: Path) -> Iterator[LiveServer]:
    config = tmp_path / "server.toml"
    config.write_text(CONFIG)
    log = tmp_path / "server.log"
    env = {**os.environ, "SOFTPHONE_AGENT_TOKENS": ",".join(f"{k}:{v}" for k, v in AGENTS.items())}
    with open(log, "w") as err:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "softphone.signaling.server",
                "--config",
                str(config),
                "--port",
                "0",
            ],
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
            env=env,
        )
    try:
        assert proc.stdout is not None
        match = re.search(r"(ws://\S+)", proc.stdout.readline())
        assert match, log.read_text()
        yield LiveServer(proc, match.group(1), log)
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
    assert "Traceback" not in log.read_text(errors="replace")


async def raw(url: str, source: str, **kwargs: object) -> ClientConnection:
    """A websocket from ``source`` (an attacker's loopback address)."""
    return await websockets.connect(
        url, compression=None, open_timeout=5, local_addr=(source, 0), **kwargs
    )


async def recv(ws: ClientConnection, within: float = 3.0) -> Message:
    async with asyncio.timeout(within):
        return decode(await ws.recv())


async def raw_visitor(server: LiveServer, source: str, token: str) -> ClientConnection:
    ws = await raw(server.url, source)
    await ws.send(encode(Hello(protocol=PROTOCOL_VERSION, role="visitor", token=token, name="x")))
    assert isinstance(await recv(ws), Welcome)
    return ws


class Party:
    """A real client and everything it received."""

    def __init__(self, client: SignalingClient) -> None:
        self.client = client
        self.inbox: asyncio.Queue[Message] = asyncio.Queue()
        self.seen: list[Message] = []
        client.message_received.connect(self._got)

    def _got(self, msg: Message) -> None:
        self.seen.append(msg)
        self.inbox.put_nowait(msg)

    async def next(self, kind: type[M], within: float = 5.0) -> M:
        """The next ``kind``, skipping anything else (line news, other calls)."""
        async with asyncio.timeout(within):
            while not isinstance(msg := await self.inbox.get(), kind):
                pass
        return msg


@dataclass
class CallProof:
    ring: Ring
    accepted: Accepted
    visitor_welcome: Welcome


async def complete_a_call(server: LiveServer, agent_name: str = "bob") -> CallProof:
    """A real agent (signed in now, or already) and a real visitor complete a call."""
    agent = Party(SignalingClient(server.url, "agent", name=agent_name, token=AGENTS[agent_name]))
    visitor = Party(SignalingClient(server.url, "visitor", site_key=SITE, name="Real visitor"))
    try:
        await agent.client.connect(timeout=10)
        welcome = await visitor.client.connect(timeout=10)
        await visitor.client.send(CallRequest())
        ring = await agent.next(Ring, within=15)
        while ring.visitor.name != "Real visitor":  # an attacker's call rang first
            ring = await agent.next(Ring, within=15)
        await agent.client.send(Accept(call_id=ring.call_id))
        accepted = await visitor.next(Accepted)
        await visitor.client.send(Offer(call_id=ring.call_id, sdp="v=0 real offer"))
        assert (await agent.next(Offer)).sdp == "v=0 real offer"
        await agent.client.send(Answer(call_id=ring.call_id, sdp="v=0 real answer"))
        assert (await visitor.next(Answer)).sdp == "v=0 real answer"
        await visitor.client.send(Hangup(call_id=ring.call_id))
        await agent.next(Hangup)
        return CallProof(ring, accepted, welcome)
    finally:
        await visitor.client.close()
        await agent.client.close()


@pytest.fixture
async def closing() -> AsyncIterator[list[ClientConnection]]:
    """Sockets a test opened, closed at the end whatever happened."""
    sockets: list[ClientConnection] = []
    yield sockets
    for ws in sockets:
        ws.transport.abort()


@pytest.fixture
async def signed_in(live_server: LiveServer) -> AsyncIterator[Callable[..., Awaitable[Party]]]:
    """``await signed_in("bob")`` (an agent) or ``signed_in(None)`` (a visitor): a real
    client, closed at the end whatever happened."""
    parties: list[Party] = []

    async def sign_in(agent: str | None) -> Party:
        if agent is None:
            client = SignalingClient(live_server.url, "visitor", site_key=SITE, name="V")
        else:
            client = SignalingClient(live_server.url, "agent", name=agent, token=AGENTS[agent])
        party = Party(client)
        parties.append(party)
        await client.connect(timeout=10)
        return party

    yield sign_in
    for party in parties:
        await party.client.close()
