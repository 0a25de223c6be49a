"""Helpers shared by the network-fault tests: event predicates and the recovery assertions."""

from __future__ import annotations

from collections.abc import Callable

from labnet.netns import Event, JsonLines, captured_after, is_frame

RUNNER = "labnet.call_runner"
MEDIA_BACK_S = 10.0


def log_event(name: str) -> Callable[[Event], bool]:
    return lambda e: e.get("ev") == "log" and e.get("msg") == name


def call_state(state: str) -> Callable[[Event], bool]:
    return lambda e: e.get("ev") == "call_state" and e.get("state") == state


def matching(lines: JsonLines, predicate: Callable[[Event], bool], after: int = 0) -> list[Event]:
    return [e for e in lines.snapshot()[after:] if predicate(e)]


def frames_from(number: int) -> Callable[[Event], bool]:
    return lambda e: is_frame(e) and e["n"] >= number


def assert_media_back(peers: tuple[JsonLines, JsonLines], since: float) -> None:
    """Frames captured after ``since`` arrive at both ends, and their numbers keep advancing."""
    for peer in peers:
        first = peer.expect(captured_after(since), MEDIA_BACK_S, "media after the fault")
        peer.expect(frames_from(first["n"] + 15), 5.0, "advancing frames")


def assert_one_dtls_handshake(peers: tuple[JsonLines, JsonLines]) -> None:
    """Recovery reuses the DTLS session: no second handshake (docs/architecture.md)."""
    for peer in peers:
        assert len(matching(peer, lambda e: e.get("ev") == "dtls_connected")) == 1, peer.name
