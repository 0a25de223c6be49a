"""The aiortc layer: one call's peer connection, ICE restart mechanics and loss detection.

Knows nothing about signaling or policy (docs/architecture.md): SDP goes in and out as
text, observations come out as :class:`softphone.events.Signal`.
"""
