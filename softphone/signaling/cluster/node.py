"""One node's link to Redis: the connection, its liveness key, the leader lease, the bus.

Redis being down is never fatal: the node reconnects by itself (backoff doubling from 0.1 s
to at most 1 s, logged once per outage as ``cluster.redis_down`` / ``cluster.redis_up``)
and ``up`` says where it stands (/healthz, /metrics). Nothing waits on Redis on the send
path: writes (store updates and bus messages) queue in one ordered writer that pipelines
them, bounded; the store's, which nobody waits for, gather for ``LINGER_S`` first (one
round trip, and far fewer commands, for everything a busy loop wrote meanwhile instead of
one per loop turn); while Redis is down they are dropped (the store is rewritten when it is
back, the bus's sockets are closed so their clients resume with their replay).

Liveness: a node is alive while it is subscribed to its bus channel (Redis drops the
subscription the moment the process dies, so ``PUBSUB NUMSUB`` tells at once) and refreshes
``sp:node:<id>`` (TTL) every heartbeat. The lease ``sp:leader`` (TTL) names the node that
runs the switchboard; another node takes it when it expires or when its holder is seen
without a subscription twice running (SIGKILL: within two heartbeats). A lease that lapsed
while its holder is still subscribed (a busy loop, not a dead node), or that was found
missing after a reconnect, is claimed only after a whole TTL more (at once if its holder
left: a drain deletes its liveness key with the lease): the incumbent, whose
heartbeat re-asserts it at once, keeps it across a Redis restart. A node that has just
started takes a free lease at once, unless it saw a holder (then it waits as above).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any, Protocol

from redis.asyncio import Redis
from redis.backoff import NoBackoff
from redis.exceptions import RedisError
from redis.retry import Retry

from softphone.signaling.cluster.store import text

if TYPE_CHECKING:
    from redis.asyncio.client import Pipeline, PubSub

log = logging.getLogger(__name__)
Write = Callable[["Pipeline"], object]
BACKOFF = (0.1, 1.0)  # first and longest wait between reconnection attempts
MAX_QUEUED_WRITES = 100_000  # beyond this Redis is not keeping up: drop, as when down
BATCH = 512  # writes per pipeline round trip
LINGER_S = 0.02  # write-behind (the store) goes out at most this often, in one pipeline

# Refresh the lease if ours; take it if it is free and we may, or if it is held by the
# node we found dead. Returns the holder afterwards ("" for none).
_LEASE = """
local v = redis.call('GET', KEYS[1])
if v == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return v end
if (not v and ARGV[3] == '1') or (v and v == ARGV[4]) then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return ARGV[1]
end
return v or ''
"""
# Give the lease back (drain): only if it is still ours.
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


def channel(node: str) -> str:
    return f"sp:bus:{node}"


def pack(messages: list[bytes]) -> bytes:
    """Several bus messages as one: each behind its length (4 bytes, big-endian)."""
    return b"".join(len(m).to_bytes(4, "big") + m for m in messages)


def unpack(data: bytes) -> list[bytes]:
    messages, at = [], 0
    while at + 4 <= len(data):
        size = int.from_bytes(data[at : at + 4], "big")
        messages.append(data[at + 4 : at + 4 + size])
        at += 4 + size
    return messages


class NodeEvents(Protocol):
    """What the node tells the server about (all called on the event loop, never raising)."""

    def bus_message(self, data: bytes) -> None: ...
    def redis_up(self) -> None: ...
    def redis_down(self) -> None: ...
    def leader_changed(self, leader: str | None, was: str | None) -> None: ...
    def nodes_gone(self, nodes: list[str]) -> None: ...
    def remote_nodes(self) -> list[str]: ...


class ClusterNode:
    def __init__(
        self, url: str, node_id: str, events: NodeEvents, heartbeat: float, lease_ttl: float
    ) -> None:
        self.url = url
        self.id = node_id
        self.events = events
        self.heartbeat = heartbeat
        self.lease_ttl = lease_ttl
        self.redis: Redis | None = None
        self.up = False
        self.leader: str | None = None  # the lease holder as last seen
        self.outages = 0
        self.dropped_writes = 0
        self._writes: deque[tuple[Write, Callable[[Any], None] | None]] = deque()
        self._behind: list[Write] = []  # write-behind gathering until the next flush
        self._flush_timer: asyncio.TimerHandle | None = None
        # Bus messages per node not yet in a pipeline: (data, on_result), sent as one.
        self._groups: dict[str, list[tuple[bytes, Callable[[Any], None] | None]]] = {}
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()  # lease checks, one at a time
        self._asked: asyncio.Future[None] | None = None  # callers of the next urgent check
        self._checker: asyncio.Task[None] | None = None  # runs them
        self._absent_since: float | None = None
        self._seen_holder = ""  # the last lease holder seen on this connection
        self._dead: dict[str, int] = {}  # node -> consecutive checks without a subscription
        self._leader_known = asyncio.Event()
        self._writing = False  # a pipeline is on its way
        self.leaving = False  # drained: leads no more

    @property
    def is_leader(self) -> bool:
        return self.leader == self.id

    def start(self) -> None:
        self._task = asyncio.create_task(self._supervise())

    async def leave(self) -> None:
        """Write out what is queued, then give the lease and the liveness key back and
        claim no more: another node leads at its next heartbeat (a drain hands over)."""
        if self.leaving:
            return
        self.leaving = True
        redis = self.redis
        if redis is not None and self.up:
            self._flush()
            with contextlib.suppress(RedisError, OSError, TimeoutError):
                async with asyncio.timeout(1.0):
                    while self._writes or self._writing:  # noqa: ASYNC110
                        await asyncio.sleep(0.01)
                    await redis.eval(_RELEASE, 1, "sp:leader", self.id)
                    await redis.delete(f"sp:node:{self.id}")
        self._set_leader(None)

    async def close(self) -> None:
        await self.leave()
        if self._checker is not None:
            self._checker.cancel()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                async with asyncio.timeout(2.0):  # never hold up an exit on Redis
                    await self._task
            self._task = None

    # --- writing --------------------------------------------------------------------------

    def write(self, op: Write, on_result: Callable[[Any], None] | None = None) -> bool:
        """Queue ``op`` (it adds commands to a pipeline) behind every earlier write."""
        if not self.up or len(self._writes) >= MAX_QUEUED_WRITES:
            self.dropped_writes += 1
            return False
        self._writes.append((op, on_result))
        self._wake.set()
        return True

    def write_behind(self, op: Write) -> bool:
        """Queue ``op`` like :meth:`write`, but only within ``LINGER_S``: in order with the
        other write-behind ops, not with :meth:`write`'s (the bus)."""
        if not self.up or len(self._writes) + len(self._behind) >= MAX_QUEUED_WRITES:
            self.dropped_writes += 1
            return False
        self._behind.append(op)
        if self._flush_timer is None:
            self._flush_timer = asyncio.get_running_loop().call_later(LINGER_S, self._flush)
        return True

    def _flush(self) -> None:
        if self._flush_timer is not None:
            self._flush_timer.cancel()
            self._flush_timer = None
        ops, self._behind = self._behind, []
        if ops:

            def write(pipe: Pipeline) -> None:
                for op in ops:
                    op(pipe)

            self.write(write)

    def publish(self, node: str, data: bytes, on_result: Callable[[Any], None] | None) -> bool:
        """Send ``data`` to ``node``'s channel. Messages for one node that queue up while a
        pipeline is on its way go out together as one pub/sub message (in order): under
        load that saves Redis and both nodes most of the per-message cost."""
        group = self._groups.get(node)
        if group is not None and len(group) < BATCH:
            group.append((data, on_result))
            return True
        group = [(data, on_result)]

        def send(pipe: Pipeline) -> None:
            if self._groups.get(node) is group:
                del self._groups[node]  # what comes next starts a new message
            pipe.publish(channel(node), pack([d for d, _ in group]))

        def reached(receivers: Any) -> None:
            for _, callback in group:
                if callback is not None:
                    callback(receivers)

        if not self.write(send, reached):
            return False
        self._groups[node] = group
        return True

    async def wait_leader(self, timeout: float) -> str | None:  # noqa: ASYNC109
        """The leader: this node even while Redis is down (it serves its own sockets),
        another one once known and reachable (None after ``timeout``)."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                while not (self.is_leader or (self.up and self.leader)):
                    self._leader_known.clear()
                    await self._leader_known.wait()
        return self.leader if self.is_leader or self.up else None

    async def check_leader(self) -> None:
        """Look at the lease now, not next beat (a socket came in, or something sent to the
        leader reached nobody). Callers share the checks: one that comes while a check is
        on its way waits for the next (it starts after they asked: fresh for each), and all
        who came meanwhile share it. Sockets signing in together (1,000 at a bench's start)
        cost a few checks instead of three round trips each, one at a time."""
        asked = self._asked
        if asked is None:
            asked = self._asked = asyncio.get_running_loop().create_future()
            if self._checker is None or self._checker.done():
                self._checker = asyncio.create_task(self._check_when_asked())
        await asyncio.shield(asked)

    async def _check_when_asked(self) -> None:
        try:
            while (asked := self._asked) is not None:
                self._asked = None
                try:
                    redis = self.redis
                    if redis is not None:
                        await self._check_lease(redis, urgent=True)
                except (RedisError, OSError):
                    pass  # Redis down: the callers find no leader, or the one they knew
                finally:
                    asked.set_result(None)
        finally:
            if self._asked is not None:  # stopped (closing): nobody is left waiting
                self._asked.set_result(None)
                self._asked = None

    def on_bus(self, node: str) -> bool:
        """``node`` was subscribed to its channel when last looked at (the lease check
        looks at the holder each time)."""
        return self._dead.get(node) == 0

    # --- the connection -------------------------------------------------------------------

    async def _supervise(self) -> None:
        delay = BACKOFF[0]
        while True:
            redis: Redis = Redis.from_url(
                self.url,
                socket_connect_timeout=1.0,
                socket_timeout=2.0,
                retry=Retry(NoBackoff(), 0),  # an outage must surface here, not be hidden
                client_name=f"softphone-{self.id}",
            )
            pubsub = redis.pubsub()
            try:
                await pubsub.subscribe(channel(self.id))
                await redis.ping()
                self.redis, self.up = redis, True
                self._absent_since, self._seen_holder = time.monotonic(), ""
                log.info("cluster.redis_up", extra={"node": self.id, "outages": self.outages})
                delay = BACKOFF[0]
                self.events.redis_up()
                await _first_failure(self._read(pubsub), self._write_loop(redis), self._beat(redis))
            except (RedisError, OSError) as exc:
                if self.up:
                    log.warning("cluster.redis_down", extra={"node": self.id, "error": str(exc)})
            finally:
                was_up = self.up
                self.up, self.redis = False, None
                self._writes.clear()
                self._groups.clear()
                self._behind.clear()
                with contextlib.suppress(RedisError, OSError, TimeoutError):
                    async with asyncio.timeout(1.0):
                        await pubsub.aclose()
                        await redis.aclose()
            if was_up:
                self.outages += 1
                if not self.is_leader:  # a leader stays one until Redis says otherwise
                    self._set_leader(None)
                self.events.redis_down()
            await asyncio.sleep(delay)
            delay = min(delay * 2, BACKOFF[1])

    async def _read(self, pubsub: PubSub) -> None:
        async for msg in pubsub.listen():
            if msg.get("type") == "message":
                for data in unpack(msg["data"]):
                    self.events.bus_message(data)

    async def _write_loop(self, redis: Redis) -> None:
        writes = self._writes
        while True:
            if not writes:
                self._wake.clear()
                await self._wake.wait()
                continue
            batch = [writes.popleft() for _ in range(min(len(writes), BATCH))]
            ends = []
            self._writing = True
            try:
                async with redis.pipeline(transaction=False) as pipe:
                    for op, _ in batch:
                        op(pipe)
                        ends.append(len(pipe))
                    results = await pipe.execute(raise_on_error=False)
            finally:
                self._writing = False
            for (_, on_result), end in zip(batch, ends, strict=True):
                if on_result is not None and end:
                    on_result(results[end - 1])

    async def _beat(self, redis: Redis) -> None:
        ttl_ms = int(self.lease_ttl * 1000)
        due = time.monotonic()
        while True:
            late = time.monotonic() - due
            if late > self.lease_ttl / 2:  # the loop was busy: the lease nearly lapsed
                log.warning("cluster.heartbeat_late", extra={"node": self.id, "late_s": late})
            if not self.leaving:
                await redis.set(f"sp:node:{self.id}", b"1", px=2 * ttl_ms)  # outlives a late lease
            await self._check_lease(redis, urgent=False)
            if self.is_leader:
                await self._check_nodes(redis, self.events.remote_nodes())
            due = time.monotonic() + self.heartbeat
            await asyncio.sleep(self.heartbeat)

    async def _check_lease(self, redis: Redis, urgent: bool) -> None:
        async with self._lock:
            holder = await redis.get("sp:leader")
            holder_id = text(holder) if holder else None
            now = time.monotonic()
            depose = ""
            absent_for = 0.0
            if holder_id is None:
                self._absent_since = self._absent_since or now
                absent_for = now - self._absent_since
            elif holder_id != self.id:
                self._seen_holder = holder_id
                self._absent_since = None
                dead = await self._dead_checks(redis, holder_id) >= (1 if urgent else 2)
                if dead and not self.leaving:
                    depose = holder_id
                    log.warning("cluster.leader_dead", extra={"node": self.id, "was": holder_id})
            # A lapsed lease is taken at once if its holder is gone from the bus; a holder
            # still subscribed is only late (a busy loop): it gets another TTL to renew.
            free = holder_id is None and (
                # Just started and seen no holder yet: no incumbent to wait for. (One seen
                # lapsing is waited for: at 5,000 connections a loaded leader's heartbeat
                # came 5 s late, and a second node just started took the lease from it.)
                (self.outages == 0 and not self._seen_holder)
                or absent_for >= self.lease_ttl
                or bool(self._seen_holder and await self._gone(redis, self._seen_holder))
            )
            claim = not self.leaving and (self.is_leader or free)
            result = await redis.eval(
                _LEASE,
                1,
                "sp:leader",
                self.id,
                int(self.lease_ttl * 1000),
                "1" if claim else "0",
                depose,
            )
            self._set_leader(text(result) or None)
            if self.leader is not None:
                self._leader_known.set()  # also when unchanged across a reconnect

    async def _gone(self, redis: Redis, node: str) -> bool:
        """Left (its liveness key deleted by a drain, or lapsed) or off the bus."""
        return not await redis.exists(f"sp:node:{node}") or bool(
            await self._dead_checks(redis, node)
        )

    async def _dead_checks(self, redis: Redis, node: str) -> int:
        (_, subscribers), *_ = await redis.pubsub_numsub(channel(node))
        self._dead[node] = 0 if subscribers else self._dead.get(node, 0) + 1
        return self._dead[node]

    async def _check_nodes(self, redis: Redis, nodes: list[str]) -> None:
        gone = [n for n in nodes if n != self.id and await self._dead_checks(redis, n) >= 2]
        if gone:
            log.warning("cluster.nodes_gone", extra={"node": self.id, "gone": gone})
            for n in gone:
                self._dead.pop(n, None)
            self.events.nodes_gone(gone)

    def _set_leader(self, leader: str | None) -> None:
        was = self.leader
        if leader == was:
            return
        self.leader = leader
        log.info("cluster.leader", extra={"node": self.id, "leader": leader, "was": was})
        if leader is not None:
            self._leader_known.set()
        self.events.leader_changed(leader, was)


async def _first_failure(*coros: Coroutine[Any, Any, None]) -> None:
    """Run ``coros`` until one of them fails; cancel the rest and raise its error."""
    tasks = [asyncio.ensure_future(c) for c in coros]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
        for task in done:
            task.result()
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
