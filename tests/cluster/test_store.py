"""The Redis store's write-behind, read back as another node would for a resume: every
session's frames from one batched write, in order and byte for byte (non-ASCII text too),
trimmed to the history limit. Debian's redis-server on loopback, no signaling server."""

from __future__ import annotations

import asyncio

from labnet.redis_server import RedisServer
from softphone.signaling.cluster.node import ClusterNode
from softphone.signaling.cluster.store import RedisStore, Restored, SessionRecord

LIMIT = 40


class Quiet:
    """Node events nobody needs here."""

    def bus_message(self, data: bytes) -> None:
        pass

    def redis_up(self) -> None:
        pass

    def redis_down(self) -> None:
        pass

    def leader_changed(self, leader: str | None, was: str | None) -> None:
        pass

    def nodes_gone(self, nodes: list[str]) -> None:
        pass

    def remote_nodes(self) -> list[str]:
        return []


def frame(session: str, seq: int) -> bytes:
    return f'{{"type":"notice","text":"{session} n°{seq} ☎","seq":{seq}}}'.encode()


async def loaded(store: RedisStore, token: str, last_seq: int) -> Restored:
    """The session as stored, once its frame ``last_seq`` has been written (bounded)."""
    async with asyncio.timeout(5.0):
        while True:
            restored = await store.load(token)
            if (
                restored is not None
                and restored.history
                and restored.history[-1] == frame(restored.record.id, last_seq)
            ):
                return restored
            await asyncio.sleep(0.05)


async def test_frames_of_many_sessions_are_stored_in_order_and_trimmed() -> None:
    with RedisServer() as redis:
        node = ClusterNode(redis.url, "node-a", Quiet(), heartbeat=0.25, lease_ttl=5.0)
        node.start()
        try:
            async with asyncio.timeout(5.0):
                while not node.up:  # noqa: ASYNC110
                    await asyncio.sleep(0.02)
            store = RedisStore(node, LIMIT)
            sent = {"s1": 3, "s2": 100, "s3": 1}  # s2 crosses several trims
            for sid in sent:
                store.saved(SessionRecord(id=sid, role="agent", name=sid, resume_token=f"t-{sid}"))
            for seq in range(1, max(sent.values()) + 1):
                for sid, count in sent.items():
                    if seq <= count:
                        store.appended(sid, seq, frame(sid, seq))
                if seq % 25 == 0:
                    await asyncio.sleep(0.03)  # several writes, not one
            for sid, count in sent.items():
                restored = await loaded(store, f"t-{sid}", count)
                first = max(1, count - LIMIT + 1)
                assert restored.history == [frame(sid, n) for n in range(first, count + 1)]
                assert restored.record.name == sid
            # Trimmed in Redis itself, not only when read: fewer than the limit + 32 kept.
            assert node.redis is not None
            assert LIMIT <= await node.redis.llen("sp:h:s2") < LIMIT + 32
        finally:
            await node.close()
