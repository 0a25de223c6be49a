"""Every place where Softphone reaches into aiortc/aioice internals, and the check of them.

aiortc 1.16.0 / aioice 0.13.0 are pinned in pyproject.toml because of this package;
:mod:`.check` verifies at run time that every internal used here exists (start-up,
``--self-test``, the first call) and ICE restart is switched off when one is missing.
docs/aiortc-notes.md has the measurements behind each seam.

1. :mod:`.host_allowlist`: pin host candidates (``aioice.ice.get_host_addresses``).
2. :mod:`.transport`: ICE restart without a new DTLS handshake (``RTCIceTransport``
   injection, ``_recv``/``_send``, the gatherer's ``_connection``), fed by
   :mod:`.inbound` (what arrived, RTP gaps).
3. :mod:`.probe`: STUN probe of the selected pair (``Connection._nominated``,
   ``build_request``).
4. :mod:`.media`: paused senders (``RTCRtpSender._enabled``), video receiver reset (the
   receiver's private jitter buffer and NACK generator).
5. :mod:`.rollback`: drop a pending local offer (the peer connection's private state).
6. :mod:`.opus`: Opus encoded for voice (``OpusEncoder.__init__``'s codec and resampler).
7. :mod:`.voice_receiver`: audio packets straight to the decoder (the receiver's private
   jitter buffer).
8. :mod:`.turn_gathering`: a relay candidate from every TURN URL, UDP > TCP > TLS
   (``rtcicetransport.connection_kwargs`` and ``Connection``, ``relayed_candidate``,
   ``Connection.get_component_candidates``/``check_start``); fresh agents keep them.
9. :mod:`.video_jitter`: video under loss: a jitter buffer that gives up on a lost packet
   0.5 s after it was missed, NACKs every 20 ms and keyframe requests repeated until
   answered, and :mod:`.playout`, frames decoded at their playout time
   (``rtcrtpreceiver.JitterBuffer``, ``rtcpeerconnection.RTCRtpReceiver``, the buffer's
   ``_origin``/``_packets``, the receiver's decoder queue and the decoder thread's ``get``
   on it, codecs and RTCP senders).
10. :mod:`.transport_cc`: transport-wide congestion control feedback for received video
    (``aiortc.codecs.HEADER_EXTENSIONS``/``CODECS`` for the offer and answer, the parsed
    ``transport_sequence_number``, the receiver's RTCP sender, SSRC and REMB estimator).
"""
