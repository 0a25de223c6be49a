"""Fast loss detection for one ICE transport (aiortc has none: it notices after ~30 s).

Two observations of the path carrying media, published on change:

- ``disconnected``: nothing from the peer for ``silence_s`` only *starts* STUN binding
  probes of the pair carrying media; ``misses`` unanswered probes declare it (~1.3 s).
  A muted peer still answers probes, so it never looks dead (docs/aiortc-notes.md: a plain
  silence watchdog false-positives on mute, DTX and recvonly).
  Media coming in does not prove ours gets out (one-way loss): when no probe has been
  answered for ``unheard_s``, probes go out every ``unheard_interval_s`` (overlapping, so a
  long round trip is no miss) and none answered within ``unheard_window_s`` of the first
  declares ``disconnected`` too (~1.8 s). Many probes, so a lossy link does not look dead:
  at 30 % loss each way a probe comes back half the time, so a window's 5 probes (one every
  0.25 s) all went unanswered ~3 % of the time (3-6 spurious episodes a minute,
  ``bench/networks.py`` loss_30), its 14 (one every 0.1 s) 0.008 % of the time.
- ``failed``: the ICE transport failed or closed.

Back to ``connected`` when media arrives again or a probe is answered. Local address
changes are the network watcher's (:mod:`softphone.call.network`).
"""

from __future__ import annotations

import asyncio
import enum
import logging
import time
from dataclasses import dataclass
from typing import Any

from softphone.events import Signal
from softphone.rtc.aiortc_compat.host_allowlist import host_candidate_allowlist
from softphone.rtc.aiortc_compat.probe import probe_selected_pair, selected_local_address
from softphone.rtc.aiortc_compat.transport import RestartableIceTransport

log = logging.getLogger(__name__)


class Connectivity(enum.StrEnum):
    CONNECTED = "connected"
    DISCONNECTED = "disconnected"
    FAILED = "failed"


@dataclass(frozen=True)
class DetectionSettings:
    silence_s: float = 0.3
    probe_timeout_s: float = 0.5
    misses: int = 2
    tick_s: float = 0.05
    unheard_s: float = 0.4
    unheard_interval_s: float = 0.1
    unheard_window_s: float = 1.4
    unheard_probe_timeout_s: float = 1.0


def usable(addresses: frozenset[str]) -> frozenset[str]:
    """The addresses ICE could gather from (the host allowlist, when set, filters)."""
    allowlist = host_candidate_allowlist()
    if allowlist is not None:
        return addresses & frozenset(allowlist)
    return addresses - {"127.0.0.1", "::1"}  # what aioice skips


class ConnectivityMonitor:
    """Watches one restartable ICE transport; start() it once the call is connected."""

    def __init__(
        self,
        transport: RestartableIceTransport,
        settings: DetectionSettings | None = None,
    ) -> None:
        self.settings = settings or DetectionSettings()
        self._transport = transport
        self._state = Connectivity.CONNECTED
        self._tasks: list[asyncio.Task[None]] = []
        self._outbound_probes: set[asyncio.Task[bool]] = set()
        self._alive_at = time.monotonic()
        self._answered_at = time.monotonic()
        self._unheard_since: float | None = None  # first outbound probe since the last answer
        self._restarts = 0
        self.probes = 0
        """STUN probes sent so far (logged with every change)."""
        self.state_changed: Signal[[Connectivity, str]] = Signal("rtc.connectivity")
        """(state, reason) on every change."""

    @property
    def state(self) -> Connectivity:
        return self._state

    @property
    def path_address(self) -> str | None:
        """The local IP address of the pair carrying media, if any."""
        return selected_local_address(self._transport)

    def start(self) -> None:
        if not self._tasks:
            self._alive_at = self._answered_at = time.monotonic()
            self._transport.restart_completed.connect(self._on_restart_completed)
            self._tasks = [asyncio.ensure_future(self._watch_path())]

    async def stop(self) -> None:
        tasks: list[asyncio.Task[Any]] = [*self._tasks, *self._outbound_probes]
        if self._tasks:
            self._transport.restart_completed.disconnect(self._on_restart_completed)
        self._tasks = []
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    # -- the path ------------------------------------------------------------------------

    async def _watch_path(self) -> None:
        settings = self.settings
        misses = 0
        probed_at = 0.0
        while True:
            await asyncio.sleep(settings.tick_s)
            ice_state = self._transport.state
            if ice_state in ("failed", "closed"):
                self._set(Connectivity.FAILED, f"ice-{ice_state}")
                misses = 0
                continue
            if self._silence() < settings.silence_s:
                misses = 0
                # Media comes in; only answered probes show that ours still gets out.
                if time.monotonic() - self._answered_at < settings.unheard_s:
                    self._set(Connectivity.CONNECTED, "media")
                    continue
                if time.monotonic() - probed_at >= settings.unheard_interval_s:
                    probed_at = time.monotonic()
                    self._probe_outbound()
                if self._outbound_unanswered():
                    self._set(Connectivity.DISCONNECTED, "outbound-unanswered")
                continue
            if self._outbound_unanswered():
                # Outbound probes were already going unanswered before the silence began
                # (e.g. the peer paused its media for a restart): no need to start over.
                self._set(Connectivity.DISCONNECTED, "outbound-unanswered")
            restarts = self._restarts
            answered = await self._probe()
            if answered is None:  # media arrived while the probe was out: alive
                misses = 0
                if not self._outbound_unanswered():  # (ours not getting out: judged above)
                    self._set(Connectivity.CONNECTED, "media")
                continue
            if answered:
                misses = 0
                self._set(Connectivity.CONNECTED, "probe-answered")
                continue
            if restarts != self._restarts:
                misses = 0  # that probe went to the pair a restart just replaced
                continue
            misses += 1
            if misses >= settings.misses:
                self._set(Connectivity.DISCONNECTED, "probes-unanswered")

    def _probe_outbound(self) -> None:
        """One more of the overlapping probes that check our media still gets out."""
        if self._unheard_since is None:
            self._unheard_since = time.monotonic()
        probe = asyncio.ensure_future(self._answered(self.settings.unheard_probe_timeout_s))
        self._outbound_probes.add(probe)
        probe.add_done_callback(self._outbound_probes.discard)

    async def _answered(self, timeout_s: float) -> bool:
        """One probe; an answer proves the path works both ways."""
        self.probes += 1
        if not await probe_selected_pair(self._transport, timeout_s):
            return False
        self._alive_at = self._answered_at = time.monotonic()
        self._unheard_since = None
        return True

    async def _probe(self) -> bool | None:
        """Whether the probe was answered; None when media arrived first (the link came
        back while the probe was out: no reason to sit out its timeout)."""
        settings = self.settings
        probe = asyncio.ensure_future(self._answered(self._silence_probe_timeout()))
        try:
            while not probe.done():
                await asyncio.wait({probe}, timeout=settings.tick_s)
                if not probe.done() and self._silence() < settings.silence_s:
                    return None
            return probe.result()
        finally:
            probe.cancel()
            await asyncio.gather(probe, return_exceptions=True)

    def _silence_probe_timeout(self) -> float:
        """The usual timeout, cut short so an outbound window already running is judged
        when it ends, not one probe later."""
        timeout = self.settings.probe_timeout_s
        if self._unheard_since is not None:
            left = self._unheard_since + self.settings.unheard_window_s - time.monotonic()
            timeout = min(timeout, max(left, self.settings.tick_s))
        return timeout

    def _outbound_unanswered(self) -> bool:
        since = self._unheard_since
        return since is not None and time.monotonic() - since >= self.settings.unheard_window_s

    def _on_restart_completed(self, generation: int) -> None:
        # A new pair: judge it by its own probes, not by the old pair's silence.
        self._restarts += 1
        self._alive_at = self._answered_at = time.monotonic()
        self._unheard_since = None

    def _silence(self) -> float:
        last = max(self._transport.inbound.last_inbound or 0.0, self._alive_at)
        return time.monotonic() - last

    def _set(self, state: Connectivity, reason: str) -> None:
        if state is self._state:
            return
        previous, self._state = self._state, state
        log.info(
            "rtc.connectivity",
            extra={
                "state": state.value,
                "previous": previous.value,
                "reason": reason,
                "probes": self.probes,
            },
        )
        self.state_changed.emit(state, reason)
