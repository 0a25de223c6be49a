"""Seam 8 (softphone.rtc.aiortc_compat.turn_gathering): every TURN URL, UDP preferred.

The first tests fail loudly when the aiortc/aioice internals the seam relies on change;
the rest pin its behaviour without a network (the relays themselves are proven against a
real coturn in tests/net/test_turn.py).
"""

from __future__ import annotations

import asyncio
import inspect
import os
import ssl
from pathlib import Path

import aioice
import aioice.ice
import aioice.stun
import aioice.turn
import aiortc.rtcicetransport
import pytest
from aioice.candidate import Candidate
from aiortc import RTCIceServer
from aiortc.rtcicetransport import RTCIceGatherer

from labnet.turn import make_test_ca
from softphone.rtc.aiortc_compat import turn_gathering
from softphone.rtc.aiortc_compat.turn_gathering import (
    TLS_READ_SIZE,
    MultiTurnConnection,
    TurnServer,
    fresh_agent,
    install_turn_gathering,
    turn_servers,
)

SERVERS = [
    RTCIceServer(urls="stun:198.18.0.1:3478"),
    RTCIceServer(
        urls=[
            "turns:198.18.0.1:443?transport=tcp",
            "turn:198.18.0.1:3478?transport=tcp",
            "turn:198.18.0.1:3478?transport=udp",
            "turn:198.18.0.1:3478?transport=udp",  # listed twice: gathered once
        ],
        username="1700000000:agent",
        credential="secret",
    ),
]


def source(obj: object) -> str:
    return inspect.getsource(obj)  # type: ignore[arg-type]


# --- the pinned internals ------------------------------------------------------------------


def test_seam8_aiortc_still_keeps_only_the_first_turn_url() -> None:
    """If this fails, aiortc gathers from several TURN servers itself: drop the seam."""
    kwargs = turn_gathering._original_connection_kwargs(SERVERS)
    assert kwargs["turn_server"] == ("198.18.0.1", 443) and kwargs["turn_ssl"] is True
    # (aiortc's own function: once installed, the module-level name is ours)
    assert "only a single TURN server is supported" in source(
        turn_gathering._original_connection_kwargs
    )


def test_seam8_gatherer_builds_its_agent_through_module_level_names() -> None:
    init = source(RTCIceGatherer.__init__)
    assert "connection_kwargs(iceServers)" in init
    assert "Connection(" in init
    assert aiortc.rtcicetransport.Connection.__mro__[-2].__name__ == "Connection"


def test_seam8_aioice_shapes_used() -> None:
    params = list(inspect.signature(aioice.Connection.get_component_candidates).parameters)
    assert params == ["self", "component", "addresses", "timeout"]
    relayed = inspect.signature(aioice.ice.relayed_candidate).parameters
    assert set(relayed) == {
        "component", "hide_related_address", "protocol_factory", "turn_server",
        "turn_username", "turn_password", "turn_ssl", "turn_transport",
    }  # fmt: skip
    srflx = inspect.signature(aioice.ice.server_reflexive_candidate).parameters
    assert list(srflx) == ["protocol", "stun_server"]
    assert "if self.stun_server:" in source(aioice.Connection.get_component_candidates)
    assert inspect.iscoroutinefunction(aioice.Connection.check_start)
    assert "self.check_start(pair)" in source(aioice.Connection.check_start_task)
    # turn_socket_address() reads the TURN client's own transport.
    assert "self.__inner_protocol = inner_protocol" in source(aioice.turn.TurnTransport.__init__)
    for name in ("_use_ipv4", "_use_ipv6", "_transport_policy", "_protocols", "_nominated"):
        assert name in source(aioice.Connection.__init__), name
    # aioice starts a triggered check only for a Waiting pair (RFC 8445 7.3.1.4 wants one for
    # an In-Progress pair too: MultiTurnConnection.check_incoming adds it).
    incoming = source(aioice.Connection.check_incoming)
    assert "if pair.state == CandidatePair.State.WAITING:" in incoming
    assert "IN_PROGRESS" not in incoming
    assert "request = self.build_request(pair, nominate=nominate)" in source(
        aioice.Connection.check_start
    )


# --- behaviour -------------------------------------------------------------------------------


def test_every_turn_url_once_udp_then_tcp_then_tls() -> None:
    found = turn_servers(SERVERS)
    assert [s.kind for s in found] == ["udp", "tcp", "tls"]
    assert [s.local_preference for s in found] == sorted(
        (s.local_preference for s in found), reverse=True
    )
    assert all(s.username == "1700000000:agent" and s.password == "secret" for s in found)


def test_bad_and_unsupported_urls_are_skipped() -> None:
    servers = [
        RTCIceServer(urls="ftp:198.18.0.1", username="u", credential="c"),
        RTCIceServer(urls="turn:198.18.0.1?transport=sctp", username="u", credential="c"),
        RTCIceServer(urls="turn:198.18.0.1", username="u", credential="c"),
    ]
    assert [(s.host, s.port, s.kind) for s in turn_servers(servers)] == [
        ("198.18.0.1", 3478, "udp")
    ]


async def test_installed_gatherer_carries_every_server_and_restarts_keep_them() -> None:
    install_turn_gathering()
    gatherer = RTCIceGatherer(iceServers=SERVERS)
    connection = gatherer._connection
    assert isinstance(connection, MultiTurnConnection)
    assert connection.stun_server == ("198.18.0.1", 3478)
    assert [s.kind for s in connection.turn_servers] == ["udp", "tcp", "tls"]
    renewed = fresh_agent(connection)
    assert isinstance(renewed, MultiTurnConnection)
    assert renewed.turn_servers == connection.turn_servers
    assert renewed.local_username != connection.local_username  # a new ICE generation
    await connection.close()
    await renewed.close()


async def test_tls_connections_read_in_small_blocks_and_lose_nothing(tmp_path: Path) -> None:
    """A TURN/TLS connection (asyncio's SSL layer, as aioice opens it) gets a 16 KiB receive
    buffer instead of 256 KiB (the heap growth across ICE restarts, docs/networks.md), and a
    message larger than that still arrives whole."""
    install_turn_gathering()
    ca, cert, key = make_test_ca(tmp_path, "127.0.0.1")
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(cert, key)
    payload = os.urandom(100 * 1024)

    async def send(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(payload)
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(send, "127.0.0.1", 0, ssl=server_context)
    port = server.sockets[0].getsockname()[1]
    loop = asyncio.get_running_loop()
    received: list[bytes] = []
    closed: asyncio.Future[None] = loop.create_future()

    class Client(asyncio.Protocol):  # a plain Protocol, like aioice's TURN client
        def data_received(self, data: bytes) -> None:
            received.append(data)

        def connection_lost(self, exc: Exception | None) -> None:
            closed.set_result(None)

    transport, _ = await loop.create_connection(
        Client, "127.0.0.1", port, ssl=ssl.create_default_context(cafile=ca)
    )
    async with asyncio.timeout(10):
        await closed
    server.close()
    await server.wait_closed()
    assert b"".join(received) == payload
    assert len(transport._ssl_protocol._ssl_buffer) == TLS_READ_SIZE  # type: ignore[attr-defined]


async def test_unreachable_turn_servers_do_not_hold_gathering(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Once one relay is in, a TURN server and a STUN server that never answer get
    RELAY_GRACE_S more; host candidates come back either way."""
    answered = TurnServer("198.18.0.1", 3478, "udp", False, "u", "c")
    silent = TurnServer("198.18.0.1", 443, "tcp", True, "u", "c")

    async def fake_relay(self: MultiTurnConnection, component: int, server: TurnServer) -> object:
        if server is silent:
            await asyncio.sleep(60)
        return Candidate("f", component, "udp", 1, "198.18.0.1", 50000, "relay")

    async def silent_stun(self: MultiTurnConnection, *args: object) -> object:
        await asyncio.sleep(60)  # a firewall drops STUN

    monkeypatch.setattr(MultiTurnConnection, "_relay", fake_relay)
    monkeypatch.setattr(MultiTurnConnection, "_reflexive", silent_stun)
    connection = MultiTurnConnection(
        ice_controlling=True, stun_server=("198.18.0.1", 3478), turn_servers=[answered, silent]
    )
    started = asyncio.get_running_loop().time()
    candidates = await connection.get_component_candidates(1, ["127.0.0.1"])
    elapsed = asyncio.get_running_loop().time() - started
    assert [c.type for c in candidates] == ["host", "relay"]
    assert elapsed < turn_gathering.RELAY_GRACE_S + 0.4
    await connection.close()


async def test_when_every_relay_fails_a_silent_stun_server_does_not_hold_gathering(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The network is down (every TURN connect failed) and a firewall drops STUN: the
    gathering ends RELAY_GRACE_S after the last relay failure, not after RELAY_WAIT_S."""
    servers = [
        TurnServer("198.18.0.1", 3478, "tcp", False, "u", "c"),
        TurnServer("198.18.0.1", 443, "tcp", True, "u", "c"),
    ]

    async def failed_relay(self: MultiTurnConnection, *args: object) -> None:
        await asyncio.sleep(0.05)  # EHOSTUNREACH: no candidate

    async def silent_stun(self: MultiTurnConnection, *args: object) -> object:
        await asyncio.sleep(60)

    monkeypatch.setattr(MultiTurnConnection, "_relay", failed_relay)
    monkeypatch.setattr(MultiTurnConnection, "_reflexive", silent_stun)
    connection = MultiTurnConnection(
        ice_controlling=True, stun_server=("198.18.0.1", 3478), turn_servers=servers
    )
    started = asyncio.get_running_loop().time()
    candidates = await connection.get_component_candidates(1, ["127.0.0.1"])
    elapsed = asyncio.get_running_loop().time() - started
    assert [c.type for c in candidates] == ["host"]
    assert elapsed < turn_gathering.RELAY_GRACE_S + 0.4 < turn_gathering.RELAY_WAIT_S
    await connection.close()


def test_checks_over_a_less_preferred_relay_start_later() -> None:
    udp, tcp = (
        Candidate("a", 1, "udp", p, "198.18.0.1", 50000 + p % 7, "relay")
        for p in (16777215, 14680063)
    )
    host = Candidate("h", 1, "udp", 2130706431, "198.19.1.2", 4000, "host")
    side = [host, udp, tcp]
    assert not MultiTurnConnection._is_fallback(udp, side)
    assert MultiTurnConnection._is_fallback(tcp, side)
    assert not MultiTurnConnection._is_fallback(host, side)


# --- a check in flight is sent again when the peer's check arrives (RFC 8445 7.3.1.4) --------


class FakeProtocol:
    """The local end of a pair: records what the agent sends through it."""

    def __init__(self) -> None:
        self.local_candidate = Candidate("l", 1, "udp", 100, "198.18.0.1", 50000, "relay")
        self.sent: list[tuple[bytes, tuple[str, int]]] = []

    def send_stun(self, message: aioice.stun.Message, addr: tuple[str, int]) -> None:
        self.sent.append((message.transaction_id, addr))

    async def close(self) -> None:
        pass


def agent_with_a_check_in_flight(
    cls: type[aioice.Connection],
) -> tuple[aioice.Connection, FakeProtocol, aioice.ice.CandidatePair, aioice.stun.Message]:
    agent = cls(ice_controlling=True)
    agent.remote_username, agent.remote_password = "peer", "peerpassword0123456789"
    remote = Candidate("r", 1, "udp", 100, "198.18.0.1", 50002, "relay")
    agent._remote_candidates.append(remote)
    protocol = FakeProtocol()
    pair = aioice.ice.CandidatePair(protocol, remote)  # type: ignore[arg-type]
    agent._check_list.append(pair)
    request = agent.build_request(pair, nominate=True)  # what check_start sends
    pair.state = aioice.ice.CandidatePair.State.IN_PROGRESS
    return agent, protocol, pair, request


def peers_check(agent: aioice.Connection) -> aioice.stun.Message:
    message = aioice.stun.Message(
        message_method=aioice.stun.Method.BINDING, message_class=aioice.stun.Class.REQUEST
    )
    message.attributes["PRIORITY"] = 100
    message.attributes["ICE-CONTROLLED"] = 1
    return message


def test_stock_aioice_leaves_a_check_in_flight_to_its_retransmission_timer() -> None:
    agent, protocol, pair, _ = agent_with_a_check_in_flight(aioice.Connection)
    agent.check_incoming(peers_check(agent), pair.remote_addr, protocol)
    assert protocol.sent == []  # the next try only at the 0.5 s (then 1 s...) RTO


def test_a_check_in_flight_goes_again_at_once_when_the_peers_check_arrives() -> None:
    """Over two relays our first check is dropped by the peer's TURN server until the peer's
    own check creates the permission: the peer's check arriving is the moment to resend."""
    agent, protocol, pair, request = agent_with_a_check_in_flight(MultiTurnConnection)
    agent.check_incoming(peers_check(agent), pair.remote_addr, protocol)
    # the same transaction (its response completes the check in flight), to the pair's peer
    assert protocol.sent == [(request.transaction_id, pair.remote_addr)]
    agent.check_incoming(peers_check(agent), pair.remote_addr, protocol)
    assert len(protocol.sent) == 1  # once per check: the peer's retransmissions add nothing
    pair.state = aioice.ice.CandidatePair.State.SUCCEEDED
    agent.build_request(pair, nominate=False)  # e.g. a consent probe of the chosen pair
    agent.check_incoming(peers_check(agent), pair.remote_addr, protocol)
    assert len(protocol.sent) == 1  # nothing in flight: nothing to resend
