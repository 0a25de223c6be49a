"""Real servers on 127.0.0.1 with ephemeral ports, and raw protocol peers to drive them."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

import pytest
import websockets
from websockets.asyncio.client import ClientConnection

from softphone.signaling.protocol import (
    PROTOCOL_VERSION,
    Accept,
    Accepted,
    CallRequest,
    CallTicketMsg,
    Hello,
    Message,
    Queue,
    Queued,
    Ring,
    Ringing,
    Welcome,
    decode,
    encode,
)
from softphone.signaling.server import ServerConfig, SignalingServer

AGENTS = {"alice": "token-alice", "bob": "token-bob", "carol": "token-carol"}
SITE_KEY = "site-key-1"
M = TypeVar("M", bound=Message)


class RawPeer:
    """One websocket speaking the protocol by hand, so tests see exactly what is sent."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.welcome: Welcome | None = None

    async def send(self, msg: Message) -> None:
        await self.ws.send(encode(msg))

    async def recv(self, within: float = 2.0) -> Message:
        async with asyncio.timeout(within):
            return decode(await self.ws.recv())

    async def expect(self, kind: type[M], within: float = 2.0) -> M:
        msg = await self.recv(within)
        assert isinstance(msg, kind), f"expected {kind.__name__}, got {msg!r}"
        return msg

    async def expect_ringing(self, within: float = 2.0) -> Ringing:
        """After ``call_request``: ``queued`` first, then ``ringing`` for the same call."""
        queued = await self.expect(Queued, within)
        ringing = await self.expect(Ringing, within)
        assert ringing.call_id == queued.call_id
        return ringing

    async def silent(self, seconds: float = 0.15) -> None:
        """Assert nothing arrives for ``seconds``."""
        with contextlib.suppress(TimeoutError):
            msg = await self.recv(seconds)
            raise AssertionError(f"unexpected {msg!r}")

    @property
    def resume_token(self) -> str:
        assert self.welcome is not None
        return self.welcome.resume_token


Connect = Callable[..., Awaitable[RawPeer]]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "server_config(**fields): override ServerConfig fields")


@pytest.fixture
def server_config(request: pytest.FixtureRequest) -> ServerConfig:
    config = ServerConfig(
        port=0,
        agent_tokens=dict(AGENTS),
        site_keys=[SITE_KEY],
        ring_timeout=0.3,
        wrap_up_s=0.0,  # tests of after-call work turn it on (test_agent_states.py)
        resume_grace=0.5,
        heartbeat_interval=5.0,
    )
    marker = request.node.get_closest_marker("server_config")
    for key, value in (marker.kwargs if marker else {}).items():
        assert hasattr(config, key), key
        setattr(config, key, value)
    return config


@pytest.fixture
async def server(server_config: ServerConfig) -> AsyncIterator[SignalingServer]:
    async with SignalingServer(server_config) as srv:
        yield srv


@pytest.fixture
async def connect(server: SignalingServer) -> AsyncIterator[Connect]:
    """``await connect("agent", "alice")`` / ``await connect("visitor")``: a signed-in peer."""
    sockets: list[ClientConnection] = []

    async def open_peer(role: str | None = None, name: str = "Vera", **hello: Any) -> RawPeer:
        ws = await websockets.connect(server.url, compression=None)
        sockets.append(ws)
        peer = RawPeer(ws)
        if role == "agent":
            await peer.send(
                Hello(protocol=PROTOCOL_VERSION, role="agent", name=name, token=AGENTS[name])
            )
        elif role == "visitor":
            token = server.sign_in.visitor_tokens.mint(SITE_KEY)
            await peer.send(
                Hello(protocol=PROTOCOL_VERSION, role="visitor", token=token, name=name, **hello)
            )
        if role is not None:
            peer.welcome = await peer.expect(Welcome)
        return peer

    yield open_peer
    for ws in sockets:
        await ws.close()


async def _start_call(agent: RawPeer, visitor: RawPeer) -> str:
    await visitor.send(CallRequest())
    call_id = (await visitor.expect_ringing()).call_id
    assert (await agent.expect(Ring)).call_id == call_id
    await agent.send(Accept(call_id=call_id))
    await visitor.expect(Accepted)
    assert (await agent.expect(CallTicketMsg)).call_id == call_id
    return call_id


@pytest.fixture
def start_call() -> Callable[[RawPeer, RawPeer], Awaitable[str]]:
    """``await start_call(agent, visitor)``: visitor calls, ``agent`` (the only free one)
    accepts (and reads its call ticket); returns the call id."""
    return _start_call


async def next_message(peer: RawPeer, kind: type, within: float = 2.0):  # type: ignore[no-untyped-def]
    """The next message of ``kind``, skipping queue updates."""
    while True:
        msg = await peer.recv(within)
        if not isinstance(msg, Queue):
            assert isinstance(msg, kind), f"expected {kind.__name__}, got {msg!r}"
            return msg
