"""Reconnect policy: when to restart ICE, how often, and when to give up.

Pure logic: no aiortc, no Qt. The call engine feeds it observations (``on_*``) and gives it a
:class:`RestartDriver` that does the real work; time comes from an injectable :class:`Clock`
so the whole state machine is unit-tested with a fake clock.

One reconnect *episode* runs as one task: up to ``max_attempts`` attempts, each bounded by
``attempt_timeout_s``, with backoff between failed attempts. Within an attempt the restart
offer is re-issued on network changes and periodically, because a restart sent during an
outage otherwise waits on STUN retransmission backoff (docs/aiortc-notes.md: 3.8 s after the
link came back).

Success is "media flows again on a working path": SRTP from the peer since the attempt
began, plus either the restarted ICE agent's nomination or the old path answering again
(the link came back before the new generation won). Waiting for the new generation alone
kept the agent on "Reconnecting…" seconds after video was back. When signaling cannot
reach the peer at all (the server lost the call: :meth:`ReconnectController.on_peer_unreachable`),
no restart can complete, and media from the peer alone is success: losing signaling is never
a reason to end a call whose media flows.

Every episode is kept as an :class:`Episode` (``episodes``) for the call's end-of-call report.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Literal, Protocol, TypeVar

from softphone.call.state import RECONNECT_FAILED, CallState, RestartOrigin
from softphone.events import Signal

log = logging.getLogger(__name__)

T = TypeVar("T")
Outcome = Literal["recovered", "failed", "call-ended"]


@dataclass(frozen=True)
class ReconnectPolicy:
    """Knobs of the reconnect policy; defaults are the product's (docs/architecture.md)."""

    max_attempts: int = 3
    attempt_timeout_s: float = 10.0
    # Backoff after failed attempt k is backoff_s[k-1]; the last value repeats.
    backoff_s: tuple[float, ...] = (1.0, 2.0)
    reissue_interval_s: float = 2.5
    # Floor between re-issues caused by failure reports, so an instantly failing restart
    # (e.g. an offer with no candidates) cannot spin on signaling. Network changes skip it.
    min_reissue_gap_s: float = 0.5

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be >= 1")
        if not self.backoff_s:
            raise ValueError("backoff_s needs at least one value")
        positive = {
            "attempt_timeout_s": self.attempt_timeout_s,
            "reissue_interval_s": self.reissue_interval_s,
        }
        non_negative = {"min_reissue_gap_s": self.min_reissue_gap_s}
        non_negative.update({f"backoff_s[{i}]": b for i, b in enumerate(self.backoff_s)})
        for name, value in positive.items():
            if not math.isfinite(value) or value <= 0:
                raise ValueError(f"{name} must be a positive number of seconds, got {value!r}")
        for name, value in non_negative.items():
            if not math.isfinite(value) or value < 0:
                raise ValueError(f"{name} must be >= 0 seconds, got {value!r}")

    def backoff_after(self, attempt: int) -> float:
        return self.backoff_s[min(attempt, len(self.backoff_s)) - 1]


@dataclass(frozen=True)
class ReconnectFailure:
    """What the UI's modal error needs to say what happened."""

    attempts: int
    elapsed_s: float
    last_reason: str  # why the last attempt failed: see _failure_reason()
    trigger: str  # what started the episode, e.g. "disconnected", "network-change"
    call_id: str = ""  # always set by the controller; the default keeps old callers working


@dataclass(frozen=True)
class Episode:
    """One reconnect episode, for the report both parties send at call end."""

    trigger: str
    outcome: Outcome  # as history.InterruptionOutcome
    duration_s: float
    attempts: int  # the highest attempt reached; 0 when the peer ran the restart
    origin: RestartOrigin


class RestartDriver(Protocol):
    """The call engine's side: the controller decides, the driver acts."""

    async def wait_signaling(self, within_s: float) -> bool:
        """Return True once signaling can carry a restart offer, False after ``within_s`` s."""
        ...

    async def send_restart_offer(self, attempt: int, reason: str) -> None:
        """Start a fresh ICE generation and send its restart offer (raise if it could not)."""
        ...

    async def teardown(self, reason: str) -> None:
        """End the call for both sides and the server."""
        ...


class Clock(Protocol):
    def now(self) -> float: ...

    async def sleep(self, seconds: float) -> None: ...


class LoopClock:
    """The event loop's monotonic clock (the production clock)."""

    def now(self) -> float:
        return asyncio.get_running_loop().time()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


class ReconnectController:
    """Runs reconnect episodes for one call and publishes their progress.

    The engine reports: ``on_ice_connected`` (first connect, and each restart's ICE
    connection), ``on_media_received`` (inbound media; cheap, call it per frame),
    ``on_disconnected``/``on_failed`` (the connectivity monitor, ICE failure),
    ``on_network_change`` (local address gone / new one up) and ``on_remote_restart``
    (the peer's restart offer arrived). It calls :meth:`close` when the call ends.
    """

    def __init__(
        self,
        driver: RestartDriver,
        *,
        call_id: str,
        policy: ReconnectPolicy | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.policy = policy or ReconnectPolicy()
        self.call_id = call_id
        self._driver = driver
        self._clock: Clock = clock or LoopClock()
        # (state, attempt, max_attempts): "Reconnecting… (attempt 2 of 3)"
        self.state_changed: Signal[[CallState, int, int]] = Signal("reconnect.state_changed")
        self.recovered: Signal[[int, float]] = Signal("reconnect.recovered")  # attempt, elapsed s
        self.failed: Signal[[ReconnectFailure]] = Signal("reconnect.failed")
        self._state = CallState.CONNECTING
        self._attempt = 0
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._episode_start: float | None = None
        self._trigger = ""
        # Per-attempt observations, reset when an attempt starts.
        self._path_ok = False
        self._media_ok = False
        self._offer_sent = False
        self._reissue: str | None = None  # trigger of a requested re-issue
        self._reissue_urgent = False
        self._last_issue = -math.inf
        self._peer_unreachable = False  # in this episode signaling said the peer is not there
        self.episodes: list[Episode] = []

    # --- read side ---------------------------------------------------------------------

    @property
    def state(self) -> CallState:
        return self._state

    @property
    def attempt(self) -> int:
        return self._attempt

    @property
    def origin(self) -> RestartOrigin:
        """PEER while the peer's restart runs (attempt 0: we answer, we count nothing)."""
        if self._state is CallState.RECONNECTING and self._attempt == 0:
            return RestartOrigin.PEER
        return RestartOrigin.LOCAL

    # --- commands and observations -----------------------------------------------------

    def restart_ice(self, reason: str) -> None:
        """Start an episode now; during one, re-issue the current attempt's restart."""
        if self._state is CallState.CONNECTED:
            self._start_episode(reason, passive=False)
        elif self._state is CallState.RECONNECTING:
            self._request_reissue(reason, urgent=True)

    def on_ice_connected(self) -> None:
        """A path is up: the first connect, a restarted agent's nomination, or the path
        carrying media answering again."""
        if self._state is CallState.CONNECTING:
            self._set_state(CallState.CONNECTED, 0)
        elif self._state is CallState.RECONNECTING:
            self._path_ok = True
            self._wake.set()

    def on_media_received(self) -> None:
        """Cheap when connected, so the engine may call it for every inbound frame."""
        if self._state is CallState.RECONNECTING and not self._media_ok:
            self._media_ok = True
            self._wake.set()

    def on_disconnected(self, reason: str = "disconnected") -> None:
        if self._state is CallState.CONNECTED:
            self.restart_ice(reason)
        elif self._state is CallState.RECONNECTING:
            # The path an attempt found died again: it no longer counts as success.
            self._path_ok = self._media_ok = False
            self._request_reissue(reason, urgent=False)

    def on_failed(self, reason: str = "ice-failed") -> None:
        self.on_disconnected(reason)

    def on_network_change(self) -> None:
        # A new address is the best moment to retry: never wait for backoff or a timer.
        self.restart_ice("network-change")

    def on_remote_restart(self, attempt: int) -> None:
        """The peer restarts ICE; the engine answers it, we show it and wait for media.

        While the peer drives (attempt 0 in ``state_changed``) we send nothing; our own
        attempts start only if a local trigger arrives or the peer's restart times out.
        """
        if self._state is CallState.CONNECTED:
            self._start_episode("remote-restart", passive=True)
        elif self._state is CallState.RECONNECTING:
            # Its answer is in flight: don't stomp on it with our periodic re-issue.
            self._last_issue = self._clock.now()
        else:
            return
        self._log("reconnect.remote_restart", reason="remote-restart", remote_attempt=attempt)

    def on_peer_unreachable(self) -> None:
        """Signaling cannot carry a restart to the peer (the server lost the call or our
        session): until the episode ends, media from the peer alone is success."""
        if self._state is CallState.RECONNECTING and not self._peer_unreachable:
            self._peer_unreachable = True
            self._log("reconnect.peer_unreachable", reason=self._trigger)
            self._wake.set()

    async def close(self) -> None:
        """The call ended: stop any episode. FAILED stays FAILED (it is terminal)."""
        task, self._task = self._task, None
        if self._state is CallState.RECONNECTING:
            self._record("call-ended")
        if self._state is not CallState.FAILED:
            self._set_state(CallState.ENDED, self._attempt)
            self._episode_start = None
        if task is not None and task is not asyncio.current_task():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    # --- the episode ---------------------------------------------------------------------

    def _start_episode(self, trigger: str, *, passive: bool) -> None:
        self._episode_start = self._clock.now()
        self._trigger = trigger
        self._peer_unreachable = False
        self._begin_attempt(0 if passive else 1)
        self._task = asyncio.get_running_loop().create_task(
            self._run_episode(trigger, passive=passive), name=f"reconnect-{self.call_id}"
        )

    async def _run_episode(self, trigger: str, *, passive: bool) -> None:
        if passive and await self._passive_attempt():
            return
        policy = self.policy
        for attempt in range(1, policy.max_attempts + 1):
            if passive or attempt > 1:
                self._begin_attempt(attempt)
            if await self._attempt_once(attempt, trigger):
                return
            if attempt < policy.max_attempts and await self._backoff(attempt):
                return
        await self._give_up()

    async def _passive_attempt(self) -> bool:
        """The peer drives the restart; ours start only if it doesn't succeed in time."""
        deadline = self._clock.now() + self.policy.attempt_timeout_s
        while not self._succeeded():
            remaining = deadline - self._clock.now()
            if self._reissue is not None:
                return False  # our own trigger arrived meanwhile: restart ourselves at once
            if remaining <= 0:
                self._log("reconnect.attempt_failed", reason="remote-restart-timeout")
                return False
            await self._sleep_or_wake(remaining)
        self._succeed()
        return True

    async def _attempt_once(self, attempt: int, trigger: str) -> bool:
        self._log("reconnect.start", reason=trigger)
        deadline = self._clock.now() + self.policy.attempt_timeout_s
        self._reissue, self._reissue_urgent = "initial", True
        while not self._succeeded():
            now = self._clock.now()
            if now >= deadline:
                self._log("reconnect.attempt_failed", reason=self._failure_reason())
                return False
            if self._reissue_due(now):
                await self._issue(attempt, trigger, deadline)
                continue
            await self._sleep_or_wake(min(deadline, self._next_issue_time()) - now)
        self._succeed()
        return True

    async def _backoff(self, attempt: int) -> bool:
        """Wait out the backoff; a network change cuts it short. True if recovered meanwhile."""
        end = self._clock.now() + self.policy.backoff_after(attempt)
        self._reissue, self._reissue_urgent = None, False
        while not self._succeeded():
            now = self._clock.now()
            if now >= end or self._reissue_urgent:
                return False
            await self._sleep_or_wake(end - now)
        self._succeed()
        return True

    async def _issue(self, attempt: int, reason: str, deadline: float) -> None:
        trigger = self._reissue or "periodic"
        self._reissue, self._reissue_urgent = None, False
        remaining = deadline - self._clock.now()
        try:
            signaling_up = await self._sleep_or_wake(
                remaining, self._driver.wait_signaling(remaining)
            )
        except Exception:
            log.warning(
                "reconnect.signaling_check_failed", exc_info=True, extra=self._fields(reason)
            )
            signaling_up = False
        if not signaling_up:
            # Deadline, or an observation came first: the restart is still owed.
            if self._reissue is None:
                self._reissue, self._reissue_urgent = trigger, True
            return
        self._last_issue = self._clock.now()
        try:
            # Bounded by the deadline (a send can block on a dead socket), never by an
            # observation: a restart half-built when cancelled would be worse than none.
            sent = await self._sleep_or_wake(
                deadline - self._clock.now(),
                self._sent(self._driver.send_restart_offer(attempt, reason)),
                wake=False,
            )
        except Exception:
            # Signaling can drop between the check and the send: the next tick retries.
            log.warning("reconnect.offer_failed", exc_info=True, extra=self._fields(reason))
            return
        if not sent:
            log.warning("reconnect.offer_timeout", extra=self._fields(reason))
            return
        # The periodic re-issue counts from the offer leaving: building it can take seconds
        # (a gathering through an outage waits for the TURN servers), and a re-issue due the
        # moment it left would replace it before the peer could answer.
        self._last_issue = self._clock.now()
        self._offer_sent = True
        self._log("reconnect.offer_sent", reason=reason, trigger=trigger)

    async def _give_up(self) -> None:
        failure = ReconnectFailure(
            attempts=self._attempt,
            elapsed_s=self._elapsed(),
            last_reason=self._failure_reason(),
            trigger=self._trigger,
            call_id=self.call_id,
        )
        self._log("reconnect.exhausted", reason=failure.last_reason)
        self._record("failed")
        self._set_state(CallState.FAILED, self._attempt)
        # Before the teardown: whoever shows the failure still knows the call.
        self.failed.emit(failure)
        try:
            await self._driver.teardown(RECONNECT_FAILED)
        except Exception:
            log.exception("reconnect.teardown_failed", extra=self._fields(RECONNECT_FAILED))

    # --- helpers ---------------------------------------------------------------------------

    def _begin_attempt(self, attempt: int) -> None:
        self._path_ok = self._media_ok = self._offer_sent = False
        self._reissue, self._reissue_urgent = None, False
        self._last_issue = -math.inf
        self._set_state(CallState.RECONNECTING, attempt)

    def _succeeded(self) -> bool:
        return self._media_ok and (self._path_ok or self._peer_unreachable)

    def _succeed(self) -> None:
        attempt, elapsed = self._attempt, self._elapsed()
        self._log("reconnect.success", reason=self._trigger, path_seen=self._path_ok)
        self._record("recovered")
        self._task = None
        self._episode_start = None
        self._set_state(CallState.CONNECTED, 0)
        self.recovered.emit(attempt, elapsed)

    def _record(self, outcome: Outcome) -> None:
        self.episodes.append(
            Episode(self._trigger, outcome, round(self._elapsed(), 3), self._attempt, self.origin)
        )

    def _failure_reason(self) -> str:
        if not self._offer_sent:
            return "signaling-unavailable"
        if self._path_ok:
            return "no-media"
        return "ice-timeout"

    def _request_reissue(self, trigger: str, *, urgent: bool) -> None:
        self._reissue = trigger
        self._reissue_urgent = self._reissue_urgent or urgent
        self._wake.set()

    def _next_issue_time(self) -> float:
        if self._reissue is not None:
            return self._last_issue + self.policy.min_reissue_gap_s
        if self._path_ok:
            return math.inf  # the new path is up, only media is missing: don't disturb it
        return self._last_issue + self.policy.reissue_interval_s

    def _reissue_due(self, now: float) -> bool:
        return (self._reissue is not None and self._reissue_urgent) or now >= (
            self._next_issue_time()
        )

    @staticmethod
    async def _sent(sending: Awaitable[None]) -> bool:
        await sending
        return True

    async def _sleep_or_wake(
        self, seconds: float, work: Awaitable[T] | None = None, *, wake: bool = True
    ) -> T | None:
        """Wait for ``work`` (if any), ``seconds`` or (if ``wake``) an observation, whichever
        comes first; ``work`` is cancelled if it did not finish."""
        self._wake.clear()
        waiters: set[asyncio.Future[object]] = {
            asyncio.ensure_future(self._clock.sleep(max(seconds, 0.0)))
        }
        if wake:
            waiters.add(asyncio.ensure_future(self._wake.wait()))
        job = asyncio.ensure_future(work) if work is not None else None
        if job is not None:
            waiters.add(job)  # type: ignore[arg-type]
        try:
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()
            await asyncio.gather(*waiters, return_exceptions=True)
        if job is None or job.cancelled():
            return None
        return job.result()

    def _set_state(self, state: CallState, attempt: int) -> None:
        if state is self._state and attempt == self._attempt:
            return
        self._state, self._attempt = state, attempt
        self.state_changed.emit(state, attempt, self.policy.max_attempts)

    def _elapsed(self) -> float:
        return 0.0 if self._episode_start is None else self._clock.now() - self._episode_start

    def _fields(self, reason: str) -> dict[str, object]:
        return {
            "call_id": self.call_id,
            "attempt": f"{self._attempt}/{self.policy.max_attempts}",
            "reason": reason,
            "elapsed_ms": round(self._elapsed() * 1000),
        }

    def _log(self, event: str, *, reason: str, **extra: object) -> None:
        log.info(event, extra=self._fields(reason) | extra)
