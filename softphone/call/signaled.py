"""One call carried over signaling: SDP relay, recovery, and the call's published state.

Shared by the agent and the visitor so both speak the relay part of the protocol the same
way. Once the call first connects it also runs the call's automatic recovery
(:class:`CallRecovery`) and keeps :attr:`status` (a :class:`CallStateModel`) in step with
the peer and the reconnect controller: the one place the call's state is derived.

Signaling is not the call: a lost signaling session never ends it. The call keeps the
ticket the server issued when it went live and re-attaches with it from a fresh session
(:meth:`reattach`); until then (or when the server cannot reach the peer) the recovery
counts media from the peer alone as success. At the end, the reconnect episodes go to the
server in a ``call_report``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from softphone.call.network import NetworkWatcher
from softphone.call.reconnect import ReconnectFailure, ReconnectPolicy
from softphone.call.recovery import RESTART_REF, CallRecovery
from softphone.call.signaling import CallSignaling
from softphone.call.state import RECONNECT_FAILED, CallState, CallStateModel
from softphone.events import Signal
from softphone.rtc.peer import CallPeer
from softphone.signaling import protocol
from softphone.signaling.protocol import (
    Answer,
    CallReport,
    Candidate,
    Episode,
    Error,
    ErrorCode,
    Hangup,
    Message,
    Offer,
    Reattach,
    Reattached,
    RestartAnswer,
    RestartOffer,
)

log = logging.getLogger(__name__)
# Server answers to our restart offer that mean the peer cannot be reached through it.
_PEER_UNREACHABLE = {ErrorCode.UNKNOWN_CALL, ErrorCode.NOT_IN_CALL, ErrorCode.NOT_AVAILABLE}
REPORT_TIMEOUT_S = 1.0
REATTACH_REF = "reattach"  # the id of our reattach: an error answering it names it


class SignaledCall:
    def __init__(
        self,
        signaling: CallSignaling,
        peer: CallPeer,
        *,
        on_lost: Callable[[str], Awaitable[None]] | None = None,
        policy: ReconnectPolicy | None = None,
        network: NetworkWatcher | None = None,
    ) -> None:
        """``on_lost(reason)`` ends the call when recovery gives up (default: hang up)."""
        self.signaling = signaling
        self.peer = peer
        self.call_id = peer.call_id
        self.status = CallStateModel(peer.call_id)
        self.recovery: CallRecovery | None = None
        # The modal's facts when recovery gave up (emitted before the call is torn down).
        self.failed: Signal[[ReconnectFailure]] = Signal("call.failed")
        self.ticket: str | None = None  # from accepted (visitor) or ticket (agent)
        self._on_lost = on_lost
        self._policy = policy
        self._network = network
        peer.state_changed.connect(self._on_peer_state)

    async def send_offer(self) -> None:
        sdp = await self.peer.create_offer()
        await self.signaling.send(Offer(call_id=self.call_id, sdp=sdp))

    async def reattach(self) -> bool:
        """The server forgot our session (and maybe the call): bring the call back on the
        new session with its ticket. False when there is no ticket to do it with."""
        if self.recovery is not None:
            self.recovery.controller.on_peer_unreachable()
        if self.ticket is None:
            log.warning("call.reattach_impossible", extra={"call_id": self.call_id})
            return False
        await self.signaling.send(Reattach(ticket=self.ticket, id=REATTACH_REF))
        log.info("call.reattach_sent", extra={"call_id": self.call_id})
        return True

    async def handle(self, msg: Message) -> bool:
        """Apply a relayed SDP/candidate message of this call; False if it is not one."""
        if isinstance(msg, Error):
            return self._on_error(msg)
        if getattr(msg, "call_id", None) != self.call_id:
            return False
        if isinstance(msg, Reattached):
            log.info("call.reattached", extra={"call_id": self.call_id, "peer": msg.peer_present})
        elif isinstance(msg, Offer):
            answer = await self.peer.accept_offer(msg.sdp)
            await self.signaling.send(Answer(call_id=self.call_id, sdp=answer))
        elif isinstance(msg, Answer):
            await self.peer.accept_answer(msg.sdp)
        elif isinstance(msg, Candidate):
            await self.peer.add_remote_candidate(
                msg.candidate, msg.sdp_mid, msg.sdp_mline_index, msg.ufrag
            )
        elif isinstance(msg, RestartOffer | RestartAnswer | protocol.CallState):
            if self.recovery is None:
                log.warning(
                    "call.restart_before_connected",
                    extra={"call_id": self.call_id, "type": type(msg).__name__},
                )
            else:
                await self.recovery.handle(msg)
        else:
            return False
        return True

    def restart_ice(self, reason: str = "manual") -> bool:
        """Restart ICE now (make-before-break while the path still works); False when
        there is no recovery to do it (not connected yet, or ICE restart unavailable)."""
        if self.recovery is None:
            return False
        self.recovery.controller.restart_ice(reason)
        return True

    async def hangup(self, reason: str, *, end_reason: str | None = None) -> None:
        """Tell the other party ``reason`` (best effort: signaling may be gone) and close,
        publishing ``end_reason`` (default: the same) as the end."""
        try:
            await self.signaling.send(Hangup(call_id=self.call_id, reason=reason))
        except Exception as exc:  # the call ends locally whatever signaling does
            log.warning("call.hangup_not_sent", extra={"call_id": self.call_id, "error": str(exc)})
        await self.close(end_reason or reason)

    async def close(self, reason: str) -> None:
        """Stop recovery, report its episodes, close the peer, publish the end (idempotent)."""
        recovery, self.recovery = self.recovery, None
        if recovery is not None:
            await recovery.close()
            await self._report(recovery)
        await self.peer.close()
        self.status.ended(reason)

    async def _report(self, recovery: CallRecovery) -> None:
        """Best effort: the supervisor's view of the call's interruptions."""
        episodes = [
            Episode(
                trigger=e.trigger[:128],
                outcome=e.outcome,
                duration_s=min(e.duration_s, 86_400.0),
                attempts=e.attempts,
                origin=e.origin.value,
            )
            for e in recovery.controller.episodes[-100:]
        ]
        try:
            async with asyncio.timeout(REPORT_TIMEOUT_S):
                await self.signaling.send(CallReport(call_id=self.call_id, episodes=episodes))
        except Exception as exc:
            log.info("call.report_not_sent", extra={"call_id": self.call_id, "error": str(exc)})

    def _on_error(self, error: Error) -> bool:
        """The server's answer to one of this call's messages (by ``ref``)."""
        ref = error.ref or ""
        if ref == REATTACH_REF:
            log.warning(
                "call.reattach_refused", extra={"call_id": self.call_id, "code": error.code}
            )
        elif ref.startswith(RESTART_REF) and error.code in _PEER_UNREACHABLE:
            if self.recovery is not None:
                self.recovery.controller.on_peer_unreachable()
        else:
            return False
        return True

    # --- state and recovery ---------------------------------------------------------------

    def _on_peer_state(self, state: str) -> None:
        if state != "connected" or self.recovery is not None:
            return
        self.status.media_connected()
        restarter = self.peer.restarter
        if restarter is None:
            log.warning("call.recovery_unavailable", extra={"call_id": self.call_id})
            return
        self.recovery = CallRecovery(
            restarter,
            self.signaling,
            call_id=self.call_id,
            teardown=self._teardown,
            network=self._network,
            policy=self._policy,
        )
        controller = self.recovery.controller
        controller.state_changed.connect(self._on_reconnect_state)
        controller.recovered.connect(lambda attempt, elapsed_s: self.status.recovered(elapsed_s))
        controller.failed.connect(self._on_failed)
        self.recovery.start()

    def _on_reconnect_state(self, state: CallState, attempt: int, max_attempts: int) -> None:
        if state is CallState.RECONNECTING and self.recovery is not None:
            self.status.reconnecting(attempt, max_attempts, self.recovery.controller.origin)

    def _on_failed(self, failure: ReconnectFailure) -> None:
        self.status.ended(RECONNECT_FAILED)
        self.failed.emit(failure)

    async def _teardown(self, reason: str) -> None:
        if self._on_lost is not None:
            await self._on_lost(reason)
        else:
            await self.hangup(reason)
