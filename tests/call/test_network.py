"""The one network watcher: changes published once, and what the session does with them."""

from __future__ import annotations

import asyncio

from softphone.call.network import AddressChange, NetworkWatcher
from softphone.call.signaling import reconnect_if_stranded


def test_a_change_is_published_once_with_what_was_added_and_lost() -> None:
    addresses = {"127.0.0.1", "198.18.0.1"}
    watcher = NetworkWatcher(list_addresses=lambda: frozenset(addresses))
    watcher.current = frozenset(addresses)
    changes: list[AddressChange] = []
    watcher.changed.connect(changes.append)

    watcher.check()
    assert changes == []  # nothing changed: nothing published
    addresses.remove("198.18.0.1")
    addresses.add("198.18.0.7")  # a handover: one address gone, another up
    watcher.check()
    watcher.check()
    assert changes == [
        AddressChange(
            added=frozenset({"198.18.0.7"}),
            lost=frozenset({"198.18.0.1"}),
            current=frozenset({"127.0.0.1", "198.18.0.7"}),
        )
    ]


async def test_the_watcher_polls_while_started_and_stops_cleanly() -> None:
    addresses = {"198.18.0.1"}
    watcher = NetworkWatcher(poll_s=0.01, list_addresses=lambda: frozenset(addresses))
    seen = asyncio.Event()
    watcher.changed.connect(lambda change: seen.set())
    watcher.start()
    try:
        addresses.clear()
        async with asyncio.timeout(2):
            await seen.wait()
    finally:
        await watcher.stop()
    assert watcher._task is None


class FakeSignaling:
    def __init__(self, local_address: str | None) -> None:
        self.local_address = local_address
        self.reconnects: list[str] = []

    def reconnect_now(self, reason: str) -> None:
        self.reconnects.append(reason)


def test_only_a_socket_on_a_vanished_address_is_reconnected() -> None:
    on_lost = FakeSignaling("198.18.0.1")
    reconnect_if_stranded(on_lost, frozenset({"198.18.0.1"}))  # type: ignore[arg-type]
    assert on_lost.reconnects == ["address-lost"]

    elsewhere = FakeSignaling("198.18.0.7")
    reconnect_if_stranded(elsewhere, frozenset({"198.18.0.1"}))  # type: ignore[arg-type]
    closed = FakeSignaling(None)
    reconnect_if_stranded(closed, frozenset({"198.18.0.1"}))  # type: ignore[arg-type]
    assert elsewhere.reconnects == closed.reconnects == []
