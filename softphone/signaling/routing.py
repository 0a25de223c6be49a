"""Calls: the waiting line, ringing, the relay, and the ICE-restart handler.

The switchboard owns who is available and who is in which call: sessions only carry
messages. Visitors wait in one first-come line (``queued`` tells each its place); an agent
rings for one visitor at a time, longest-idle agent first; a caller whose socket is gone
stops ringing at once (an unanswered call gets no grace). An away agent never rings; one
whose call just ended is in wrap-up (after-call work) for ``wrap_up_s`` or until it says
it is ready, and does not ring either. Each door has a limit: call
requests per minute and waiting calls per address and per site, and the line's length.

A live call survives a server that forgot it: each party holds a signed ticket (issued
here when the call goes live) and re-attaches with it from a fresh session; the call is
rebuilt from the parties as they come, and what one sends before the other is back waits
for it (without the restart messages a newer one made moot, :mod:`.superseded`).

Pure state plus timers; it talks to clients only through ``Session.deliver`` and answers
a bad request by raising :class:`CallError`, which the connection turns into an error frame.
"""

from __future__ import annotations

import asyncio
import bisect
import logging
import secrets
import time
from dataclasses import dataclass, field
from typing import Literal

import msgspec

from softphone.signaling.call_tickets import CallTicket, CallTickets
from softphone.signaling.cluster.store import WaitingEntry
from softphone.signaling.config import ServerConfig
from softphone.signaling.metrics import ServerMetrics
from softphone.signaling.protocol import (
    Accepted,
    Answer,
    CallState,
    CallTicketMsg,
    Candidate,
    Consult,
    Consulting,
    ErrorCode,
    Hangup,
    HangupReason,
    Hold,
    NoAgent,
    Offer,
    Queue,
    Queued,
    Reattached,
    RestartAnswer,
    RestartOffer,
    Ring,
    Ringing,
    RingTimeout,
    Transfer,
    TransferInfo,
    Transferred,
    Transferring,
    VisitorInfo,
    WrapUp,
)
from softphone.signaling.sessions import Session
from softphone.signaling.superseded import RESTARTS, drop_superseded, replay_key
from softphone.signaling.throttle import RateWindow
from softphone.signaling.turn import turn_credentials

log = logging.getLogger(__name__)
Relayed = Offer | Answer | Candidate | RestartOffer | RestartAnswer | CallState | Hangup | Hold
HELD_LIMIT = 64  # messages kept for a party not yet re-attached
ENDED_REMEMBERED = 10_000  # ended call ids: their tickets no longer re-attach here


class CallError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(eq=False)
class Call:
    id: str
    visitor: Session | None  # None only in a rebuilt call the visitor has not re-attached to
    state: Literal["waiting", "ringing", "live"] = "waiting"
    agent: Session | None = None
    # A rebuilt call: who the parties are (from the tickets), what waits for the absent one,
    # and the timer that ends the call if it never comes back.
    agent_name: str = ""
    held: list[Relayed] = field(default_factory=list)
    rejoin_timer: asyncio.TimerHandle | None = None
    tried: set[str] = field(default_factory=set)
    ring_timer: asyncio.TimerHandle | None = None
    queued_at: float = field(default_factory=time.monotonic)
    patient_until: float = 0.0  # put back after a failover: waits this long for agents
    rang_at: float = 0.0
    position: int = 0  # the place last told to the visitor (0: not waiting)
    # Restart attempts per party in the current reconnect episode. Re-issued offers of the
    # same attempt (sent periodically while the network is down) and glare don't count twice.
    restart_attempts: dict[str, set[int]] = field(default_factory=dict)
    transfer: TransferInfo | None = None  # the last hand-on: told to whoever rings next
    transfers: int = 0
    # A consult (warm transfer) call: the visitor's call it is about; its "visitor" is the
    # consulting agent. On the visitor's call: the consult in progress.
    consult_for: Call | None = None
    consult: Call | None = None

    @property
    def caller(self) -> Session:
        """The visitor of a call in the line or ringing (those always have one)."""
        assert self.visitor is not None, "only a rebuilt live call lacks its visitor"
        return self.visitor

    @property
    def restarts(self) -> int:
        return max((len(a) for a in self.restart_attempts.values()), default=0)

    def peer_of(self, session: Session) -> Session | None:
        return self.agent if session is self.visitor else self.visitor


class Switchboard:
    def __init__(self, config: ServerConfig, tickets: CallTickets, metrics: ServerMetrics) -> None:
        self.config = config
        self.tickets = tickets
        self.metrics = metrics
        self._ended: dict[str, None] = {}  # insertion-ordered set, at most ENDED_REMEMBERED
        self.calls: dict[str, Call] = {}
        self.waiting: list[Call] = []  # first come, first served
        self._call_of: dict[Session, Call] = {}
        self._agents: dict[Session, float | None] = {}  # signed-in agent -> idle since (None: away)
        self._wrapping: dict[Session, asyncio.TimerHandle] = {}  # agent -> end of its wrap-up
        self._calls_per_ip = RateWindow(config.calls_per_minute_per_ip)
        self._calls_per_site = RateWindow(config.calls_per_minute_per_site)
        self._queue_told: tuple[int, int] = (0, 0)  # what agents last heard: waiting, longest
        self._sweeper: asyncio.TimerHandle | None = None

    # --- membership and availability ----------------------------------------------------

    def call_of(self, session: Session) -> Call | None:
        return self._call_of.get(session)

    def agent_signed_in(self, agent: Session) -> None:
        self._agents[agent] = time.monotonic()  # available is the state after sign-in
        self._dispatch()
        waiting, longest = self._queue_told
        if waiting and agent not in self._call_of:  # the line as it stands, not only news
            agent.deliver(Queue(waiting=waiting, longest_wait_s=float(longest)))

    def set_presence(self, agent: Session, available: bool, reason: str | None = None) -> None:
        """Away, or available again; available during wrap-up is "Ready" and ends it."""
        log.info(
            "signaling.presence",
            extra={"agent": agent.name, "available": available, "reason": reason},
        )
        self._end_wrap_up(agent)
        if agent.away != (not available):
            agent.away = not available
            agent.save()
        if not available:
            self._agents[agent] = None
            return
        if self._agents.get(agent) is None:
            self._agents[agent] = time.monotonic()
        self._dispatch()

    def is_available(self, agent: Session) -> bool:
        """Signed in and not away (busy or wrapping up or not)."""
        return self._agents.get(agent) is not None

    def _start_wrap_up(self, agent: Session, call: Call) -> None:
        seconds = self.config.wrap_up_s
        loop = asyncio.get_running_loop()
        self._wrapping[agent] = loop.call_later(seconds, self._wrap_up_over, agent)
        agent.deliver(WrapUp(call_id=call.id, seconds=seconds))

    def _wrap_up_over(self, agent: Session) -> None:
        if self._wrapping.pop(agent, None) is not None:
            self._dispatch()

    def _end_wrap_up(self, agent: Session) -> None:
        timer = self._wrapping.pop(agent, None)
        if timer is not None:
            timer.cancel()

    def _free(self, agent: Session) -> bool:
        """Could be rung now: signed in with a socket, available, not in a call or wrap-up."""
        return (
            self._agents.get(agent) is not None
            and agent.conn is not None
            and agent not in self._call_of
            and agent not in self._wrapping
        )

    def free_agents(self, asking: Session) -> list[str]:
        """Who could take a transfer from ``asking`` now, by name."""
        return sorted(a.name for a in self._agents if a is not asking and self._free(a))

    def agent_in_live_call(self, agent: Session) -> bool:
        call = self._call_of.get(agent)
        return call is not None and call.state == "live"

    def reattached(self, session: Session) -> None:
        """A session has a socket again (resume): an agent may take calls again."""
        if session.role == "agent":
            self._dispatch()

    def socket_gone(self, session: Session) -> bool:
        """The session's socket died. Ringing stops at once; returns whether the session
        is worth keeping for a resume (agents, and the parties of a live call)."""
        call = self._call_of.get(session)
        if call is not None and call.state != "live":
            if session is call.visitor:
                log.info("signaling.caller_gone", extra={"call_id": call.id})
                self.hangup(session, call, HangupReason.CANCELLED)
            else:
                self._move_ring_on(call)
        return session.role == "agent" or self.call_of(session) is not None

    def session_gone(self, session: Session) -> None:
        """Grace expired (or the session was replaced): the other party learns ``peer-lost``."""
        self._agents.pop(session, None)
        self._end_wrap_up(session)
        call = self._call_of.get(session)
        if call is not None:
            if call.state == "ringing" and session is call.agent:
                self._move_ring_on(call)
            else:
                self.hangup(session, call, HangupReason.PEER_LOST)
        self._tell_agents()

    # --- the waiting line ---------------------------------------------------------------

    def request_call(self, visitor: Session, ref: str | None) -> None:
        cfg = self.config
        if visitor in self._call_of:
            raise CallError(ErrorCode.ALREADY_IN_CALL, "already in a call")
        waiting_here = sum(c.caller.peer_ip == visitor.peer_ip for c in self.waiting)
        waiting_site = sum(c.caller.site == visitor.site for c in self.waiting)
        if waiting_here >= cfg.waiting_per_ip or waiting_site >= cfg.waiting_per_site:
            raise CallError(ErrorCode.TOO_MANY_CALLS, "too many calls waiting from here")
        if len(self.waiting) >= cfg.max_waiting:
            raise CallError(ErrorCode.QUEUE_FULL, "every line is busy, try again later")
        if not self._calls_per_ip.allow(visitor.peer_ip) or not self._calls_per_site.allow(
            visitor.site
        ):
            log.warning(
                "signaling.call_rate_limited", extra={"session": visitor.id, "site": visitor.site}
            )
            raise CallError(ErrorCode.RATE_LIMITED, "too many call requests, wait a minute")
        call = Call(id=f"c-{secrets.token_urlsafe(12)}", visitor=visitor)
        self.calls[call.id] = call
        self._call_of[visitor] = call
        self.waiting.append(call)
        call.position = len(self.waiting)
        self._hold_place(call)
        visitor.deliver(Queued(call_id=call.id, position=call.position, ref=ref))
        log.info("signaling.call_requested", extra={"call_id": call.id, "visitor": visitor.id})
        self._arm_sweeper()
        self._dispatch()

    def requeue(self, visitor: Session, entry: WaitingEntry) -> None:
        """A restored visitor's call back in the line (the node that held the line died),
        in its place by ``queued_at``; one that was ringing waits again and rings anew. The
        agents are resuming too: it waits ``resume_grace`` for them before "no agent"."""
        if entry.call_id in self.calls or entry.call_id in self._ended or visitor in self._call_of:
            raise CallError(ErrorCode.UNKNOWN_CALL, "the call has ended")
        now = time.monotonic()
        call = Call(
            id=entry.call_id,
            visitor=visitor,
            queued_at=now - max(0.0, time.time() - entry.queued_at),
            patient_until=now + self.config.resume_grace,
            transfer=entry.transfer,
            transfers=entry.transfers,
            tried=set(entry.tried),
        )
        self.calls[call.id] = call
        self._call_of[visitor] = call
        bisect.insort(self.waiting, call, key=lambda c: c.queued_at)
        log.info("signaling.call_requeued", extra={"call_id": call.id, "visitor": visitor.id})
        self._arm_sweeper()
        self._dispatch()

    def _hold_place(self, call: Call) -> None:
        """The caller keeps its place in the line, for a restore on another node."""
        queued_at = time.time() - (time.monotonic() - call.queued_at)
        call.caller.hold_place(
            WaitingEntry(
                call_id=call.id,
                queued_at=queued_at,
                transfer=call.transfer,
                transfers=call.transfers,
                tried=tuple(sorted(call.tried)),
            )
        )

    def _dispatch(self) -> None:
        """Ring a free agent for each waiting call that has one, in line order; end calls
        nobody can take; then tell everyone what changed."""
        now = time.monotonic()
        for call in list(self.waiting):
            candidates = [
                a
                for a, idle in self._agents.items()
                if idle is not None and a.conn is not None and a.id not in call.tried
            ]
            patient = not candidates and now < call.patient_until  # its agents come back
            timed_out = now - call.queued_at > self.config.queue_timeout
            if (not candidates and not patient) or timed_out:
                reason = "queue-timeout" if candidates else "no-agent-available"
                log.info("signaling.no_agent", extra={"call_id": call.id, "reason": reason})
                call.caller.deliver(NoAgent(call_id=call.id, reason=reason))
                self._forget(call)
                continue
            # An agent in wrap-up will take calls soon: the call waits for it.
            free = [a for a in candidates if self._free(a)]
            if free:
                self._ring(call, min(free, key=lambda a: self._agents[a] or now))
        for place, call in enumerate(self.waiting, 1):
            if call.position != place:
                call.position = place
                call.caller.deliver(Queued(call_id=call.id, position=place))
        self._tell_agents()

    def _ring(self, call: Call, agent: Session) -> None:
        self.waiting.remove(call)
        call.state, call.agent, call.position = "ringing", agent, 0
        call.rang_at = time.monotonic()
        if not call.tried:  # the first ring: how long the line kept the caller
            self.metrics.ring_seconds.labels(self.metrics.node).observe(
                call.rang_at - call.queued_at
            )
        self._call_of[agent] = call
        call.tried.add(agent.id)
        timeout = self.config.ring_timeout
        loop = asyncio.get_running_loop()
        call.ring_timer = loop.call_later(timeout, self._ring_timed_out, call, agent)
        visitor = VisitorInfo(name=call.caller.name, page=call.caller.page)
        ice = turn_credentials(self.config.turn, f"{call.id}-agent")
        agent.deliver(
            Ring(
                call_id=call.id,
                visitor=visitor,
                timeout_s=timeout,
                ice_servers=ice,
                transfer=call.transfer,
            )
        )
        call.caller.deliver(Ringing(call_id=call.id))
        log.info("signaling.ring", extra={"call_id": call.id, "agent": agent.name})

    def _ring_timed_out(self, call: Call, agent: Session) -> None:
        if call.agent is agent and call.state == "ringing":
            agent.deliver(RingTimeout(call_id=call.id))
            self._move_ring_on(call)

    def _move_ring_on(self, call: Call) -> None:
        """The ringing agent is out (declined, timed out, gone): the call goes back to the
        front of the line and the next free agent rings (a consult call just ends)."""
        if call.ring_timer is not None:
            call.ring_timer.cancel()
        if call.consult_for is not None:  # the consulting agent hears no, the ring ends
            call.caller.deliver(Hangup(call_id=call.id, reason=HangupReason.DECLINED))
            self._end(call, HangupReason.DECLINED)
            return
        if call.agent is not None:
            self._call_of.pop(call.agent, None)
            call.agent = None
        call.state = "waiting"
        self.waiting.insert(0, call)
        self._arm_sweeper()
        self._dispatch()

    def _tell_agents(self) -> None:
        now = time.monotonic()
        longest = int(now - self.waiting[0].queued_at) if self.waiting else 0
        told = (len(self.waiting), longest)
        if told == self._queue_told:
            return
        self._queue_told = told
        for agent in self._agents:
            if agent.conn is not None:
                agent.deliver(Queue(waiting=told[0], longest_wait_s=float(told[1])))

    def _arm_sweeper(self) -> None:
        """While calls wait, look every few seconds for ones past the queue timeout (and
        refresh the agents' ``longest_wait_s``)."""
        if self._sweeper is None and self.waiting:
            every = min(5.0, self.config.queue_timeout / 2)
            self._sweeper = asyncio.get_running_loop().call_later(every, self._sweep)

    def _sweep(self) -> None:
        self._sweeper = None
        self._dispatch()
        self._arm_sweeper()

    # --- answering ----------------------------------------------------------------------

    def accept(self, agent: Session, call_id: str) -> None:
        call = self._party_call(agent, call_id)
        if call.state != "ringing":
            raise CallError(ErrorCode.NOT_AVAILABLE, "call is not ringing")
        if call.ring_timer is not None:
            call.ring_timer.cancel()
        call.state, call.agent_name = "live", agent.name
        if call.consult_for is not None:  # agent to agent: no metrics, no tickets
            ice = turn_credentials(self.config.turn, f"{call.id}-visitor")
            call.caller.deliver(Accepted(call_id=call.id, agent_name=agent.name, ice_servers=ice))
            log.info("signaling.consult_live", extra={"call_id": call.id, "agent": agent.name})
            return
        node = self.metrics.node
        self.metrics.answer_seconds.labels(node).observe(time.monotonic() - call.rang_at)
        self.metrics.calls_started.labels(node).inc()
        visitor = call.caller
        visitor.hold_place(None)  # out of the line: its ticket restores it from now on
        ice = turn_credentials(self.config.turn, f"{call.id}-visitor")
        ticket = self._ticket(call, visitor)
        visitor.deliver(
            Accepted(call_id=call.id, agent_name=agent.name, ice_servers=ice, ticket=ticket)
        )
        agent.deliver(CallTicketMsg(call_id=call.id, ticket=self._ticket(call, agent)))
        log.info("signaling.call_live", extra={"call_id": call.id, "agent": agent.name})

    def _ticket(self, call: Call, party: Session) -> str:
        """A party's call ticket; the party keeps it too, for a restore on another node."""
        ticket = self.tickets.issue(
            CallTicket(
                call_id=call.id,
                role=party.role,
                name=party.name,
                agent_name=call.agent_name,
            )
        )
        party.hold_ticket(call.id, ticket)
        return ticket

    def reattach(self, session: Session, token: str, ref: str | None) -> None:
        """Bring back the live call of a ticket for a fresh session (the server forgot the
        old one: a restart, another node, an expired session); rebuild it if it is gone."""
        ticket = self.tickets.verify(token)
        if ticket is None:
            raise CallError(ErrorCode.BAD_TICKET, "not a valid call ticket")
        if ticket.role != session.role or (session.role == "agent" and ticket.name != session.name):
            raise CallError(ErrorCode.FORBIDDEN, "this ticket is not yours")
        current = self._call_of.get(session)
        if current is not None and current.state == "ringing" and session is current.agent:
            # Rung between its fresh hello and this reattach: the live call comes first.
            session.deliver(RingTimeout(call_id=current.id))
            self._move_ring_on(current)
        elif current is not None:
            raise CallError(ErrorCode.ALREADY_IN_CALL, "already in a call")
        if ticket.call_id in self._ended:
            raise CallError(ErrorCode.UNKNOWN_CALL, "the call has ended")
        call = self.calls.get(ticket.call_id)
        if call is None:
            call = Call(id=ticket.call_id, visitor=None, state="live")
            call.agent_name = ticket.agent_name
            self.calls[call.id] = call
            loop = asyncio.get_running_loop()
            call.rejoin_timer = loop.call_later(
                self.config.resume_grace, self._rejoin_timed_out, call
            )
            log.info("signaling.call_rebuilt", extra={"call_id": call.id, "by": session.role})
        elif call.state != "live":
            raise CallError(ErrorCode.NOT_AVAILABLE, "call is not live")
        elif session.role == "agent" and ticket.name != call.agent_name:
            raise CallError(ErrorCode.FORBIDDEN, "the call was handed to another agent")
        old = call.agent if session.role == "agent" else call.visitor
        if old is not None and old is not session:
            self._call_of.pop(old, None)  # the party's forgotten session: this one replaces it
        if session.role == "agent":
            call.agent = session
        else:
            call.visitor = session
        self._call_of[session] = call
        session.hold_ticket(call.id, token)
        self.metrics.calls_reattached.labels(self.metrics.node).inc()
        peer = call.peer_of(session)
        session.deliver(Reattached(call_id=call.id, peer_present=peer is not None, ref=ref))
        held, call.held = call.held, []
        for msg in held:
            session.deliver(msg)
        if peer is not None:
            peer.deliver(Reattached(call_id=call.id, peer_present=True))
            if call.rejoin_timer is not None:
                call.rejoin_timer.cancel()
                call.rejoin_timer = None
        log.info(
            "signaling.call_reattached",
            extra={"call_id": call.id, "role": session.role, "held": len(held)},
        )
        self._tell_agents()

    def _rejoin_timed_out(self, call: Call) -> None:
        call.rejoin_timer = None
        present = call.agent or call.visitor
        alone = present is not None and call.peer_of(present) is None
        if self.calls.get(call.id) is call and present is not None and alone:
            log.info("signaling.rejoin_timeout", extra={"call_id": call.id})
            present.deliver(Hangup(call_id=call.id, reason=HangupReason.PEER_LOST))
            self._end(call, HangupReason.PEER_LOST)

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
        if isinstance(msg, RESTARTS):
            self._on_restart(sender, call, msg)
        elif isinstance(msg, CallState) and msg.state == "connected" and call.restarts:
            log.info("signaling.reconnected", extra={"call_id": call.id, "restarts": call.restarts})
            call.restart_attempts.clear()
        relayed = msgspec.structs.replace(msg, id=None)
        peer = call.peer_of(sender)
        if peer is not None:
            peer.deliver(relayed)
            return
        # The peer has not re-attached yet: it gets this when it does (bounded, stale
        # restarts left out).
        call.held = drop_superseded([*call.held, relayed], replay_key)[-HELD_LIMIT:]

    def _on_restart(self, sender: Session, call: Call, msg: RestartOffer | RestartAnswer) -> None:
        if isinstance(msg, RestartOffer):
            attempts = call.restart_attempts.setdefault(sender.role, set())
            cap = self.config.restart_cap
            if msg.attempt not in attempts and len(attempts) >= cap:
                log.warning(
                    "signaling.ice_restart_refused",
                    extra={"call_id": call.id, "from": sender.role, "attempt": msg.attempt},
                )
                raise CallError(
                    ErrorCode.RESTART_CAP, f"at most {cap} ICE restarts per reconnect episode"
                )
            attempts.add(msg.attempt)
        self.metrics.restart_relays.labels(self.metrics.node, msg.__struct_config__.tag).inc()
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

    # --- hold and transfer --------------------------------------------------------------

    def hold(self, agent: Session, msg: Hold) -> None:
        """The call's agent holds or resumes it; the visitor hears of it (later, if it is
        re-attaching)."""
        call = self._agent_call(agent, msg.call_id)
        log.info("signaling.hold", extra={"call_id": call.id, "on": msg.on})
        self.relay(agent, msg)

    def transfer(self, agent: Session, msg: Transfer, ref: str | None) -> None:
        """Hand a live call on: ring ``msg.to`` (which must be free now) or put the call
        back at the front of the line. The agent's part ends here (wrap-up follows); the
        visitor closes its peer connection and answers the next ``accepted`` as usual."""
        call = self._agent_call(agent, msg.call_id, visitors_only=True)
        if call.visitor is None:
            raise CallError(ErrorCode.NOT_AVAILABLE, "the visitor is not attached")
        if call.transfers >= self.config.transfers_per_call:
            raise CallError(ErrorCode.TRANSFER_LIMIT, "this call was transferred too often")
        target = None
        if msg.to is None and not any(
            idle is not None and a.conn is not None and a is not agent
            for a, idle in self._agents.items()
        ):  # the line would only tell the visitor that nobody can take the call
            raise CallError(ErrorCode.NOT_AVAILABLE, "no other agent could take the call")
        consulted = call.consult.agent if call.consult is not None else None
        if msg.to is not None:
            target = next((a for a in self._agents if a.name == msg.to), None)
            free = target is not None and (target is consulted or self._free(target))
            if target is None or target is agent or not free:
                raise CallError(ErrorCode.NOT_AVAILABLE, "that agent cannot take a call now")
        if call.consult is not None:  # to the consulted colleague: the warm transfer completes
            done = target is not None and target is consulted
            reason = HangupReason.CONSULT_COMPLETE if done else HangupReason.CANCELLED
            self._end_consult(call.consult, reason)  # the colleague is free again at once
        log.info(
            "signaling.transfer",
            extra={"call_id": call.id, "from": agent.name, "to": msg.to, "note": len(msg.note)},
        )
        call.transfers += 1
        call.transfer = TransferInfo(from_agent=agent.name, note=msg.note)
        call.held, call.agent = [], None
        call.restart_attempts.clear()
        call.tried = {agent.id}
        self._call_of.pop(agent, None)
        agent.drop_ticket(call.id)  # a stored ticket must not re-attach a handed-on call
        agent.deliver(Transferred(call_id=call.id, to=msg.to, ref=ref))
        call.caller.deliver(Transferring(call_id=call.id))
        self._after_call(agent, call)
        call.state, call.queued_at = "waiting", time.monotonic()
        self.waiting.insert(0, call)
        self._hold_place(call)
        if target is not None:
            self._ring(call, target)
        self._arm_sweeper()
        self._dispatch()

    def consult(self, agent: Session, msg: Consult, ref: str | None) -> None:
        """Ring a free colleague for a consult call (the agent calls them, the visitor's
        call waits, normally on hold)."""
        call = self._agent_call(agent, msg.call_id, visitors_only=True)
        if call.consult is not None:
            raise CallError(ErrorCode.ALREADY_IN_CALL, "already consulting a colleague")
        target = next((a for a in self._agents if a.name == msg.to), None)
        if target is None or target is agent or not self._free(target):
            raise CallError(ErrorCode.NOT_AVAILABLE, "that agent cannot take a call now")
        consult = Call(id=f"k-{secrets.token_urlsafe(12)}", visitor=agent, state="ringing")
        consult.consult_for, call.consult = call, consult
        consult.agent, consult.rang_at = target, time.monotonic()
        consult.transfer = TransferInfo(from_agent=agent.name, note=msg.note, consult=True)
        self.calls[consult.id] = consult
        self._call_of[target] = consult
        timeout = self.config.ring_timeout
        loop = asyncio.get_running_loop()
        consult.ring_timer = loop.call_later(timeout, self._ring_timed_out, consult, target)
        ice = turn_credentials(self.config.turn, f"{consult.id}-agent")
        target.deliver(
            Ring(
                call_id=consult.id,
                visitor=VisitorInfo(name=agent.name),
                timeout_s=timeout,
                ice_servers=ice,
                transfer=consult.transfer,
            )
        )
        agent.deliver(Consulting(call_id=consult.id, for_call=call.id, to=target.name, ref=ref))
        log.info(
            "signaling.consult", extra={"call_id": call.id, "consult": consult.id, "to": msg.to}
        )
        self._tell_agents()

    def _end_consult(self, consult: Call, reason: str) -> None:
        """Both agents learn that the consult call is over (no wrap-up follows it)."""
        for party in (consult.visitor, consult.agent):
            if party is not None:
                party.deliver(Hangup(call_id=consult.id, reason=reason))
        self._end(consult, reason)

    def _agent_call(self, agent: Session, call_id: str, *, visitors_only: bool = False) -> Call:
        """The live call ``agent`` is the agent of (hold and transfer are theirs alone;
        ``visitors_only``: not a consult call, which is never handed on)."""
        call = self._party_call(agent, call_id)
        if agent is not call.agent or (visitors_only and call.consult_for is not None):
            raise CallError(ErrorCode.FORBIDDEN, "only the call's agent may do this")
        if call.state != "live":
            raise CallError(ErrorCode.NOT_AVAILABLE, "call is not live")
        return call

    # --- ending calls -------------------------------------------------------------------

    def hangup(self, sender: Session, call: Call, reason: str) -> None:
        if call.state == "ringing" and sender is call.agent:
            self._move_ring_on(call)  # an agent hanging up a ring is a decline
            return
        peer = call.peer_of(sender)
        if peer is not None:
            peer.deliver(Hangup(call_id=call.id, reason=reason))
        self._end(call, reason)

    def _end(self, call: Call, reason: str) -> None:
        for timer in (call.ring_timer, call.rejoin_timer):
            if timer is not None:
                timer.cancel()
        self._ended[call.id] = None
        if len(self._ended) > ENDED_REMEMBERED:
            del self._ended[next(iter(self._ended))]
        if call.consult is not None:
            self._end_consult(call.consult, reason)
        if call.consult_for is not None and call.consult_for.consult is call:
            call.consult_for.consult = None
        agent = call.agent
        if agent is not None:
            if self._call_of.get(agent) is call:
                self._call_of.pop(agent)
            if call.state == "live" and call.consult_for is None:
                self._after_call(agent, call)
        self._forget(call)
        log.info("signaling.call_ended", extra={"call_id": call.id, "reason": reason})
        self._dispatch()  # the agent is free, the line may have moved

    def _after_call(self, agent: Session, call: Call) -> None:
        """The agent's part of a live call is over: idle from now, wrap-up first."""
        if self._agents.get(agent) is not None:
            self._agents[agent] = time.monotonic()
            if self.config.wrap_up_s > 0:
                self._start_wrap_up(agent, call)

    def _forget(self, call: Call) -> None:
        if call.visitor is not None and self._call_of.get(call.visitor) is call:
            self._call_of.pop(call.visitor)  # (a consulting agent stays in its own call)
        self.calls.pop(call.id, None)
        if call in self.waiting:
            self.waiting.remove(call)
        visitor = call.visitor
        if visitor is not None and visitor.waiting and visitor.waiting.call_id == call.id:
            visitor.hold_place(None)
        for party in (call.visitor, call.agent):
            if party is not None:
                party.drop_ticket(call.id)

    def _party_call(self, session: Session, call_id: str) -> Call:
        call = self.calls.get(call_id)
        if call is None:
            raise CallError(ErrorCode.UNKNOWN_CALL, "no such call")
        if session is not call.visitor and session is not call.agent:
            raise CallError(ErrorCode.NOT_IN_CALL, "you are not a party of this call")
        return call

    def close_all(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
        for wrap_up in self._wrapping.values():
            wrap_up.cancel()
        for call in self.calls.values():
            for timer in (call.ring_timer, call.rejoin_timer):
                if timer is not None:
                    timer.cancel()
