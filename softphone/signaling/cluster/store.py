"""Where a session's state outlives the process that holds it.

The switchboard and the session registry keep live state in memory (the hot path). A
:class:`SessionStore` is told what another node would need to carry a session on: its
record (who, resume token, call ticket, presence, place in the line) and every sequenced
frame (the replay history). :class:`LocalStore`, the single-server default, keeps nothing
beyond what the registry already holds: nothing outlives that process.
:class:`RedisStore` writes behind (never on the send path) and loads a session back for a
resume on another node.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Protocol

import msgspec

from softphone.signaling.protocol import Role, TransferInfo

if TYPE_CHECKING:
    from redis.asyncio.client import Pipeline

    from softphone.signaling.cluster.node import ClusterNode

RECORD_TTL_S = 24 * 3600  # a session nobody resumes or expires (its node died) goes then
TRIM_EVERY = 32  # a trim when a write's seqs cross a multiple (the list holds < limit + 32)


class WaitingEntry(msgspec.Struct, frozen=True):
    """A visitor's call in the line (waiting or ringing): enough to put it back in its
    place on another node. ``queued_at`` is wall-clock time (monotonic clocks differ)."""

    call_id: str
    queued_at: float
    transfer: TransferInfo | None = None  # handed on by an agent: told to the next one
    transfers: int = 0
    tried: tuple[str, ...] = ()  # agents' session ids not to ring again


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
    waiting: WaitingEntry | None = None  # a visitor's call in the line


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
# Append to many history lists in one command, the whole batch in one argument (msgpack:
# per session its id, whether to trim its list and renew its TTL (1/0), its frames). redis-py
# packs each argument of a command in Python, a few microseconds apiece and quadratic in the
# command's size, on the event loop: with an argument per frame and a key per session that
# blocked the loop 0.4-1 ms per write at 1,000 connections (docs/scale-out.md). The keys are
# built here rather than passed as KEYS for the same reason: fine on one Redis, which is all
# the nodes support (not Redis Cluster). ARGV: the history limit, the TTL, the batch.
_APPEND = """
local limit, ttl = tonumber(ARGV[1]), tonumber(ARGV[2])
local batch = cmsgpack.unpack(ARGV[3])
for _, entry in ipairs(batch) do
  local key = 'sp:h:' .. entry[1]
  for _, frame in ipairs(entry[3]) do redis.call('RPUSH', key, frame) end
  if entry[2] == 1 then
    redis.call('LTRIM', key, -limit, -1)
    redis.call('EXPIRE', key, ttl)
  end
end
return #batch
"""
_batch = msgspec.msgpack.Encoder()


class RedisStore:
    """Keys: ``sp:t:<token>`` → session id, ``sp:s:<id>`` hash (``r`` record, ``q`` seq
    when rewritten), ``sp:h:<id>`` list of frames (about ``history_limit``). Writes go
    through the node's write-behind, in order; while Redis is down they are dropped and
    :meth:`resync` rewrites everything once it is back (a restarted Redis may have lost it
    all)."""

    def __init__(self, node: ClusterNode, history_limit: int) -> None:
        self.node = node
        self.history_limit = history_limit
        # Per session, the (seq, frame) appended since the next write was queued (None:
        # none queued).
        self._frames: dict[str, list[tuple[int, bytes]]] | None = None

    def saved(self, record: SessionRecord) -> None:
        data = _record.encode(record)

        def write(pipe: Pipeline) -> None:
            pipe.set(f"sp:t:{record.resume_token}", record.id, ex=RECORD_TTL_S)
            pipe.hset(f"sp:s:{record.id}", "r", data)
            pipe.expire(f"sp:s:{record.id}", RECORD_TTL_S)
            pipe.expire(f"sp:h:{record.id}", RECORD_TTL_S)

        self.node.write_behind(write)

    def appended(self, session_id: str, seq: int, frame: bytes) -> None:
        """Frames gather until the write-behind goes out, then go as one command for all
        sessions (each command costs the loop CPU in redis-py, however small): a list is
        trimmed (and its TTL renewed) when it starts or its new seqs cross a multiple of
        ``TRIM_EVERY``; the last ``seq`` is the newest frame's."""
        pending = self._frames
        if pending is None:
            pending = self._frames = {}

            def write(pipe: Pipeline) -> None:
                self._push(pipe, pending)

            if not self.node.write_behind(write):
                self._frames = None
                return
        pending.setdefault(session_id, []).append((seq, frame))

    def _push(self, pipe: Pipeline, pending: dict[str, list[tuple[int, bytes]]]) -> None:
        if self._frames is pending:
            self._frames = None  # what comes next goes in the next write
        if not pending:
            return
        batch = []
        for session_id, frames in pending.items():
            first, last = frames[0][0], frames[-1][0]
            trim = first == 1 or (first - 1) // TRIM_EVERY != last // TRIM_EVERY
            # As text: Redis's Lua reads msgpack strings, not binary (the frames are UTF-8).
            batch.append((session_id, int(trim), [frame.decode() for _, frame in frames]))
        pipe.eval(_APPEND, 0, self.history_limit, RECORD_TTL_S, _batch.encode(batch))

    def forgotten(self, session_id: str, resume_token: str) -> None:
        if self._frames is not None:
            self._frames.pop(session_id, None)  # no use writing them

        def write(pipe: Pipeline) -> None:
            pipe.delete(f"sp:t:{resume_token}", f"sp:s:{session_id}", f"sp:h:{session_id}")

        self.node.write_behind(write)

    def resync(self, sessions: Iterable[tuple[SessionRecord, int, list[bytes]]]) -> None:
        self._frames = None  # the snapshot has them; later frames go after the rewrite
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

            self.node.write_behind(write)

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
