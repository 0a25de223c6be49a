"""Fast loss detection for one ICE transport (aiortc has none: it notices after ~30 s).

Two observations of the path carrying media, published on change:

- ``disconnected``: nothing from the peer for ``silence_s`` only *starts* STUN binding
  probes of the pair carrying media; ``misses`` unanswered probes declare it (~1.3 s).
  A muted peer still answers probes, so it never looks dead (docs/aiortc-notes.md: a plain
  silence watchdog false-positives on mute, DTX and recvonly).
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
        self._alive_at = time.monotonic()
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
            self._alive_at = time.monotonic()
            self._tasks = [asyncio.ensure_future(self._watch_path())]

    async def stop(self) -> None:
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    # -- the path ------------------------------------------------------------------------

    async def _watch_path(self) -> None:
        settings = self.settings
        misses = 0
        while True:
            await asyncio.sleep(settings.tick_s)
            ice_state = self._transport.state
            if ice_state in ("failed", "closed"):
                self._set(Connectivity.FAILED, f"ice-{ice_state}")
                misses = 0
                continue
            if self._silence() < settings.silence_s:
                misses = 0
                self._set(Connectivity.CONNECTED, "media")
                continue
            self.probes += 1
            answered = await self._probe()
            if answered is None:  # media arrived while the probe was out: alive
                misses = 0
                self._set(Connectivity.CONNECTED, "media")
                continue
            if answered:
                misses = 0
                self._alive_at = time.monotonic()
                self._set(Connectivity.CONNECTED, "probe-answered")
                continue
            misses += 1
            if misses >= settings.misses:
                self._set(Connectivity.DISCONNECTED, "probes-unanswered")

    async def _probe(self) -> bool | None:
        """Whether the probe was answered; None when media arrived first (the link came
        back while the probe was out: no reason to sit out its timeout)."""
        settings = self.settings
        probe = asyncio.ensure_future(
            probe_selected_pair(self._transport, settings.probe_timeout_s)
        )
        try:
            while not probe.done():
                await asyncio.wait({probe}, timeout=settings.tick_s)
                if not probe.done() and self._silence() < settings.silence_s:
                    return None
            return probe.result()
        finally:
            probe.cancel()
            await asyncio.gather(probe, return_exceptions=True)

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
