"""End to end in one process: loss → detection → restart offer over (fake) signaling → media."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator

import pytest
from aiortc.rtcdtlstransport import RTCDtlsTransport

from softphone.rtc.call_recovery import CallRecovery
from softphone.rtc.ice_restart import IceRestarter
from softphone.rtc.reconnect import ReconnectState
from softphone.signaling.protocol import CallState, Message, RestartAnswer, RestartOffer
from tests.rtc.loopback import LoopbackPair, PeerSide, connected_pair

pytestmark = pytest.mark.timeout(60)


class FakeRelay:
    """Delivers each side's messages to the other side in order, like the server would."""

    def __init__(self) -> None:
        self.sent: list[Message] = []
        self.reconnects: list[str] = []  # reconnect_signaling() calls, with their reason
        self._queues: dict[str, asyncio.Queue[Message]] = {}
        self._tasks: list[asyncio.Task[None]] = []

    def attach(self, name: str, peer_name: str, recovery: CallRecovery) -> None:
        queue: asyncio.Queue[Message] = asyncio.Queue()
        self._queues[name] = queue
        self._tasks.append(asyncio.ensure_future(self._pump(queue, recovery)))

    def sender(self, to: str) -> object:
        async def send(msg: Message) -> None:
            self.sent.append(msg)
            self._queues[to].put_nowait(msg)

        return send

    async def _pump(self, queue: asyncio.Queue[Message], recovery: CallRecovery) -> None:
        while True:
            await recovery.handle(await queue.get())

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)


async def always_up(within_s: float) -> bool:
    return True


def recovery_for(side: PeerSide, relay: FakeRelay, *, polite: bool, to: str) -> CallRecovery:
    async def teardown(reason: str) -> None:
        raise AssertionError(f"call torn down: {reason}")

    return CallRecovery(
        IceRestarter(side.pc, polite=polite),
        call_id="call-1",
        send=relay.sender(to),  # type: ignore[arg-type]
        wait_signaling=always_up,
        teardown=teardown,
        reconnect_signaling=relay.reconnects.append,
    )


@contextlib.asynccontextmanager
async def recovering_pair() -> AsyncIterator[
    tuple[LoopbackPair, FakeRelay, CallRecovery, CallRecovery]
]:
    pair = await connected_pair()
    relay = FakeRelay()
    visitor = recovery_for(pair.offerer, relay, polite=True, to="agent")
    agent = recovery_for(pair.answerer, relay, polite=False, to="visitor")
    relay.attach("visitor", "agent", visitor)
    relay.attach("agent", "visitor", agent)
    visitor.start()
    agent.start()
    try:
        yield pair, relay, visitor, agent
    finally:
        for recovery in (visitor, agent):
            await recovery.close()
            await recovery.restarter.close()
        await relay.close()
        await pair.close()


async def wait_state(recovery: CallRecovery, state: ReconnectState, within_s: float) -> None:
    reached = asyncio.Event()

    def on_change(new: ReconnectState, attempt: int, max_attempts: int) -> None:
        if new is state:
            reached.set()

    if recovery.controller.state is state:
        return
    recovery.controller.state_changed.connect(on_change)
    try:
        async with asyncio.timeout(within_s):
            await reached.wait()
    finally:
        recovery.controller.state_changed.disconnect(on_change)


async def test_cut_is_detected_and_call_recovers_without_new_handshake(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    handshakes: list[RTCDtlsTransport] = []
    original = RTCDtlsTransport._do_handshake

    async def counting(self: RTCDtlsTransport) -> None:
        handshakes.append(self)
        await original(self)

    monkeypatch.setattr(RTCDtlsTransport, "_do_handshake", counting)
    async with recovering_pair() as (pair, relay, visitor, agent):
        await asyncio.sleep(0.5)
        pair.offerer.ice.drop_outgoing = True  # the visitor's network dies (both ways for
        cut = time.monotonic()  # its STUN: its probes and answers are lost)
        await wait_state(agent, ReconnectState.RECONNECTING, within_s=3.0)
        detected = time.monotonic() - cut
        await asyncio.sleep(2.0)  # a real outage lasts a while
        pair.offerer.ice.drop_outgoing = False
        restored = time.monotonic()
        await wait_state(agent, ReconnectState.CONNECTED, within_s=10.0)
        await wait_state(visitor, ReconnectState.CONNECTED, within_s=10.0)
        await pair.wait_media(since=time.monotonic(), frames=5)
        recovered = time.monotonic() - restored
        print(f"cut detected in {detected * 1000:.0f} ms, recovered {recovered * 1000:.0f} ms")

        assert detected <= 2.0
        assert len(handshakes) == 2
        kinds = {type(m) for m in relay.sent}
        assert {RestartOffer, RestartAnswer, CallState} <= kinds
        assert any(isinstance(m, CallState) and m.state == "reconnecting" for m in relay.sent)


async def test_manual_restart_on_healthy_call_is_make_before_break() -> None:
    async with recovering_pair() as (pair, _relay, _visitor, agent):
        await asyncio.sleep(0.3)
        started = time.monotonic()
        agent.controller.perform_ice_restart("manual")
        await wait_state(agent, ReconnectState.RECONNECTING, within_s=1.0)
        await wait_state(agent, ReconnectState.CONNECTED, within_s=5.0)
        elapsed = time.monotonic() - started
        await pair.wait_media(since=time.monotonic(), frames=3)
        finished = time.monotonic()
        gaps = [
            log.longest_gap(started, finished)
            for side in (pair.offerer, pair.answerer)
            for log in side.received.values()
        ]
        print(
            f"manual restart {elapsed * 1000:.0f} ms, longest frame gap {max(gaps) * 1000:.0f} ms"
        )
        assert max(gaps) <= 0.25
        assert pair.answerer.ice.generation == pair.offerer.ice.generation == 1


async def test_network_changes_restart_only_when_they_matter() -> None:
    async with recovering_pair() as (_pair, relay, _visitor, agent):
        agent.monitor.network_changed.emit("address-added")  # a VPN comes up beside the path
        assert agent.controller.state is ReconnectState.CONNECTED
        assert not any(isinstance(m, RestartOffer) for m in relay.sent)
        assert relay.reconnects == []

        agent.monitor.network_changed.emit("address-lost")  # the address in use is gone
        # Signaling first (its socket may sit on that address), so the offer finds it back.
        assert relay.reconnects == ["address-lost"]
        assert agent.controller.state is ReconnectState.RECONNECTING
        await wait_state(agent, ReconnectState.CONNECTED, within_s=5.0)
        assert any(isinstance(m, RestartOffer) and m.reason == "network-change" for m in relay.sent)


async def test_impolite_side_resends_an_offer_the_peer_never_got() -> None:
    """Glare where our offer was lost (e.g. in a socket that vanished): the polite peer's
    offer shows it, so ours goes out again at once instead of after the periodic re-issue."""
    async with recovering_pair() as (_pair, relay, visitor, agent):
        deliver = agent._send
        lost = asyncio.Event()

        async def lose_first_offer(msg: Message) -> None:
            if isinstance(msg, RestartOffer) and not lost.is_set():
                lost.set()
                return
            await deliver(msg)

        agent._send = lose_first_offer  # type: ignore[method-assign]
        agent.controller.perform_ice_restart("test")
        async with asyncio.timeout(5):
            await lost.wait()
        await asyncio.sleep(1.2)  # older than STALE_OWN_OFFER_S: the visitor never saw it
        loop = asyncio.get_running_loop()
        visitor_offer_at = loop.time()
        visitor.controller.perform_ice_restart("visitor-side")
        await wait_state(agent, ReconnectState.CONNECTED, within_s=5.0)
        recovered_after = loop.time() - visitor_offer_at
        resent = [m for m in relay.sent if isinstance(m, RestartOffer) and m.reason == "test"]
        assert resent, "the agent's offer was never sent again"
        # The periodic re-issue would come 2.5 s after the lost offer (1.3 s from here).
        assert recovered_after < 1.0, recovered_after
