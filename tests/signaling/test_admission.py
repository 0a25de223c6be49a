"""Who gets in: agent secrets stored as hashes (and the CLI that makes them), visitor
tokens (and the CLI a site's backend can copy), the bare-site-key and no-Origin policies,
and what the welcome tells every client (reconnect policy, credential-less ICE servers)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest
import websockets

from softphone.signaling.client import SignalingClient, SignalingRejected
from softphone.signaling.config import ServerConfig, SiteConfig, load_config
from softphone.signaling.credentials import AgentDirectory, parse_hash
from softphone.signaling.protocol import (
    PROTOCOL_VERSION,
    Error,
    ErrorCode,
    Hello,
    IceServer,
    ReconnectPolicy,
    Welcome,
    decode,
    encode,
)
from softphone.signaling.server import SignalingServer
from softphone.signaling.visitor_tokens import mint_token
from softphone.visitor.cli import parse_args

SECRET_32 = "k" * 40


def run_cli(*args: str) -> str:
    return subprocess.run(
        [sys.executable, "-m", "softphone.signaling.server", *args],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout


async def test_agent_add_prints_a_secret_whose_hash_signs_in(tmp_path: Path) -> None:
    out = await asyncio.to_thread(run_cli, "agent", "add", "dora")
    secret = out.splitlines()[0].rsplit(" ", 1)[1]
    line = out.splitlines()[-1]
    assert len(secret) >= 40 and secret not in line
    path = tmp_path / "server.toml"
    path.write_text(f"[agents]\n{line}\n")
    config = load_config(path, {})
    config.port = 0
    async with SignalingServer(config) as server:
        client = SignalingClient(server.url, "agent", name="dora", token=secret)
        try:
            assert (await client.connect(timeout=5)).name == "dora"
        finally:
            await client.close()
        # A hashed agent needs its name: the secret alone finds no one.
        nameless = SignalingClient(server.url, "agent", token=secret)
        with pytest.raises(SignalingRejected):
            await nameless.connect(timeout=5)
        await nameless.close()


async def test_directory_keeps_no_secret_in_the_clear() -> None:
    directory = AgentDirectory({}, {"eve": "plain-secret"})
    assert "plain-secret" not in repr(vars(directory))
    assert await directory.verify("eve", "plain-secret") == "eve"
    assert await directory.verify(None, "plain-secret") == "eve"  # older agent apps
    assert await directory.verify("eve", "wrong") is None
    assert await directory.verify("nobody", "plain-secret") is None
    with pytest.raises(ValueError, match="agent add"):
        parse_hash("plain-secret")


def test_visitor_token_cli_mints_what_the_server_accepts(tmp_path: Path) -> None:
    path = tmp_path / "server.toml"
    path.write_text(f'[sites.shop]\nsecret = "{SECRET_32}"\norigins = ["https://shop.test"]\n')
    token = run_cli("visitor-token", "--config", str(path), "--site", "shop").strip()
    server = SignalingServer(load_config(path, {}))
    claims = server.sign_in.visitor_tokens.verify(token)
    assert claims is not None and claims.site == "shop" and claims.origin is None


async def hello_verdict(server: SignalingServer, hello: Hello, origin: str | None) -> str:
    kwargs = {"origin": origin} if origin else {}
    async with websockets.connect(server.url, **kwargs) as ws:  # type: ignore[arg-type]
        await ws.send(encode(hello))
        reply = decode(await ws.recv())
        assert isinstance(reply, Welcome | Error)
        return "welcome" if isinstance(reply, Welcome) else reply.code


async def test_bare_site_keys_only_where_the_site_allows_them() -> None:
    config = ServerConfig(
        port=0,
        sites={
            "old": SiteConfig("old", legacy_hello=True),
            "new": SiteConfig("new", self_mint=True),
        },
    )
    async with SignalingServer(config) as server:
        own = f"http://127.0.0.1:{server.port}"

        def bare(key: str) -> Hello:
            return Hello(protocol=PROTOCOL_VERSION, role="visitor", site_key=key)

        assert await hello_verdict(server, bare("old"), own) == "welcome"
        assert await hello_verdict(server, bare("new"), own) == ErrorCode.UNAUTHORIZED
        # No Origin (not a browser): a token is needed, whatever the site allows.
        assert await hello_verdict(server, bare("old"), None) == ErrorCode.UNAUTHORIZED
        # The Python visitor with the self-minting site's key gets a token itself.
        client = SignalingClient(server.url, "visitor", site_key="new")
        try:
            await client.connect(timeout=5)
        finally:
            await client.close()


async def test_welcome_carries_the_reconnect_policy_and_no_credentials() -> None:
    policy = ReconnectPolicy(
        max_attempts=5, attempt_timeout_s=7.0, backoff_s=[0.5], reissue_interval_s=1.5
    )
    config = ServerConfig(
        port=0,
        reconnect=policy,
        ice_servers=[
            IceServer(urls=["stun:127.0.0.1:3478"]),
            IceServer(urls=["turn:127.0.0.1:3478"], username="u", credential="p"),
        ],
    )
    async with SignalingServer(config) as server:
        client = SignalingClient(server.url, "visitor")
        try:
            welcome = await client.connect(timeout=5)
        finally:
            await client.close()
    assert welcome.reconnect == policy
    assert welcome.ice_servers == [IceServer(urls=["stun:127.0.0.1:3478"])]


async def test_a_token_serves_only_its_sites_pages() -> None:
    config = ServerConfig(port=0, sites={"shop": SiteConfig("shop", origins=["https://shop.test"])})
    async with SignalingServer(config) as server:
        token = server.sign_in.visitor_tokens.mint("shop")  # no origin claim: any of the site's
        hello = Hello(protocol=PROTOCOL_VERSION, role="visitor", token=token)
        assert await hello_verdict(server, hello, "https://shop.test") == "welcome"
        assert await hello_verdict(server, hello, "https://evil.test") == ErrorCode.UNAUTHORIZED
        bound = server.sign_in.visitor_tokens.mint("shop", origin="https://shop.test")
        hello = Hello(protocol=PROTOCOL_VERSION, role="visitor", token=bound)
        assert await hello_verdict(server, hello, "https://shop.test") == "welcome"


async def test_a_visitor_with_a_backend_minted_token() -> None:
    config = ServerConfig(port=0, sites={"shop": SiteConfig("shop", secret=SECRET_32)})
    async with SignalingServer(config) as server:
        token = mint_token(SECRET_32, "shop", None, ttl=60)  # what the shop's backend does
        visitor = parse_args(["--server", server.url, "--token", token])
        client = SignalingClient(visitor.server_url, "visitor", token=visitor.token)
        try:
            await client.connect(timeout=5)
        finally:
            await client.close()
        forged = SignalingClient(
            server.url, "visitor", token=mint_token("x" * 40, "shop", None, 60)
        )
        with pytest.raises(SignalingRejected):
            await forged.connect(timeout=5)
        await forged.close()
