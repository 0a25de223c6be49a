"""Seam 3: a STUN probe of the pair carrying media (``Connection._nominated``,
``build_request``).

The same binding request aioice sends for consent freshness (``Connection.query_consent``),
but on demand and with a short timeout, so loss is detected in ~1.5 s instead of ~30 s.
"""

from __future__ import annotations

import asyncio

import aioice.stun

from softphone.rtc.aiortc_compat.transport import RestartableIceTransport
from softphone.rtc.aiortc_compat.turn_gathering import turn_socket_address


async def probe_selected_pair(transport: RestartableIceTransport, wait_s: float) -> bool:
    """Whether the peer answered one STUN binding request on the pair carrying media."""
    connection = transport.sending_connection()
    if connection is None or connection.remote_password is None:
        return False
    pair = connection._nominated.get(1)
    if pair is None:
        return False
    request = connection.build_request(pair, nominate=False)
    try:
        async with asyncio.timeout(wait_s):
            await pair.protocol.request(
                request,
                pair.remote_addr,
                integrity_key=connection.remote_password.encode("utf8"),
                retransmissions=0,
            )
    except (TimeoutError, aioice.stun.TransactionError, ConnectionError, OSError):
        return False
    return True


def selected_local_address(transport: RestartableIceTransport) -> str | None:
    """The local IP address of the pair carrying media, if any."""
    connection = transport.sending_connection()
    pair = connection._nominated.get(1) if connection is not None else None
    if pair is None:
        return None
    if pair.local_candidate.type == "relay":  # its address is the TURN server's (seam 8)
        return turn_socket_address(pair.protocol)
    return str(pair.local_candidate.host)
