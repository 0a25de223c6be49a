"""Server configuration: defaults, a TOML file, the environment, then command-line flags.

TOML layout (every key optional; docs/security.md explains each limit)::

    host = "127.0.0.1"
    port = 8765
    origins = ["https://shop.example"]      # browser Origins allowed besides the server's own
    frame_ancestors = ["https://shop.example"]  # who may frame /widget/ (CSP)
    no_origin_visitors = "token"            # clients without Origin: "token" | "refuse" | "allow"
    metrics_token = "..."                   # bearer token of /metrics; unset: no /metrics
    call_ticket_secret = "..."              # signs call tickets; the same on every node
    node = "a"                              # this node's name in logs and /metrics
    [cluster]                               # several nodes (docs/scale-out.md)
    redis_url = "redis://10.0.0.5:6379/0"   # unset: one server, state in memory
    heartbeat = 0.25                        # liveness and lease checks, seconds
    lease_ttl = 5.0                         # a hung leader is replaced after this
    [agents]                                # name = hash from `softphone-server agent add NAME`
    alice = "scrypt$16384$8$1$...$..."
    [sites.shop-key]                        # a website: its public site key
    secret = "..."                          # HS256 key its backend signs visitor tokens with
    origins = ["https://shop.example"]
    self_mint = true                        # POST /visitor-token?site_key=shop-key mints one
    legacy_hello = false                    # accept hello{site_key} without a token
    [turn]                                  # per-call TURN REST credentials (coturn
    secret = "..."                          #   use-auth-secret / static-auth-secret)
    urls = ["turn:turn.example:3478"]
    ttl_s = 3600
    [[ice_servers]]                         # credential-less entries only (STUN)
    urls = ["stun:stun.example:3478"]
    [reconnect]                             # the policy every client follows (welcome)
    max_attempts = 3
    [limits]                                # any numeric ServerConfig field, e.g.
    ring_timeout = 30.0

Environment (for tests and quick starts): ``SOFTPHONE_AGENT_TOKENS=name:secret,...``
(plain secrets, hashed in memory at start), ``SOFTPHONE_SITE_KEYS=k1,k2`` (self-minting
sites reachable only from the server's own origin), ``SOFTPHONE_METRICS_TOKEN``,
``SOFTPHONE_CALL_TICKET_SECRET``, ``SOFTPHONE_NODE`` and ``SOFTPHONE_REDIS_URL``.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import msgspec

from softphone.signaling.protocol import IceServer, ReconnectPolicy

NoOriginPolicy = Literal["token", "refuse", "allow"]


@dataclass
class SiteConfig:
    """A website that embeds the widget. Its ``key`` is public (it sits in the page)."""

    key: str
    secret: str = ""  # empty: a random one per process (then only this server mints)
    origins: list[str] = field(default_factory=list)  # empty: only the server's own origin
    self_mint: bool = False
    legacy_hello: bool = False


@dataclass
class TurnConfig:
    secret: str
    urls: list[str]
    ttl_s: int = 3600


@dataclass
class ServerConfig:
    host: str = "127.0.0.1"
    port: int = 8765  # 0 picks a free port; read SignalingServer.port after start()
    # Plain agent secrets (embedding, tests, the environment): hashed in memory at start.
    agent_tokens: dict[str, str] = field(default_factory=dict)
    agent_hashes: dict[str, str] = field(default_factory=dict)  # name -> stored scrypt hash
    sites: dict[str, SiteConfig] = field(default_factory=dict)
    # Shorthand: each key becomes a self-minting site for the server's own origin.
    site_keys: list[str] = field(default_factory=list)  # no site at all: visitors need none
    origins: list[str] = field(default_factory=list)  # empty: any Origin
    no_origin_visitors: NoOriginPolicy = "token"
    frame_ancestors: list[str] = field(default_factory=lambda: ["'self'"])
    metrics_token: str | None = None
    # Signs the call tickets that re-attach live calls after a restart (docs/operations.md);
    # unset: a random one per process, so calls survive only a resume, not a restart.
    call_ticket_secret: str | None = None
    call_ticket_ttl: int = 12 * 3600  # the longest call that can still re-attach
    node: str = ""  # this server's name in logs and /metrics (default: host:port)
    drain_timeout: float = 10.0  # SIGTERM: at most this long telling clients to move
    # Several nodes share state through this Redis (docs/scale-out.md); "": one server.
    redis_url: str = ""
    cluster_heartbeat: float = 0.25  # node liveness key, lease and peer checks
    # The leader lease lapses after this; a dead leader is noticed sooner, by the bus.
    cluster_lease_ttl: float = 5.0
    # Default none: never aiortc's public STUN (docs/architecture.md "Network rules").
    ice_servers: list[IceServer] = field(default_factory=list)
    turn: TurnConfig | None = None
    reconnect: ReconnectPolicy = field(default_factory=ReconnectPolicy)
    tls_cert: str | None = None
    tls_key: str | None = None
    ring_timeout: float = 30.0
    wrap_up_s: float = 30.0  # after-call work: an agent is not rung this long (0: off)
    resume_grace: float = 30.0
    resume_queue: int = 256  # held for a dropped socket (overflow loses the session) and
    # kept as sent for replay on resume (a socket may die before the server notices)
    restart_cap: int = 3  # ICE restarts per reconnect episode of a call
    heartbeat_interval: float = 10.0
    hello_timeout: float = 10.0
    max_frame: int = 64 * 1024
    rate_per_second: float = 50.0
    rate_burst: float = 100.0
    flood_strikes: int = 50  # rejected-for-rate messages before the socket is closed (1008)
    static_dirs: dict[str, str] = field(default_factory=dict)  # URL prefix -> directory
    # --- doors (docs/security.md) ---
    max_connections: int = 4_000  # open sockets in total (bench: 5,000 fit in ~300 MiB)
    max_connections_per_ip: int = 50  # a NAT'ed office still fits
    max_detached_sessions: int = 1_000  # sessions kept for resume after their socket died
    visitor_idle_timeout: float = 600.0  # a visitor without a call is disconnected after it
    visitor_token_ttl: int = 600
    max_waiting: int = 200  # calls in the waiting line
    transfers_per_call: int = 5  # hand-ons of one call (then error transfer_limit)
    queue_timeout: float = 300.0  # a call waits at most this long for an agent
    calls_per_minute_per_ip: int = 6
    calls_per_minute_per_site: int = 300
    waiting_per_ip: int = 2
    waiting_per_site: int = 100
    signin_free_failures: int = 3  # failed sign-ins before the lockout starts doubling
    signin_lockout_max: float = 300.0  # per address; per agent name at most a fifth of it
    tokens_per_minute_per_ip: int = 30  # POST /visitor-token

    def all_sites(self) -> dict[str, SiteConfig]:
        sites = {key: SiteConfig(key, self_mint=True) for key in self.site_keys}
        sites.update(self.sites)
        return sites


_LIMIT_FIELDS = {
    f.name: f.type for f in dataclasses.fields(ServerConfig) if f.type in ("float", "int")
}


def load_config(
    path: str | Path | None = None, env: Mapping[str, str] | None = None
) -> ServerConfig:
    config = ServerConfig()
    if path is not None:
        with open(path, "rb") as fh:
            _apply_toml(config, tomllib.load(fh))
    _apply_env(config, os.environ if env is None else env)
    return config


def _apply_toml(config: ServerConfig, data: dict[str, Any]) -> None:
    from softphone.signaling.credentials import parse_hash  # only the file holds hashes

    for key in ("host", "tls_cert", "tls_key", "metrics_token", "call_ticket_secret", "node"):
        if key in data:
            setattr(config, key, str(data[key]))
    if "port" in data:
        config.port = int(str(data["port"]))
    if "no_origin_visitors" in data:
        policy = str(data["no_origin_visitors"])
        if policy not in ("token", "refuse", "allow"):
            raise ValueError("no_origin_visitors must be 'token', 'refuse' or 'allow'")
        config.no_origin_visitors = policy  # type: ignore[assignment]
    for name, stored in _table(data, "agents").items():
        parse_hash(str(stored))  # a plain secret here is refused: store hashes only
        config.agent_hashes[str(name)] = str(stored)
    for key in ("site_keys", "origins", "frame_ancestors"):
        value = data.get(key)
        if isinstance(value, list):
            if key == "frame_ancestors":
                config.frame_ancestors = []
            getattr(config, key).extend(str(v) for v in value)
    for key, site in _table(data, "sites").items():
        if not isinstance(site, dict):
            raise ValueError(f"[sites.{key}] must be a table")
        if 0 < len(str(site.get("secret", ""))) < 32:
            raise ValueError(f"[sites.{key}] secret: at least 32 characters (HS256 key)")
        config.sites[str(key)] = SiteConfig(
            key=str(key),
            secret=str(site.get("secret", "")),
            origins=[str(o) for o in site.get("origins", [])],
            self_mint=bool(site.get("self_mint", False)),
            legacy_hello=bool(site.get("legacy_hello", False)),
        )
    turn = _table(data, "turn")
    if turn:
        config.turn = TurnConfig(
            secret=str(turn["secret"]),
            urls=[str(u) for u in turn.get("urls", [])],
            ttl_s=int(turn.get("ttl_s", 3600)),
        )
    reconnect = _table(data, "reconnect")
    if reconnect:
        config.reconnect = msgspec.convert(reconnect, ReconnectPolicy)
    servers = data.get("ice_servers", [])
    if isinstance(servers, list):
        for s in servers:
            if isinstance(s, dict):
                if "credential" in s or "username" in s:
                    raise ValueError("[[ice_servers]] take no credentials: use [turn]")
                config.ice_servers.append(IceServer(**s))
    cluster = _table(data, "cluster")
    if "redis_url" in cluster:
        config.redis_url = str(cluster["redis_url"])
    if "heartbeat" in cluster:
        config.cluster_heartbeat = float(cluster["heartbeat"])
    if "lease_ttl" in cluster:
        config.cluster_lease_ttl = float(cluster["lease_ttl"])
    config.static_dirs.update({str(k): str(v) for k, v in _table(data, "static").items()})
    for key, value in _table(data, "limits").items():
        kind = _LIMIT_FIELDS.get(key)
        if kind is None:
            raise ValueError(f"unknown [limits] key {key!r}")
        setattr(config, key, float(value) if kind == "float" else int(value))


def _table(data: dict[str, Any], key: str) -> dict[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise ValueError(f"[{key}] must be a table")
    return value


def _apply_env(config: ServerConfig, env: Mapping[str, str]) -> None:
    for pair in filter(None, env.get("SOFTPHONE_AGENT_TOKENS", "").split(",")):
        name, sep, token = pair.strip().partition(":")
        if not sep or not name or not token:
            raise ValueError("SOFTPHONE_AGENT_TOKENS must be 'name:token,...'")
        config.agent_tokens[name] = token
    config.site_keys.extend(
        k.strip() for k in env.get("SOFTPHONE_SITE_KEYS", "").split(",") if k.strip()
    )
    if env.get("SOFTPHONE_METRICS_TOKEN"):
        config.metrics_token = env["SOFTPHONE_METRICS_TOKEN"]
    if env.get("SOFTPHONE_CALL_TICKET_SECRET"):
        config.call_ticket_secret = env["SOFTPHONE_CALL_TICKET_SECRET"]
    if env.get("SOFTPHONE_NODE"):
        config.node = env["SOFTPHONE_NODE"]
    if env.get("SOFTPHONE_REDIS_URL"):
        config.redis_url = env["SOFTPHONE_REDIS_URL"]
