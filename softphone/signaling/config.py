"""Server configuration: defaults, a TOML file, the environment, then command-line flags.

TOML layout (every key optional)::

    host = "127.0.0.1"
    port = 8765
    origins = ["https://shop.example"]      # Origin allowlist for browser visitors
    site_keys = ["k1"]
    [agents]                                # agent name = token
    alice = "s3cret"
    [[ice_servers]]
    urls = ["turn:turn.example:3478"]
    username = "u"
    credential = "p"
    [limits]                                # any ServerConfig field, e.g.
    ring_timeout = 30.0
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from softphone.signaling.protocol import IceServer


@dataclass
class ServerConfig:
    host: str = "127.0.0.1"
    port: int = 8765  # 0 picks a free port; read SignalingServer.port after start()
    agent_tokens: dict[str, str] = field(default_factory=dict)  # name -> token
    site_keys: list[str] = field(default_factory=list)  # empty: visitors need no key
    origins: list[str] = field(default_factory=list)  # empty: any Origin
    # Default none: never aiortc's public STUN (docs/architecture.md "Network rules").
    ice_servers: list[IceServer] = field(default_factory=list)
    tls_cert: str | None = None
    tls_key: str | None = None
    ring_timeout: float = 30.0
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


def _apply_toml(config: ServerConfig, data: dict[str, object]) -> None:
    for key in ("host", "tls_cert", "tls_key"):
        if key in data:
            setattr(config, key, str(data[key]))
    if "port" in data:
        config.port = int(str(data["port"]))
    agents = data.get("agents", {})
    if isinstance(agents, dict):
        config.agent_tokens.update({str(k): str(v) for k, v in agents.items()})
    for key in ("site_keys", "origins"):
        value = data.get(key, [])
        if isinstance(value, list):
            getattr(config, key).extend(str(v) for v in value)
    servers = data.get("ice_servers", [])
    if isinstance(servers, list):
        config.ice_servers.extend(IceServer(**s) for s in servers if isinstance(s, dict))
    static = data.get("static", {})
    if isinstance(static, dict):
        config.static_dirs.update({str(k): str(v) for k, v in static.items()})
    limits = data.get("limits", {})
    if isinstance(limits, dict):
        for key, value in limits.items():
            kind = _LIMIT_FIELDS.get(key)
            if kind is None:
                raise ValueError(f"unknown [limits] key {key!r}")
            setattr(config, key, float(value) if kind == "float" else int(value))


def _apply_env(config: ServerConfig, env: Mapping[str, str]) -> None:
    for pair in filter(None, env.get("SOFTPHONE_AGENT_TOKENS", "").split(",")):
        name, sep, token = pair.strip().partition(":")
        if not sep or not name or not token:
            raise ValueError("SOFTPHONE_AGENT_TOKENS must be 'name:token,...'")
        config.agent_tokens[name] = token
    config.site_keys.extend(
        k.strip() for k in env.get("SOFTPHONE_SITE_KEYS", "").split(",") if k.strip()
    )
