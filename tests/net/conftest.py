"""Fixtures for real network-fault tests: a fresh namespace topology per test, always cleaned up.

The topology itself lives in ``labnet/netns.py``, shared with ``bench/reconnect.py``.
Tests here carry ``@pytest.mark.netns``; the root conftest skips them unless root.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from labnet.netns import (
    JsonLines,
    Topology,
    can_create_namespaces,
    start_call,
    start_signaling,
    sweep_stale,
)
from tests.net.support import RUNNER


@pytest.fixture(scope="session", autouse=True)
def _sweep_stale_namespaces() -> None:
    """A crashed earlier run must not leave namespaces (or their processes) behind."""
    if os.geteuid() == 0:
        sweep_stale()


@pytest.fixture
def topo() -> Iterator[Topology]:
    if not can_create_namespaces():
        pytest.fail("`ip netns` does not work here although we are root")
    with Topology() as topology:
        yield topology


@pytest.fixture
def server(topo: Topology) -> JsonLines:
    return start_signaling(topo)


@pytest.fixture
def call(topo: Topology, server: JsonLines) -> tuple[JsonLines, JsonLines]:
    """Agent and visitor runners in a call with video flowing both ways."""
    return start_call(topo, RUNNER)
