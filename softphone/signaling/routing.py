"""Calls: routing a visitor to an agent, ringing, the relay, and the ICE-restart handler.

Pure state plus timers; it talks to clients only through ``Session.deliver`` and answers
a bad request by raising :class:`CallError`, which the connection turns into an error frame.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from dataclasses import dataclass, field
from typing import Literal

import msgspec

from softphone.signaling.protocol import (
    Accepted,
    Answer,
    CallState,
    Candidate,
    ErrorCode,
    Hangup,
    HangupReason,
    NoAgent,
    Offer,
    RestartAnswer,
    RestartOffer,
    Ring,
    Ringing,
    RingTimeout,
    VisitorInfo,
)
from softphone.signaling.sessions import Session, SessionRegistry

log = logging.getLogger(__name__)
Relayed = Offer | Answer | Candidate | RestartOffer | RestartAnswer | CallState | Hangup


class CallError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(eq=False)
class Call:
    id: str
    visitor: Session
    state: Literal["ringing", "live"] = "ringing"
    agent: Session | None = None
    tried: set[str] = field(default_factory=set)
    ring_timer: asyncio.TimerHandle | None = None
    # Restart attempts per party in the current reconnect episode. Re-issued offers of the
    # same attempt (sent periodically while the network is down) and glare don't count twice.
    restart_attempts: dict[str, set[int]] = field(default_factory=dict)

    @property
    def restarts(self) -> int:
        return max((len(a) for a in self.restart_attempts.values()), default=0)

    def peer_of(self, session: Session) -> Session | None:
        return self.agent if session is self.visitor else self.visitor


class Switchboard:
    def __init__(self, sessions: SessionRegistry, ring_timeout: float, restart_cap: int) -> None:
        self.sessions = sessions
        self.ring_timeout = ring_timeout
        self.restart_cap = restart_cap
        self.calls: dict[str, Call] = {}

    # --- routing ------------------------------------------------------------------------

    def request_call(self, visitor: Session, ref: str | None) -> None:
        if visitor.call is not None:
            raise CallError(ErrorCode.ALREADY_IN_CALL, "already in a call")
        call = Call(id=f"c-{secrets.token_urlsafe(12)}", visitor=visitor)
        self.calls[call.id] = call
        visitor.call = call
        visitor.deliver(Ringing(call_id=call.id, ref=ref))
        log.info("signaling.call_requested", extra={"call_id": call.id, "visitor": visitor.id})
        self._ring_next(call)

    def _ring_next(self, call: Call) -> None:
        free = [
            s
            for s in self.sessions.agents()
            if s.available and s.call is None and s.conn is not None and s.id not in call.tried
        ]
        if not free:
            log.info("signaling.no_agent", extra={"call_id": call.id})
            call.visitor.deliver(NoAgent(call_id=call.id))
            self._forget(call)
            return
        agent = min(free, key=lambda s: s.idle_since)  # longest idle first
        call.agent, agent.call = agent, call
        call.tried.add(agent.id)
        loop = asyncio.get_running_loop()
        call.ring_timer = loop.call_later(self.ring_timeout, self._ring_timed_out, call, agent)
        visitor = VisitorInfo(name=call.visitor.name, page=call.visitor.page)
        agent.deliver(Ring(call_id=call.id, visitor=visitor, timeout_s=self.ring_timeout))
        log.info("signaling.ring", extra={"call_id": call.id, "agent": agent.name})

    def _ring_timed_out(self, call: Call, agent: Session) -> None:
        if call.agent is agent and call.state == "ringing":
            agent.deliver(RingTimeout(call_id=call.id))
            self._move_ring_on(call)

    def _move_ring_on(self, call: Call) -> None:
        if call.ring_timer is not None:
            call.ring_timer.cancel()
        if call.agent is not None:
            call.agent.call = None
            call.agent = None
        self._ring_next(call)

    def accept(self, agent: Session, call_id: str) -> None:
        call = self._party_call(agent, call_id)
        if call.state != "ringing":
            raise CallError(ErrorCode.NOT_AVAILABLE, "call is not ringing")
        if call.ring_timer is not None:
            call.ring_timer.cancel()
        call.state = "live"
        call.visitor.deliver(Accepted(call_id=call.id, agent_name=agent.name))
        log.info("signaling.call_live", extra={"call_id": call.id, "agent": agent.name})

    def decline(self, agent: Session, call_id: str) -> None:
        call = self._party_call(agent, call_id)
        if call.state != "ringing":
            raise CallError(ErrorCode.NOT_AVAILABLE, "call is not ringing")
        log.info("signaling.declined", extra={"call_id": call.id, "agent": agent.name})
        self._move_ring_on(call)

    # --- relay and the ICE-restart handler ----------------------------------------------

    def relay(self, sender: Session, msg: Relayed) -> None:
        call = self._party_call(sender, msg.call_id)
        if isinstance(msg, Hangup):
            self.hangup(sender, call, msg.reason)
            return
        if call.state != "live":
            raise CallError(ErrorCode.NOT_AVAILABLE, "call is not live yet")
        if isinstance(msg, RestartOffer | RestartAnswer):
            self._on_restart(sender, call, msg)
        elif isinstance(msg, CallState) and msg.state == "connected" and call.restarts:
            log.info("signaling.reconnected", extra={"call_id": call.id, "restarts": call.restarts})
            call.restart_attempts.clear()
        peer = call.peer_of(sender)
        assert peer is not None
        peer.deliver(msgspec.structs.replace(msg, id=None))

    def _on_restart(self, sender: Session, call: Call, msg: RestartOffer | RestartAnswer) -> None:
        if isinstance(msg, RestartOffer):
            attempts = call.restart_attempts.setdefault(sender.role, set())
            if msg.attempt not in attempts and len(attempts) >= self.restart_cap:
                log.warning(
                    "signaling.ice_restart_refused",
                    extra={"call_id": call.id, "from": sender.role, "attempt": msg.attempt},
                )
                raise CallError(
                    ErrorCode.RESTART_CAP,
                    f"at most {self.restart_cap} ICE restarts per reconnect episode",
                )
            attempts.add(msg.attempt)
        log.info(
            "signaling.ice_restart",
            extra={
                "call_id": call.id,
                "kind": msg.__struct_config__.tag,
                "from": sender.role,
                "attempt": msg.attempt,
                "reason": getattr(msg, "reason", None),
                "count": call.restarts,
            },
        )

    # --- ending calls -------------------------------------------------------------------

    def hangup(self, sender: Session, call: Call, reason: str) -> None:
        if call.state == "ringing" and sender is call.agent:
            self._move_ring_on(call)  # an agent hanging up a ring is a decline
            return
        peer = call.peer_of(sender)
        if peer is not None:
            peer.deliver(Hangup(call_id=call.id, reason=reason))
        self._end(call, reason)

    def session_gone(self, session: Session) -> None:
        """Grace expired (or the session was replaced): the other party learns ``peer-lost``."""
        call = session.call
        if call is None:
            return
        if call.state == "ringing" and session is call.agent:
            self._move_ring_on(call)
        else:
            self.hangup(session, call, HangupReason.PEER_LOST)

    def _end(self, call: Call, reason: str) -> None:
        if call.ring_timer is not None:
            call.ring_timer.cancel()
        if call.agent is not None:
            call.agent.call = None
            if call.state == "live":
                call.agent.idle_since = time.monotonic()
        self._forget(call)
        log.info("signaling.call_ended", extra={"call_id": call.id, "reason": reason})

    def _forget(self, call: Call) -> None:
        call.visitor.call = None
        self.calls.pop(call.id, None)

    def _party_call(self, session: Session, call_id: str) -> Call:
        call = self.calls.get(call_id)
        if call is None:
            raise CallError(ErrorCode.UNKNOWN_CALL, "no such call")
        if session is not call.visitor and session is not call.agent:
            raise CallError(ErrorCode.NOT_IN_CALL, "you are not a party of this call")
        return call

    def close_all(self) -> None:
        for call in self.calls.values():
            if call.ring_timer is not None:
                call.ring_timer.cancel()
