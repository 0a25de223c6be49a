"""Seam 5: roll back a pending local offer (the peer connection's private signaling state).

aiortc has no "rollback" description. The polite side of a restart glare drops its pending
offer: back to "stable" with the last negotiated local description.
"""

from __future__ import annotations

from typing import Any

import aiortc


def rollback_local_offer(pc: aiortc.RTCPeerConnection) -> None:
    """Forget the pending local offer so a remote offer can be applied."""
    if pc.signalingState != "have-local-offer":
        return
    inner: Any = pc
    inner._RTCPeerConnection__pendingLocalDescription = None
    inner._RTCPeerConnection__setSignalingState("stable")
