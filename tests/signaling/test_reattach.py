"""A live call survives a server that forgot it: both parties come back on fresh sessions
with their call tickets and the call is relayed again, restart offers included; a ticket
only brings back its own party's call; what one party sends before the other is back waits
for it, without the stale restart offers."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import websockets

from softphone.signaling.call_tickets import CallTicket, CallTickets
from softphone.signaling.protocol import (
    PROTOCOL_VERSION,
    Accept,
    Accepted,
    CallRequest,
    CallState,
    CallTicketMsg,
    Candidate,
    Error,
    ErrorCode,
    Hangup,
    Hello,
    Queue,
    Queued,
    Reattach,
    Reattached,
    RestartAnswer,
    RestartOffer,
    Ring,
    RingTimeout,
    Welcome,
)
from softphone.signaling.server import ServerConfig, SignalingServer

from .conftest import AGENTS, SITE_KEY, RawPeer

SECRET = "call-ticket-secret-shared-by-every-node"


def node_config(**overrides: object) -> ServerConfig:
    config = ServerConfig(
        port=0,
        agent_tokens=dict(AGENTS),
        site_keys=[SITE_KEY],
        resume_grace=2.0,
        call_ticket_secret=SECRET,
    )
    for key, value in overrides.items():
        setattr(config, key, value)
    return config


@pytest.fixture
async def sockets() -> AsyncIterator[list[RawPeer]]:
    peers: list[RawPeer] = []
    yield peers
    for peer in peers:
        await peer.ws.close()


async def signed_in(
    server: SignalingServer, peers: list[RawPeer], role: str, name: str = "alice"
) -> RawPeer:
    peer = RawPeer(await websockets.connect(server.url, compression=None))
    peers.append(peer)
    if role == "agent":
        hello = Hello(protocol=PROTOCOL_VERSION, role="agent", name=name, token=AGENTS[name])
    else:
        token = server.sign_in.visitor_tokens.mint(SITE_KEY)
        hello = Hello(protocol=PROTOCOL_VERSION, role="visitor", token=token, name="Vera")
    await peer.send(hello)
    peer.welcome = await peer.expect(Welcome)
    return peer


async def live_call(server: SignalingServer, peers: list[RawPeer]) -> tuple[str, str, str]:
    """A live call between alice and a visitor: (call id, agent ticket, visitor ticket)."""
    agent = await signed_in(server, peers, "agent")
    visitor = await signed_in(server, peers, "visitor")
    await visitor.send(CallRequest())
    call_id = (await visitor.expect_ringing()).call_id
    await agent.expect(Ring)
    await agent.send(Accept(call_id=call_id))
    accepted = await visitor.expect(Accepted)
    ticket = await agent.expect(CallTicketMsg)
    assert accepted.ticket and ticket.call_id == call_id
    return call_id, ticket.ticket, accepted.ticket


async def test_a_call_is_rebuilt_on_a_server_that_never_knew_it(
    sockets: list[RawPeer],
) -> None:
    async with SignalingServer(node_config()) as old:
        call_id, agent_ticket, visitor_ticket = await live_call(old, sockets)
    # The old server is gone (a crash, a deploy); a new one shares only the secret.
    async with SignalingServer(node_config()) as new:
        agent = await signed_in(new, sockets, "agent")
        await agent.send(Reattach(ticket=agent_ticket, id="r1"))
        back = await agent.expect(Reattached)
        assert (back.call_id, back.peer_present, back.ref) == (call_id, False, "r1")
        # The agent's restarts while the visitor is still away: only the newest is kept.
        for attempt in (1, 2, 3):
            offer = RestartOffer(call_id=call_id, sdp=f"v=0 {attempt}", attempt=attempt)
            await agent.send(offer)
        await agent.send(Candidate(call_id=call_id, candidate="candidate:1"))
        await agent.silent(0.1)  # held, no error

        visitor = await signed_in(new, sockets, "visitor")
        await visitor.send(Reattach(ticket=visitor_ticket))
        assert (await visitor.expect(Reattached)).peer_present
        held = [await visitor.recv() for _ in range(2)]
        assert [type(m) for m in held] == [RestartOffer, Candidate]
        assert isinstance(held[0], RestartOffer) and held[0].attempt == 3
        await visitor.silent(0.1)
        assert (await agent.expect(Reattached)).peer_present  # the peer is back

        # Relayed both ways again, the restart handshake included.
        await visitor.send(RestartAnswer(call_id=call_id, sdp="v=0 answer", attempt=3))
        assert (await agent.expect(RestartAnswer)).attempt == 3
        await agent.send(CallState(call_id=call_id, state="connected"))
        await visitor.expect(CallState)
        await visitor.send(Hangup(call_id=call_id))
        await agent.expect(Hangup)
        # An ended call stays ended: its tickets no longer bring it back here.
        again = await signed_in(new, sockets, "visitor")
        await again.send(Reattach(ticket=visitor_ticket))
        assert (await again.expect(Error)).code == ErrorCode.UNKNOWN_CALL
        assert not new.switchboard.calls


async def test_a_ticket_brings_back_only_its_own_party(sockets: list[RawPeer]) -> None:
    async with SignalingServer(node_config()) as server:
        call_id, agent_ticket, visitor_ticket = await live_call(server, sockets)
        bob = await signed_in(server, sockets, "agent", "bob")
        visitor = await signed_in(server, sockets, "visitor")
        forged = CallTickets("another-service-secret-of-enough-length", 60).issue(
            CallTicket(call_id=call_id, role="agent", name="bob", agent_name="bob")
        )
        cases = [
            (bob, agent_ticket, ErrorCode.FORBIDDEN),  # alice's ticket
            (bob, visitor_ticket, ErrorCode.FORBIDDEN),  # a visitor's ticket
            (visitor, agent_ticket, ErrorCode.FORBIDDEN),
            (bob, forged, ErrorCode.BAD_TICKET),  # not signed by this service
            (visitor, "not.a.ticket", ErrorCode.BAD_TICKET),
        ]
        for peer, ticket, code in cases:
            await peer.send(Reattach(ticket=ticket, id="x"))
            error = await peer.expect(Error)
            assert (error.code, error.ref) == (code, "x")
        assert server.switchboard.call_of(server.sessions.by_id[bob.welcome.session_id]) is None  # type: ignore[union-attr]


async def test_a_party_that_never_comes_back_ends_the_rebuilt_call(
    sockets: list[RawPeer],
) -> None:
    async with SignalingServer(node_config()) as old:
        call_id, agent_ticket, _ = await live_call(old, sockets)
    async with SignalingServer(node_config(resume_grace=0.3)) as new:
        agent = await signed_in(new, sockets, "agent")
        await agent.send(Reattach(ticket=agent_ticket))
        await agent.expect(Reattached)
        hangup = await agent.expect(Hangup, within=2.0)
        assert (hangup.call_id, hangup.reason) == (call_id, "peer-lost")
        assert not new.switchboard.calls


async def test_an_agent_rung_before_its_reattach_returns_to_its_call(
    sockets: list[RawPeer],
) -> None:
    """The fresh hello makes the agent available, so a waiting visitor may ring it before
    its reattach arrives: the ring moves on and the agent is told, the call comes back."""
    async with SignalingServer(node_config()) as old:
        call_id, agent_ticket, _ = await live_call(old, sockets)
    async with SignalingServer(node_config()) as new:
        bob = await signed_in(new, sockets, "agent", "bob")  # busy ringing for a first caller
        first = await signed_in(new, sockets, "visitor")
        await first.send(CallRequest())
        await bob.expect(Ring)
        waiting = await signed_in(new, sockets, "visitor")
        await waiting.send(CallRequest())
        other = (await waiting.expect(Queued)).call_id
        agent = await signed_in(new, sockets, "agent")
        got = [m for m in [await agent.recv() for _ in range(2)] if not isinstance(m, Queue)]
        assert isinstance(got[0], Ring) and got[0].call_id == other
        await agent.send(Reattach(ticket=agent_ticket))
        got = [await agent.recv() for _ in range(3)]
        told = [m for m in got if not isinstance(m, Queue)]
        assert [type(m) for m in told] == [RingTimeout, Reattached], got
        assert (told[0].call_id, told[1].call_id) == (other, call_id)  # type: ignore[union-attr]
        session = new.sessions.by_id[agent.welcome.session_id]  # type: ignore[union-attr]
        assert new.switchboard.call_of(session).id == call_id  # type: ignore[union-attr]
        assert [c.id for c in new.switchboard.waiting] == [other]
