"""Video under loss: a jitter buffer that gives up on a lost packet instead of stalling for
seconds, NACKs repeated until then, and keyframe requests repeated until one arrives.

Seam 9 (listed in this package's docstring; its internals are in :mod:`.check`, and
tests/rtc/test_video_jitter.py exercises them). aiortc 1.16's video receiver, measured with
Chromium sending over a lossy link (docs/networks.md, "lossy links"):

- its ``JitterBuffer`` hands out a frame only when every packet from its origin on is
  present: a packet lost for good blocks it until 512 later packets have arrived (1-12 s);
- it hands out a frame only once the *next* frame's first packet is there (one frame
  interval late: ~100 ms at the 10 fps Chromium falls back to under loss), and at most one
  frame per arriving packet, so frames that completed while the head waited stay queued;
- its ``NackGenerator`` NACKs a missing packet only when a new gap shows up behind it: when
  the NACK or its retransmission is lost (28 % of the time at 15 % loss each way) it may
  never be asked for again before the buffer gives up on it, and packets given up on are
  asked for again and again until 128 newer ones arrived;
- a keyframe request (PLI) that is lost is never repeated.

:class:`BoundedWaitJitterBuffer` hands a frame out as soon as its last packet (RTP marker
bit) is there, keeps when each missing packet was first missed, and gives up on the head's
hole ``MAX_WAIT_S`` after that (not after it reached the head): the broken frame is dropped,
the next complete one goes out and a keyframe is asked for. A complete VP8 keyframe behind
a hole goes out at once, and what is before it is dropped. :class:`VideoReceiver` (built by
aiortc's peer connection through the module-level name ``rtcpeerconnection.RTCRtpReceiver``)
feeds every completed frame to the decoder, NACKs each missing packet every ``NACK_EVERY_S``
until it arrives or is given up on (instead of aiortc's generator), and repeats an
unanswered PLI every ``KEYFRAME_EVERY_S`` (Chromium ignores keyframe requests within 300 ms
of the last one it honoured), at most ``KEYFRAME_ASKS`` times per keyframe wanted. Its
decoder queue hands each frame to aiortc's decoder thread at its playout time
(:mod:`.playout`): a frame a retransmission made late is still shown on time.
"""

from __future__ import annotations

import asyncio
import collections
import time
from collections.abc import Callable
from typing import Any

import aiortc.rtcpeerconnection
import aiortc.rtcrtpreceiver
from aiortc.jitterbuffer import JitterBuffer, JitterFrame
from aiortc.rtp import RtpPacket
from aiortc.utils import uint16_add, uint16_gt

from softphone.rtc.aiortc_compat.check import compatibility
from softphone.rtc.aiortc_compat.playout import PlayoutTiming, TimedQueue
from softphone.rtc.aiortc_compat.transport_cc import FEEDBACK_EVERY_S, TransportFeedback
from softphone.tasks import BackgroundTasks

_original_jitter_buffer = aiortc.rtcrtpreceiver.JitterBuffer
_original_receiver = aiortc.rtcpeerconnection.RTCRtpReceiver

MAX_WAIT_S = 0.5
"""How long a missing packet may be waited for, from when it was missed (~25 NACKs; the
playout delay hides the wait, while a give-up costs a keyframe, which at the 30-60 kbps
Chromium sends under heavy loss pauses its encoder for up to a second)."""
NACK_EVERY_S = 0.02
"""How often a missing packet is NACKed again, as Chromium's receiver does at a low RTT (a
browser sender ignores repeats within its RTT)."""
KEYFRAME_EVERY_S = 0.5
"""How long a keyframe request may go unanswered before it is sent again."""
KEYFRAME_ASKS = 6
"""Keyframe requests per keyframe wanted, the first included (bounded re-asking)."""
NACK_SPAN = 128
"""Only the newest this many packets are NACKed (aiortc's sender history; after an outage
the restart resets the receiver instead)."""
_SLACK_S = 0.001  # a timer that fires at its deadline finds its work due


def vp8_starts_frame(packet: RtpPacket) -> bool:
    """The VP8 payload descriptor's S bit with partition index 0 (RFC 7741 4.2)."""
    return bool(packet.payload) and packet.payload[0] & 0x17 == 0x10


def vp8_starts_keyframe(packet: RtpPacket) -> bool:
    """A frame's first packet that begins a keyframe (``_data`` is the payload after the
    descriptor, as aiortc's receiver depayloaded it: the frame tag comes first)."""
    return vp8_starts_frame(packet) and is_keyframe("VP8", getattr(packet, "_data", b""))


class BoundedWaitJitterBuffer(JitterBuffer):
    """aiortc's video jitter buffer, minus the unbounded wait for a lost packet."""

    def __init__(self, capacity: int, prefetch: int = 0, is_video: bool = True) -> None:
        super().__init__(capacity=capacity, prefetch=prefetch, is_video=is_video)
        self._missed: dict[int, float] = {}  # missing sequence number -> first missed
        self._nacked: dict[int, float] = {}  # missing sequence number -> last NACKed
        self._newest: int | None = None
        self._ready: collections.deque[JitterFrame] = collections.deque()
        self.media_ssrc: int | None = None
        self.starts_frame: Callable[[RtpPacket], bool] | None = None
        """Whether a packet begins a frame, when the codec tells (set by the receiver)."""
        self.starts_keyframe: Callable[[RtpPacket], bool] | None = None
        """Whether a packet begins a keyframe, when the codec tells (set by the receiver)."""
        self.skipped_frames = 0
        """Incomplete frames given up on (diagnostics)."""

    def add(self, packet: RtpPacket) -> tuple[bool, JitterFrame | None]:
        """Returns (keyframe wanted, the oldest completed frame); :meth:`pop_ready` has the
        rest."""
        if self._origin is not None and self._is_late(packet.sequence_number):
            return False, None  # a retransmission of a packet given up on: changes nothing
        self.media_ssrc = packet.ssrc
        self._note_arrival(packet.sequence_number)
        pli_flag, _ = super().add(packet)  # completed frames went to _ready
        assert self._origin is not None and self._newest is not None
        if uint16_add(self._newest, -self._origin) >= self._capacity:  # the buffer reset
            self._newest = packet.sequence_number
            self._missed.clear()
            self._nacked.clear()
        self._forget_before_origin()
        self._skip_to_keyframe()
        pli_flag = self.expire() or pli_flag
        return pli_flag, self.pop_ready()

    def pop_ready(self) -> JitterFrame | None:
        return self._ready.popleft() if self._ready else None

    def expire(self, now: float | None = None) -> bool:
        """Give up on the head's hole if it was missed ``MAX_WAIT_S`` ago; True when a
        frame was dropped (a keyframe is wanted)."""
        now = time.monotonic() if now is None else now
        if not self._missed or now - min(self._missed.values()) < MAX_WAIT_S - _SLACK_S:
            return False  # the head's hole, if any, is among them: not due either
        gave_up = False
        while self._origin is not None and (hole := self._head_hole()) is not None:
            first = self._missed.get(uint16_add(self._origin, hole))
            if first is None or now - first < MAX_WAIT_S - _SLACK_S:
                break
            self._give_up(hole)
            gave_up = True
        return gave_up

    def nacks_due(self, now: float | None = None) -> list[int]:
        """Missing packets not NACKed within ``NACK_EVERY_S``; marked as NACKed now."""
        now = time.monotonic() if now is None else now
        due = [
            s
            for s in self._missed
            if now - self._nacked.get(s, -NACK_EVERY_S) >= NACK_EVERY_S - _SLACK_S
        ]
        for seq in due:
            self._nacked[seq] = now  # too old ones too: their timer is done
        newest = self._newest if self._newest is not None else 0
        due = [s for s in due if uint16_add(newest, -s) <= NACK_SPAN]
        return sorted(due, key=lambda s: uint16_add(s, -(self._origin or 0)))

    def next_deadline(self) -> float | None:
        """When :meth:`expire` or :meth:`nacks_due` next has something to do (monotonic)."""
        if not self._missed:
            return None
        nack = min(self._nacked.get(s, 0.0) for s in self._missed) + NACK_EVERY_S
        return min(nack, min(self._missed.values()) + MAX_WAIT_S)

    # --- internals ----------------------------------------------------------------------

    def _is_late(self, seq: int) -> bool:
        assert self._origin is not None
        return 0 < uint16_add(self._origin, -seq) < self._capacity

    def _note_arrival(self, seq: int) -> None:
        self._missed.pop(seq, None)
        self._nacked.pop(seq, None)
        if self._newest is None:
            self._newest = seq
            return
        if not uint16_gt(seq, self._newest):
            return
        now = time.monotonic()
        missing = uint16_add(self._newest, 1)
        while missing != seq and len(self._missed) < self._capacity:
            self._missed[missing] = now
            missing = uint16_add(missing, 1)
        self._newest = seq

    def _forget_before_origin(self) -> None:
        """Missing packets the buffer moved past (given up on, or a reset) are not asked for."""
        if self._origin is None:
            return
        for seq in [s for s in self._missed if self._is_late(s)]:
            del self._missed[seq]
            self._nacked.pop(seq, None)

    def _slot(self, count: int) -> RtpPacket | None:
        assert self._origin is not None
        return self._packets[(self._origin + count) % self._capacity]

    def _head_hole(self) -> int | None:
        """Offset of the first missing packet before the newest one, if any."""
        assert self._origin is not None and self._newest is not None
        span = uint16_add(self._newest, -self._origin)
        if span >= self._capacity:
            return None
        return next((c for c in range(span) if self._slot(c) is None), None)

    def _remove_frame(self, sequence_number: int) -> JitterFrame | None:
        """Every frame complete at the head goes to ``_ready``: one whose last packet (RTP
        marker bit, RFC 7741/6184) is there, or, without a marker, one the next frame's
        first packet follows (aiortc's rule). Returns None (aiortc's ``add`` passes it on;
        ours hands out ``_ready``)."""
        while self._origin is not None:
            packets: list[RtpPacket] = []
            end = None
            for count in range(self._capacity):
                slot = self._slot(count)
                if slot is None:
                    break
                if packets and slot.timestamp != packets[0].timestamp:
                    end = count
                    break
                packets.append(slot)
                if slot.marker:
                    end = count + 1
                    break
            if end is None:
                break
            data = b"".join(p._data for p in packets)  # type: ignore[attr-defined]
            self._ready.append(JitterFrame(data=data, timestamp=packets[0].timestamp))
            self.remove(end)
        return None

    def _skip_to_keyframe(self) -> None:
        """A complete keyframe behind the head's hole makes what is before it moot (nothing
        from it on refers to older frames): that is dropped and the keyframe handed out at
        once, as Chromium's frame buffer decodes the next decodable frame. Waiting for the
        hole instead held a keyframe Chromium sent under 30 % loss back for the whole
        ``MAX_WAIT_S``."""
        if not self._missed or self.starts_keyframe is None or self._origin is None:
            return  # no hole (the common case: nothing to scan on a clean stream)
        hole = self._head_hole()
        if hole is None:
            return
        assert self._newest is not None
        span = uint16_add(self._newest, -self._origin)
        for count in range(hole + 1, span + 1):
            slot = self._slot(count)
            if slot is not None and self.starts_keyframe(slot) and self._complete(count, span):
                self.remove(count)
                self.skipped_frames += 1
                self._forget_before_origin()
                self._remove_frame(slot.sequence_number)
                return

    def _complete(self, count: int, span: int) -> bool:
        """Whether the frame beginning at offset ``count`` has all its packets, up to the
        one with the marker bit."""
        first = self._slot(count)
        assert first is not None
        for offset in range(count, span + 1):
            slot = self._slot(offset)
            if slot is None or slot.timestamp != first.timestamp:
                return False
            if slot.marker:
                return True
        return False

    def _give_up(self, hole: int) -> None:
        """Drop the frame the hole broke (the head's, or when the head is the hole, the
        frame of the packet after it unless that packet begins its frame) and queue what is
        complete behind it."""
        before = self._slot(0)
        after = next(c for c in range(hole + 1, self._capacity) if self._slot(c) is not None)
        following = self._slot(after)
        assert following is not None
        broken = before.timestamp if before is not None else following.timestamp
        self.remove(after)
        intact = before is None and self.starts_frame is not None and self.starts_frame(following)
        while not intact and (first := self._slot(0)) is not None and first.timestamp == broken:
            self.remove(1)
        self.skipped_frames += 1
        self._forget_before_origin()
        self._remove_frame(following.sequence_number)


def _jitter_buffer(capacity: int, prefetch: int = 0, is_video: bool = False) -> JitterBuffer:
    if is_video:
        return BoundedWaitJitterBuffer(capacity=capacity, prefetch=prefetch)
    return JitterBuffer(capacity=capacity, prefetch=prefetch)


def is_keyframe(codec_name: str, data: bytes) -> bool:
    """VP8: the frame tag's P bit is 0 (RFC 6386 9.1); H264: an IDR slice (NAL type 5) in
    the Annex B stream aiortc's depayloader builds."""
    if codec_name == "VP8":
        return bool(data) and not data[0] & 1
    if codec_name == "H264":
        return any(part and part[0] & 0x1F == 5 for part in data.split(b"\x00\x00\x01"))
    return False


class _Keyframes:
    """Keyframe requests of one receiver: sent, repeated while unanswered, bounded."""

    def __init__(self) -> None:
        self.wanted = False
        self.asks = 0
        self.last_ask = 0.0

    def asked(self, now: float) -> None:
        if not self.wanted:
            self.wanted, self.asks = True, 0
        self.asks += 1
        self.last_ask = now

    def arrived(self) -> None:
        self.wanted = False

    def deadline(self) -> float | None:
        """When the request is to be repeated (None: nothing wanted, or asked enough)."""
        return (
            self.last_ask + KEYFRAME_EVERY_S if self.wanted and self.asks < KEYFRAME_ASKS else None
        )

    def repeat_due(self, now: float) -> bool:
        due = self.deadline()
        return due is not None and now >= due - _SLACK_S


class _DecoderQueue(TimedQueue):
    """The receiver's decoder input: notes each keyframe on its way to the decoder, and
    hands each frame to the decoder thread at its playout time (:mod:`.playout`)."""

    def __init__(self, keyframes: _Keyframes) -> None:
        super().__init__()
        self._keyframes = keyframes
        self._timing = PlayoutTiming()

    def put(self, item: Any, block: bool = True, timeout: float | None = None) -> None:
        if item is None:  # the receiver stopping
            super().put(None)
            return
        if is_keyframe(item[0].name, item[1].data):
            self._keyframes.arrived()
        self.put_due(item, self._timing.due(item[1].timestamp, time.monotonic()))


class VideoReceiver(aiortc.rtcrtpreceiver.RTCRtpReceiver):
    """aiortc's receiver; for video: every completed frame decoded, NACKs and keyframe
    requests repeated on a timer (see the module docstring)."""

    def __init__(self, kind: str, transport: Any) -> None:
        super().__init__(kind, transport)
        self._keyframes = _Keyframes()
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = 0.0
        self._tasks = BackgroundTasks("video-receiver")  # the timer's services
        self._last_codec: Any = None
        self._video = kind == "video"
        self._feedback = TransportFeedback()  # seam 10
        self._feedback_timer: asyncio.TimerHandle | None = None
        self._feedback_ssrc = 0
        if self._video:
            inner: Any = self
            inner._RTCRtpReceiver__decoder_queue = _DecoderQueue(self._keyframes)
            inner._RTCRtpReceiver__nack_generator = None  # ours: the buffer's nacks_due()

    def _buffer(self) -> BoundedWaitJitterBuffer | None:
        buffer = getattr(self, "_RTCRtpReceiver__jitter_buffer", None)
        return buffer if isinstance(buffer, BoundedWaitJitterBuffer) else None

    async def _handle_rtp_packet(self, packet: RtpPacket, arrival_time_ms: int) -> None:
        if self._video and packet.extensions.transport_sequence_number is not None:
            self._note_transport_seq(packet.extensions.transport_sequence_number, packet.ssrc)
        await super()._handle_rtp_packet(packet, arrival_time_ms)
        if not self._video:
            return
        inner: Any = self
        codec = inner._RTCRtpReceiver__codecs.get(packet.payload_type)
        if codec is not None and codec.name.lower() != "rtx":
            self._last_codec = codec
            buffer = self._buffer()
            if buffer is not None:
                vp8 = codec.name == "VP8"
                buffer.starts_frame = vp8_starts_frame if vp8 else None
                buffer.starts_keyframe = vp8_starts_keyframe if vp8 else None
        await self._service()

    def _note_transport_seq(self, seq: int, ssrc: int) -> None:
        """Seam 10: the arrival goes into the next transport-cc feedback, sent within
        ``FEEDBACK_EVERY_S``. The sender estimates from those now: no more REMB from aiortc's
        receive-side estimator, which a send-side estimator would take as a cap."""
        inner: Any = self
        inner._RTCRtpReceiver__remote_bitrate_estimator = None
        self._feedback.record(seq, time.monotonic())
        self._feedback_ssrc = ssrc
        if self._feedback_timer is None:
            loop = asyncio.get_running_loop()
            self._feedback_timer = loop.call_later(
                FEEDBACK_EVERY_S, lambda: self._tasks.spawn(self._send_feedback())
            )

    async def _send_feedback(self) -> None:
        self._feedback_timer = None
        inner: Any = self
        sender_ssrc = inner._RTCRtpReceiver__rtcp_ssrc
        packets = self._feedback.packets(sender_ssrc or 0, self._feedback_ssrc)
        for packet in packets if sender_ssrc is not None else ():
            await inner._send_rtcp(packet)  # bytes(packet) is the packet itself

    async def _send_rtcp_pli(self, media_ssrc: int) -> None:
        self._keyframes.asked(time.monotonic())
        await super()._send_rtcp_pli(media_ssrc)

    async def _service(self) -> None:
        """Give up on expired holes, decode what is complete, NACK, re-ask a keyframe;
        then wait for the next of those deadlines."""
        buffer = self._buffer()
        if buffer is None or buffer.media_ssrc is None:
            return
        now = time.monotonic()
        ssrc = buffer.media_ssrc
        if buffer.expire(now) or self._keyframes.repeat_due(now):
            await self._send_rtcp_pli(ssrc)
        while (frame := buffer.pop_ready()) is not None:
            self._decode(frame)
        lost = buffer.nacks_due(now)
        if lost:
            await self._send_rtcp_nack(ssrc, lost)
        self._schedule(buffer)

    def _decode(self, frame: JitterFrame) -> None:
        inner: Any = self
        if self._last_codec is None or inner._RTCRtpReceiver__decoder_thread is None:
            return
        frame.timestamp = inner._RTCRtpReceiver__timestamp_mapper.map(frame.timestamp)
        inner._RTCRtpReceiver__decoder_queue.put((self._last_codec, frame))

    def _schedule(self, buffer: BoundedWaitJitterBuffer) -> None:
        """One timer per receiver, at the earliest deadline (kept when already earlier)."""
        deadlines = [d for d in (buffer.next_deadline(), self._keyframes.deadline()) if d]
        if not deadlines:
            return
        now = time.monotonic()
        at = max(now + 0.005, min(deadlines))
        if self._timer is not None and now < self._timer_at <= at:
            return
        if self._timer is not None:
            self._timer.cancel()
        self._timer_at = at
        loop = asyncio.get_running_loop()
        self._timer = loop.call_later(at - now, lambda: self._tasks.spawn(self._service()))

    async def stop(self) -> None:
        for timer in (self._timer, self._feedback_timer):
            if timer is not None:
                timer.cancel()
        await self._tasks.close()
        await super().stop()


def install_bounded_jitter() -> None:
    """Every video receiver created from now on gets the bounded buffer and the repeated
    NACKs and keyframe requests (idempotent); aiortc's own stay when the compatibility
    check found its internals changed."""
    ok = compatibility().ok
    receiver_module: Any = aiortc.rtcrtpreceiver
    receiver_module.JitterBuffer = _jitter_buffer if ok else _original_jitter_buffer
    peer_module: Any = aiortc.rtcpeerconnection
    peer_module.RTCRtpReceiver = VideoReceiver if ok else _original_receiver
