"""Seam 1: pin ICE host candidates to an explicit allowlist (``aioice.ice.get_host_addresses``).

aioice gathers host candidates from every interface but always skips 127.0.0.1. The demo,
the self-test and the tests must use loopback only, so the product can pin host candidates.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Callable, Iterable

import aioice.ice

log = logging.getLogger(__name__)

_original_get_host_addresses: Callable[[bool, bool], list[str]] = aioice.ice.get_host_addresses
_host_allowlist: tuple[str, ...] | None = None


def _allowlisted_host_addresses(use_ipv4: bool, use_ipv6: bool) -> list[str]:
    if _host_allowlist is None:
        return _original_get_host_addresses(use_ipv4, use_ipv6)
    chosen = []
    for address in _host_allowlist:
        version = ipaddress.ip_address(address).version
        if (version == 4 and use_ipv4) or (version == 6 and use_ipv6):
            chosen.append(address)
    return chosen


def set_host_candidate_allowlist(addresses: Iterable[str] | None) -> None:
    """Pin ICE host candidates to ``addresses`` (loopback allowed); ``None`` restores aioice.

    Process-wide: one process hosts one agent (or one visitor) in the product.
    """
    global _host_allowlist  # noqa: PLW0603 - one process-wide switch, by design
    if addresses is None:
        _host_allowlist = None
    else:
        validated = tuple(str(ipaddress.ip_address(a)) for a in addresses)
        _host_allowlist = validated
    aioice.ice.get_host_addresses = _allowlisted_host_addresses
    log.info("ice.host_allowlist", extra={"addresses": _host_allowlist})


def host_candidate_allowlist() -> tuple[str, ...] | None:
    """The allowlist in force, or ``None`` when aioice gathers from every interface."""
    return _host_allowlist
