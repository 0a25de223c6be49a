"""ICE restarts between the widget (in each browser) and the Python agent, on loopback.

Chromium aborts the renderer on a re-offer that renumbers payload types or extmap ids, and
Firefox rejects one, so an agent-initiated restart that the browser accepts proves the
agent's re-offers are stable for its numbering. "Same DTLS": the browser's transport stats
keep their id and the senders keep the same RTCDtlsTransport object, ``connected``
throughout, with the same certificates where the browser reports them, while the ICE
username fragment changes; the agent logs one DTLS handshake for the whole call.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

from tests.browser.loopback_call import (
    VIDEO_FRAMES_DECODED,
    WIDGET,
    AgentSide,
    assert_remote_stamps_rise,
    page_wait,
    start_widget_call,
    wait_until,
)

if TYPE_CHECKING:
    from tests.browser.browsers import BrowserPage

TRANSPORT = f"""async () => {{
  const call = {WIDGET}.call;
  const stats = await call.transportStats();
  const t = stats.transports[0];
  const dtls = call.pc.getSenders()[0].transport;
  window.__dtls = window.__dtls || dtls;
  return {{id: t.id, dtlsState: t.dtlsState, cipher: t.srtpCipher,
          sameDtls: dtls === window.__dtls, dtlsObjectState: dtls.state,
          ufrag: t.iceLocalUsernameFragment,
          pairChanges: t.selectedCandidatePairChanges, pair: t.selectedCandidatePairId,
          localCert: t.localCertificateId, remoteCert: t.remoteCertificateId,
          transports: stats.transports.length}};
}}"""


class HandshakeCounter(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage().endswith("-> State.CONNECTED"):
            self.count += 1


@pytest.fixture
def dtls_handshakes() -> Iterator[HandshakeCounter]:
    """Counts the agent's DTLS handshakes (aiortc logs each state change at DEBUG)."""
    logger = logging.getLogger("aiortc.rtcdtlstransport")
    counter, level = HandshakeCounter(), logger.level
    logger.addHandler(counter)
    logger.setLevel(logging.DEBUG)
    yield counter
    logger.removeHandler(counter)
    logger.setLevel(level)


async def transport(page: BrowserPage) -> dict[str, Any]:
    result: dict[str, Any] = await page.evaluate(TRANSPORT)
    return result


async def watch_transport(
    page: BrowserPage, seen: list[dict[str, Any]], stop: asyncio.Event
) -> None:
    while not stop.is_set():
        seen.append(await transport(page))
        await asyncio.sleep(0.05)


async def restart_and_compare(page: BrowserPage, side: AgentSide, restart: Any) -> None:
    """Run ``restart`` while sampling Chromium's transport; check DTLS survived it."""
    before = await transport(page)
    assert before["dtlsState"] == "connected" and before["transports"] == 1
    frames_before = await page.evaluate(f"({VIDEO_FRAMES_DECODED})()")
    seen: list[dict[str, Any]] = []
    stop = asyncio.Event()
    watcher = asyncio.create_task(watch_transport(page, seen, stop))
    try:
        await restart()
        await page_wait(
            page, f"({TRANSPORT})().then(t => t.ufrag !== {before['ufrag']!r})", timeout=15
        )
        # Media continues over the new ICE pair: more frames decoded, stamps still rising.
        await page_wait(page, f"({VIDEO_FRAMES_DECODED})().then(n => n > {frames_before + 30})")
    finally:
        stop.set()
        await watcher
    after = await transport(page)
    assert all(s["id"] == before["id"] and s["dtlsState"] == "connected" for s in seen)
    assert all(s["sameDtls"] and s["dtlsObjectState"] == "connected" for s in seen)
    # Certificate ids: Chromium only (it fills the remote one in lazily, sometimes never).
    assert (after.get("localCert"), after["cipher"]) == (before.get("localCert"), before["cipher"])
    if before.get("remoteCert"):
        assert after["remoteCert"] == before["remoteCert"]
    if before.get("pairChanges") is not None:  # Chromium counts pair switches
        assert after["pairChanges"] > before["pairChanges"]  # a new ICE pair, same transport
    else:  # Firefox names the selected pair
        assert after["pair"] != before["pair"]
    assert after["transports"] == 1
    await assert_remote_stamps_rise(page)
    call = side.agent.call
    assert call is not None
    video = call.peer.received("video")
    frames = video.frames
    await wait_until(lambda: video.frames > frames + 30)  # the agent still decodes Chromium


async def test_agent_initiated_restart_is_accepted_with_dtls_kept(
    agent_side: AgentSide, page: BrowserPage, dtls_handshakes: HandshakeCounter
) -> None:
    await start_widget_call(agent_side, page)
    assert dtls_handshakes.count == 1

    async def agent_restarts() -> None:
        agent_side.agent.restart_ice("manual")

    await restart_and_compare(page, agent_side, agent_restarts)
    assert await page.evaluate(f"{WIDGET}.call.restarts") >= 1
    assert await page.evaluate(f"{WIDGET}.call.state") == "connected"
    assert dtls_handshakes.count == 1
    await page.click(".sp-hangup")
    await wait_until(lambda: agent_side.ended == ["normal"])


async def test_browser_initiated_restart_is_answered_by_the_agent(
    agent_side: AgentSide, page: BrowserPage, dtls_handshakes: HandshakeCounter
) -> None:
    await start_widget_call(agent_side, page)

    async def browser_restarts() -> None:
        await page.evaluate(f"{WIDGET}.call.restart('manual')")

    await restart_and_compare(page, agent_side, browser_restarts)
    await page_wait(page, f"{WIDGET}.call.state === 'connected'")
    events = await page.evaluate(f"{WIDGET}.events.items.map(e => e.event)")
    assert "call.restart_offer_sent" in events and "call.reconnecting" in events
    assert await page.text_content(".sp-status") in ("Reconnected", "Connected")
    assert dtls_handshakes.count == 1
    await page.click(".sp-hangup")
    await wait_until(lambda: agent_side.ended == ["normal"])


HOLD_OUTGOING = f"""() => {{
  const signaling = {WIDGET}.call.signaling;
  window.__held = [];
  window.__send = signaling.send.bind(signaling);
  signaling.send = (msg) => window.__held.push(msg);
}}"""
RELEASE_OUTGOING = f"""() => {{
  const signaling = {WIDGET}.call.signaling;
  signaling.send = window.__send;
  const held = window.__held.splice(0);
  for (const msg of held) signaling.send(msg);
  return held.map(m => m.type);
}}"""


async def test_glare_the_widget_yields_to_the_agent(
    agent_side: AgentSide,
    page: BrowserPage,
    dtls_handshakes: HandshakeCounter,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Both restart at once: the widget (polite) rolls its offer back and answers the
    agent's; the agent (impolite) ignores the widget's offer. One round, same DTLS."""
    caplog.set_level(logging.INFO, logger="softphone.rtc.ice_restart")
    await start_widget_call(agent_side, page)
    before = await transport(page)
    # The widget's offer is held back in the page so that the two offers surely cross.
    await page.evaluate(HOLD_OUTGOING)
    await page.evaluate(f"{WIDGET}.call.restart('manual')")
    await page_wait(page, "window.__held.some(m => m.type === 'restart_offer')")
    agent_side.agent.restart_ice("manual")
    await page_wait(page, f"{WIDGET}.events.items.some(e => e.event === 'call.glare_rollback')")
    await page_wait(page, "window.__held.some(m => m.type === 'restart_answer')")
    sent = await page.evaluate(RELEASE_OUTGOING)
    assert sent.index("restart_offer") < sent.index("restart_answer")

    await page_wait(page, f"{WIDGET}.call.state === 'connected'")
    after = await transport(page)
    assert after["ufrag"] != before["ufrag"]
    assert (after["id"], after["dtlsState"]) == (before["id"], "connected")
    frames = await page.evaluate(f"({VIDEO_FRAMES_DECODED})()")
    await page_wait(page, f"({VIDEO_FRAMES_DECODED})().then(n => n > {frames + 30})")
    glare = [getattr(r, "action", None) for r in caplog.records if r.getMessage() == "ice.glare"]
    assert glare == ["ignore"]  # the agent kept its own offer
    assert dtls_handshakes.count == 1
    await page.click(".sp-hangup")
    await wait_until(lambda: agent_side.ended == ["normal"])
