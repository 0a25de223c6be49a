"""Automatic call recovery for one call: detection → reconnect policy → ICE restart.

Glue between the mechanics (:class:`IceRestarter`, :class:`ConnectivityMonitor`) and the
policy (:class:`ReconnectController`), speaking the restart part of the wire protocol
(restart_offer / restart_answer / call_state). It is the controller's ``RestartDriver``.
The owner (the session's call) supplies how to send a message, how to wait for signaling,
how to reconnect it and how to tear the call down, and routes incoming messages to
:meth:`handle`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Literal

from softphone.rtc.connectivity import Connectivity, ConnectivityMonitor, DetectionSettings
from softphone.rtc.ice_restart import IceRestarter
from softphone.rtc.reconnect import ReconnectController, ReconnectPolicy, ReconnectState
from softphone.signaling.protocol import CallState, Message, RestartAnswer, RestartOffer

log = logging.getLogger(__name__)

PeerVisibleState = Literal["connected", "reconnecting"]

# Offers cross within a round trip in true glare. A polite peer still offering this long
# after ours went out never got ours (it died in a socket that vanished under a network
# change), so waiting for the periodic re-issue would only add seconds.
STALE_OWN_OFFER_S = 1.0


class CallRecovery:
    """Keeps one call alive across network trouble (the restarter knows if we are polite)."""

    def __init__(
        self,
        restarter: IceRestarter,
        *,
        call_id: str,
        send: Callable[[Message], Awaitable[None]],
        wait_signaling: Callable[[float], Awaitable[bool]],
        teardown: Callable[[str], Awaitable[None]],
        reconnect_signaling: Callable[[str], None] | None = None,
        policy: ReconnectPolicy | None = None,
        detection: DetectionSettings | None = None,
    ) -> None:
        self.call_id = call_id
        self._send = send
        self._wait_signaling = wait_signaling
        self._teardown = teardown
        self._reconnect_signaling = reconnect_signaling
        self._own_offer_sent_at: float | None = None
        self.restarter = restarter
        (transport,) = self.restarter.transports  # BUNDLE: one ICE transport per call
        self.monitor = ConnectivityMonitor(transport, detection)
        self.controller = ReconnectController(self, call_id=call_id, policy=policy)
        self.restarter.ice_connected_again.connect(self._on_ice_connected_again)
        self.restarter.media_received.connect(self.controller.on_media_received)
        self.restarter.restart_needed.connect(self.controller.perform_ice_restart)
        self.monitor.state_changed.connect(self._on_connectivity)
        self.monitor.network_changed.connect(self._on_network_changed)
        self.controller.state_changed.connect(self._on_reconnect_state)

    def start(self) -> None:
        """The call is connected for the first time: start watching it."""
        self.controller.on_ice_connected()
        self.monitor.start()

    # -- RestartDriver (called by the controller) -----------------------------------------

    async def wait_signaling(self, within_s: float) -> bool:
        return await self._wait_signaling(within_s)

    async def send_restart(self, attempt: int, reason: str) -> None:
        await self.perform_ice_restart(reason, attempt)

    async def teardown(self, reason: str) -> None:
        await self._teardown(reason)

    # -- mechanics -------------------------------------------------------------------------

    async def perform_ice_restart(self, reason: str, attempt: int = 0) -> str | None:
        """Fresh ICE generation; returns once its restart offer is sent (the offer SDP), or
        None if the peer's restart, answered meanwhile, already is that fresh generation."""
        sdp = await self.restarter.create_restart_offer()
        if sdp is None:
            return None
        await self._send(
            RestartOffer(call_id=self.call_id, sdp=sdp, attempt=attempt, reason=reason)
        )
        self._own_offer_sent_at = asyncio.get_running_loop().time()
        log.info(
            "call.restart_offer_sent",
            extra={"call_id": self.call_id, "attempt": attempt, "reason": reason},
        )
        return sdp

    async def handle(self, msg: Message) -> bool:
        """Apply a relayed restart message of this call; False if it is not one."""
        if getattr(msg, "call_id", None) != self.call_id:
            return False
        if isinstance(msg, RestartOffer):
            answer = await self.restarter.handle_remote_offer(msg.sdp)
            if answer is None:  # glare, and we are the impolite side: ours stands
                if self._own_offer_age() > STALE_OWN_OFFER_S:
                    log.info("call.restart_offer_resent", extra={"call_id": self.call_id})
                    self.controller.perform_ice_restart("peer-missed-offer")
                return True
            self.controller.on_remote_restart(msg.attempt)
            await self._send(RestartAnswer(call_id=self.call_id, sdp=answer, attempt=msg.attempt))
        elif isinstance(msg, RestartAnswer):
            await self.restarter.accept_restart_answer(msg.sdp)
        elif isinstance(msg, CallState):
            log.info("call.peer_state", extra={"call_id": self.call_id, "state": msg.state})
        else:
            return False
        return True

    def _own_offer_age(self) -> float:
        if self._own_offer_sent_at is None:
            return 0.0
        return asyncio.get_running_loop().time() - self._own_offer_sent_at

    async def close(self) -> None:
        """Stop watching and deciding; the restarter belongs to the peer, which closes it."""
        await self.controller.close()
        await self.monitor.stop()
        self.restarter.ice_connected_again.disconnect(self._on_ice_connected_again)
        self.restarter.media_received.disconnect(self.controller.on_media_received)
        self.restarter.restart_needed.disconnect(self.controller.perform_ice_restart)

    # -- observations ----------------------------------------------------------------------

    def _on_ice_connected_again(self) -> None:
        self.restarter.set_media_paused(False)
        self.controller.on_ice_connected()

    def _on_connectivity(self, state: Connectivity, reason: str) -> None:
        if state is Connectivity.CONNECTED:
            self.restarter.set_media_paused(False)
            return
        if reason == "ice-closed":
            return  # the peer connection itself was closed: the call is over, not lost
        # Sending into a dead path only burns RTP sequence numbers (SRTP index).
        self.restarter.set_media_paused(True)
        if state is Connectivity.DISCONNECTED:
            self.controller.on_disconnected(reason)
        else:
            self.controller.on_failed(reason)

    def _on_network_changed(self, reason: str) -> None:
        # DESIGN.md: the address in use vanished, or a new one appeared while the path is
        # down. A new address beside a working path (a VPN, a bridge) is no reason to restart.
        if reason == "address-added" and self.monitor.state is Connectivity.CONNECTED:
            log.info("call.network_change_ignored", extra={"call_id": self.call_id})
            return
        if self._reconnect_signaling is not None:
            # The signaling socket may be bound to the vanished address too: it would only
            # be found dead by its heartbeat, after the restart offers were lost in it.
            self._reconnect_signaling(reason)
        self.controller.on_network_change()

    def _on_reconnect_state(self, state: ReconnectState, attempt: int, max_attempts: int) -> None:
        if state is ReconnectState.RECONNECTING and attempt == 1:
            self._tell_peer("reconnecting")
        elif state is ReconnectState.CONNECTED and attempt == 0:
            self._tell_peer("connected")

    def _tell_peer(self, state: PeerVisibleState) -> None:
        # Best effort: the server resets its restart counter on "connected".
        self.restarter.spawn(self._send_state(state))

    async def _send_state(self, state: PeerVisibleState) -> None:
        try:
            await self._send(CallState(call_id=self.call_id, state=state))
        except Exception as exc:
            log.info("call.state_not_sent", extra={"call_id": self.call_id, "error": str(exc)})
