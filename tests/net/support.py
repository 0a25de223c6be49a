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


def signaling(state: str) -> Callable[[Event], bool]:
    return lambda e: e.get("ev") == "signaling" and e.get("state") == state


def before(events: list[Event], moment: float) -> list[Event]:
    return [e for e in events if e["t"] <= moment]


def story(peer: JsonLines, after: int, since: float) -> str:
    """What happened, for a failure message: seconds since ``since``, event, details."""
    kinds = ("log", "call_state", "signaling", "peer_state", "path")
    return "\n".join(
        f"{e['t'] - since:7.2f} {e.get('msg') or e['ev']} {e.get('state') or ''} "
        f"{e.get('attempt') or ''} {e.get('reason') or ''} {e.get('path') or ''}"
        for e in peer.snapshot()[after:]
        if e.get("ev") in kinds
    )


def assert_recovered_on_attempt(agent: JsonLines, mark: int, attempt: int, cut_at: float) -> None:
    """The agent's episode that began after index ``mark`` succeeded on ``attempt`` of 3,
    after exactly attempts 1..``attempt`` (what follows the success is not this episode's:
    docs/networks.md, "Recoveries on attempts 2 and 3")."""
    success = agent.expect(log_event("reconnect.success"), 10.0, "reconnect.success", after=mark)
    timeline = story(agent, mark, cut_at)
    assert success["attempt"] == f"{attempt}/3", timeline
    starts = before(matching(agent, log_event("reconnect.start"), mark), success["t"])
    failed = before(matching(agent, log_event("reconnect.attempt_failed"), mark), success["t"])
    assert [e["attempt"] for e in starts] == [f"{n}/3" for n in range(1, attempt + 1)], timeline
    assert [e["attempt"] for e in failed] == [f"{n}/3" for n in range(1, attempt)], timeline


def assert_signaling_lost_and_back(
    agent: JsonLines, mark: int, cut_at: float, restored_at: float
) -> None:
    """An outage longer than two heartbeats (10 s apart): the agent declared its signaling
    socket dead during it, and signaling came back within 5 s of the restore (the recovery
    itself may come first: the old path answering again is success too)."""
    lost = agent.expect(signaling("reconnecting"), 1.0, "signaling lost", after=mark)
    back = agent.expect(signaling("connected"), 1.0, "signaling back", after=mark)
    assert cut_at < lost["t"] < restored_at < back["t"] < restored_at + 5.0, story(
        agent, mark, cut_at
    )
