"""labnet/raw_links.py, the measured phase of bench/signaling_load.py on bare sockets:
against a real server it must count every candidate exactly once, keep the socket alive
through the server's pings, and fail the run when a socket closes (not hang, not count it
valid)."""

from __future__ import annotations

import asyncio

import pytest
import websockets

from labnet.raw_links import RawLink, client_frame, relay
from softphone.signaling.protocol import PROTOCOL_VERSION, Candidate, Hello, Welcome, encode_bytes
from tests.signaling.conftest import AGENTS, SITE_KEY, RawPeer


async def _parties(server, start_call) -> list[tuple[asyncio.Transport, str]]:  # type: ignore[no-untyped-def]
    """A call set up over websockets (no keepalive of its own: the transports are handed
    over, as the bench does), then its two transports."""

    async def signed_in(hello: Hello) -> RawPeer:
        ws = await websockets.connect(server.url, compression=None, ping_interval=None)
        peer = RawPeer(ws)
        await peer.send(hello)
        await peer.expect(Welcome)
        return peer

    alice = await signed_in(
        Hello(protocol=PROTOCOL_VERSION, role="agent", name="alice", token=AGENTS["alice"])
    )
    token = server.sign_in.visitor_tokens.mint(SITE_KEY)
    visitor = await signed_in(Hello(protocol=PROTOCOL_VERSION, role="visitor", token=token))
    call_id = await start_call(alice, visitor)
    return [(alice.ws.transport, call_id), (visitor.ws.transport, call_id)]


@pytest.mark.server_config(heartbeat_interval=0.2)  # a ping unanswered for 0.4 s closes
async def test_every_candidate_is_counted_once_across_the_servers_pings(server, start_call):
    parties = await _parties(server, start_call)
    latencies: list[float] = []
    others: list[str] = []
    async with asyncio.timeout(5):
        await relay(parties, 5, 0.2, latencies, others)  # 1 s: pings came and were answered
    assert len(latencies) == 10
    assert all(0 <= ms < 1000 for ms in latencies)
    assert others == []
    for transport, _ in parties:
        transport.close()


async def test_a_socket_that_closes_fails_the_relay(server, start_call):
    parties = await _parties(server, start_call)
    task = asyncio.create_task(relay(parties, 50, 0.05, [], []))
    await asyncio.sleep(0.1)
    parties[1][0].close()  # the visitor's socket goes: the agent never gets its candidates
    with pytest.raises(ConnectionError):
        async with asyncio.timeout(5):
            await task
    parties[0][0].close()


class _Transport:
    def __init__(self) -> None:
        self.written: list[bytes] = []

    def set_protocol(self, protocol: object) -> None:
        pass

    def write(self, data: bytes) -> None:
        self.written.append(data)


def _server_frame(opcode: int, payload: bytes) -> bytes:
    n = len(payload)
    head = bytes([0x80 | opcode, n]) if n < 126 else bytes([0x80 | opcode, 126]) + n.to_bytes(2)
    return head + payload


def test_frames_split_anywhere_are_parsed_and_pings_answered():
    transport = _Transport()
    latencies: list[float] = []
    others: list[str] = []
    done: list[BaseException | None] = []
    link = RawLink(
        transport,  # type: ignore[arg-type]
        "c1",
        expected=2,
        latencies=latencies,
        others=others,
        on_done=done.append,
    )
    long_candidate = "candidate:0 1 udp 2122260223 127.0.0.1 40000 typ host " + "x" * 200
    stream = b"".join(
        [
            _server_frame(0x1, b'{"type":"queue","position":1}'),
            _server_frame(0x9, b"ping!"),
            _server_frame(
                0x1, encode_bytes(Candidate(call_id="c1", candidate="a", ufrag="1"))
            ),  # short frame
            _server_frame(
                0x1, encode_bytes(Candidate(call_id="c1", candidate=long_candidate, ufrag="2"))
            ),  # 16-bit length
        ]
    )
    for i in range(len(stream)):
        link.data_received(stream[i : i + 1])
    assert len(latencies) == 2
    assert others == ["queue"]
    assert transport.written == [client_frame(0xA, b"ping!")]
    assert done == [None]
