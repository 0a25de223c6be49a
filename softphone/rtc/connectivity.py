"""Fast loss detection for one ICE transport (aiortc has none: it notices after ~30 s).

Three observations, published as events:

- ``disconnected``: nothing from the peer for ``silence_s`` only *starts* STUN binding
  probes of the pair carrying media; ``misses`` unanswered probes declare it (~1.3 s).
  A muted peer still answers probes, so it never looks dead (AIORTC_NOTES.md: a plain
  silence watchdog false-positives on mute, DTX and recvonly).
- ``failed``: the ICE transport failed or closed.
- a local network change: the address in use disappeared or a new one appeared (polled,
  cheap: ~0.2 ms per ifaddr scan), which should trigger an immediate restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

import ifaddr

from softphone.events import Signal
from softphone.rtc import seams

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
    address_poll_s: float = 0.25


def local_addresses() -> set[str]:
    """Every address of the local interfaces (IPv6 link-local excluded)."""
    found: set[str] = set()
    for adapter in ifaddr.get_adapters():
        for ip in adapter.ips:
            if isinstance(ip.ip, str):
                found.add(ip.ip)
            elif ip.ip[2] == 0:  # IPv6 without scope id: not link-local
                found.add(ip.ip[0])
    return found


def usable_addresses() -> set[str]:
    """Local addresses ICE could gather from now (the host allowlist, when set, filters)."""
    found = local_addresses()
    allowlist = seams.host_candidate_allowlist()
    if allowlist is not None:
        return found & set(allowlist)
    return found - {"127.0.0.1", "::1"}  # what aioice skips


class ConnectivityMonitor:
    """Watches one restartable ICE transport; start() it once the call is connected."""

    def __init__(
        self,
        transport: seams.RestartableIceTransport,
        settings: DetectionSettings | None = None,
        list_addresses: Callable[[], set[str]] = usable_addresses,
    ) -> None:
        self.settings = settings or DetectionSettings()
        self._transport = transport
        self._list_addresses = list_addresses
        self._state = Connectivity.CONNECTED
        self._tasks: list[asyncio.Task[None]] = []
        self._alive_at = time.monotonic()
        self.probes = 0
        """STUN probes sent so far (diagnostics)."""
        self.state_changed: Signal[[Connectivity, str]] = Signal("rtc.connectivity")
        """(state, reason) on every change."""
        self.network_changed: Signal[[str]] = Signal("rtc.network_changed")
        """(reason) "address-lost" or "address-added": restart now."""

    @property
    def state(self) -> Connectivity:
        return self._state

    def start(self) -> None:
        if not self._tasks:
            self._alive_at = time.monotonic()
            self._tasks = [
                asyncio.ensure_future(self._watch_path()),
                asyncio.ensure_future(self._watch_addresses()),
            ]

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
            if await seams.probe_selected_pair(self._transport, settings.probe_timeout_s):
                misses = 0
                self._alive_at = time.monotonic()
                self._set(Connectivity.CONNECTED, "probe-answered")
                continue
            misses += 1
            if misses >= settings.misses:
                self._set(Connectivity.DISCONNECTED, "probes-unanswered")

    def _silence(self) -> float:
        last = max(self._transport.last_inbound or 0.0, self._alive_at)
        return time.monotonic() - last

    def _set(self, state: Connectivity, reason: str) -> None:
        if state is self._state:
            return
        previous, self._state = self._state, state
        log.info(
            "rtc.connectivity",
            extra={"state": state.value, "previous": previous.value, "reason": reason},
        )
        self.state_changed.emit(state, reason)

    # -- local addresses -----------------------------------------------------------------

    async def _watch_addresses(self) -> None:
        known = self._list_addresses()
        lost_reported: str | None = None
        while True:
            await asyncio.sleep(self.settings.address_poll_s)
            current = self._list_addresses()
            in_use = seams.selected_local_address(self._transport)
            if in_use in current:
                lost_reported = None
            elif in_use is not None and in_use != lost_reported:
                lost_reported = in_use  # once per loss, not on every poll
                self._network_changed("address-lost", in_use)
            added = current - known
            if added:
                self._network_changed("address-added", ",".join(sorted(added)))
            known = current

    def _network_changed(self, reason: str, address: str) -> None:
        log.info("rtc.network_changed", extra={"reason": reason, "address": address})
        self.network_changed.emit(reason)


async def wait_for_state(
    monitor: ConnectivityMonitor, state: Connectivity, within_s: float
) -> bool:
    """True once ``monitor`` reports ``state`` (at once if it already does)."""
    if monitor.state is state:
        return True
    reached = asyncio.Event()

    def on_change(new: Connectivity, reason: str) -> None:
        if new is state:
            reached.set()

    monitor.state_changed.connect(on_change)
    try:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(within_s):
                await reached.wait()
    finally:
        monitor.state_changed.disconnect(on_change)
    return reached.is_set()
