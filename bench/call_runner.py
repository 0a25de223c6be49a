"""Moved to :mod:`labnet.call_runner`. Kept only for tests/browser/agent_runner.py until it
imports ``labnet`` (then delete this file and its import-linter exception)."""

from labnet.call_runner import emit, install_logging, serve_agent

__all__ = ["emit", "install_logging", "serve_agent"]
