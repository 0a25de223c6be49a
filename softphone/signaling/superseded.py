"""Which queued messages a late delivery must not carry: the past of a call's recovery.

A restart offer (or answer) sent during an outage is only worth applying while it is the
newest of its call and its episode is still open. Replayed late (a resume after a long
outage, a re-attached call's held messages), older ones made the receiver build one ICE
generation per stale offer and answer them all, and answers to superseded offers restarted
the other side again. So before a replay, a restart offer is dropped when a newer restart
offer of the same call follows it, or the end of its episode does (``call_state
connected``, ``hangup``); the same for restart answers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TypeVar

from softphone.signaling.protocol import CallState, Hangup, Message, RestartAnswer, RestartOffer

T = TypeVar("T")
Key = tuple[str, str]  # (what, call_id)
_OVER = "over"
# A tuple, not ``RestartOffer | RestartAnswer``: that builds a union on every call, and
# this runs for every sequenced message.
RESTARTS = (RestartOffer, RestartAnswer)


def replay_key(msg: Message) -> Key | None:
    """What ``msg`` means to the pruning, or None for messages that always stay."""
    if isinstance(msg, RESTARTS):
        return (msg.__struct_config__.tag, msg.call_id)  # type: ignore[return-value]
    if isinstance(msg, Hangup) or (isinstance(msg, CallState) and msg.state == "connected"):
        return (_OVER, msg.call_id)
    return None


def drop_superseded(items: Iterable[T], key_of: Callable[[T], Key | None]) -> list[T]:
    """``items`` in order without the restart messages something later made moot."""
    kept: list[T] = []
    later: set[Key] = set()
    for item in reversed(list(items)):
        key = key_of(item)
        if key is not None:
            what, call_id = key
            if what != _OVER and (key in later or (_OVER, call_id) in later):
                continue
            later.add(key)
        kept.append(item)
    kept.reverse()
    return kept
