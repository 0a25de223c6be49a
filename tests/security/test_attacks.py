"""Issue 11's attacks against a real server process, each bounded in count and time, each
asserting the defence holds and that a real agent and visitor complete a call meanwhile.
(The widget-URL attack needs Chromium: tests/browser.)"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import time

import jwt
import pytest
import websockets
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

from softphone.signaling.protocol import (
    PROTOCOL_VERSION,
    Accept,
    CallRequest,
    Error,
    ErrorCode,
    Hangup,
    Hello,
    Message,
    NoAgent,
    Offer,
    Queued,
    Ring,
    Welcome,
    encode,
)
from softphone.signaling.visitor_tokens import mint_token

from .conftest import (
    AGENTS,
    SHOP,
    SITE,
    SITE_SECRET,
    TURN_SECRET,
    LiveServer,
    complete_a_call,
    raw,
    raw_visitor,
    recv,
)

pytestmark = pytest.mark.timeout(90)


async def until_answer(ws: ClientConnection, *kinds: type[Message]) -> Message:
    """The next message of one of ``kinds`` (skipping line news)."""
    while not isinstance(msg := await recv(ws), kinds):
        pass
    return msg


# --- 2. call requests: per-address rate, callers who drop, waiting calls -------------------


async def test_a_call_request_flood_is_rate_limited(
    live_server: LiveServer, closing, signed_in
) -> None:
    """One socket cycling call_request/hangup: at most 5 a minute ring anyone."""
    agent = await signed_in("bob")
    token = await asyncio.to_thread(live_server.mint, "127.0.0.2")

    async def attack() -> list[str]:
        ws = await raw_visitor(live_server, "127.0.0.2", token)
        closing.append(ws)
        outcomes = []
        for _ in range(40):
            await ws.send(encode(CallRequest()))
            answer = await until_answer(ws, Queued, Error)
            if isinstance(answer, Queued):
                await ws.send(encode(Hangup(call_id=answer.call_id, reason="cancelled")))
                outcomes.append("queued")
            else:
                outcomes.append(answer.code)
        return outcomes

    attacking = asyncio.create_task(attack())
    proof = await complete_a_call(live_server, "alice")
    outcomes = await attacking
    assert outcomes.count("queued") <= 5
    assert outcomes.count(ErrorCode.RATE_LIMITED) >= 35
    assert proof.accepted.call_id == proof.ring.call_id
    await asyncio.sleep(0.2)
    attacker_rings = [m for m in agent.seen if isinstance(m, Ring) and m.visitor.name == "x"]
    assert len(attacker_rings) <= 5


async def test_callers_who_drop_stop_ringing_at_once(
    live_server: LiveServer, closing, signed_in
) -> None:
    """Sockets that call and vanish: each ring ends the moment the socket is gone (no grace,
    no ring timeout), so agents are never held and a real visitor gets through."""
    agent = await signed_in("bob")
    tokens = {
        f"127.0.0.{n}": await asyncio.to_thread(live_server.mint, f"127.0.0.{n}")
        for n in range(10, 16)
    }
    for source, token in tokens.items():  # 6 addresses x 3 = 18 calls that vanish
        for _ in range(3):
            ws = await raw_visitor(live_server, source, token)
            await ws.send(encode(CallRequest()))
            await until_answer(ws, Queued)
            ws.transport.abort()  # gone without a word
            await asyncio.sleep(0.05)
    rings_at = {m.call_id: time.monotonic() for m in agent.seen if isinstance(m, Ring)}
    started = time.monotonic()
    async with asyncio.timeout(2):  # ring_timeout is 5 s: every ring must end long before
        while {m.call_id for m in agent.seen if isinstance(m, Hangup)} < set(rings_at):
            await agent.next(Hangup)
    assert time.monotonic() - started < 2
    metrics = await asyncio.to_thread(live_server.metrics)
    assert metrics["softphone_calls"] == 0 and metrics["softphone_sessions_detached"] == 0
    await complete_a_call(live_server, "alice")


async def test_waiting_calls_per_address_are_capped(
    live_server: LiveServer, closing, signed_in
) -> None:
    """While every agent is busy, one address may keep 2 calls waiting, not more."""
    token = await asyncio.to_thread(live_server.mint, "127.0.0.3")
    busy = await signed_in("bob")
    first = await raw_visitor(
        live_server, "127.0.0.4", await asyncio.to_thread(live_server.mint, "127.0.0.4")
    )
    closing.append(first)
    await first.send(encode(CallRequest()))
    ring = await busy.next(Ring)

    await busy.client.send(Accept(call_id=ring.call_id))  # bob is in a call now
    answers = []
    for _ in range(3):
        ws = await raw_visitor(live_server, "127.0.0.3", token)
        closing.append(ws)
        await ws.send(encode(CallRequest()))
        answer = await until_answer(ws, Queued, Error, NoAgent)
        answers.append(answer.position if isinstance(answer, Queued) else answer)
    assert answers[:2] == [1, 2]
    assert isinstance(answers[2], Error) and answers[2].code == ErrorCode.TOO_MANY_CALLS
    await complete_a_call(live_server, "alice")  # alice takes the real visitor... or a waiter


# --- 3. agent secrets: throttled guessing, no eviction mid-call ----------------------------


async def agent_hello(server: LiveServer, source: str, name: str | None, token: str) -> str:
    ws = await raw(server.url, source)
    try:
        await ws.send(
            encode(Hello(protocol=PROTOCOL_VERSION, role="agent", name=name, token=token))
        )
        reply = await recv(ws)
        return "welcome" if isinstance(reply, Welcome) else getattr(reply, "code", "?")
    finally:
        await ws.close()


async def test_agent_secret_guessing_is_throttled(live_server: LiveServer, signed_in) -> None:
    home = await signed_in("alice")  # alice's address: 127.0.0.1
    await home.client.close()
    # One address guessing: 3 tries, then locked; the right secret is no oracle meanwhile.
    verdicts = [
        await agent_hello(live_server, "127.0.0.2", "alice", f"guess-{n}") for n in range(8)
    ]
    assert verdicts[:3] == [ErrorCode.UNAUTHORIZED] * 3
    assert set(verdicts[3:]) == {ErrorCode.THROTTLED}
    assert (
        await agent_hello(live_server, "127.0.0.2", "alice", AGENTS["alice"]) == ErrorCode.THROTTLED
    )
    # Token alone (older hello) from there: the same lock.
    assert await agent_hello(live_server, "127.0.0.2", None, "guess") == ErrorCode.THROTTLED
    # Many addresses, one name each: the name locks too (but not for alice's own address).
    spread = [await agent_hello(live_server, f"127.0.1.{n}", "alice", "guess") for n in range(1, 6)]
    assert ErrorCode.THROTTLED in spread
    await complete_a_call(live_server, "alice")
    log = live_server.log_text()
    assert "signaling.signin_throttled" in log and "signaling.agent_unauthorized" in log
    assert AGENTS["alice"] not in log and "guess-1" not in log  # secrets never logged


async def test_a_second_sign_in_never_evicts_an_agent_mid_call(
    live_server: LiveServer, signed_in
) -> None:
    agent = await signed_in("bob")
    visitor = await signed_in(None)
    await visitor.client.send(CallRequest())
    ring = await agent.next(Ring)

    await agent.client.send(Accept(call_id=ring.call_id))
    assert await agent_hello(live_server, "127.0.0.1", "bob", AGENTS["bob"]) == (
        ErrorCode.ALREADY_SIGNED_IN
    )
    await visitor.client.send(Offer(call_id=ring.call_id, sdp="v=0 still on"))
    assert (await agent.next(Offer)).sdp == "v=0 still on"
    assert not [m for m in visitor.seen if isinstance(m, Hangup)]


# --- 5. connections: caps per address and in total, silent and idle sockets ---------------


async def open_many(
    server: LiveServer, source: str, count: int
) -> tuple[list[ClientConnection], int]:
    opened, refused = [], 0
    for _ in range(count):
        try:
            opened.append(await raw(server.url, source))
        except (OSError, InvalidHandshake, TimeoutError, ConnectionClosed):
            refused += 1
    return opened, refused


async def test_connection_caps_per_address_and_in_total(live_server: LiveServer, closing) -> None:
    hog, refused = await open_many(live_server, "127.0.0.2", 25)
    closing.extend(hog)
    assert (len(hog), refused) == (10, 15)  # max_connections_per_ip = 10
    await complete_a_call(live_server)  # the real parties come from elsewhere
    for n in range(3, 8):  # 10 from each of five more addresses: 60, the total cap
        more, _ = await open_many(live_server, f"127.0.0.{n}", 10)
        closing.extend(more)
    _, refused = await open_many(live_server, "127.0.0.9", 3)
    assert refused == 3
    for ws in closing:
        ws.transport.abort()
    closing.clear()
    await asyncio.sleep(0.3)
    metrics = await asyncio.to_thread(live_server.metrics)  # HTTP counts too: only now
    assert metrics["softphone_connections_refused_total"] >= 18
    await complete_a_call(live_server)


async def test_silent_and_idle_sockets_are_closed(live_server: LiveServer, closing) -> None:
    silent = await raw(live_server.url, "127.0.0.2")  # never says hello
    token = await asyncio.to_thread(live_server.mint, "127.0.0.3")
    idle = await raw_visitor(live_server, "127.0.0.3", token)  # signed in, never calls
    closing.extend([silent, idle])
    started = time.monotonic()
    proof = complete_a_call(live_server)
    await proof
    async with asyncio.timeout(5):
        await silent.wait_closed()
        await idle.wait_closed()
    assert silent.close_code == 1008  # hello_timeout = 2 s
    assert idle.close_code == 1000 and idle.close_reason == ErrorCode.IDLE
    assert time.monotonic() - started < 4  # visitor_idle_timeout = 2 s


# --- 6. memory: abandoned sessions, echoed errors ------------------------------------------


async def test_abandoned_sessions_and_error_floods_hold_no_memory(live_server: LiveServer) -> None:
    before = live_server.rss_mib()
    token = await asyncio.to_thread(live_server.mint, "127.0.0.2")
    for n in range(300):  # sign in, drop: nothing is kept for a visitor without a call
        ws = await raw_visitor(live_server, f"127.0.2.{n % 200 + 1}", token)
        ws.transport.abort()
    flood = await raw_visitor(live_server, "127.0.0.3", token)
    big = '{"type":"offer","call_id":"' + "x" * 60_000 + '"}'
    with contextlib.suppress(ConnectionClosed):
        for _ in range(200):  # errors echo a little input: none is kept for replay
            await flood.send(big)
        async with asyncio.timeout(10):
            async for _ in flood:
                pass
    assert flood.close_code == 1008  # the flood earned a close
    await asyncio.sleep(0.3)
    metrics = await asyncio.to_thread(live_server.metrics)
    assert metrics["softphone_sessions"] == 0 and metrics["softphone_sessions_detached"] == 0
    await complete_a_call(live_server)
    assert live_server.rss_mib() - before < 25  # issue 11 measured +305 MiB in 25 s


# --- 7. TURN: per call, expiring, only to the parties --------------------------------------


async def test_turn_credentials_go_only_to_a_calls_parties(live_server: LiveServer) -> None:
    proof = await complete_a_call(live_server)
    assert all(s.credential is None for s in proof.visitor_welcome.ice_servers)
    for servers, party in (
        (proof.ring.ice_servers, "agent"),
        (proof.accepted.ice_servers, "visitor"),
    ):
        [server] = servers
        expiry, who = server.username.split(":", 1)
        assert who == f"{proof.ring.call_id}-{party}"
        assert 0 < int(expiry) - time.time() <= 600
        mac = hmac.digest(TURN_SECRET.encode(), server.username.encode(), hashlib.sha1)
        assert server.credential == base64.b64encode(mac).decode()


# --- 8. Origin, tokens, HTTP ----------------------------------------------------------------


async def visitor_verdict(server: LiveServer, token: str | None, origin: str | None) -> str:
    kwargs = {"origin": origin} if origin else {}
    try:
        ws = await websockets.connect(server.url, compression=None, **kwargs)  # type: ignore[arg-type]
    except InvalidStatus as refused:
        return f"http {refused.response.status_code}"
    async with ws:
        await ws.send(encode(Hello(protocol=PROTOCOL_VERSION, role="visitor", token=token)))
        reply = await recv(ws)
        return "welcome" if isinstance(reply, Welcome) else getattr(reply, "code", "?")


async def test_visitor_admission_needs_a_valid_token(live_server: LiveServer) -> None:
    good = await asyncio.to_thread(live_server.mint)
    expired = mint_token(SITE_SECRET, SITE, SHOP, ttl=-60)
    forged = mint_token("not-the-secret-" + "n" * 32, SITE, SHOP, ttl=600)
    elsewhere = mint_token(SITE_SECRET, SITE, "https://other.test", ttl=600)
    header, _payload, signature = good.split(".")
    claims = jwt.decode(good, options={"verify_signature": False})
    claims["site"] = "another-site"
    tampered = ".".join(
        [header, base64.urlsafe_b64encode(str(claims).encode()).decode().rstrip("="), signature]
    )
    none_alg = jwt.encode({**claims, "site": SITE}, key="", algorithm="none", headers={"kid": SITE})
    attempt = asyncio.create_task(complete_a_call(live_server))
    assert await visitor_verdict(live_server, None, None) == ErrorCode.UNAUTHORIZED
    assert await visitor_verdict(live_server, good, None) == "welcome"  # no Origin, a token
    assert await visitor_verdict(live_server, good, SHOP) == "welcome"
    assert await visitor_verdict(live_server, good, "https://evil.test") == "http 403"
    for bad in (expired, forged, tampered, none_alg, "x" * 3000):
        assert await visitor_verdict(live_server, bad, None) == ErrorCode.UNAUTHORIZED
    assert await visitor_verdict(live_server, elsewhere, SHOP) == ErrorCode.UNAUTHORIZED
    await attempt
    # Self-minting only for the site's pages (or the server's own).
    for origin in ("https://evil.test", None):
        headers = {"Origin": origin} if origin else {}
        status, _, _ = await asyncio.to_thread(
            live_server.request, "POST", f"/visitor-token?site_key={SITE}", headers
        )
        assert status == 403
    status, _, _ = await asyncio.to_thread(
        live_server.request, "POST", "/visitor-token?site_key=nope", {"Origin": SHOP}
    )
    assert status == 404


async def test_http_doors(live_server: LiveServer) -> None:
    attempt = asyncio.create_task(complete_a_call(live_server))
    bad_paths = [
        "/widget/%00",
        "/widget/a%00b.js",
        "/widget/" + "a" * 5000,
        "/widget/..%2f..%2fetc%2fpasswd",
        "/widget/%2e%2e/%2e%2e/etc/passwd",
        "/widget/" + "%c0%af" * 10,
    ]
    for path in ["/widget/", "/healthz", "/nope", *bad_paths]:
        status, headers, body = await asyncio.to_thread(live_server.request, "GET", path)
        assert status == (200 if path in ("/widget/", "/healthz") else 404), path
        csp = headers["Content-Security-Policy"]
        assert "connect-src 'self'" in csp and f"frame-ancestors {SHOP}" in csp
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "no-referrer"
        if path == "/healthz":
            assert body == b"ok\n"
    status, _, body = await asyncio.to_thread(live_server.request, "GET", "/metrics")
    assert status == 401 and b"softphone" not in body
    await attempt
    assert "Traceback" not in live_server.log_text()
