"""Transport-wide congestion control feedback for the video we receive.

Seam 10 (listed in this package's docstring; its internals are in :mod:`.check`). aiortc
1.16 gives a sender only receiver reports and REMB from its receive-side delay estimator.
Chromium, sending to us over a lossy link, then runs its loss-based controller on those
alone: at 15 % loss it fell to ~50 kbps, 9-20 one-packet frames/s (docs/networks.md,
"Lossy links"), so each lost packet costs a whole frame interval. With
transport-wide sequence numbers (the header extension ``TRANSPORT_CC_URI``) and the
``transport-cc`` RTCP feedback negotiated for video, Chromium's send-side estimator learns
the arrival time of every packet it sent.

:func:`install_transport_cc` adds both to what aiortc offers and answers for video
(``aiortc.codecs.HEADER_EXTENSIONS`` and the video codecs' ``rtcpFeedback`` in
``aiortc.codecs.CODECS``; aiortc's ``HeaderExtensionsMap`` already parses the sequence
number). :class:`TransportFeedback` records (sequence number, arrival) per packet and
builds the feedback packets (RTCP RTPFB FMT=15,
draft-holmer-rmcat-transport-wide-cc-extensions-01 section 3.1); the video receiver
(:mod:`.video_jitter`) sends them every ``FEEDBACK_EVERY_S`` while packets arrive and stops
sending REMB, which a send-side estimator would take as a cap.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence

import aiortc.codecs
from aiortc.rtcrtpparameters import (
    RTCRtcpFeedback,
    RTCRtpCodecParameters,
    RTCRtpHeaderExtensionParameters,
)

from softphone.rtc.aiortc_compat.check import TRANSPORT_CC_URI, compatibility

TRANSPORT_CC_FEEDBACK = RTCRtcpFeedback(type="transport-cc")
EXTENSION_ID = 5
"""Our id for the extension when we offer (aiortc's own ids: 1 mid, 2 audio level,
3 abs-send-time; an answer takes the offerer's)."""
FEEDBACK_EVERY_S = 0.05
"""How often feedback is sent while packets arrive (libwebrtc: 50-250 ms by rate)."""
MAX_PACKETS = 400
"""Sequence numbers one feedback packet covers at most (~1 KiB; the rest goes in the next)."""
MAX_BEHIND = 1000
"""A sequence number this far behind the newest is not reported any more (an outage's)."""

RTCP_RTPFB = 205
FMT_TRANSPORT_CC = 15
TICK_US = 250  # receive deltas
REFERENCE_US = 64_000  # reference time
NOT_RECEIVED, SMALL_DELTA, LARGE_DELTA = 0, 1, 2  # packet status symbols
_RUN_MAX = 0x1FFF  # 13-bit run length
_ONE_BIT_SYMBOLS, _TWO_BIT_SYMBOLS = 14, 7  # per status vector chunk


def _delta_symbol(delta: int) -> int | None:
    if 0 <= delta <= 0xFF:
        return SMALL_DELTA
    if -0x8000 <= delta <= 0x7FFF:
        return LARGE_DELTA
    return None  # needs a new reference time: the next feedback packet


def _chunks(symbols: Sequence[int]) -> bytes:
    """Run-length chunks for runs of 7+, status vectors (14 one-bit or 7 two-bit symbols)
    otherwise; a last vector may cover symbols past the count (the receiver ignores them)."""
    out = bytearray()
    i = 0
    while i < len(symbols):
        run = 1
        while i + run < len(symbols) and symbols[i + run] == symbols[i] and run < _RUN_MAX:
            run += 1
        if run >= _TWO_BIT_SYMBOLS:
            out += struct.pack("!H", symbols[i] << 13 | run)
            i += run
            continue
        ahead = symbols[i : i + _ONE_BIT_SYMBOLS]
        if all(s != LARGE_DELTA for s in ahead):
            bits = 0
            for k, symbol in enumerate(ahead):
                bits |= symbol << (_ONE_BIT_SYMBOLS - 1 - k)
            out += struct.pack("!H", 0x8000 | bits)
            i += len(ahead)
        else:
            ahead = symbols[i : i + _TWO_BIT_SYMBOLS]
            bits = 0
            for k, symbol in enumerate(ahead):
                bits |= symbol << (2 * (_TWO_BIT_SYMBOLS - 1 - k))
            out += struct.pack("!H", 0xC000 | bits)
            i += len(ahead)
    return bytes(out)


def build_feedback(
    sender_ssrc: int,
    media_ssrc: int,
    base_seq: int,
    count: int,
    arrivals_us: Sequence[int | None],
) -> tuple[bytes, int]:
    """One feedback packet for ``arrivals_us`` (per sequence number from ``base_seq``: the
    arrival in µs on any clock, None when not received; one among the first
    ``MAX_PACKETS`` must be received). Returns the packet and how many sequence numbers it
    covers: fewer than given when a delta does not fit 16 bits or past ``MAX_PACKETS`` (the
    rest starts the next packet)."""
    first = next(a for a in arrivals_us[:MAX_PACKETS] if a is not None)
    reference = first // REFERENCE_US
    previous = reference * REFERENCE_US // TICK_US
    symbols: list[int] = []
    deltas = bytearray()
    for arrival in arrivals_us[:MAX_PACKETS]:
        if arrival is None:
            symbols.append(NOT_RECEIVED)
            continue
        ticks = arrival // TICK_US
        symbol = _delta_symbol(ticks - previous)
        if symbol is None:
            break
        deltas += struct.pack("!B" if symbol == SMALL_DELTA else "!h", ticks - previous)
        symbols.append(symbol)
        previous = ticks
    while symbols[-1] == NOT_RECEIVED:  # a packet ends on a received one
        symbols.pop()
    body = (
        struct.pack(
            "!IIHHI",
            sender_ssrc,
            media_ssrc,
            base_seq & 0xFFFF,
            len(symbols),
            (reference & 0xFFFFFF) << 8 | count & 0xFF,
        )
        + _chunks(symbols)
        + bytes(deltas)
    )
    padding = -len(body) % 4
    header_byte = 2 << 6 | FMT_TRANSPORT_CC
    if padding:  # RFC 3550 padding: the P bit, the last byte counts the padding bytes
        body += bytes(padding - 1) + bytes([padding])
        header_byte |= 0x20
    header = struct.pack("!BBH", header_byte, RTCP_RTPFB, len(body) // 4)
    return header + body, len(symbols)


class TransportFeedback:
    """Arrivals of one receiver's packets by transport-wide sequence number, reported once
    each (a feedback packet that is lost is not repeated, as in libwebrtc)."""

    def __init__(self) -> None:
        self._arrivals: dict[int, int] = {}  # unwrapped sequence number -> arrival (µs)
        self._newest: int | None = None
        self._next: int | None = None  # the first sequence number not reported yet
        self._count = 0  # feedback packet count (8 bits on the wire)

    def record(self, seq: int, arrival_s: float) -> None:
        unwrapped = self._unwrap(seq)
        if self._next is not None and unwrapped < self._next:
            return  # reported already (as not received): too late
        self._arrivals.setdefault(unwrapped, round(arrival_s * 1_000_000))
        if self._newest is None or unwrapped > self._newest:
            self._newest = unwrapped

    @property
    def pending(self) -> bool:
        return bool(self._arrivals)

    def packets(self, sender_ssrc: int, media_ssrc: int) -> list[bytes]:
        """Feedback for everything recorded since the last call."""
        if self._newest is None or not self._arrivals:
            return []
        # from the first one not reported yet: packets missed since then are reported lost
        start = min(self._arrivals) if self._next is None else self._next
        start = max(start, self._newest - MAX_BEHIND + 1)  # not an outage's worth
        out = []
        while start <= self._newest:
            if all(s not in self._arrivals for s in range(start, start + MAX_PACKETS)):
                start = min(s for s in self._arrivals if s >= start)  # a long loss: skipped
            arrivals = [self._arrivals.get(s) for s in range(start, self._newest + 1)]
            packet, covered = build_feedback(sender_ssrc, media_ssrc, start, self._count, arrivals)
            out.append(packet)
            self._count = (self._count + 1) & 0xFF
            start += covered
        self._arrivals.clear()
        self._next = self._newest + 1
        return out

    def _unwrap(self, seq: int) -> int:
        if self._newest is None:
            return seq
        delta = (seq - self._newest) & 0xFFFF
        if delta >= 0x8000:
            delta -= 0x10000
        return self._newest + delta


def _video_codecs() -> list[RTCRtpCodecParameters]:
    return [c for c in aiortc.codecs.CODECS["video"] if c.name.lower() != "rtx"]


def install_transport_cc() -> None:
    """Offer and accept transport-cc for video from now on (idempotent); not when the
    compatibility check found aiortc's internals changed (the video receiver that sends the
    feedback is aiortc's own then)."""
    extensions = aiortc.codecs.HEADER_EXTENSIONS["video"]
    extensions[:] = [e for e in extensions if e.uri != TRANSPORT_CC_URI]
    codecs = _video_codecs()
    for codec in codecs:
        codec.rtcpFeedback[:] = [f for f in codec.rtcpFeedback if f != TRANSPORT_CC_FEEDBACK]
    if not compatibility().ok:
        return
    extensions.append(RTCRtpHeaderExtensionParameters(id=EXTENSION_ID, uri=TRANSPORT_CC_URI))
    for codec in codecs:
        codec.rtcpFeedback.append(TRANSPORT_CC_FEEDBACK)
