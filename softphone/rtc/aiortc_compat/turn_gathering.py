"""Relay candidates from every TURN URL at once (UDP, TCP, TLS), preferring UDP.

Seam 8 (listed in this package's docstring; its internals are in :mod:`.check`, and
tests/rtc/test_turn_gathering.py exercises them):
aiortc 1.16 builds each ICE gatherer's aioice ``Connection`` from
``rtcicetransport.connection_kwargs(iceServers)``, which keeps only the *first* ``turn:``/
``turns:`` URL; aioice gathers from that one server. Behind an office firewall that only lets
TCP 443 out, a configuration listing TURN/UDP first would then have no relay at all.
:func:`install_turn_gathering` points those two module-level names at versions that keep every
TURN URL and gather a relay candidate from each, concurrently, with priorities UDP > TCP > TLS
(RFC 8445 5.1.2.1 local preference), so ICE uses the cheapest transport that works and falls
back to the others without anyone noticing.

Gathering must not hold the call when a transport is blocked (a firewall that drops rather
than rejects costs a full timeout): once one relay is in, the other relays and the STUN
query get ``RELAY_GRACE_S``; so does the STUN query once every relay failed (the network is
down or rejects every TURN transport: no point in waiting out aioice's 5 s for STUN).

An ICE restart's agent usually gathers while the network is down (the restart starts when
the outage is detected). A TURN/TCP or TURN/TLS connect made then sits in the kernel's SYN
and neighbour-resolution backoff, or fails with "unreachable", and the relay arrives (or not)
seconds after the link is back. So once a restart's connection failed that way, it opens a
fresh connection every ``CONNECT_RETRY_S`` until one has allocated (bounded: see
:meth:`MultiTurnConnection._allocate_tries`), and the first allocation after the link
returns carries the offer.

No try is abandoned with an allocation on the server: one nobody waits for any more (the
gathering ended, another try won) is let go of (:meth:`MultiTurnConnection._let_go`): over
UDP its Allocate may finish in the background (while the agent lives) and is then released,
over TCP and TLS its connection closes.

A check answered by the peer's own check while ours is still unanswered is sent again at
once (RFC 8445 7.3.1.4, which aioice skips): over two relays our first check usually races
the peer's TURN permission and is dropped, and aioice would wait for its 0.5 s (then 1 s)
retransmission.
"""

from __future__ import annotations

import asyncio
import asyncio.sslproto
import functools
import ipaddress
import logging
import ssl
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import aioice
import aioice.ice
import aioice.stun
import aiortc.rtcicetransport
from aioice.candidate import Candidate, candidate_foundation, candidate_priority
from aiortc import RTCIceServer

from softphone.rtc.aiortc_compat.check import compatibility

log = logging.getLogger(__name__)

RELAY_WAIT_S = 5.0
"""Longest wait for any relay candidate (aioice's own gathering timeout)."""
RELAY_GRACE_S = 0.5
"""Once one relay candidate is in, how long the slower transports may still take."""
FALLBACK_DELAY_S = 0.2
"""Checks over a less preferred relay (TCP, TLS; ours or the peer's) start this much later.

aioice nominates aggressively (the first pair that answers wins), so without a head start
TURN/TCP could win over TURN/UDP by a few milliseconds and carry the call for good."""

TLS_READ_SIZE = 16 * 1024
"""asyncio's SSL read size for every TLS connection of the process (TLS records carry at
most 16 KiB; asyncio's default is 256 KiB): see :func:`use_small_tls_reads`."""

CONNECT_RETRY_S = 0.5
"""After a restart's TURN/TCP or TLS connection failed "unreachable", a fresh one this often
while none has allocated (the earlier ones, maybe in SYN backoff, stay open)."""
RELEASE_WAIT_S = 5.0
"""How long a TURN/UDP Allocate nobody waits for any more may still take, so that what it
allocated can be released (:meth:`MultiTurnConnection._let_go`)."""
MAX_CONNECT_TRIES = 10
"""Connections per TURN server per gathering (RELAY_WAIT_S / CONNECT_RETRY_S). The earlier
ones stay open beside the newer: a slow handshake on a long path keeps its chance, and the
SYN retransmissions of sockets started at different times land at different moments."""

_TRANSPORT_RANK = {"udp": 0, "tcp": 1, "tls": 2}
_original_connection_kwargs = aiortc.rtcicetransport.connection_kwargs
_original_connection = aiortc.rtcicetransport.Connection


@dataclass(frozen=True)
class TurnServer:
    """One TURN URL with its credentials."""

    host: str
    port: int
    transport: str  # "udp" or "tcp" (the connection to the server)
    tls: bool
    username: str | None
    password: str | None

    @property
    def kind(self) -> str:
        """udp, tcp or tls: what the relay candidate is reached over."""
        return "tls" if self.tls else self.transport

    @property
    def local_preference(self) -> int:
        return 65535 - 8192 * _TRANSPORT_RANK[self.kind]


def turn_servers(servers: Iterable[RTCIceServer]) -> tuple[TurnServer, ...]:
    """Every usable TURN URL of ``servers``, UDP first, then TCP, then TLS; duplicates once."""
    found: list[TurnServer] = []
    for server in servers:
        urls = server.urls if isinstance(server.urls, list) else [server.urls]
        for url in urls:
            try:
                parsed = aiortc.rtcicetransport.parse_stun_turn_uri(url)
            except ValueError:
                log.warning("ice.bad_url", extra={"url": url})
                continue
            scheme, transport = str(parsed["scheme"]), str(parsed.get("transport"))
            usable = (scheme == "turn" and transport in ("udp", "tcp")) or (
                scheme == "turns" and transport == "tcp"
            )
            if not usable or server.credentialType != "password":
                continue
            candidate = TurnServer(
                parsed["host"], parsed["port"], transport, scheme == "turns",
                server.username, server.credential,
            )  # fmt: skip
            if candidate not in found:
                found.append(candidate)
    return tuple(sorted(found, key=lambda s: _TRANSPORT_RANK[s.kind]))


def connection_kwargs(servers: list[RTCIceServer]) -> dict[str, Any]:
    """aiortc's kwargs (STUN), with every TURN server instead of the first one."""
    kwargs = {
        key: value
        for key, value in _original_connection_kwargs(servers).items()
        if not key.startswith("turn_")
    }
    kwargs["turn_servers"] = turn_servers(servers)
    return kwargs


class MultiTurnConnection(aioice.Connection):
    """An aioice agent that gathers a relay candidate from each of ``turn_servers``."""

    def __init__(
        self,
        *,
        turn_servers: Iterable[TurnServer] = (),
        restart: bool = False,
        answered_before: frozenset[str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.turn_servers = tuple(turn_servers)
        self.restart = restart
        """An ICE restart's agent: TURN/TCP and TLS connects are retried (module docstring)."""
        self.answered_before = answered_before
        """What gave the previous generation a candidate ("srflx", "udp", "tcp", "tls");
        None: unknown. Once a relay is in, only these are waited for."""
        self.answered: set[str] = set()
        """What gave this agent a candidate (the next generation's ``answered_before``)."""
        self._letting_go: set[asyncio.Task[aioice.ice.StunProtocol]] = set()
        """Tries let go of (:meth:`_let_go`) still running."""
        self._check_requests: dict[aioice.ice.CandidatePair, aioice.stun.Message] = {}

    async def get_component_candidates(
        self,
        component: int,
        addresses: list[str],
        timeout: int = 5,  # noqa: ASYNC109 - aioice's signature
    ) -> list[Candidate]:
        started = time.monotonic()
        relays = [
            asyncio.ensure_future(self._relay(component, server)) for server in self.turn_servers
        ]
        # Host candidates from aioice; the STUN query below, on the same clock as the relays
        # (aioice would wait up to 5 s for a STUN server a firewall silently drops).
        stun_server, self.stun_server = self.stun_server, None
        try:
            host = await super().get_component_candidates(component, addresses, timeout)
        finally:
            self.stun_server = stun_server
        reflexive = [
            asyncio.ensure_future(self._reflexive(protocol, stun_server))
            for protocol in list(self._protocols)
            if stun_server is not None
            and any(protocol.local_candidate is c for c in host)
            and ipaddress.ip_address(protocol.local_candidate.host).version == 4
        ]
        awaited = [
            *(r for r, s in zip(relays, self.turn_servers, strict=True) if self._awaited(s.kind)),
            *(r for r in reflexive if self._awaited("srflx")),
        ]
        try:
            found = await self._collect(relays, reflexive, awaited, started, timeout)
            self.answered.update(
                s.kind for r, s in zip(relays, self.turn_servers, strict=True) if _found(r)
            )
            if any(_found(r) for r in reflexive):
                self.answered.add("srflx")
        finally:
            queries = (*relays, *reflexive)
            for task in queries:
                task.cancel()  # a relay's tries still running are let go of (_let_go)
            # Their cancellation has run once this returns: what is let go of is known to
            # close(), however soon it comes.
            await asyncio.gather(*queries, return_exceptions=True)
        return host + found

    async def check_start(self, pair: aioice.ice.CandidatePair) -> None:
        """aioice's check, ``FALLBACK_DELAY_S`` late over a less preferred relay. The pair is
        In-Progress while it waits: aioice's pacer gives each 20 ms tick to the best Waiting
        pair, and one left Waiting with its check started would take every tick of the
        delay, holding back every pair below it (traces: 0.2 s gaps between checks)."""
        if self._is_fallback(pair.local_candidate, self._local_candidates) or self._is_fallback(
            pair.remote_candidate, self._remote_candidates
        ):
            self.check_state(pair, aioice.ice.CandidatePair.State.IN_PROGRESS)
            await asyncio.sleep(FALLBACK_DELAY_S)
        await super().check_start(pair)

    def build_request(self, pair: aioice.ice.CandidatePair, nominate: bool) -> aioice.stun.Message:
        request = super().build_request(pair, nominate)
        self._check_requests[pair] = request  # the latest check of each pair
        return request

    def check_incoming(
        self, message: aioice.stun.Message, addr: tuple[str, int], protocol: Any
    ) -> None:
        """aioice's handling, plus RFC 8445 7.3.1.4 for a pair whose check is in flight: the
        peer's check just proved the path works both ways (over relays: the peer's TURN
        permission for us now exists), so ours goes again now, not at its next RTO."""
        super().check_incoming(message, addr, protocol)
        pair = next(
            (p for p in self._check_list if p.protocol is protocol and p.remote_addr == addr),
            None,
        )
        if pair is None or pair.state is not aioice.ice.CandidatePair.State.IN_PROGRESS:
            return
        request = self._check_requests.pop(pair, None)  # once per check
        if request is not None:
            protocol.send_stun(request, addr)

    @staticmethod
    def _is_fallback(candidate: Candidate, same_side: list[Candidate]) -> bool:
        """A relay candidate below the best relay of its side (the UDP one, by priority)."""
        if candidate.type != "relay":
            return False
        best = max(
            c.priority
            for c in same_side
            if c.type == "relay" and c.component == candidate.component
        )
        return bool(candidate.priority < best)

    def _awaited(self, kind: str) -> bool:
        return self.answered_before is None or kind in self.answered_before

    async def _collect(
        self,
        relays: Sequence[asyncio.Future[Candidate | None]],
        reflexive: Sequence[asyncio.Future[Candidate | None]],
        awaited: Sequence[asyncio.Future[Candidate | None]],
        started: float,
        srflx_only_wait_s: float,
    ) -> list[Candidate]:
        """Whatever arrives until every query is done, or RELAY_GRACE_S after the first
        relay candidate or after every relay query failed (at most RELAY_WAIT_S; without
        TURN, aioice's own STUN wait). Once a relay is in, the ``awaited`` queries done
        end it at once: a restart need not give the grace to a transport that gave the
        previous generation nothing (a firewall dropping TURN/UDP and STUN)."""
        everything = [*relays, *reflexive]
        pending = set(everything)
        deadline = started + (RELAY_WAIT_S if relays else srflx_only_wait_s)
        while pending:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            _, pending = await asyncio.wait(
                pending, timeout=remaining, return_when=asyncio.FIRST_COMPLETED
            )
            relay_in = any(_found(r) for r in relays)
            if relay_in and all(t.done() for t in awaited):
                break
            if relay_in or (relays and all(r.done() for r in relays)):
                deadline = min(deadline, time.monotonic() + RELAY_GRACE_S)
        gathered = [t.result() for t in everything if t.done() and not t.cancelled()]
        return [c for c in gathered if c is not None]

    async def _reflexive(
        self, protocol: aioice.ice.StunProtocol, stun_server: tuple[str, int]
    ) -> Candidate | None:
        try:
            candidate, _ = await aioice.ice.server_reflexive_candidate(protocol, stun_server)
        except asyncio.CancelledError:
            raise
        except Exception:  # no answer or an error: no server-reflexive candidate
            return None
        return candidate

    async def _relay(self, component: int, server: TurnServer) -> Candidate | None:
        try:
            protocol = await self._allocate_tries(component, server)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # any failure just means no relay from this server
            log.info(
                "ice.turn_failed",
                extra={"server": server.host, "kind": server.kind, "error": repr(exc)},
            )
            return None
        relayed = protocol.local_candidate
        # Distinct foundations (the transports fail independently) and UDP > TCP > TLS.
        protocol.local_candidate = Candidate(
            foundation=candidate_foundation("relay", f"udp-{server.kind}", relayed.host),
            component=component,
            transport="udp",
            priority=candidate_priority(component, "relay", server.local_preference),
            host=relayed.host,
            port=relayed.port,
            type="relay",
            related_address=relayed.related_address,
            related_port=relayed.related_port,
        )
        tagged: Any = protocol
        tagged.softphone_relay_kind = server.kind  # for path_of()
        self._protocols.append(protocol)
        log.info("ice.relay_gathered", extra={"kind": server.kind, "server": server.host})
        return protocol.local_candidate

    async def _allocate(self, component: int, server: TurnServer) -> aioice.ice.StunProtocol:
        """One TURN allocation on a new connection to ``server`` (its relay candidate is
        the protocol's ``local_candidate``)."""
        tls: Any = tls_context() if server.tls else False  # aioice annotates a bool
        _, protocol = await aioice.ice.relayed_candidate(
            component=component,
            hide_related_address=self._transport_policy == aioice.TransportPolicy.RELAY,
            protocol_factory=lambda: aioice.ice.StunProtocol(self),
            turn_server=(server.host, server.port),
            turn_username=server.username,
            turn_password=server.password,
            turn_ssl=tls,
            turn_transport=server.transport,
        )
        return protocol

    async def _allocate_tries(self, component: int, server: TurnServer) -> aioice.ice.StunProtocol:
        """The first allocation of the tries on ``server``. A restart's TURN/TCP or TLS
        connection that failed for the network ("unreachable", reset, timed out: the network
        is down) gets a fresh one beside it every ``CONNECT_RETRY_S`` while none has
        allocated (at most ``MAX_CONNECT_TRIES``); anything else has one try.

        Without such a failure a slow connection is left alone (a long path or a loaded
        machine: more handshakes would only slow it down). A refused connection, a TLS or
        an authentication error is an answer, and ends the tries. Each try is a task of its
        own, so that when this one is cancelled (the gathering is over) the tries still
        running are let go of, not abandoned (:meth:`_let_go`)."""
        loop = asyncio.get_running_loop()
        retry = self.restart and server.transport == "tcp"
        tries: set[asyncio.Task[aioice.ice.StunProtocol]] = set()
        started = 0
        next_start = loop.time()
        error: BaseException | None = None
        try:
            while True:
                can_start = started == 0 or (
                    retry and started < MAX_CONNECT_TRIES and error is not None
                )
                if can_start and loop.time() >= next_start:
                    tries.add(asyncio.ensure_future(self._allocate(component, server)))
                    started += 1
                    next_start = loop.time() + CONNECT_RETRY_S
                can_start = retry and started < MAX_CONNECT_TRIES and error is not None
                if not tries:
                    if not can_start:  # every try failed
                        raise error or ConnectionError("no TURN connection")
                    await asyncio.sleep(next_start - loop.time())
                    continue
                done, tries = await asyncio.wait(
                    tries,
                    timeout=max(next_start - loop.time(), 0.0) if can_start else None,
                    return_when=asyncio.FIRST_COMPLETED,
                )
                allocated = [t for t in done if t.exception() is None]
                tries.update(allocated[1:])  # let go of below
                if allocated:
                    if started > 1:
                        log.info(
                            "ice.turn_connect_retried",
                            extra={"kind": server.kind, "tries": started},
                        )
                    return allocated[0].result()
                for task in done:
                    error = task.exception()
                    if not _worth_retrying(error):
                        raise error or ConnectionError("no TURN connection")
        finally:
            for task in tries:
                self._let_go(task, server)

    def _let_go(self, task: asyncio.Task[aioice.ice.StunProtocol], server: TurnServer) -> None:
        """Nobody waits for this allocation any more, but its Allocate may be on the server.

        Cancelling it then would leave the allocation on the server: over UDP coturn keeps
        one the client never heard of for its whole lifetime (10 min). So a TURN/UDP try may
        finish in the background, for at most ``RELEASE_WAIT_S`` and no longer than this
        agent (:meth:`close`), and what it allocated is released (a Refresh with lifetime
        0). A TURN/TCP or TLS try is cancelled at once: closing its connection frees
        whatever it allocated (RFC 6062 / RFC 8656 tie the allocation to it).
        """
        if server.transport == "tcp":
            task.cancel()
        elif not task.done():
            deadline = asyncio.get_running_loop().call_later(RELEASE_WAIT_S, task.cancel)
            task.add_done_callback(lambda _: deadline.cancel())
        task.add_done_callback(_release)
        if not task.done():
            self._letting_go.add(task)
            task.add_done_callback(self._letting_go.discard)

    async def close(self) -> None:
        """aioice's close, after the tries let go of have ended (cancelled, and awaited: a
        task must not outlive the agent that started it)."""
        tries = list(self._letting_go)
        for task in tries:
            task.cancel()
        await asyncio.gather(*tries, return_exceptions=True)
        await super().close()


def _release(task: asyncio.Task[aioice.ice.StunProtocol]) -> None:
    if not task.cancelled() and task.exception() is None:
        task.result().transport.close()  # aioice: Refresh lifetime 0, then the socket


def _found(query: asyncio.Future[Candidate | None]) -> bool:
    return query.done() and not query.cancelled() and query.result() is not None


def _worth_retrying(error: BaseException | None) -> bool:
    """A failure of the network, not an answer from the server (module docstring)."""
    return isinstance(error, OSError) and not isinstance(
        error, ConnectionRefusedError | ssl.SSLError | ssl.CertificateError
    )


@functools.cache
def tls_context() -> ssl.SSLContext:
    """One client context for every TURN/TLS connection of the process.

    aioice passes ``ssl=True`` to asyncio, which builds a new default context for every
    connection, i.e. on every ICE restart: loading the system CA store into it costs ~85 ms
    of CPU on the restart path, and its native memory adds to the heap churn of every
    restart. Verification is the same: system CA store, host name checked against the
    URL's host.
    """
    return ssl.create_default_context()


def use_small_tls_reads() -> None:
    """asyncio's SSL layer reads TLS in ``TLS_READ_SIZE`` blocks instead of 256 KiB ones.

    For each connection asyncio allocates a 256 KiB receive buffer, and for each read a
    256 KiB bytes object that is then shrunk to what was read. Over TURN/TLS every ICE
    restart opens a connection and closes the replaced one; glibc carves such blocks from
    the main heap once one has been freed (its mmap threshold is dynamic), and small
    long-lived blocks landing between them keep the heap from shrinking: the agent grew
    ~0.2 MiB per restart with no object left behind (bench/restart_memory.py, docs/networks.md
    "Memory across restarts"). A TLS record holds at most 16 KiB, so reading by 16 KiB
    costs no extra round trip; only bulk transfers would make more (cheap) read calls.
    Process-wide (the class attribute is asyncio's only knob), so wss signaling reads the
    same way. (A fixed glibc mmap threshold instead moves every video frame into its own
    mapping too: ~20% more CPU per decoded frame.)
    """
    asyncio.sslproto.SSLProtocol.max_size = TLS_READ_SIZE


def fresh_agent(old: aioice.Connection) -> aioice.Connection:
    """A new agent with ``old``'s settings and servers (an ICE restart, :mod:`.transport`)."""
    kwargs: dict[str, Any] = {
        "ice_controlling": old.ice_controlling,  # RFC 8445 keeps roles across restarts
        "stun_server": old.stun_server,
        "use_ipv4": old._use_ipv4,
        "use_ipv6": old._use_ipv6,
        "transport_policy": old._transport_policy,
    }
    if isinstance(old, MultiTurnConnection):
        return MultiTurnConnection(
            turn_servers=old.turn_servers,
            restart=True,
            answered_before=frozenset(old.answered) or old.answered_before,
            **kwargs,
        )
    return aioice.Connection(
        turn_server=old.turn_server,
        turn_username=old.turn_username,
        turn_password=old.turn_password,
        turn_ssl=old.turn_ssl,
        turn_transport=old.turn_transport,
        **kwargs,
    )


def path_of(connection: aioice.Connection | None) -> str | None:
    """What carries media: "host", "srflx", "prflx" or "relay-udp|tcp|tls" (None: nothing)."""
    pair = connection._nominated.get(1) if connection is not None else None
    if pair is None:
        return None
    kind = str(pair.local_candidate.type)
    if kind == "relay":
        return f"relay-{getattr(pair.protocol, 'softphone_relay_kind', 'udp')}"
    return kind


def turn_socket_address(protocol: Any) -> str | None:
    """The local address of the socket a relay candidate's TURN client talks through: the
    address a network change can take away (the candidate's own address is the server's)."""
    inner = getattr(protocol.transport, "_TurnTransport__inner_protocol", None)
    transport = getattr(inner, "transport", None)
    sockname = transport.get_extra_info("sockname") if transport is not None else None
    return str(sockname[0]) if sockname else None


def install_turn_gathering() -> None:
    """Every RTCIceGatherer created from now on gathers from every TURN URL (idempotent);
    aiortc's single-TURN gathering stays when the compatibility check found its internals
    changed. TLS reads get small in any case (:func:`use_small_tls_reads`)."""
    use_small_tls_reads()
    module: Any = aiortc.rtcicetransport
    if not compatibility().ok:
        module.connection_kwargs = _original_connection_kwargs
        module.Connection = _original_connection
        return
    module.connection_kwargs = connection_kwargs
    module.Connection = MultiTurnConnection
