"""Moved to :mod:`labnet.netns`. Kept only for tests/browser and bench/browser_reconnect.py
until they import ``labnet`` (then delete this file and its import-linter exceptions)."""

from labnet.netns import (
    AGENT_TOKEN,
    SERVER_PORT,
    JsonLines,
    Side,
    Topology,
    can_create_namespaces,
    run,
    signaling_url,
    start_signaling,
    sweep_stale,
)

__all__ = [
    "AGENT_TOKEN",
    "SERVER_PORT",
    "JsonLines",
    "Side",
    "Topology",
    "can_create_namespaces",
    "run",
    "signaling_url",
    "start_signaling",
    "sweep_stale",
]
