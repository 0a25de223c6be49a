from __future__ import annotations

import logging
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from softphone.settings import Settings, load_settings, merge_overrides


def test_missing_file_gives_defaults(tmp_path: Path) -> None:
    assert load_settings(tmp_path / "nope.toml") == Settings()


def test_valid_file_is_loaded(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(
        'server_url = "wss://calls.example.test/ws"\nagent_name = "Ada"\n'
        "history_max_calls = 50\n"
        "[reconnect]\nmax_attempts = 5\nbackoff_s = [0.5, 1.0]\n"
        '[[ice_servers]]\nurls = ["stun:127.0.0.1:3478"]\n'
    )
    loaded = load_settings(path)
    assert loaded.server_url == "wss://calls.example.test/ws"
    assert loaded.agent_name == "Ada"
    assert loaded.reconnect.max_attempts == 5
    assert loaded.reconnect.backoff_s == [0.5, 1.0]
    assert loaded.ice_servers[0].urls == ["stun:127.0.0.1:3478"]
    assert loaded.reconnect.attempt_timeout_s == 10.0  # untouched default
    assert loaded.history_max_calls == 50
    assert Settings().history_max_calls == 1000


@pytest.mark.parametrize(
    "content",
    [
        "this is [not toml",
        'unknown_key = "x"\n',
        "[reconnect]\nmax_attempts = 0\n",  # out of bounds
        "history_max_calls = 0\n",
        'log_level = "LOUD"\n',
        'language = "de_DE; rm -rf /"\n',  # a language is a bare code: "de", or "" (system)
        'language = "../../etc/passwd"\n',
        'call_shortcuts = "everywhere"\n',  # window, app or system
        "app_wide_call_shortcuts = true\n",  # the old name: warned about, never migrated
        b"\xff\xfe\x00binary",
    ],
)
def test_bad_file_warns_and_falls_back_to_defaults(
    tmp_path: Path, content: str | bytes, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "config.toml"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    before = path.read_bytes()
    with caplog.at_level(logging.WARNING):
        loaded = load_settings(path)
    assert loaded == Settings()
    assert any(r.getMessage().startswith("settings.invalid") for r in caplog.records)
    assert path.read_bytes() == before  # never destroy the agent's file


def test_language_is_a_code_or_empty(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('language = "de"\n')
    assert load_settings(path).language == "de"
    assert Settings().language == ""  # follow the system


def test_call_shortcuts_default_to_the_main_window(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('call_shortcuts = "system"\n')
    assert load_settings(path).call_shortcuts == "system"
    assert Settings().call_shortcuts == "window"  # system-wide keys are off by default


def test_cli_overrides_win_and_none_means_not_given() -> None:
    base = Settings(server_url="ws://127.0.0.1:1/ws", log_level="WARNING")
    merged = merge_overrides(base, log_level="DEBUG", server_url=None)
    assert merged.log_level == "DEBUG"
    assert merged.server_url == "ws://127.0.0.1:1/ws"


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_arbitrary_bytes_never_crash_loading(
    tmp_path_factory: pytest.TempPathFactory, data: bytes
) -> None:
    path = tmp_path_factory.mktemp("cfg") / "config.toml"
    path.write_bytes(data)
    assert isinstance(load_settings(path), Settings)
