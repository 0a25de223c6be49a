"""One call carried over signaling: SDP relay, recovery, and the call's published state.

Shared by the agent and the visitor so both speak the relay part of the protocol the same
way. Once the call first connects it also runs the call's automatic recovery
(:class:`CallRecovery`) and keeps :attr:`status` (a :class:`CallStateModel`) in step with
the peer and the reconnect controller: the one place the call's state is derived.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from softphone.call.network import NetworkWatcher
from softphone.call.reconnect import ReconnectFailure, ReconnectPolicy
from softphone.call.recovery import CallRecovery
from softphone.call.signaling import CallSignaling
from softphone.call.state import RECONNECT_FAILED, CallState, CallStateModel
from softphone.events import Signal
from softphone.rtc.peer import CallPeer
from softphone.signaling import protocol
from softphone.signaling.protocol import (
    Answer,
    Candidate,
    Hangup,
    Message,
    Offer,
    RestartAnswer,
    RestartOffer,
)

log = logging.getLogger(__name__)


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
        self._on_lost = on_lost
        self._policy = policy
        self._network = network
        peer.state_changed.connect(self._on_peer_state)

    async def send_offer(self) -> None:
        sdp = await self.peer.create_offer()
        await self.signaling.send(Offer(call_id=self.call_id, sdp=sdp))

    async def handle(self, msg: Message) -> bool:
        """Apply a relayed SDP/candidate message of this call; False if it is not one."""
        if getattr(msg, "call_id", None) != self.call_id:
            return False
        if isinstance(msg, Offer):
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
        """Stop recovery, close the peer, publish the end (idempotent)."""
        recovery, self.recovery = self.recovery, None
        if recovery is not None:
            await recovery.close()
        await self.peer.close()
        self.status.ended(reason)

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
