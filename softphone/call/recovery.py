"""Automatic recovery of one call: detection → reconnect policy → ICE restart.

Glue between the mechanics (:class:`IceRestarter`, :class:`ConnectivityMonitor`, the
:class:`NetworkWatcher`) and the policy (:class:`ReconnectController`), speaking the restart
part of the wire protocol (restart_offer / restart_answer / call_state) through a
:class:`CallSignaling`. It is the controller's ``RestartDriver``. The owner routes incoming
restart messages to :meth:`handle` and says how to tear the call down.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Literal

from softphone.call.network import AddressChange, NetworkWatcher
from softphone.call.reconnect import ReconnectController, ReconnectPolicy
from softphone.call.signaling import CallSignaling
from softphone.call.state import CallState
from softphone.rtc.connectivity import (
    Connectivity,
    ConnectivityMonitor,
    DetectionSettings,
    usable,
)
from softphone.rtc.ice_restart import IceRestarter
from softphone.signaling import protocol
from softphone.signaling.protocol import Message, RestartAnswer, RestartOffer

log = logging.getLogger(__name__)

PeerVisibleState = Literal["connected", "reconnecting"]

# Offers cross within a round trip in true glare. A polite peer still offering this long
# after ours went out never got ours (it died in a socket that vanished under a network
# change), so waiting for the periodic re-issue would only add seconds.
STALE_OWN_OFFER_S = 1.0
# After an outage this long, the server's side of the signaling TCP socket (and a TURN
# server's TCP/TLS one) is in retransmission backoff: what it sends us waits for the next
# retransmission, 1-2 s after the network is back (docs/networks.md). A silent socket gets
# replaced once the network is seen to work again (the fresh ICE generation reached a
# STUN/TURN server); the server replays on the resumed session what the old one held back.
STALE_SIGNALING_S = 2.0
# The id of our restart offers (with the attempt): an error answering one says the server
# could not relay it to the peer.
RESTART_REF = "restart-"


class CallRecovery:
    """Keeps one call alive across network trouble (the restarter knows if we are polite)."""

    def __init__(
        self,
        restarter: IceRestarter,
        signaling: CallSignaling,
        *,
        call_id: str,
        teardown: Callable[[str], Awaitable[None]],
        network: NetworkWatcher | None = None,
        policy: ReconnectPolicy | None = None,
        detection: DetectionSettings | None = None,
    ) -> None:
        self.call_id = call_id
        self._signaling = signaling
        self._teardown = teardown
        self._network = network
        self._own_offer_sent_at: float | None = None
        self.restarter = restarter
        (transport,) = self.restarter.transports  # BUNDLE: one ICE transport per call
        self.monitor = ConnectivityMonitor(transport, detection)
        self.controller = ReconnectController(self, call_id=call_id, policy=policy)
        self.restarter.ice_connected_again.connect(self._on_path_up)
        self.restarter.media_received.connect(self.controller.on_media_received)
        self.restarter.restart_needed.connect(self._on_restart_needed)
        self.monitor.state_changed.connect(self._on_connectivity)
        self.controller.state_changed.connect(self._on_reconnect_state)
        if network is not None:
            network.changed.connect(self._on_network_change)

    def start(self) -> None:
        """The call is connected for the first time: start watching it."""
        self.controller.on_ice_connected()
        self.monitor.start()

    # -- RestartDriver (called by the controller) -----------------------------------------

    async def wait_signaling(self, within_s: float) -> bool:
        try:
            await self._signaling.wait_connected(within_s)
        except TimeoutError:
            return False
        return True

    async def send_restart_offer(self, attempt: int, reason: str) -> None:
        """Fresh ICE generation; returns once its restart offer is sent, or at once if the
        peer's restart, answered meanwhile, already is that fresh generation."""
        sdp = await self.restarter.create_restart_offer()
        if sdp is None:
            return
        if self._signaling_stale():  # the offer then waits for the fresh socket
            self._signaling.reconnect_now("stale-after-outage")
        await self._signaling.send(
            RestartOffer(
                call_id=self.call_id,
                sdp=sdp,
                attempt=attempt,
                reason=reason,
                id=f"{RESTART_REF}{attempt}",
            )
        )
        self._own_offer_sent_at = asyncio.get_running_loop().time()
        log.info(
            "call.restart_offer_sent",
            extra={"call_id": self.call_id, "attempt": attempt, "reason": reason},
        )

    async def teardown(self, reason: str) -> None:
        await self._teardown(reason)

    def _signaling_stale(self) -> bool:
        """The media path is down, the server has said nothing for ``STALE_SIGNALING_S``
        and the network works again: the socket is waiting out a TCP backoff."""
        return (
            self.monitor.state is not Connectivity.CONNECTED
            and self._signaling.silent_s > STALE_SIGNALING_S
            and any(t.reached_a_server() for t in self.restarter.transports)
        )

    # -- the peer's restart messages -------------------------------------------------------

    async def handle(self, msg: Message) -> bool:
        """Apply a relayed restart message of this call; False if it is not one."""
        if getattr(msg, "call_id", None) != self.call_id:
            return False
        if isinstance(msg, RestartOffer):
            answer = await self.restarter.handle_remote_offer(msg.sdp)
            if answer is None:  # glare, and we are the impolite side: ours stands
                if self._own_offer_age() > STALE_OWN_OFFER_S:
                    await self._resend_restart_offer()
                return True
            self.controller.on_remote_restart(msg.attempt)
            await self._signaling.send(
                RestartAnswer(call_id=self.call_id, sdp=answer, attempt=msg.attempt)
            )
        elif isinstance(msg, RestartAnswer):
            await self.restarter.accept_restart_answer(msg.sdp)
        elif isinstance(msg, protocol.CallState):
            log.info("call.peer_state", extra={"call_id": self.call_id, "state": msg.state})
        else:
            return False
        return True

    async def _resend_restart_offer(self) -> None:
        """The peer still offers long after our offer went out: it may never have got ours."""
        log.info("call.restart_offer_resent", extra={"call_id": self.call_id})
        await self._fresh_generation("peer-missed-offer")

    async def _fresh_generation(self, reason: str) -> None:
        """Both ends need a new ICE generation they agree on.

        Mid-episode that is the episode's restart. Once our episode is over (media came
        back on the old path while offers were held up by the same outage) the call is not
        in trouble: a fresh offer without a new episode, so "Reconnecting…" does not flash
        up again.
        """
        if self.controller.state is CallState.RECONNECTING:
            self.controller.restart_ice(reason)
        elif self.controller.state is CallState.CONNECTED:
            await self.send_restart_offer(0, reason)

    def _own_offer_age(self) -> float:
        if self._own_offer_sent_at is None:
            return 0.0
        return asyncio.get_running_loop().time() - self._own_offer_sent_at

    async def close(self) -> None:
        """Stop watching and deciding; the restarter belongs to the peer, which closes it."""
        if self._network is not None:
            self._network.changed.disconnect(self._on_network_change)
        await self.controller.close()
        await self.monitor.stop()
        self.restarter.ice_connected_again.disconnect(self._on_path_up)
        self.restarter.media_received.disconnect(self.controller.on_media_received)
        self.restarter.restart_needed.disconnect(self._on_restart_needed)

    # -- observations ----------------------------------------------------------------------

    def _on_path_up(self) -> None:
        self.restarter.set_media_paused(False)
        self.controller.on_ice_connected()

    def _on_restart_needed(self, reason: str) -> None:
        # An answer to an older offer of ours was applied to our newer one, whose own answer
        # then came late (answers carry nothing that tells them apart): our agent checks
        # with ICE credentials the peer has replaced. Even after a success on the old path
        # that needs a fresh generation: the peer nominates a pair of this one, and our
        # consent checks on it go unanswered (a new episode seconds later; seen with
        # Chromium after an outage into attempt 3, docs/networks.md). A task: we are called
        # inside the restarter's negotiation, which the new offer must wait for.
        self.restarter.spawn(self._fresh_generation(reason))

    def _on_connectivity(self, state: Connectivity, reason: str) -> None:
        if state is Connectivity.CONNECTED:
            # The path carrying media answers again (often the old pair, when the link came
            # back): with media from the peer that is recovery, whatever the new agent does.
            self._on_path_up()
            return
        if reason == "ice-closed":
            return  # the peer connection itself was closed: the call is over, not lost
        # Sending into a dead path only burns RTP sequence numbers (SRTP index).
        self.restarter.set_media_paused(True)
        if state is Connectivity.DISCONNECTED:
            self.controller.on_disconnected(reason)
        else:
            self.controller.on_failed(reason)
        if self.controller.state is CallState.RECONNECTING:
            self.restarter.watch_media()  # media seen before this loss no longer counts

    def _on_network_change(self, change: AddressChange) -> None:
        # The address in use vanished, or a new one appeared while the path is down. A new
        # address beside a working path (a VPN, a bridge) is no reason to restart.
        in_use = self.monitor.path_address
        if in_use is not None and in_use not in change.current:
            reason = "address-lost"
        elif usable(change.added) and self.monitor.state is not Connectivity.CONNECTED:
            reason = "address-added"
        else:
            log.info("call.network_change_ignored", extra={"call_id": self.call_id})
            return
        log.info("call.network_change", extra={"call_id": self.call_id, "reason": reason})
        self.controller.on_network_change()

    def _on_reconnect_state(self, state: CallState, attempt: int, max_attempts: int) -> None:
        if state is CallState.RECONNECTING:
            self.restarter.watch_media()  # success needs media from now on
            if attempt == 1:
                self._tell_peer("reconnecting")
        elif state is CallState.CONNECTED and attempt == 0:
            self._tell_peer("connected")

    def _tell_peer(self, state: PeerVisibleState) -> None:
        # Best effort: the server resets its restart counter on "connected".
        self.restarter.spawn(self._send_state(state))

    async def _send_state(self, state: PeerVisibleState) -> None:
        try:
            await self._signaling.send(protocol.CallState(call_id=self.call_id, state=state))
        except Exception as exc:
            log.info("call.state_not_sent", extra={"call_id": self.call_id, "error": str(exc)})
