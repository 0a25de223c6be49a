"""Moved to :mod:`softphone.call.reconnect`; this alias keeps the UI branch importing until
it is merged (then delete this file: softphone/ui/shell.py, tests/ui, scripts use it)."""

from softphone.call.reconnect import ReconnectFailure, ReconnectPolicy
from softphone.call.state import CallState as ReconnectState

__all__ = ["ReconnectFailure", "ReconnectPolicy", "ReconnectState"]
