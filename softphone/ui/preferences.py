"""What the agent chose in the GUI, remembered in QSettings: sign-in, availability,
preferred devices, reconnect policy. The token is stored, but never logged or shown."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from urllib.parse import urlparse

import msgspec
from PySide6.QtCore import QSettings

from softphone.settings import (
    LANGUAGE_PATTERN,
    CallShortcuts,
    MediaSettings,
    ReconnectSettings,
)
from softphone.ui.i18n import translate

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SignIn:
    server_url: str
    agent_name: str
    token: str = field(repr=False)


def validate_sign_in(server_url: str, agent_name: str, token: str) -> list[str]:
    """Problems that make signing in pointless; empty when the form may be submitted."""
    problems = []
    url = urlparse(server_url.strip())
    if url.scheme not in ("ws", "wss") or not url.hostname:
        problems.append(
            translate(
                "Preferences", "Server address must look like wss://host/ws (or ws:// for tests)."
            )
        )
    if not agent_name.strip():
        problems.append(translate("Preferences", "Enter your agent name."))
    if not token.strip():
        problems.append(translate("Preferences", "Enter your access token."))
    return problems


def parse_reconnect(
    max_attempts: int, attempt_timeout_s: float, backoff_text: str
) -> tuple[ReconnectSettings | None, str]:
    """The policy from the form, checked against settings.py's own bounds."""
    try:
        backoff = [
            float(part) for part in backoff_text.replace(";", ",").split(",") if part.strip()
        ]
    except ValueError:
        return None, translate("Preferences", "Backoff must be a list of seconds, e.g. 1, 2.")
    if not backoff:
        return None, translate("Preferences", "Give at least one backoff value, e.g. 1, 2.")
    raw = {
        "max_attempts": max_attempts,
        "attempt_timeout_s": attempt_timeout_s,
        "backoff_s": backoff,
    }
    try:
        return msgspec.convert(raw, ReconnectSettings), ""
    except msgspec.ValidationError as exc:
        return None, translate("Preferences", "Reconnect policy out of range: {error}").format(
            error=exc
        )


class Preferences:
    def __init__(self, store: QSettings | None = None) -> None:
        self.store = store or QSettings("Softphone", "Softphone")

    def sign_in(self) -> SignIn | None:
        values = [
            str(self.store.value(f"signin/{key}", "") or "") for key in ("url", "name", "token")
        ]
        if validate_sign_in(*values):
            return None
        return SignIn(*values)

    def save_sign_in(self, sign_in: SignIn) -> None:
        self.store.setValue("signin/url", sign_in.server_url)
        self.store.setValue("signin/name", sign_in.agent_name)
        self.store.setValue("signin/token", sign_in.token)
        self.store.sync()
        log.info("ui.sign_in_saved", extra={"server_url": sign_in.server_url})

    def available(self) -> bool:
        return str(self.store.value("agent/available", "true")) == "true"

    def save_available(self, available: bool) -> None:
        self.store.setValue("agent/available", "true" if available else "false")

    def language(self, default: str) -> str:
        """The language chosen in the settings dialog ("" follows the system)."""
        chosen = str(self.store.value("ui/language", default) or "")
        return chosen if re.match(LANGUAGE_PATTERN, chosen) else ""

    def save_language(self, language: str) -> None:
        self.store.setValue("ui/language", language)
        self.store.sync()

    def call_shortcuts(self, default: CallShortcuts) -> CallShortcuts:
        """Where answer, hang up and mute work, as chosen in the settings dialog."""
        chosen = str(self.store.value("ui/call_shortcuts", default) or "")
        try:
            return msgspec.convert(chosen, CallShortcuts)
        except msgspec.ValidationError:
            return default

    def save_call_shortcuts(self, scope: CallShortcuts) -> None:
        self.store.setValue("ui/call_shortcuts", scope)
        self.store.sync()

    def media(self, defaults: MediaSettings) -> MediaSettings:
        chosen = {
            role: str(self.store.value(f"devices/{role}", getattr(defaults, role)) or "")
            for role in ("camera", "microphone", "speaker", "ringer")
        }
        return msgspec.structs.replace(defaults, **chosen)

    def save_media(self, media: MediaSettings) -> None:
        for role in ("camera", "microphone", "speaker", "ringer"):
            self.store.setValue(f"devices/{role}", getattr(media, role))
        self.store.sync()

    def reconnect(self, defaults: ReconnectSettings) -> ReconnectSettings:
        raw = self.store.value("reconnect/policy", "")
        if not raw:
            return defaults
        try:
            return msgspec.json.decode(str(raw).encode(), type=ReconnectSettings)
        except msgspec.ValidationError:
            return defaults

    def save_reconnect(self, policy: ReconnectSettings) -> None:
        self.store.setValue("reconnect/policy", msgspec.json.encode(policy).decode())
        self.store.sync()
