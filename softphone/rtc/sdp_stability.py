"""Keep re-negotiated SDP stable: same payload types, extmap ids and o= session.

aiortc's createOffer rebuilds codecs and header extensions from its defaults on every call
and writes a fresh ``o=`` line. On a re-offer that renumbers what was negotiated (VP8
96→97 where 97 was the browser's RTX, extmap 9→1), which Chromium rejects by crashing the
renderer (docs/aiortc-notes.md). Every re-offer/re-answer therefore goes through this module.
"""

from __future__ import annotations

import copy

from aiortc import sdp

_ESTABLISHED_DTLS_ROLES = ("client", "server")


def ice_credentials(sdp_text: str) -> list[tuple[str | None, str | None]]:
    """(ufrag, pwd) of every m-section, in order."""
    description = sdp.SessionDescription.parse(sdp_text)
    return [
        (m.ice.usernameFragment, m.ice.password) if m.ice else (None, None)
        for m in description.media
    ]


def ice_credentials_changed(new_sdp: str, current_sdp: str | None) -> bool:
    """Whether ``new_sdp`` carries other ICE credentials: an offer doing so is a restart."""
    if current_sdp is None:
        return False
    return ice_credentials(new_sdp) != ice_credentials(current_sdp)


def next_origin(previous_origin: str) -> str:
    """The previous ``o=`` value with the same session id and the version incremented."""
    username, session_id, version, *rest = previous_origin.split()
    return " ".join([username, session_id, str(int(version) + 1), *rest])


def stabilize_reoffer(offer_sdp: str, previous_local_sdp: str, dtls_role: str | None) -> str:
    """Rewrite a fresh aiortc offer so it keeps what the previous negotiation fixed.

    Codecs (payload types, fmtp, rtcp-fb) and header-extension ids are copied per mid from
    our previous local description — offer or answer, it carries the negotiated mapping.
    ``dtls_role`` ("client"/"server"), when DTLS is established, pins ``a=setup`` to it so
    the answerer cannot flip roles and force a second handshake.
    """
    offer = sdp.SessionDescription.parse(offer_sdp)
    previous = sdp.SessionDescription.parse(previous_local_sdp)
    previous_by_mid = {m.rtp.muxId: m for m in previous.media}
    for media in offer.media:
        before = previous_by_mid.get(media.rtp.muxId)
        if before is not None and media.kind in ("audio", "video"):
            media.rtp.codecs = copy.deepcopy(before.rtp.codecs)
            media.rtp.headerExtensions = copy.deepcopy(before.rtp.headerExtensions)
            media.fmt = [codec.payloadType for codec in media.rtp.codecs]
        if dtls_role in _ESTABLISHED_DTLS_ROLES and media.dtls is not None:
            media.dtls.role = dtls_role
    if previous.origin:
        offer.origin = next_origin(previous.origin)
    return str(offer)


def stabilize_answer(answer_sdp: str, previous_local_sdp: str | None) -> str:
    """Keep the ``o=`` session of our previous description in a re-answer (version + 1).

    Payload types and extmap ids of an aiortc answer already follow the offer.
    """
    if previous_local_sdp is None:
        return answer_sdp
    answer = sdp.SessionDescription.parse(answer_sdp)
    previous = sdp.SessionDescription.parse(previous_local_sdp)
    if previous.origin:
        answer.origin = next_origin(previous.origin)
    return str(answer)
