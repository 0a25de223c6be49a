"""Fault injection for in-process tests: a restartable ICE transport that can go deaf.

Test-only (the product has no loss switch): :func:`install_lossy_transport` makes every
peer connection created afterwards build a :class:`LossyIceTransport`, whose
``drop_outgoing`` loses every datagram this side sends (media, DTLS and STUN), like a
link that died in one direction. aiortc's own loss patterns live in its test doubles the
same way.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import aioice
import aiortc.rtcpeerconnection

from softphone.rtc.aiortc_compat.transport import RestartableIceTransport, install_ice_restart


class LossyIceTransport(RestartableIceTransport):
    drop_outgoing = False
    """When true every datagram this side sends (media, DTLS, STUN) is dropped."""

    async def _send_active(self, data: bytes) -> None:
        if not self.drop_outgoing:
            await super()._send_active(data)

    def _attach(self, connection: aioice.Connection) -> None:
        super()._attach(connection)
        self._guard(connection)

    def _guard(self, connection: aioice.Connection) -> None:
        # STUN leaves through each protocol's send_stun and its datagram transport; both
        # are wrapped once per protocol (protocols appear as candidates are gathered).
        protocol: Any
        for protocol in connection._protocols:
            if getattr(protocol, "_lossy", False):
                continue
            protocol._lossy = True
            protocol.send_stun = self._unless_dropping(protocol.send_stun)
            protocol.transport.sendto = self._unless_dropping(protocol.transport.sendto)

    def _unless_dropping(self, send: Callable[[Any, tuple[str, int]], None]) -> Callable[..., None]:
        def guarded(data: Any, addr: tuple[str, int]) -> None:
            if not self.drop_outgoing:
                send(data, addr)

        return guarded

    def set_dropping(self, dropping: bool) -> None:
        self.drop_outgoing = dropping
        for connection in (self._connection, *self._retired):
            self._guard(connection)


def install_lossy_transport() -> None:
    """Every peer connection created from now on gets a :class:`LossyIceTransport`."""
    assert install_ice_restart(), "aiortc_compat.check found an internal missing"
    module: Any = aiortc.rtcpeerconnection
    module.RTCIceTransport = LossyIceTransport
