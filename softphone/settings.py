"""Typed application settings: a TOML file in the platform config folder, merged with CLI flags.

A broken settings file must never stop an agent from taking calls, so any parse or validation
problem falls back to defaults with a logged warning (the file itself is left untouched).
"""

from __future__ import annotations

import logging
import tomllib
from pathlib import Path
from typing import Annotated, Literal

import msgspec
import platformdirs

log = logging.getLogger(__name__)

APP_NAME = "softphone"

LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR"]
LogFormat = Literal["text", "json"]
# Where answer, hang up and mute work: the main window, every window of the app, or the whole
# desktop while another application has the focus (docs/agent-flows.md "Shortcuts").
CallShortcuts = Literal["window", "app", "system"]
# A UI language code ("de"); empty follows the system's language.
LANGUAGE_PATTERN = r"^([a-z]{2,3})?$"
Language = Annotated[str, msgspec.Meta(pattern=LANGUAGE_PATTERN)]


class IceServer(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """A STUN/TURN server; none are used unless configured (never aiortc's public default)."""

    urls: list[str]
    username: str | None = None
    credential: str | None = None


class ReconnectSettings(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """Automatic ICE-restart policy (docs/architecture.md "The recovery flow")."""

    max_attempts: Annotated[int, msgspec.Meta(ge=1, le=10)] = 3
    attempt_timeout_s: Annotated[float, msgspec.Meta(ge=1.0, le=60.0)] = 10.0
    backoff_s: list[Annotated[float, msgspec.Meta(ge=0.0, le=30.0)]] = msgspec.field(
        default_factory=lambda: [1.0, 2.0]
    )


class MediaSettings(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """Preferred devices by id; empty means the system default."""

    camera: str = ""
    microphone: str = ""
    speaker: str = ""
    ringer: str = ""
    video_width: Annotated[int, msgspec.Meta(ge=160, le=1920)] = 640
    video_height: Annotated[int, msgspec.Meta(ge=120, le=1080)] = 360
    video_fps: Annotated[int, msgspec.Meta(ge=5, le=60)] = 30


class Settings(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """Everything configurable; defaults are what a fresh install uses."""

    server_url: str = ""
    agent_name: str = ""
    log_level: LogLevel = "INFO"
    log_format: LogFormat = "text"
    ice_servers: list[IceServer] = msgspec.field(default_factory=list)
    # Pins ICE host candidates (loopback allowed); empty means every interface.
    ice_host_allowlist: list[str] = msgspec.field(default_factory=list)
    reconnect: ReconnectSettings = msgspec.field(default_factory=ReconnectSettings)
    media: MediaSettings = msgspec.field(default_factory=MediaSettings)
    start_minimized: bool = False
    language: Language = ""
    # Calls kept in the local history; older ones are dropped (docs/history.md "Privacy").
    history_max_calls: Annotated[int, msgspec.Meta(ge=1, le=100_000)] = 1000
    # An XDG autostart entry starts the app at login (softphone.autostart); off by default.
    start_with_session: bool = False
    # Answer, hang up and mute beyond the main window: "app" (every window of the app) or
    # "system" (X11, Windows, macOS; not Wayland); the settings dialog's choice wins.
    call_shortcuts: CallShortcuts = "window"


def default_config_path() -> Path:
    return Path(platformdirs.user_config_dir(APP_NAME)) / "config.toml"


def default_log_dir() -> Path:
    return Path(platformdirs.user_log_dir(APP_NAME))


def load_settings(path: Path | None = None) -> Settings:
    """Read the TOML file; a missing file is normal, a bad one warns and yields defaults."""
    path = path or default_config_path()
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return Settings()
    except OSError as exc:
        log.warning("settings.unreadable", extra={"path": str(path), "reason": str(exc)})
        return Settings()
    try:
        data = tomllib.loads(raw.decode("utf-8"))
        return msgspec.convert(data, Settings)
    except (tomllib.TOMLDecodeError, UnicodeDecodeError, msgspec.ValidationError) as exc:
        log.warning(
            "settings.invalid: using defaults",
            extra={"path": str(path), "reason": str(exc)},
        )
        return Settings()


def merge_overrides(settings: Settings, **overrides: object) -> Settings:
    """Apply CLI flags that were given (``None`` means "not given") on top of the file."""
    given = {k: v for k, v in overrides.items() if v is not None}
    if not given:
        return settings
    merged = msgspec.to_builtins(settings)
    merged.update(given)
    return msgspec.convert(merged, Settings)
