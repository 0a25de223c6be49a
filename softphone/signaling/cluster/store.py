"""Where a session's state outlives the process that holds it.

The switchboard and the session registry keep live state in memory (the hot path). A
:class:`SessionStore` is told what another node would need to carry a session on: its
record (who, resume token, call ticket, presence) and every sequenced frame (the replay
history). :class:`LocalStore`, the single-server default, keeps nothing beyond what the
registry already holds: nothing outlives that process. :class:`RedisStore` writes behind
(never on the send path) and loads a session back for a resume on another node.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Protocol

import msgspec

from softphone.signaling.protocol import Role

if TYPE_CHECKING:
    from redis.asyncio.client import Pipeline

    from softphone.signaling.cluster.node import ClusterNode

RECORD_TTL_S = 24 * 3600  # a session nobody resumes or expires (its node died) goes then
TRIM_EVERY = 32  # history appends between two trims (the list holds at most limit + 31)


class SessionRecord(msgspec.Struct, frozen=True):
    id: str
    role: Role
    name: str
    resume_token: str
    page: str | None = None
    peer_ip: str = ""
    site: str = ""
    call_ticket: str | None = None  # of its live call: the call is rebuilt on restore
    away: bool = False  # an agent's presence


class Restored(msgspec.Struct, frozen=True):
    record: SessionRecord
    seq: int  # the last seq stored apart from the frames (after a resync), else 0
    history: list[bytes]  # its sequenced frames, oldest first (at most the outbox limit)


class SessionStore(Protocol):
    def saved(self, record: SessionRecord) -> None: ...
    def appended(self, session_id: str, seq: int, frame: bytes) -> None: ...
    def forgotten(self, session_id: str, resume_token: str) -> None: ...
    async def load(self, resume_token: str) -> Restored | None: ...


class LocalStore:
    """One server: its registry is the only place sessions live; nothing to tell."""

    def saved(self, record: SessionRecord) -> None:
        pass

    def appended(self, session_id: str, seq: int, frame: bytes) -> None:
        pass

    def forgotten(self, session_id: str, resume_token: str) -> None:
        pass

    async def load(self, resume_token: str) -> Restored | None:
        return None


_record = msgspec.json.Encoder()


def text(value: bytes | str) -> str:
    """A Redis reply as text (the client hands back bytes)."""
    return value.decode() if isinstance(value, bytes) else value


_decode_record = msgspec.json.Decoder(SessionRecord)


class RedisStore:
    """Keys: ``sp:t:<token>`` → session id, ``sp:s:<id>`` hash (``r`` record, ``q`` seq
    when rewritten), ``sp:h:<id>`` list of frames (about ``history_limit``). Writes go
    through the node's one ordered writer; while Redis is down they are dropped and
    :meth:`resync` rewrites everything once it is back (a restarted Redis may have lost it
    all)."""

    def __init__(self, node: ClusterNode, history_limit: int) -> None:
        self.node = node
        self.history_limit = history_limit

    def saved(self, record: SessionRecord) -> None:
        data = _record.encode(record)

        def write(pipe: Pipeline) -> None:
            pipe.set(f"sp:t:{record.resume_token}", record.id, ex=RECORD_TTL_S)
            pipe.hset(f"sp:s:{record.id}", "r", data)
            pipe.expire(f"sp:s:{record.id}", RECORD_TTL_S)
            pipe.expire(f"sp:h:{record.id}", RECORD_TTL_S)

        self.node.write(write)

    def appended(self, session_id: str, seq: int, frame: bytes) -> None:
        """One command per message (each costs the sender CPU in redis-py): the list is
        trimmed every ``TRIM_EVERY`` messages, and the last ``seq`` is the newest frame's."""
        limit = self.history_limit
        trim = seq % TRIM_EVERY == 0

        def write(pipe: Pipeline) -> None:
            pipe.rpush(f"sp:h:{session_id}", frame)
            if trim:
                pipe.ltrim(f"sp:h:{session_id}", -limit, -1)

        self.node.write(write)

    def forgotten(self, session_id: str, resume_token: str) -> None:
        def write(pipe: Pipeline) -> None:
            pipe.delete(f"sp:t:{resume_token}", f"sp:s:{session_id}", f"sp:h:{session_id}")

        self.node.write(write)

    def resync(self, sessions: Iterable[tuple[SessionRecord, int, list[bytes]]]) -> None:
        for record, seq, history in sessions:
            self.saved(record)

            def write(
                pipe: Pipeline, sid: str = record.id, frames: list[bytes] = history, q: int = seq
            ) -> None:
                pipe.delete(f"sp:h:{sid}")
                pipe.hset(f"sp:s:{sid}", "q", q)
                if frames:
                    pipe.rpush(f"sp:h:{sid}", *frames)
                    pipe.expire(f"sp:h:{sid}", RECORD_TTL_S)

            self.node.write(write)

    async def load(self, resume_token: str) -> Restored | None:
        redis = self.node.redis
        if redis is None:
            return None
        session_id = await redis.get(f"sp:t:{resume_token}")
        if session_id is None:
            return None
        sid = text(session_id)
        async with redis.pipeline(transaction=False) as pipe:
            pipe.hmget(f"sp:s:{sid}", ["r", "q"])
            pipe.lrange(f"sp:h:{sid}", 0, -1)
            (raw, seq), history = await pipe.execute()
        if raw is None:
            return None
        record = _decode_record.decode(raw)
        if record.resume_token != resume_token:
            return None
        history = list(history)[-self.history_limit :]
        return Restored(record=record, seq=int(seq or 0), history=history)
