"""Configuration from TOML, the environment and flags; the console script really serves."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from softphone.signaling.config import load_config
from softphone.signaling.credentials import hash_secret
from softphone.signaling.protocol import IceServer
from softphone.signaling.server import build_config

ALICE_HASH = hash_secret("ta")
TOML = f"""
host = "127.0.0.1"
port = 9000
site_keys = ["k1"]
origins = ["https://shop.test"]
frame_ancestors = ["https://shop.test"]
[agents]
alice = "{ALICE_HASH}"
[sites.shop]
secret = "shop-secret-0123456789abcdefghijklmnop"
origins = ["https://shop.test"]
self_mint = true
[turn]
secret = "turn-secret"
urls = ["turn:198.18.0.1:3478"]
ttl_s = 60
[[ice_servers]]
urls = ["stun:198.18.0.1:3478"]
[reconnect]
max_attempts = 4
backoff_s = [0.5, 1.0]
[limits]
ring_timeout = 12
restart_cap = 5
wrap_up_s = 0
"""


def test_toml_then_environment(tmp_path: Path) -> None:
    path = tmp_path / "server.toml"
    path.write_text(TOML)
    env = {"SOFTPHONE_AGENT_TOKENS": "bob:tb, carol:tc", "SOFTPHONE_SITE_KEYS": "k2,k3"}
    config = load_config(path, env)
    assert config.agent_hashes == {"alice": ALICE_HASH}
    assert config.agent_tokens == {"bob": "tb", "carol": "tc"}
    assert config.site_keys == ["k1", "k2", "k3"]
    assert set(config.all_sites()) == {"k1", "k2", "k3", "shop"}
    assert config.sites["shop"].origins == ["https://shop.test"] and config.sites["shop"].self_mint
    assert config.ice_servers == [IceServer(["stun:198.18.0.1:3478"])]
    assert config.turn is not None and config.turn.ttl_s == 60
    assert (config.reconnect.max_attempts, config.reconnect.backoff_s) == (4, [0.5, 1.0])
    assert config.reconnect.attempt_timeout_s == 10.0
    assert (config.port, config.ring_timeout, config.restart_cap) == (9000, 12.0, 5)
    assert config.wrap_up_s == 0.0  # after-call work turned off
    assert config.origins == config.frame_ancestors == ["https://shop.test"]


def test_plain_secrets_and_credentials_in_the_file_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "server.toml"
    path.write_text('[agents]\nalice = "s3cret"\n')
    with pytest.raises(ValueError, match="agent add"):
        load_config(path, {})
    path.write_text('[[ice_servers]]\nurls = ["turn:x"]\nusername = "u"\ncredential = "p"\n')
    with pytest.raises(ValueError, match=r"\[turn\]"):
        load_config(path, {})


def test_defaults_hand_out_no_ice_servers() -> None:
    config = load_config(None, {})
    assert config.ice_servers == [] and config.agent_tokens == {}
    assert (config.ring_timeout, config.resume_grace, config.restart_cap) == (30.0, 30.0, 3)
    assert config.wrap_up_s == 30.0
    assert config.max_frame == 64 * 1024


def test_bad_inputs_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="name:token"):
        load_config(None, {"SOFTPHONE_AGENT_TOKENS": "just-a-token"})
    path = tmp_path / "bad.toml"
    path.write_text("[limits]\nring_timout = 3\n")
    with pytest.raises(ValueError, match="ring_timout"):
        load_config(path, {})


def test_flags_override_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "server.toml"
    path.write_text(TOML)
    monkeypatch.delenv("SOFTPHONE_AGENT_TOKENS", raising=False)
    config = build_config(["--config", str(path), "--port", "0", "--ring-timeout", "0.5"])
    assert (config.port, config.ring_timeout, config.restart_cap) == (0, 0.5, 5)


def test_console_script_serves_healthz() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "softphone.signaling.server", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "SOFTPHONE_AGENT_TOKENS": "alice:ta"},
    )
    try:
        assert proc.stdout is not None
        url = re.search(r"ws://(\S+)/ws", proc.stdout.readline())
        assert url, "no listening line"
        with urllib.request.urlopen(f"http://{url.group(1)}/healthz", timeout=5) as response:
            assert response.read() == b"ok\n"  # nothing about sessions or calls
    finally:
        proc.terminate()
        assert proc.wait(10) == 0
