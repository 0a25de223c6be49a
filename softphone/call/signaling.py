"""What a call needs from a signaling connection (aiortc's ``BaseSignaling`` idea).

The call layer speaks protocol messages through this interface, so it never depends on a
transport: :class:`softphone.signaling.client.SignalingClient` satisfies it in the product,
an in-memory relay in the tests.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from aiortc import RTCIceServer

from softphone.signaling.protocol import IceServer, Message


def announced_ice_servers(servers: Iterable[IceServer]) -> list[RTCIceServer]:
    """ICE servers the signaling server announced (``welcome``: STUN; ``ring`` / ``accepted``:
    this call's TURN credentials, which expire) as aiortc takes them."""
    return [
        RTCIceServer(urls=s.urls, username=s.username, credential=s.credential) for s in servers
    ]


class CallSignaling(Protocol):
    @property
    def local_address(self) -> str | None:
        """The local IP address the connection's socket is bound to, if it is open."""
        ...

    @property
    def silent_s(self) -> float:
        """Seconds since the server last sent anything (inf when no socket is open)."""
        ...

    async def send(self, msg: Message) -> None:
        """Send now, or queue until the connection is back (raises if that is impossible)."""
        ...

    async def wait_connected(self, timeout: float | None = None) -> None:  # noqa: ASYNC109
        """Return once connected; TimeoutError after ``timeout``; raises if closed for good."""
        ...

    def reconnect_now(self, reason: str) -> None:
        """Drop the socket and reconnect at once (it may be bound to a vanished address)."""
        ...


def reconnect_if_stranded(signaling: CallSignaling, lost: frozenset[str]) -> None:
    """A socket bound to an address that vanished looks alive until its heartbeat misses,
    and what is sent meanwhile (a ring, a restart offer) is lost: reconnect at once."""
    address = signaling.local_address
    if address is not None and address in lost:
        signaling.reconnect_now("address-lost")
