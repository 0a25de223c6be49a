"""CallPeer: one call's RTCPeerConnection with our tracks, SDP exchange and stats.

It knows nothing about signaling: the offer/answer methods take and return SDP text,
and the owner (AgentSession, the visitor) carries it over the wire. All SDP goes
through :meth:`_apply_remote` and :meth:`_describe_local`, the two places an ICE-restart
path hooks into. aiortc gathers every local candidate before ``setLocalDescription``
returns, so local candidates travel inside the SDP; remote candidates may trickle in
(browsers) and are buffered until the remote description they belong to is set.
"""

from __future__ import annotations

import logging
from typing import Literal

from aiortc import MediaStreamTrack, RTCPeerConnection, RTCSessionDescription
from aiortc.sdp import candidate_from_sdp

from softphone.events import Signal
from softphone.media.local import LocalMedia
from softphone.media.receiver import ReceivedMedia, TrackMonitor
from softphone.rtc.aiortc_compat.opus import install_voice_opus
from softphone.rtc.aiortc_compat.transport import install_ice_restart
from softphone.rtc.aiortc_compat.transport_cc import install_transport_cc
from softphone.rtc.aiortc_compat.turn_gathering import install_turn_gathering
from softphone.rtc.aiortc_compat.video_jitter import install_bounded_jitter
from softphone.rtc.aiortc_compat.voice_receiver import install_voice_receiver
from softphone.rtc.ice import IceSettings
from softphone.rtc.ice_restart import IceRestarter
from softphone.rtc.stats import CallStats, StatsSampler

log = logging.getLogger(__name__)

RemoteCandidate = tuple[str | None, str | None, int | None]  # candidate line, sdp_mid, mline index


class CallPeer:
    def __init__(
        self, call_id: str, ice: IceSettings, media: LocalMedia, *, polite: bool = False
    ) -> None:
        self.call_id = call_id
        # ICE-restart glare (docs/architecture.md): the agent is impolite, the visitor polite.
        self.polite = polite
        self.ice = ice
        self.media = media
        # aiortc's connectionState: new, connecting, connected, failed, closed.
        self.state_changed: Signal[[str]] = Signal("call_peer.state_changed")
        # A copy of each remote track (see FrameTap) for whoever renders it.
        self.remote_track: Signal[[MediaStreamTrack]] = Signal("call_peer.remote_track")
        self.monitors: dict[str, TrackMonitor] = {}
        self._pending: list[RemoteCandidate] = []
        self._sampler = StatsSampler()
        # Armed at the first "connected", once BUNDLE has left one ICE transport; never
        # when the aiortc internals it needs are missing (aiortc_compat.check).
        self.restarter: IceRestarter | None = None
        ice.apply_host_allowlist()
        # Before the pc: its ICE transports must be restartable.
        self.restartable = install_ice_restart()
        install_voice_opus()  # before the senders' encoders exist
        install_voice_receiver()  # and before the audio receiver exists
        install_turn_gathering()  # relays from every TURN URL, before the gatherers
        install_bounded_jitter()  # video never waits seconds for a lost packet
        install_transport_cc()  # the video's sender learns every packet's arrival
        self.pc = RTCPeerConnection(ice.configuration())
        self.pc.addTrack(media.audio)
        self.pc.addTrack(media.video)
        self.pc.on("track", self._on_track)
        self.pc.on("connectionstatechange", self._on_state)

    @property
    def state(self) -> str:
        return str(self.pc.connectionState)

    def received(self, kind: str) -> ReceivedMedia:
        monitor = self.monitors.get(kind)
        return monitor.received if monitor else ReceivedMedia()

    # --- SDP exchange ---------------------------------------------------------------------

    async def create_offer(self) -> str:
        return await self._describe_local("offer")

    async def accept_offer(self, sdp: str) -> str:
        """Apply the remote offer; returns our answer."""
        await self._apply_remote(sdp, "offer")
        return await self._describe_local("answer")

    async def accept_answer(self, sdp: str) -> None:
        await self._apply_remote(sdp, "answer")

    async def add_remote_candidate(
        self,
        candidate: str | None,
        sdp_mid: str | None,
        sdp_mline_index: int | None,
        ufrag: str | None = None,
    ) -> None:
        """A trickled candidate; ``None`` (or empty) means end-of-candidates.

        ``ufrag`` (browsers send it) names the ICE generation: candidates of a generation
        an ICE restart replaced are dropped.
        """
        if self.pc.remoteDescription is None:
            self._pending.append((candidate, sdp_mid, sdp_mline_index))
            return
        if self.restarter is not None and not self.restarter.is_current_candidate(ufrag):
            log.info("call.stale_candidate", extra={"call_id": self.call_id, "ufrag": ufrag})
            return
        line = (candidate or "").removeprefix("a=").removeprefix("candidate:")
        if not line:
            await self.pc.addIceCandidate(None)
            return
        parsed = candidate_from_sdp(line)
        parsed.sdpMid, parsed.sdpMLineIndex = sdp_mid, sdp_mline_index
        await self.pc.addIceCandidate(parsed)

    async def _describe_local(self, kind: Literal["offer", "answer"]) -> str:
        description = await (self.pc.createOffer() if kind == "offer" else self.pc.createAnswer())
        await self.pc.setLocalDescription(description)
        log.info("call.local_description", extra={"call_id": self.call_id, "sdp_type": kind})
        return str(self.pc.localDescription.sdp)

    async def _apply_remote(self, sdp: str, kind: Literal["offer", "answer"]) -> None:
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type=kind))
        log.info("call.remote_description", extra={"call_id": self.call_id, "sdp_type": kind})
        pending, self._pending = self._pending, []
        for candidate in pending:
            await self.add_remote_candidate(*candidate)

    # --- media and state ------------------------------------------------------------------

    def set_muted(self, muted: bool) -> None:
        self.media.set_muted(muted)

    def set_camera_enabled(self, enabled: bool) -> None:
        self.media.set_camera_enabled(enabled)

    def set_on_hold(self, on_hold: bool) -> None:
        self.media.set_on_hold(on_hold)

    async def stats(self) -> CallStats:
        report = await self.pc.getStats()
        return self._sampler.sample(
            report, self.received("video"), self.received("audio"), self.media.audio.level
        )

    async def close(self) -> None:
        """Idempotent; leaves no task, socket, decoder or capture thread behind."""
        if self.restarter is not None:
            await self.restarter.close()
        await self.pc.close()
        for monitor in self.monitors.values():
            await monitor.close()
        self.media.close()
        audio = self.received("audio")
        log.info(
            "call.peer_closed",
            extra={
                "call_id": self.call_id,
                "audio_ms": round(audio.audio_ms),
                "audio_recovered_ms": round(audio.recovered_ms),
                "audio_concealed_ms": round(audio.concealed_ms),
            },
        )

    def _on_track(self, track: MediaStreamTrack) -> None:
        monitor = TrackMonitor(track)
        self.monitors[track.kind] = monitor
        log.info("call.remote_track", extra={"call_id": self.call_id, "kind": track.kind})
        self.remote_track.emit(monitor.tap)

    def _on_state(self) -> None:
        log.info("call.state", extra={"call_id": self.call_id, "state": self.state})
        if self.state == "connected" and self.restarter is None and self.restartable:
            self.restarter = IceRestarter(self.pc, polite=self.polite)
        self.state_changed.emit(self.state)
