"""ICE configuration is always explicit: aiortc's default STUN host is never used."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

from aiortc import RTCConfiguration, RTCIceServer

from softphone.rtc.aiortc_compat.host_allowlist import set_host_candidate_allowlist

LOOPBACK_ONLY = ("127.0.0.1",)


@dataclass(frozen=True)
class IceSettings:
    ice_servers: tuple[RTCIceServer, ...] = ()
    host_allowlist: tuple[str, ...] | None = None  # None: every interface aioice finds

    def with_servers(self, servers: Iterable[RTCIceServer]) -> IceSettings:
        """The servers the signaling server announced, after any configured ones."""
        return replace(self, ice_servers=(*self.ice_servers, *servers))

    def configuration(self) -> RTCConfiguration:
        return RTCConfiguration(iceServers=list(self.ice_servers))

    def apply_host_allowlist(self) -> None:
        """Process-wide (aioice gathers per process); applied before each peer gathers."""
        set_host_candidate_allowlist(self.host_allowlist)


LOOPBACK = IceSettings(host_allowlist=LOOPBACK_ONLY)
