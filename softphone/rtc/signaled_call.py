"""Carries one CallPeer's offer/answer and candidates over the signaling connection.

Shared by the agent and the visitor so both speak the relay part of the protocol the
same way. Once the call first connects it also runs the call's automatic recovery
(:class:`CallRecovery`: loss detection, reconnect policy, ICE restarts over
restart_offer/restart_answer/call_state).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from softphone.events import Signal
from softphone.rtc.call_recovery import CallRecovery
from softphone.rtc.connectivity import local_addresses
from softphone.rtc.peer import CallPeer
from softphone.rtc.reconnect import ReconnectPolicy
from softphone.signaling.client import SignalingClient, SignalingError
from softphone.signaling.protocol import (
    Answer,
    CallState,
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
        client: SignalingClient,
        peer: CallPeer,
        *,
        on_lost: Callable[[str], Awaitable[None]] | None = None,
        policy: ReconnectPolicy | None = None,
    ) -> None:
        """``on_lost(reason)`` ends the call when recovery gives up (default: hang up)."""
        self.client = client
        self.peer = peer
        self.call_id = peer.call_id
        self.recovery: CallRecovery | None = None
        # Emitted once, at the first "connected": subscribe to its controller and monitor.
        self.recovery_started: Signal[[CallRecovery]] = Signal("call.recovery_started")
        self._on_lost = on_lost
        self._policy = policy
        peer.state_changed.connect(self._on_peer_state)

    async def send_offer(self) -> None:
        sdp = await self.peer.create_offer()
        await self.client.send(Offer(call_id=self.call_id, sdp=sdp))

    async def handle(self, msg: Message) -> bool:
        """Apply a relayed SDP/candidate message of this call; False if it is not one."""
        if getattr(msg, "call_id", None) != self.call_id:
            return False
        if isinstance(msg, Offer):
            answer = await self.peer.accept_offer(msg.sdp)
            await self.client.send(Answer(call_id=self.call_id, sdp=answer))
        elif isinstance(msg, Answer):
            await self.peer.accept_answer(msg.sdp)
        elif isinstance(msg, Candidate):
            await self.peer.add_remote_candidate(
                msg.candidate, msg.sdp_mid, msg.sdp_mline_index, msg.ufrag
            )
        elif isinstance(msg, RestartOffer | RestartAnswer | CallState):
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
        """Restart ICE now (make-before-break while the path still works); False before
        the call has first connected, when there is nothing to restart yet."""
        if self.recovery is None:
            return False
        self.recovery.controller.perform_ice_restart(reason)
        return True

    async def hangup(self, reason: str) -> None:
        """Tell the other party (best effort: signaling may be gone) and close the peer."""
        try:
            await self.client.send(Hangup(call_id=self.call_id, reason=reason))
        except Exception as exc:  # the call ends locally whatever signaling does
            log.warning("call.hangup_not_sent", extra={"call_id": self.call_id, "error": str(exc)})
        await self.close()

    async def close(self) -> None:
        """Stop recovery, then close the peer (idempotent)."""
        recovery, self.recovery = self.recovery, None
        if recovery is not None:
            await recovery.close()
        await self.peer.close()

    # --- recovery -------------------------------------------------------------------------

    def _on_peer_state(self, state: str) -> None:
        restarter = self.peer.restarter
        if state != "connected" or self.recovery is not None or restarter is None:
            return
        self.recovery = CallRecovery(
            restarter,
            call_id=self.call_id,
            send=self.client.send,
            wait_signaling=self._wait_signaling,
            teardown=self._teardown,
            reconnect_signaling=self._reconnect_signaling,
            policy=self._policy,
        )
        self.recovery.start()
        self.recovery_started.emit(self.recovery)

    def _reconnect_signaling(self, reason: str) -> None:
        # Only if the socket's own address is gone: AgentSession's idle watcher may have
        # reconnected already, and a second reconnect would drop the fresh socket.
        address = self.client.local_address
        if address is not None and address not in local_addresses():
            self.client.reconnect_now(reason)

    async def _wait_signaling(self, within_s: float) -> bool:
        try:
            await self.client.wait_connected(within_s)
        except (TimeoutError, SignalingError):
            return False
        return True

    async def _teardown(self, reason: str) -> None:
        if self._on_lost is not None:
            await self._on_lost(reason)
        else:
            await self.hangup(reason)
