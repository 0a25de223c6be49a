"""Configuration from TOML, the environment and flags; the console script really serves."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from softphone.signaling.config import load_config
from softphone.signaling.protocol import IceServer
from softphone.signaling.server import build_config

TOML = """
host = "127.0.0.1"
port = 9000
site_keys = ["k1"]
origins = ["https://shop.test"]
[agents]
alice = "ta"
[[ice_servers]]
urls = ["turn:198.18.0.1:3478"]
username = "u"
credential = "p"
[limits]
ring_timeout = 12
restart_cap = 5
"""


def test_toml_then_environment(tmp_path: Path) -> None:
    path = tmp_path / "server.toml"
    path.write_text(TOML)
    env = {"SOFTPHONE_AGENT_TOKENS": "bob:tb, carol:tc", "SOFTPHONE_SITE_KEYS": "k2,k3"}
    config = load_config(path, env)
    assert config.agent_tokens == {"alice": "ta", "bob": "tb", "carol": "tc"}
    assert config.site_keys == ["k1", "k2", "k3"]
    assert config.ice_servers == [IceServer(["turn:198.18.0.1:3478"], "u", "p")]
    assert (config.port, config.ring_timeout, config.restart_cap) == (9000, 12.0, 5)
    assert config.origins == ["https://shop.test"]


def test_defaults_hand_out_no_ice_servers() -> None:
    config = load_config(None, {})
    assert config.ice_servers == [] and config.agent_tokens == {}
    assert (config.ring_timeout, config.resume_grace, config.restart_cap) == (30.0, 30.0, 3)
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
            assert json.loads(response.read())["status"] == "ok"
    finally:
        proc.terminate()
        assert proc.wait(10) == 0
