"""Loopback harness for the rtc tests: two real aiortc peers in one process.

Both peers gather on 127.0.0.1 only, with no ICE servers, and get the test-only
:class:`tests.rtc.faults.LossyIceTransport`, so a test can make one side's network go deaf.
"""

from __future__ import annotations

import asyncio
import itertools
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import av
from aiortc import (
    MediaStreamTrack,
    RTCConfiguration,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.mediastreams import AudioStreamTrack, MediaStreamError, VideoStreamTrack

from softphone.rtc.aiortc_compat.host_allowlist import set_host_candidate_allowlist
from softphone.rtc.aiortc_compat.transport import restartable_transports
from tests.rtc.faults import LossyIceTransport, install_lossy_transport

VIDEO_FPS = 30


class SmallVideoTrack(VideoStreamTrack):
    """160x120 frames at 30 fps: cheap to encode on a 2-core CI box."""

    async def recv(self) -> av.VideoFrame:
        pts, time_base = await self.next_timestamp()
        frame = av.VideoFrame(width=160, height=120, format="yuv420p")
        for plane in frame.planes:
            plane.update(bytes(plane.buffer_size))
        frame.pts = pts
        frame.time_base = time_base
        return frame


@dataclass
class FrameLog:
    """Arrival times (monotonic) of decoded frames of one remote track."""

    kind: str
    arrivals: list[float] = field(default_factory=list)

    def count_since(self, since: float) -> int:
        return sum(1 for t in self.arrivals if t >= since)

    def longest_gap(self, since: float, until: float) -> float:
        times = [since, *(t for t in self.arrivals if since <= t <= until), until]
        return max(b - a for a, b in itertools.pairwise(times))

    async def wait_for(self, count: int, since: float, within_s: float) -> None:
        deadline = time.monotonic() + within_s
        while self.count_since(since) < count:
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"{self.kind}: {self.count_since(since)}/{count} frames in {within_s} s"
                )
            await asyncio.sleep(0.02)


@dataclass
class PeerSide:
    pc: RTCPeerConnection
    received: dict[str, FrameLog] = field(default_factory=dict)
    consumers: list[asyncio.Task[None]] = field(default_factory=list)

    @property
    def ice(self) -> LossyIceTransport:
        (transport,) = restartable_transports(self.pc)
        assert isinstance(transport, LossyIceTransport)
        return transport


@dataclass
class LoopbackPair:
    offerer: PeerSide
    answerer: PeerSide

    async def wait_media(self, since: float, frames: int = 5, within_s: float = 10.0) -> None:
        for side in (self.offerer, self.answerer):
            for log in side.received.values():
                await log.wait_for(frames if log.kind == "video" else 1, since, within_s)

    async def close(self) -> None:
        for side in (self.offerer, self.answerer):
            await side.pc.close()
        for side in (self.offerer, self.answerer):
            for task in side.consumers:
                task.cancel()
            await asyncio.gather(*side.consumers, return_exceptions=True)


def _side(tracks: list[MediaStreamTrack]) -> PeerSide:
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    side = PeerSide(pc)
    for track in tracks:
        pc.addTrack(track)

    @pc.on("track")
    def on_track(track: MediaStreamTrack) -> None:
        log = FrameLog(track.kind)
        side.received[track.kind] = log
        side.consumers.append(asyncio.ensure_future(_consume(track, log)))

    return side


async def _consume(track: MediaStreamTrack, log: FrameLog) -> None:
    try:
        while True:
            await track.recv()
            log.arrivals.append(time.monotonic())
    except MediaStreamError:
        return


def media_tracks(*, audio: bool = True, video: bool = True) -> list[MediaStreamTrack]:
    tracks: list[MediaStreamTrack] = []
    if audio:
        tracks.append(AudioStreamTrack())
    if video:
        tracks.append(SmallVideoTrack())
    return tracks


async def connected_pair(
    *,
    audio: bool = True,
    video: bool = True,
    offer_in_transit: Callable[[str], str] | None = None,
) -> LoopbackPair:
    """Negotiate once (offer possibly rewritten in transit) and wait for media both ways."""
    install_lossy_transport()
    set_host_candidate_allowlist(["127.0.0.1"])
    pair = LoopbackPair(
        _side(media_tracks(audio=audio, video=video)),
        _side(media_tracks(audio=audio, video=video)),
    )
    offerer, answerer = pair.offerer.pc, pair.answerer.pc
    await offerer.setLocalDescription(await offerer.createOffer())
    offer_sdp = offerer.localDescription.sdp
    if offer_in_transit is not None:
        offer_sdp = offer_in_transit(offer_sdp)
    await answerer.setRemoteDescription(RTCSessionDescription(sdp=offer_sdp, type="offer"))
    await answerer.setLocalDescription(await answerer.createAnswer())
    await offerer.setRemoteDescription(answerer.localDescription)
    await pair.wait_media(since=0.0)
    return pair


def renumber_payload_types(sdp: str, mapping: dict[int, int]) -> str:
    """Rewrite payload types like a browser with other numbers would have sent them."""

    def pt(match: re.Match[str]) -> str:
        number = int(match.group(2))
        return f"{match.group(1)}{mapping.get(number, number)}"

    def renumber_line(line: str) -> str:
        if line.startswith("m="):
            words = line.split(" ")
            line = " ".join(words[:3] + [str(mapping.get(int(p), int(p))) for p in words[3:]])
        line = re.sub(r"^(a=(?:rtpmap|fmtp|rtcp-fb):)(\d+)", pt, line)
        return re.sub(r"(apt=)(\d+)", pt, line)

    return "\r\n".join(renumber_line(line) for line in sdp.splitlines()) + "\r\n"


def renumber_extmap(sdp: str, mapping: dict[int, int]) -> str:
    def renumber(match: re.Match[str]) -> str:
        number = int(match.group(1))
        return f"a=extmap:{mapping.get(number, number)} "

    return re.sub(r"^a=extmap:(\d+) ", renumber, sdp, flags=re.MULTILINE)


def payload_lines(sdp: str) -> list[str]:
    """m=, rtpmap, fmtp, rtcp-fb and extmap lines: the numbering a re-offer must keep."""
    keep = ("m=", "a=rtpmap:", "a=fmtp:", "a=rtcp-fb:", "a=extmap:")
    return [
        line.split(" ", 3)[3] if line.startswith("m=") else line
        for line in sdp.splitlines()
        if line.startswith(keep)
    ]


def origin(sdp: str) -> tuple[str, int]:
    """(session id, version) of the o= line."""
    line = next(line for line in sdp.splitlines() if line.startswith("o="))
    _, session_id, version, *_ = line[2:].split()
    return session_id, int(version)
