"""Real signaling servers killed and restarted under a real call (namespaces, labnet)."""

from tests.net.conftest import _sweep_stale_namespaces, topo

__all__ = ["_sweep_stale_namespaces", "topo"]
