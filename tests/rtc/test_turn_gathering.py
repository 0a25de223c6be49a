"""Seam 8 (softphone.rtc.aiortc_compat.turn_gathering): every TURN URL, UDP preferred.

The first tests fail loudly when the aiortc/aioice internals the seam relies on change;
the rest pin its behaviour without a network (the relays themselves are proven against a
real coturn in tests/net/test_turn.py).
"""

from __future__ import annotations

import asyncio
import errno
import inspect
import os
import ssl
from pathlib import Path
from typing import Any

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


def silently_dropped(monkeypatch: pytest.MonkeyPatch, dropped: TurnServer) -> None:
    """Every TURN server but ``dropped`` gives a relay at once; ``dropped`` and STUN never
    answer (a firewall drops them)."""

    async def relay(self: MultiTurnConnection, component: int, server: TurnServer) -> object:
        if server is dropped:
            await asyncio.sleep(60)
        return Candidate("f", component, "udp", 1, "198.18.0.1", 50000, "relay")

    async def silent_stun(self: MultiTurnConnection, *args: object) -> object:
        await asyncio.sleep(60)

    monkeypatch.setattr(MultiTurnConnection, "_relay", relay)
    monkeypatch.setattr(MultiTurnConnection, "_reflexive", silent_stun)


async def test_unreachable_turn_servers_do_not_hold_gathering(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Once one relay is in, a TURN server and a STUN server that never answer get
    RELAY_GRACE_S more; host candidates come back either way."""
    answered = TurnServer("198.18.0.1", 3478, "udp", False, "u", "c")
    silent = TurnServer("198.18.0.1", 443, "tcp", True, "u", "c")

    silently_dropped(monkeypatch, silent)
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


async def test_a_restart_waits_only_for_what_answered_the_previous_generation(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The office: TURN/UDP and STUN are dropped silently, only TURN/TLS answers. The first
    gathering gives them RELAY_GRACE_S after the TLS relay; a restart's does not (it would
    hold every restart offer by that much), and it remembers what answered."""
    udp = TurnServer("198.18.0.1", 3478, "udp", False, "u", "c")
    tls = TurnServer("198.18.0.1", 443, "tcp", True, "u", "c")

    silently_dropped(monkeypatch, udp)
    loop = asyncio.get_running_loop()
    first = MultiTurnConnection(
        ice_controlling=True, stun_server=("198.18.0.1", 3478), turn_servers=[udp, tls]
    )
    started = loop.time()
    await first.get_component_candidates(1, ["127.0.0.1"])
    assert loop.time() - started >= turn_gathering.RELAY_GRACE_S
    assert first.answered == {"tls"}

    restarted = fresh_agent(first)
    assert isinstance(restarted, MultiTurnConnection)
    assert restarted.answered_before == {"tls"}
    started = loop.time()
    candidates = await restarted.get_component_candidates(1, ["127.0.0.1"])
    assert [c.type for c in candidates] == ["host", "relay"]
    assert loop.time() - started < turn_gathering.RELAY_GRACE_S / 2
    assert fresh_agent(fresh_agent(restarted)).answered_before == {"tls"}  # kept when unknown
    for agent in (first, restarted):
        await agent.close()


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


async def test_a_check_held_back_does_not_hold_the_pairs_below_it() -> None:
    """aioice's pacer starts one check per 20 ms tick, the best Waiting pair first: the
    tick after a fallback pair's check started (held back FALLBACK_DELAY_S) must start the
    next pair, not find the held one still Waiting and let the tick pass."""
    agent = MultiTurnConnection(ice_controlling=True)
    agent.remote_username, agent.remote_password = "peer", "peerpassword0123456789"
    udp, tcp = (
        Candidate("a", 1, "udp", p, "198.18.0.1", 50000 + p % 7, "relay")
        for p in (16777215, 14680063)
    )
    agent._local_candidates += [udp, tcp]
    remote = Candidate("r", 1, "udp", 2130706431, "198.19.2.2", 4000, "host")
    held, below = (FakeProtocol(), FakeProtocol())
    held.local_candidate, below.local_candidate = tcp, udp
    pairs = [aioice.ice.CandidatePair(p, remote) for p in (held, below)]  # type: ignore[arg-type]
    for pair in pairs:
        pair.state = aioice.ice.CandidatePair.State.WAITING
    agent._check_list += pairs
    assert agent._check_periodic()  # the first tick: the fallback pair's check, held back
    await asyncio.sleep(0)
    assert agent._check_periodic()  # the next tick
    assert pairs[1].task is not None, "the pair below waits out the held one's delay"
    for pair in pairs:
        assert pair.task is not None
        pair.task.cancel()
    await asyncio.gather(*(p.task for p in pairs if p.task), return_exceptions=True)


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


# --- a restart's TURN/TCP and TLS connections are retried on fresh sockets ----------------


TCP = TurnServer("198.18.0.1", 3478, "tcp", False, "u", "c")


class Allocations:
    """A stand-in for MultiTurnConnection._allocate: ``outcomes`` per try, in order
    ("hang", an exception, or "ok"); counts the tries and those in flight."""

    def __init__(self, *outcomes: object) -> None:
        self.outcomes = list(outcomes)
        self.tries = 0
        self.in_flight = 0
        self.most_in_flight = 0
        self.cancelled = 0

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        async def allocate(agent: MultiTurnConnection, component: int, server: TurnServer) -> Any:
            return await self.allocate()

        monkeypatch.setattr(MultiTurnConnection, "_allocate", allocate)

    async def allocate(self) -> Any:
        outcome = self.outcomes[min(self.tries, len(self.outcomes) - 1)]
        self.tries += 1
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            await asyncio.sleep(0.01)
            if outcome == "hang":  # a SYN in backoff
                await asyncio.sleep(60)
            if outcome == "slow":  # a long path, a loaded machine
                await asyncio.sleep(0.3)
            if isinstance(outcome, BaseException):
                raise outcome
            protocol = FakeProtocol()
            protocol.transport = None  # type: ignore[attr-defined]
            return protocol
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
        finally:
            self.in_flight -= 1


@pytest.fixture
def fast_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(turn_gathering, "CONNECT_RETRY_S", 0.05)


def unreachable() -> OSError:
    return OSError(errno.EHOSTUNREACH, "Connect call failed")


@pytest.mark.usefixtures("fast_retries")
async def test_a_restart_retries_an_unreachable_turn_tcp_server_until_it_answers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    allocations = Allocations(unreachable(), unreachable(), "ok")
    allocations.install(monkeypatch)
    restarted = fresh_agent(MultiTurnConnection(ice_controlling=True, turn_servers=[TCP]))
    candidate = await restarted._relay(1, TCP)  # type: ignore[attr-defined]
    assert candidate is not None and candidate.type == "relay"
    assert allocations.tries == 3


@pytest.mark.usefixtures("fast_retries")
async def test_a_restart_opens_a_fresh_connection_beside_one_stuck_in_syn_backoff(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Once the network was seen down (a try failed "unreachable"), a try that hangs is not
    waited for: a fresh one joins it every CONNECT_RETRY_S."""
    allocations = Allocations(unreachable(), "hang", "hang", "ok")
    allocations.install(monkeypatch)
    restarted = fresh_agent(MultiTurnConnection(ice_controlling=True, turn_servers=[TCP]))
    candidate = await restarted._relay(1, TCP)  # type: ignore[attr-defined]
    assert candidate is not None
    assert allocations.tries == 4
    await asyncio.sleep(0)  # the stuck ones are cancelled (closing a connection frees it)
    assert allocations.cancelled == 2 and allocations.in_flight == 0


@pytest.mark.usefixtures("fast_retries")
async def test_a_slow_connection_on_a_working_network_is_left_alone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    allocations = Allocations("slow", "ok")  # six retry intervals, but nothing failed
    allocations.install(monkeypatch)
    restarted = fresh_agent(MultiTurnConnection(ice_controlling=True, turn_servers=[TCP]))
    assert await restarted._relay(1, TCP) is not None  # type: ignore[attr-defined]
    assert allocations.tries == 1


@pytest.mark.usefixtures("fast_retries")
async def test_connection_retries_are_bounded_and_closed(monkeypatch: pytest.MonkeyPatch) -> None:
    hanging = Allocations(unreachable(), "hang")
    hanging.install(monkeypatch)
    restarted = fresh_agent(MultiTurnConnection(ice_controlling=True, turn_servers=[TCP]))
    relay = asyncio.ensure_future(restarted._relay(1, TCP))  # type: ignore[attr-defined]
    await asyncio.sleep(1.0)  # twenty retry intervals
    assert hanging.tries == turn_gathering.MAX_CONNECT_TRIES
    assert hanging.most_in_flight == turn_gathering.MAX_CONNECT_TRIES - 1
    relay.cancel()  # the gathering's deadline
    await asyncio.gather(relay, return_exceptions=True)
    assert hanging.in_flight == 0

    failing = Allocations(unreachable())
    failing.install(monkeypatch)
    assert await restarted._relay(1, TCP) is None  # type: ignore[attr-defined]
    assert failing.tries == turn_gathering.MAX_CONNECT_TRIES


@pytest.mark.usefixtures("fast_retries")
@pytest.mark.parametrize(
    "answer", [ConnectionRefusedError(errno.ECONNREFUSED, "refused"), ValueError("401")]
)
async def test_an_answer_from_the_server_is_not_retried(
    monkeypatch: pytest.MonkeyPatch, answer: Exception
) -> None:
    allocations = Allocations(answer, "ok")
    allocations.install(monkeypatch)
    restarted = fresh_agent(MultiTurnConnection(ice_controlling=True, turn_servers=[TCP]))
    assert await restarted._relay(1, TCP) is None  # type: ignore[attr-defined]
    assert allocations.tries == 1


@pytest.mark.usefixtures("fast_retries")
async def test_a_calls_first_gathering_and_turn_udp_try_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Only a restart's agent retries (a call's first gathering meets a working network),
    and only connections (TURN/UDP retransmits its Allocate itself)."""
    allocations = Allocations(unreachable())
    allocations.install(monkeypatch)
    first = MultiTurnConnection(ice_controlling=True, turn_servers=[TCP])
    assert await first._relay(1, TCP) is None  # type: ignore[attr-defined]
    udp = TurnServer("198.18.0.1", 3478, "udp", False, "u", "c")
    assert await fresh_agent(first)._relay(1, udp) is None  # type: ignore[attr-defined]
    assert allocations.tries == 2


# --- nothing in flight is abandoned with an allocation ----------------------------------------


class FakeCoturn:
    """aioice.ice.relayed_candidate against a server that counts its allocations.

    An allocation exists from the moment the (authenticated) Allocate reached the server,
    ``answer_s[kind]`` before the client hears of it (None: never). It goes with a Refresh
    of lifetime 0 (the protocol's ``transport.close()``) or, over TCP and TLS, with the
    connection (a try cancelled in flight). Over UDP nothing else frees it: coturn keeps it
    for its lifetime."""

    def __init__(self, answer_s: dict[str, float | None]) -> None:
        self.answer_s = answer_s
        self.allocations = 0

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setattr(aioice.ice, "relayed_candidate", self.relayed_candidate)

    async def relayed_candidate(
        self, *, component: int, turn_transport: str, turn_ssl: object, **_: object
    ) -> tuple[Candidate, Any]:
        kind = "tls" if turn_ssl else turn_transport
        await asyncio.sleep(0.01)
        self.allocations += 1
        try:
            answer = self.answer_s[kind]
            await asyncio.sleep(60 if answer is None else answer)
        except asyncio.CancelledError:
            if turn_transport == "tcp":
                self.allocations -= 1  # the connection closed
            raise
        protocol = FakeProtocol()
        transport = protocol.transport = _FakeTurnTransport(self)  # type: ignore[attr-defined]
        protocol.close = transport.close_async  # type: ignore[method-assign]
        return protocol.local_candidate, protocol


class _FakeTurnTransport:
    def __init__(self, server: FakeCoturn) -> None:
        self.server = server
        self.closed = False

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.server.allocations -= 1

    async def close_async(self) -> None:
        self.close()


UDP = TurnServer("198.18.0.1", 3478, "udp", False, "u", "c")


@pytest.fixture
def short_waits(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(turn_gathering, "RELAY_GRACE_S", 0.05)
    monkeypatch.setattr(turn_gathering, "RELEASE_WAIT_S", 0.5, raising=False)


@pytest.mark.usefixtures("short_waits")
async def test_a_turn_udp_allocate_in_flight_when_gathering_ends_is_released_once_answered(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """TURN/TCP answers at once, TURN/UDP's answer is 0.3 s away when the gathering's grace
    ends: the gathering does not wait for it, but the allocation it made is released when
    the answer comes (cancelling it would leave it on the server for 10 minutes)."""
    coturn = FakeCoturn({"udp": 0.3, "tcp": 0.0})
    coturn.install(monkeypatch)
    agent = MultiTurnConnection(ice_controlling=True, turn_servers=[UDP, TCP])
    tasks = asyncio.all_tasks()
    started = asyncio.get_running_loop().time()
    candidates = await agent.get_component_candidates(1, ["127.0.0.1"])
    assert asyncio.get_running_loop().time() - started < 0.25  # not held by TURN/UDP
    assert [c.type for c in candidates] == ["host", "relay"]
    await asyncio.sleep(0.4)
    assert coturn.allocations == 1  # the TCP relay the agent holds; UDP's released
    assert asyncio.all_tasks() == tasks
    await agent.close()
    assert coturn.allocations == 0


@pytest.mark.usefixtures("short_waits")
async def test_tries_nobody_waits_for_end_bounded_and_free_their_allocations(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A TURN/UDP Allocate never answered is given up after RELEASE_WAIT_S (no task left
    behind); a TCP or TLS try in flight is cancelled at once (its connection closes)."""
    coturn = FakeCoturn({"udp": None, "tcp": 0.0, "tls": None})
    coturn.install(monkeypatch)
    tls = TurnServer("198.18.0.1", 443, "tcp", True, "u", "c")
    agent = MultiTurnConnection(ice_controlling=True, turn_servers=[UDP, TCP, tls])
    tasks = asyncio.all_tasks()
    await agent.get_component_candidates(1, ["127.0.0.1"])
    await asyncio.sleep(0.01)
    assert coturn.allocations == 2  # the agent's TCP relay, and UDP's (unknown to us)
    await asyncio.sleep(turn_gathering.RELEASE_WAIT_S + 0.1)  # type: ignore[attr-defined]
    assert asyncio.all_tasks() == tasks
    await agent.close()
    assert coturn.allocations == 1  # only a server's lifetime frees one never answered


@pytest.mark.usefixtures("short_waits")
async def test_closing_the_agent_ends_the_tries_it_let_go_of(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The call ends while a TURN/UDP try let go of still waits for its answer: close()
    ends it, so no task outlives the agent (found by the test suite's leak check)."""
    coturn = FakeCoturn({"udp": None, "tcp": 0.0})
    coturn.install(monkeypatch)
    agent = MultiTurnConnection(ice_controlling=True, turn_servers=[UDP, TCP])
    tasks = asyncio.all_tasks()
    await agent.get_component_candidates(1, ["127.0.0.1"])
    assert asyncio.all_tasks() != tasks  # the UDP try, let go of, still runs
    await agent.close()
    assert asyncio.all_tasks() == tasks


@pytest.mark.usefixtures("fast_retries")
async def test_a_restarts_losing_connection_tries_are_closed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Once the network is back several of a restart's TURN/TCP tries may allocate: the
    first one is the relay, the others are closed (freed with their connection)."""
    coturn = FakeCoturn({"tcp": 0.3})
    coturn.install(monkeypatch)
    real_allocate = MultiTurnConnection._allocate  # type: ignore[attr-defined]
    calls = 0

    async def allocate(agent: MultiTurnConnection, component: int, server: TurnServer) -> Any:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise unreachable()
        return await real_allocate(agent, component, server)

    monkeypatch.setattr(MultiTurnConnection, "_allocate", allocate)
    restarted = fresh_agent(MultiTurnConnection(ice_controlling=True, turn_servers=[TCP]))
    assert await restarted._relay(1, TCP) is not None  # type: ignore[attr-defined]
    await asyncio.sleep(0.01)
    assert calls > 2 and coturn.allocations == 1
    await restarted.close()
    assert coturn.allocations == 0
