"""Re-offers keep payload types, extmap ids and the o= session (browsers reject renumbering)."""

from __future__ import annotations

import time

import pytest

from softphone.rtc.ice_restart import GlareAction, IceRestarter, glare_action
from softphone.rtc.sdp_stability import ice_credentials_changed, next_origin
from tests.rtc.loopback import (
    connected_pair,
    origin,
    payload_lines,
    renumber_extmap,
    renumber_payload_types,
)

pytestmark = pytest.mark.timeout(60)

# aiortc's defaults (opus 96, VP8 97 + RTX 98, H264 99/101 + RTX 100/102) renumbered the
# way Chrome numbers them: VP8 96 and its RTX 97 collide with aiortc's own choice.
CHROME_LIKE_PTS = {96: 111, 97: 96, 98: 97, 99: 102, 100: 103, 101: 104, 102: 105}
CHROME_LIKE_EXTMAP = {1: 9, 2: 1, 3: 2}


def chrome_like(sdp: str) -> str:
    return renumber_extmap(renumber_payload_types(sdp, CHROME_LIKE_PTS), CHROME_LIKE_EXTMAP)


def test_next_origin_keeps_session_and_bumps_version() -> None:
    assert next_origin("- 4004720348 4004720348 IN IP4 0.0.0.0") == (
        "- 4004720348 4004720349 IN IP4 0.0.0.0"
    )


def test_glare_rule() -> None:
    assert glare_action(polite=False, own_offer_pending=True) is GlareAction.IGNORE
    assert glare_action(polite=True, own_offer_pending=True) is GlareAction.ROLLBACK_AND_ANSWER
    for polite in (True, False):
        assert glare_action(polite=polite, own_offer_pending=False) is GlareAction.ANSWER


async def test_reoffer_by_the_first_offerer_is_stable() -> None:
    pair = await connected_pair(audio=True, video=True)
    ours = IceRestarter(pair.offerer.pc, polite=False)
    theirs = IceRestarter(pair.answerer.pc, polite=True)
    try:
        first = pair.offerer.pc.localDescription.sdp
        offer = await ours.create_restart_offer()
        assert ice_credentials_changed(offer, first)
        assert payload_lines(offer) == payload_lines(first)
        assert origin(offer) == (origin(first)[0], origin(first)[1] + 1)

        answer = await theirs.handle_remote_offer(offer)
        assert answer is not None
        await ours.accept_restart_answer(answer)
        second = await ours.create_restart_offer()  # and again after a completed restart
        assert payload_lines(second) == payload_lines(first)
        assert origin(second) == (origin(first)[0], origin(first)[1] + 2)
    finally:
        await ours.close()
        await theirs.close()
        await pair.close()


async def test_reoffer_by_aiortc_answerer_keeps_browser_numbering() -> None:
    pair = await connected_pair(offer_in_transit=chrome_like)
    agent = IceRestarter(pair.answerer.pc, polite=False)
    visitor = IceRestarter(pair.offerer.pc, polite=True)
    try:
        browser_offer = pair.answerer.pc.remoteDescription.sdp
        first_answer = pair.answerer.pc.localDescription.sdp
        assert "a=rtpmap:96 VP8/90000" in first_answer  # the browser's numbering was taken

        offer = await agent.create_restart_offer()
        assert payload_lines(offer) == payload_lines(first_answer)
        assert "a=rtpmap:96 VP8/90000" in offer
        assert "a=fmtp:97 apt=96" in offer
        assert "a=extmap:9 urn:ietf:params:rtp-hdrext:sdes:mid" in offer
        assert origin(offer) == (origin(first_answer)[0], origin(first_answer)[1] + 1)
        # Every codec and extension offered now was in the browser's offer with that number.
        browser_lines = set(payload_lines(browser_offer))
        assert all(line in browser_lines for line in payload_lines(offer) if line[0] == "a")

        answer = await visitor.handle_remote_offer(offer)
        assert answer is not None
        await agent.accept_restart_answer(answer)
        await pair.wait_media(since=time.monotonic(), frames=5)  # media still decodes
    finally:
        await agent.close()
        await visitor.close()
        await pair.close()


async def test_reanswer_keeps_origin() -> None:
    pair = await connected_pair(audio=True, video=False)
    ours = IceRestarter(pair.offerer.pc, polite=False)
    theirs = IceRestarter(pair.answerer.pc, polite=True)
    try:
        first_answer = pair.answerer.pc.localDescription.sdp
        answer = await theirs.handle_remote_offer(await ours.create_restart_offer())
        assert answer is not None
        assert origin(answer) == (origin(first_answer)[0], origin(first_answer)[1] + 1)
        assert payload_lines(answer) == payload_lines(first_answer)
        await ours.accept_restart_answer(answer)
    finally:
        await ours.close()
        await theirs.close()
        await pair.close()
