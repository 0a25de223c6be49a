"""What arrives from the peer, on whichever ICE agent: timestamps and RTP gaps.

Pure bookkeeping (no aiortc): the restartable transport stamps every non-STUN datagram
here before DTLS sees it. Loss detection reads ``last_inbound``, recovery reads
``last_srtp`` ("media flows again"), and a gap in RTP resets the video receiver.
"""

from __future__ import annotations

import time

from softphone.events import Signal

INBOUND_RESUME_GAP_S = 1.0
"""Inbound RTP silence after which the video jitter buffer must be reset (docs/aiortc-notes.md)."""

_RTP_FIRST_BYTE = range(128, 192)  # SRTP and SRTCP (RFC 7983 demultiplexing)
_RTCP_PACKET_TYPES = range(192, 224)  # RFC 5761: RTCP, not RTP


class InboundClock:
    def __init__(self) -> None:
        self.last_inbound: float | None = None
        """monotonic() of the last datagram from the peer (STUN excluded)."""
        self.last_srtp: float | None = None
        """monotonic() of the last SRTP/SRTCP datagram from the peer."""
        self._last_rtp: float | None = None
        self.resumed: Signal[[float]] = Signal("ice.inbound_resumed")
        """(gap seconds) Before the first RTP packet after >= INBOUND_RESUME_GAP_S without
        RTP, before DTLS/SRTP processes it."""

    def stamp(self, data: bytes) -> None:
        now = time.monotonic()
        self.last_inbound = now
        if len(data) > 1 and data[0] in _RTP_FIRST_BYTE:
            self.last_srtp = now
            if data[1] not in _RTCP_PACKET_TYPES:  # RTP: SRTP headers are in the clear
                if self._last_rtp is not None and now - self._last_rtp >= INBOUND_RESUME_GAP_S:
                    self.resumed.emit(now - self._last_rtp)
                self._last_rtp = now
