"""The one watcher of this machine's addresses (a handover, a VPN, a cable pulled).

One process polls once (an ifaddr scan costs ~0.2 ms) and publishes the change; the
session reconnects a signaling socket stranded on a vanished address and the call's
recovery restarts ICE. Polling is the portable way: no OS notification API is shared
by Linux, macOS and Windows.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass

import ifaddr

from softphone.events import Signal

log = logging.getLogger(__name__)

POLL_S = 0.25


def local_addresses() -> frozenset[str]:
    """Every address of the local interfaces (IPv6 link-local excluded)."""
    found: set[str] = set()
    for adapter in ifaddr.get_adapters():
        for ip in adapter.ips:
            if isinstance(ip.ip, str):
                found.add(ip.ip)
            elif ip.ip[2] == 0:  # IPv6 without scope id: not link-local
                found.add(ip.ip[0])
    return frozenset(found)


@dataclass(frozen=True)
class AddressChange:
    added: frozenset[str]
    lost: frozenset[str]
    current: frozenset[str]


class NetworkWatcher:
    """Polls the local addresses while started; ``changed`` fires once per difference."""

    def __init__(
        self,
        poll_s: float = POLL_S,
        list_addresses: Callable[[], frozenset[str]] = local_addresses,
    ) -> None:
        self.poll_s = poll_s
        self._list = list_addresses
        self.current: frozenset[str] = frozenset()
        self.changed: Signal[[AddressChange]] = Signal("network.changed")
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self.current = self._list()
            self._task = asyncio.get_running_loop().create_task(self._poll(), name="network")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def _poll(self) -> None:
        while True:
            await asyncio.sleep(self.poll_s)
            self.check()

    def check(self) -> None:
        """Compare with the last scan and publish a difference (one poll step)."""
        current = self._list()
        change = AddressChange(current - self.current, self.current - current, current)
        self.current = current
        if change.added or change.lost:
            log.info(
                "network.changed",
                extra={"added": sorted(change.added), "lost": sorted(change.lost)},
            )
            self.changed.emit(change)
