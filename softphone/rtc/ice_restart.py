"""ICE restart on one RTCPeerConnection: restart offers, answers, glare and media continuity.

The mechanics live in :mod:`softphone.rtc.aiortc_compat` (``RestartableIceTransport``); this class
turns them into the offer/answer steps the session layer drives over signaling, keeps every
re-negotiated SDP stable (:mod:`softphone.rtc.sdp_stability`) and keeps media healthy around
an outage (paused senders, video receiver reset after inbound silence).
"""

from __future__ import annotations

import asyncio
import enum
import logging
import time
from collections.abc import Coroutine
from typing import Any

from aiortc import RTCPeerConnection, RTCRtpReceiver, RTCSessionDescription

from softphone.events import Signal
from softphone.rtc.aiortc_compat.media import (
    media_ssrcs,
    request_keyframe,
    reset_video_receiver,
    set_senders_paused,
)
from softphone.rtc.aiortc_compat.rollback import rollback_local_offer
from softphone.rtc.aiortc_compat.transport import (
    RestartableIceTransport,
    restartable_transports,
)
from softphone.rtc.sdp_stability import (
    ice_credentials,
    ice_credentials_changed,
    stabilize_answer,
    stabilize_reoffer,
)
from softphone.tasks import BackgroundTasks

log = logging.getLogger(__name__)


class GlareAction(enum.Enum):
    ANSWER = "answer"  # no offer of ours is pending
    ROLLBACK_AND_ANSWER = "rollback_and_answer"  # polite: drop ours, answer theirs
    IGNORE = "ignore"  # impolite: keep ours, the peer will answer it


def glare_action(*, polite: bool, own_offer_pending: bool) -> GlareAction:
    """The agent is impolite, the visitor polite; glare converges in one round
    (docs/architecture.md)."""
    if not own_offer_pending:
        return GlareAction.ANSWER
    return GlareAction.ROLLBACK_AND_ANSWER if polite else GlareAction.IGNORE


class IceRestarter:
    """Restart ICE on ``pc`` in either direction without touching DTLS/SRTP.

    ``pc`` must have been created after :func:`install_ice_restart` and have
    completed its first negotiation.

    Offers, answers and rollbacks run one at a time (like a browser's operations chain):
    our own restart and the peer's offer are driven by different tasks, and aiortc's
    ``setLocalDescription`` changes the signaling state before it suspends. Interleaved, a
    glare rollback could be undone by our half-applied offer and the peer's offer then
    fail in "have-local-offer", ending the call.
    """

    def __init__(self, pc: RTCPeerConnection, *, polite: bool) -> None:
        self.polite = polite
        self._pc = pc
        self._transports = restartable_transports(pc)
        self._media_since: float | None = None
        self._restart_started: float | None = None
        self._tasks = BackgroundTasks("ice-restarter")
        self._negotiation = asyncio.Lock()
        self.ice_connected_again: Signal[[]] = Signal("rtc.ice_connected_again")
        """A restarted ICE agent nominated a pair (DTLS/SRTP continue on it)."""
        self.restart_needed: Signal[[str]] = Signal("rtc.restart_needed")
        """(reason) The signaling exchange went out of step: issue a fresh restart."""
        self.media_received: Signal[[]] = Signal("rtc.media_received")
        """First SRTP/SRTCP from the peer after :meth:`watch_media` (RTCP counts: a muted
        peer still sends reports, and they prove the keys work end to end)."""
        for transport in self._transports:
            transport.restart_completed.connect(self._on_restart_completed)
            transport.inbound.resumed.connect(self._on_inbound_resumed)

    @property
    def transports(self) -> list[RestartableIceTransport]:
        return list(self._transports)

    @property
    def offer_pending(self) -> bool:
        return self._pc.signalingState == "have-local-offer"

    @property
    def generation(self) -> int:
        """ICE generations so far (each restart, ours or the peer's, starts a new one)."""
        return self._transports[0].generation

    # -- offers and answers ----------------------------------------------------------------

    async def create_restart_offer(self) -> str | None:
        """Fresh ufrag/pwd and candidates; returns the (stable) offer SDP to send.

        None when the peer's restart was answered while this one waited its turn (glare
        seen from the polite side, or an impolite side with nothing pending): that fresh
        generation already is the restart asked for, and a second one would cost a round.
        """
        generation = self.generation
        async with self._negotiation:
            if self.generation != generation:
                log.info("ice.restart_superseded", extra={"generation": self.generation})
                return None
            return await self._create_restart_offer()

    async def _create_restart_offer(self) -> str:
        previous = self._pc.localDescription
        if previous is None:
            raise RuntimeError("ICE restart needs a completed first negotiation")
        if self.offer_pending:
            # Re-issue during an outage: the unanswered offer is superseded.
            rollback_local_offer(self._pc)
        self._begin_restart()
        for transport in self._transports:
            await transport.prepare_restart()
        offer = await self._pc.createOffer()
        sdp = stabilize_reoffer(offer.sdp, previous.sdp, self._dtls_role())
        await self._pc.setLocalDescription(RTCSessionDescription(sdp=sdp, type="offer"))
        log.info("ice.restart_offer", extra={"generation": self._transports[0].generation})
        return str(self._pc.localDescription.sdp)

    async def accept_restart_answer(self, sdp: str) -> None:
        """Apply the peer's answer: the new agent starts its connectivity checks."""
        async with self._negotiation:
            await self._accept_restart_answer(sdp)

    async def _accept_restart_answer(self, sdp: str) -> None:
        if not self.offer_pending:
            current = self._pc.remoteDescription
            if current is not None and ice_credentials_changed(sdp, current.sdp):
                # We re-issued before the first offer was answered and took the stale
                # answer for the newer offer: our agent may be checking a dead generation.
                log.warning("ice.late_restart_answer")
                self.restart_needed.emit("late-answer")
            else:
                log.info("ice.restart_answer_ignored", extra={"reason": "no offer pending"})
            return
        await self._pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="answer"))

    async def handle_remote_offer(self, sdp: str) -> str | None:
        """Answer a peer's (restart) offer; None when glare rules that ours wins."""
        async with self._negotiation:
            return await self._handle_remote_offer(sdp)

    async def _handle_remote_offer(self, sdp: str) -> str | None:
        action = glare_action(polite=self.polite, own_offer_pending=self.offer_pending)
        if action is GlareAction.IGNORE:
            log.info("ice.glare", extra={"action": action.value})
            return None
        if action is GlareAction.ROLLBACK_AND_ANSWER:
            log.info("ice.glare", extra={"action": action.value})
            rollback_local_offer(self._pc)
        current_remote = self._pc.remoteDescription
        previous_local = self._pc.localDescription
        if ice_credentials_changed(sdp, current_remote.sdp if current_remote else None):
            # Swap agents before aiortc sees the offer, so its candidates reach the new one.
            self._begin_restart()
            for transport in self._transports:
                await transport.prepare_restart()
        await self._pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
        answer = await self._pc.createAnswer()
        stable = stabilize_answer(answer.sdp, previous_local.sdp if previous_local else None)
        await self._pc.setLocalDescription(RTCSessionDescription(sdp=stable, type="answer"))
        return str(self._pc.localDescription.sdp)

    def is_current_candidate(self, ufrag: str | None) -> bool:
        """Trickled candidates of an older ICE generation must be dropped (browser ufrag)."""
        remote = self._pc.remoteDescription
        if ufrag is None or remote is None:
            return True
        return any(u == ufrag for u, _ in ice_credentials(remote.sdp))

    # -- media continuity ------------------------------------------------------------------

    def set_media_paused(self, paused: bool) -> None:
        """Pause senders while disconnected so no RTP sequence numbers are burnt."""
        set_senders_paused(self._pc, paused)

    def _on_inbound_resumed(self, gap_s: float) -> None:
        for receiver in self._video_receivers():
            ssrcs = reset_video_receiver(receiver)
            self.spawn(request_keyframe(receiver, ssrcs))
        log.info("media.video_receiver_reset", extra={"gap_ms": round(gap_s * 1000)})

    def _request_keyframes(self) -> None:
        for receiver in self._video_receivers():
            self.spawn(request_keyframe(receiver, media_ssrcs(receiver)))

    def _video_receivers(self) -> list[RTCRtpReceiver]:
        return [
            r for r in self._pc.getReceivers() if r.track is not None and r.track.kind == "video"
        ]

    # -- success signals -------------------------------------------------------------------

    def _begin_restart(self) -> None:
        self._restart_started = time.monotonic()

    def _on_restart_completed(self, generation: int) -> None:
        elapsed = time.monotonic() - (self._restart_started or time.monotonic())
        log.info(
            "ice.connected_again",
            extra={"generation": generation, "elapsed_ms": round(elapsed * 1000)},
        )
        # Our RTCP now leaves on this generation. The keyframe request sent when media came
        # back after a gap may have left on one the peer had already replaced (glare: it
        # drops an agent that never carried its media), and nothing repeats a lost request:
        # video would stay undecodable, the frames predicted from a reference we lack.
        # Asking again costs one keyframe per restart.
        self._request_keyframes()
        self.ice_connected_again.emit()

    def watch_media(self) -> None:
        """Emit ``media_received`` once at the first SRTP/SRTCP from the peer from now on,
        whichever path carries it (the old pair may come back before the new one wins)."""
        start = self._media_since is None
        self._media_since = time.monotonic()
        if start:
            self.spawn(self._await_media())

    async def _await_media(self) -> None:
        # Polling the transports' stamp (10 ms) costs less than a signal per packet.
        while self._media_since is not None:
            stamps = [t.inbound.last_srtp for t in self._transports]
            if max((s for s in stamps if s is not None), default=-1.0) >= self._media_since:
                self._media_since = None
                self.media_received.emit()
                return
            await asyncio.sleep(0.01)

    def _dtls_role(self) -> str | None:
        transceivers = self._pc.getTransceivers()
        if not transceivers:
            return None
        dtls = transceivers[0].receiver.transport
        return dtls._role if dtls.state == "connected" else None

    def spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        """Run ``coro`` in the background; cancelled by :meth:`close`."""
        self._tasks.spawn(coro)

    async def close(self) -> None:
        """Stop background work (keyframe requests, media wait); the pc is closed by its owner."""
        self._media_since = None
        for transport in self._transports:
            transport.restart_completed.disconnect(self._on_restart_completed)
            transport.inbound.resumed.disconnect(self._on_inbound_resumed)
        await self._tasks.close()
