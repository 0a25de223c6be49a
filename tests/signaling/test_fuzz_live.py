"""Property-based fuzzing of a live server: random and mutated frames on one connection
while a healthy call beside it keeps relaying, intact and undisturbed, after every example.

Hypothesis drives plain functions, so the server runs on its own loop in a thread and the
test talks to it with websockets' synchronous client.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from softphone.signaling.config import SiteConfig
from softphone.signaling.protocol import (
    PROTOCOL_VERSION,
    Accept,
    Accepted,
    CallRequest,
    CallTicketMsg,
    Candidate,
    Hangup,
    Hello,
    Offer,
    Queue,
    Queued,
    RestartOffer,
    Ring,
    Ringing,
    Welcome,
    decode,
    encode,
)
from softphone.signaling.server import ServerConfig, SignalingServer

from .conftest import AGENTS, SITE_KEY, M


@dataclass
class LiveCall:
    url: str
    call_id: str
    agent: ClientConnection
    visitor: ClientConnection


@pytest.fixture(scope="module")
def live_call() -> Iterator[LiveCall]:
    stack = contextlib.ExitStack()
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    server = SignalingServer(
        ServerConfig(
            port=0,
            agent_tokens=dict(AGENTS),
            # A bare site key admits the fuzzer's visitor hellos, so it gets past the door.
            sites={SITE_KEY: SiteConfig(SITE_KEY, legacy_hello=True)},
            no_origin_visitors="allow",
            max_frame=4096,
            rate_per_second=10_000,
            rate_burst=10_000,
            resume_grace=0.2,
        )
    )
    asyncio.run_coroutine_threadsafe(server.start(), loop).result(5)
    agent = stack.enter_context(connect(server.url, compression=None))
    agent.send(
        encode(Hello(protocol=PROTOCOL_VERSION, role="agent", name="alice", token=AGENTS["alice"]))
    )
    expect(agent, Welcome)
    visitor = stack.enter_context(connect(server.url, compression=None))
    visitor.send(encode(Hello(protocol=PROTOCOL_VERSION, role="visitor", site_key=SITE_KEY)))
    expect(visitor, Welcome)
    visitor.send(encode(CallRequest()))
    call_id = expect(visitor, Queued).call_id
    expect(visitor, Ringing)
    expect(agent, Ring)
    agent.send(encode(Accept(call_id=call_id)))
    expect(visitor, Accepted)
    expect(agent, CallTicketMsg)
    try:
        yield LiveCall(server.url, call_id, agent, visitor)
    finally:
        stack.close()
        asyncio.run_coroutine_threadsafe(server.close(), loop).result(5)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.close()


def expect(ws: ClientConnection, kind: type[M]) -> M:
    """The next message but the waiting line's news (fuzzed visitors queue up and leave)."""
    while isinstance(msg := decode(ws.recv(timeout=2)), Queue):
        pass
    assert isinstance(msg, kind), msg
    return msg


def templates(call_id: str) -> list[str]:
    """Valid frames, some about the healthy call, for the mutator to start from."""
    return [
        encode(m)
        for m in (
            Hello(protocol=PROTOCOL_VERSION, role="agent", token="nope"),
            Hello(protocol=PROTOCOL_VERSION, role="visitor", site_key=SITE_KEY),
            Offer(call_id=call_id, sdp="v=0"),
            Candidate(call_id=call_id, candidate="candidate:1 1 udp 1 127.0.0.1 9 typ host"),
            RestartOffer(call_id=call_id, sdp="v=0", attempt=1, reason="x"),
            Hangup(call_id=call_id, reason="peer-lost"),
            Accept(call_id=call_id),
            CallRequest(),
        )
    ]


@st.composite
def mutated(draw: st.DrawFn, call_id: str) -> str | bytes:
    frame = bytearray(draw(st.sampled_from(templates(call_id))).encode())
    for _ in range(draw(st.integers(0, 4))):
        where = draw(st.integers(0, max(0, len(frame) - 1)))
        action = draw(st.sampled_from(["flip", "cut", "insert", "dup"]))
        if action == "flip" and frame:
            frame[where] = draw(st.integers(0, 255))
        elif action == "cut":
            del frame[where:]
        elif action == "insert":
            frame[where:where] = draw(st.binary(min_size=1, max_size=8))
        else:
            frame[where:where] = frame[:where]
    # Mostly text frames (what the parser sees); sometimes the same bytes as a binary frame.
    if draw(st.integers(0, 4)) == 0:
        return bytes(frame)
    return bytes(frame).decode("utf-8", errors="replace")


def frames(call_id: str) -> st.SearchStrategy[list[str | bytes]]:
    junk = st.text(max_size=300) | st.binary(max_size=300) | st.just("x" * 5000)
    return st.lists(mutated(call_id) | junk, min_size=1, max_size=6)


def fuzz_once(call: LiveCall, sign_in: bool, batch: list[str | bytes]) -> None:
    with connect(call.url, compression=None) as ws:
        try:
            if sign_in:
                ws.send(
                    encode(
                        Hello(
                            protocol=PROTOCOL_VERSION,
                            role="visitor",
                            site_key=SITE_KEY,
                            name="Fuzz",
                        )
                    )
                )
            for frame in batch:
                ws.send(frame)
            with contextlib.suppress(TimeoutError):
                for _ in range(50):
                    decode(ws.recv(timeout=0.01))  # every reply is a valid message
        except ConnectionClosed as closed:
            # Only the documented reasons to hang up on a client.
            assert closed.rcvd is None or closed.rcvd.code in (1000, 1008, 1009)


def assert_call_healthy(call: LiveCall, n: int) -> None:
    call.visitor.send(encode(Offer(call_id=call.call_id, sdp=f"v=0 {n}")))
    call.agent.send(encode(Candidate(call_id=call.call_id, candidate=f"c{n}")))
    assert expect(call.agent, Offer).sdp == f"v=0 {n}"
    assert expect(call.visitor, Candidate).candidate == f"c{n}"


_examples = iter(range(10**9))


def test_live_server_survives_fuzzing_beside_a_healthy_call(live_call: LiveCall) -> None:
    @settings(
        max_examples=120,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(sign_in=st.booleans(), batch=frames(live_call.call_id))
    def run(sign_in: bool, batch: list[str | bytes]) -> None:
        fuzz_once(live_call, sign_in, batch)
        assert_call_healthy(live_call, next(_examples))

    run()
