"""The scheduler: :class:`RateLimitPacer` lets each request go when the limits say it will be
accepted (see the package doc for how it is used and what it reads)."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from groq_magic.pacing.books import apply_reading, give_back, refund, trim
from groq_magic.pacing.bucket import Bucket
from groq_magic.pacing.caps import DEFAULT_MAX_CONCURRENCY, PacingCaps
from groq_magic.pacing.congestion import (
    allowed,
    back_off,
    cut,
    grow,
    note_round_trip,
    probing_ready,
)
from groq_magic.pacing.estimate import estimate_tokens, max_completion_tokens
from groq_magic.pacing.hits import learn
from groq_magic.pacing.permit import Permit
from groq_magic.pacing.reading import (
    RateLimitHeaders,
    Unit,
    Window,
    parse_rate_limit_message,
)
from groq_magic.pacing.refusals import DailyLimitReached, LimitIsZero
from groq_magic.pacing.state import ModelState

__all__ = ["DAY", "MINUTE", "ModelLimits", "RateLimitPacer"]

MINUTE = 60.0
"""Seconds in the window of Groq's per-minute limits."""

DAY = 86400.0
"""Seconds in the window of Groq's per-day limits."""

# A wait this short is rounding, not a wait.
_NEGLIGIBLE = 1e-6


@dataclass(frozen=True)
class ModelLimits:
    """What the pacer knows of one model's limits now (None: not known yet)."""

    tokens_per_minute: int | None
    requests_per_minute: int | None
    requests_per_day: int | None
    tokens_per_day: int | None
    concurrency: int
    in_flight: int


class RateLimitPacer:
    """Lets requests go at the pace Groq's limits allow; one per kernel (see the package doc).

    ``max_concurrency`` bounds requests in flight per model; ``requests_per_minute`` is a
    cap of the user's own (requests are then evenly spaced); both are checked as
    :class:`PacingCaps`. ``max_daily_wait`` is the longest wait for a daily budget before
    :meth:`acquire` gives up with :class:`DailyLimitReached`. ``minute`` and ``day`` are the
    lengths of the server's windows: 60 s and 24 h for Groq, shorter for loopback test
    servers. ``clock`` and ``sleep`` are injectable, for tests on a fake clock.
    """

    def __init__(
        self,
        *,
        max_concurrency: int = DEFAULT_MAX_CONCURRENCY,
        requests_per_minute: float | None = None,
        max_daily_wait: float = 60.0,
        minute: float = MINUTE,
        day: float = DAY,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        caps = PacingCaps(max_concurrency, requests_per_minute)  # checks them
        self.max_concurrency = caps.max_concurrency
        self.requests_per_minute = caps.requests_per_minute
        self.max_daily_wait = max_daily_wait
        self.minute = minute
        self.day = day
        self._clock = clock
        self._sleep = sleep
        self._states: dict[str, ModelState] = {}
        self._seq = 0

    # -- public ---------------------------------------------------------------------------

    async def acquire(
        self,
        estimated_tokens: int,
        *,
        model: str,
        eager: bool = False,
        max_tokens: int | None = None,
    ) -> Permit:
        """Wait until a request of ``estimated_tokens`` to ``model`` may go; return its permit.

        ``max_tokens`` is the request's own max completion tokens when it sets them: Groq
        reserves them with the prompt, so with the answer's prompt tokens (see
        :meth:`Permit.done`) the pacer gives back exactly what the server does.

        Requests for one model are let go in the order they asked. The first in line waits
        for the time its budgets name, and checks again as soon as anything changes (an
        answer, its headers, a refund, a 429). ``eager`` skips the probing (see
        the package doc): for a few requests wanted together. Raises
        :class:`DailyLimitReached` when a daily limit is spent and refills only in hours,
        :class:`LimitIsZero` when the server said the model's limit is 0.
        """
        state = self._state(model)
        async with state.turnstile:
            while True:
                change = state.changed  # a change from here on ends the pause below
                now = self._clock()
                tokens = math.ceil(max(0, estimated_tokens) * state.scale)
                wait = self._hold(model, state, tokens, now, eager=eager)
                # Float rounding can leave a wait of 1e-15 s that a clock cannot move by.
                if wait <= _NEGLIGIBLE:
                    return self._grant(state, model, tokens, now, max_tokens)
                await self._pause(change, wait)

    async def acquire_request(
        self, request_body: Mapping[str, Any], *, eager: bool = False
    ) -> Permit:
        """:meth:`acquire` for a chat-completions body: its model and :func:`estimate_tokens`."""
        return await self.acquire(
            estimate_tokens(request_body),
            model=str(request_body["model"]),
            eager=eager,
            max_tokens=max_completion_tokens(request_body),
        )

    @property
    def caps(self) -> PacingCaps:
        """The user's caps in force."""
        return PacingCaps(self.max_concurrency, self.requests_per_minute)

    def set_caps(self, caps: PacingCaps) -> None:
        """Apply new user caps; what was learned of the server's limits is kept.

        Read by the next request that asks (call it before the runs start, from the thread
        of the runs' loop or before they go to it).
        """
        self.max_concurrency = caps.max_concurrency
        if caps.requests_per_minute != self.requests_per_minute:
            self.requests_per_minute = caps.requests_per_minute
            for state in self._states.values():
                state.user_requests = self._user_budget()

    def wait_for(self, model: str) -> float:
        """Seconds until a small request to ``model`` could go by what is known now (0: now).

        What a caller tells people after a 429 ("retry in 2.0 s"); it does not reserve
        anything, and a spent daily limit counts as its wait.
        """
        state = self._state(model)
        now = self._clock()
        spent = state.spent.until - now if state.spent is not None else 0.0
        return max(0.0, spent, self._delay(state, 1, now))

    def limits(self, model: str) -> ModelLimits:
        """What is known of ``model``'s limits, and its concurrency now (0: a limit the
        server said is 0)."""
        state = self._state(model)

        def known(bucket: Bucket | None, unit: Unit, window: Window) -> int | None:
            zero = state.zero
            if zero is not None and (zero.unit, zero.window) == (unit, window):
                return 0
            return None if bucket is None else bucket.limit

        return ModelLimits(
            tokens_per_minute=known(state.tokens, "tokens", "minute"),
            requests_per_minute=known(state.requests, "requests", "minute"),
            requests_per_day=known(state.day_requests, "requests", "day"),
            tokens_per_day=known(state.day_tokens, "tokens", "day"),
            concurrency=allowed(state, self.max_concurrency),
            in_flight=state.in_flight,
        )

    # -- deciding -------------------------------------------------------------------------

    def _state(self, model: str) -> ModelState:
        state = self._states.get(model)
        if state is None:
            state = self._states[model] = ModelState()
            state.user_requests = self._user_budget()
        return state

    def _user_budget(self) -> Bucket | None:
        if self.requests_per_minute is None:
            return None
        # Capacity 1: the user's cap spaces requests evenly instead of allowing a burst.
        return Bucket(1, self.minute / self.requests_per_minute, self._clock())

    def _hold(
        self, model: str, state: ModelState, tokens: int, now: float, *, eager: bool
    ) -> float:
        """Seconds a request of ``tokens`` must wait by what is known now (0: none; inf:
        until something changes); raises when waiting would not help."""
        self._check_zero(model, state, now)
        try:
            daily = self._spent_wait(model, state, now)
            self._check_day_budgets(model, state, tokens, now)
        except DailyLimitReached:
            if state.spent is not None or not state.in_flight:
                raise  # the server said so, or every answer is in
            # Spent by the estimate, which counts requests still on their way as not yet
            # counted: their answers say what really remains.
            return math.inf
        if state.in_flight >= allowed(state, self.max_concurrency, eager=eager):
            return math.inf
        return max(daily, self._delay(state, tokens, now, eager=eager))

    def _delay(self, state: ModelState, tokens: int, now: float, *, eager: bool = False) -> float:
        """Seconds until every budget holds a request of ``tokens``, if nothing changes."""
        ready = [state.resume_at, probing_ready(state, eager=eager)]
        ready += [bucket.earliest(tokens, now) for bucket in state.token_buckets()]
        ready += [bucket.earliest(1, now) for bucket in state.request_buckets()]
        return max(ready) - now

    @staticmethod
    def _check_zero(model: str, state: ModelState, now: float) -> None:
        zero = state.zero
        if zero is not None and zero.until <= now:
            state.zero = zero = None  # believed long enough: let a request try again
        if zero is not None:
            raise LimitIsZero(model, zero.unit, zero.window)

    def _spent_wait(self, model: str, state: ModelState, now: float) -> float:
        """The wait for a daily limit a 429 said is spent (0: none); raises
        :class:`DailyLimitReached` when it is longer than ``max_daily_wait`` or unknown."""
        spent = state.spent
        if spent is None:
            return 0.0
        left = spent.until - now
        if left <= 0:
            state.spent = None
            return 0.0
        if spent.resets_in_known and left <= self.max_daily_wait:
            return left
        resets_in = left if spent.resets_in_known else None
        raise DailyLimitReached(model, spent.unit, spent.limit, resets_in)

    def _check_day_budgets(self, model: str, state: ModelState, tokens: int, now: float) -> None:
        """Raise :class:`DailyLimitReached` if the RPD or TPD budget holds too little for
        this request and refills only after ``max_daily_wait``."""
        day = state.day_requests
        if day is not None and day.earliest(1, now) - now > _NEGLIGIBLE:
            if state.day_reset_at is not None:
                resets_in = state.day_reset_at - now
            else:
                resets_in = (day.capacity - day.level) / day.rate
            if resets_in > self.max_daily_wait:
                raise DailyLimitReached(model, "requests", day.limit, resets_in)
        day_tokens = state.day_tokens
        if day_tokens is not None and day_tokens.earliest(tokens, now) - now > _NEGLIGIBLE:
            resets_in = (day_tokens.capacity - day_tokens.level) / day_tokens.rate
            if resets_in > self.max_daily_wait:
                raise DailyLimitReached(model, "tokens", day_tokens.limit, resets_in)

    async def _pause(self, change: asyncio.Event, wait: float) -> None:
        """Wait ``wait`` seconds (inf: as long as it takes), or until ``change`` is set."""
        pending: list[asyncio.Future[Any]] = [asyncio.ensure_future(change.wait())]
        if math.isfinite(wait):
            pending.append(asyncio.ensure_future(self._sleep(wait)))
        try:
            await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in pending:
                task.cancel()

    def _grant(
        self, state: ModelState, model: str, tokens: int, now: float, max_tokens: int | None
    ) -> Permit:
        self._seq += 1
        permit = Permit(self, model, self._seq, tokens, now, max_tokens=max_tokens)
        for bucket in state.token_buckets():
            bucket.take(tokens, now)
        for bucket in state.request_buckets():
            bucket.take(1, now)
        if state.day_requests is not None and state.day_reset_at is not None:
            state.day_reset_at += 1 / state.day_requests.rate  # one more to refill
        state.in_flight += 1
        state.last_sent = now
        state.log.append(permit)
        return permit

    # -- learning (called by the permits) ---------------------------------------------------

    def _settle(self, permit: Permit) -> ModelState:
        state = self._states[permit.model]
        permit.settled = True
        state.in_flight -= 1
        return state

    def _read(
        self,
        state: ModelState,
        base: Permit,
        headers: RateLimitHeaders,
        now: float,
        *,
        headers_only: bool = True,
    ) -> None:
        """An answer to ``base`` (its start if ``headers_only``): the round trip, and the
        reading its headers carry."""
        first = not base.answered
        note_round_trip(state, base, now, headers_only=headers_only)
        apply_reading(
            state, base, headers, now, minute=self.minute, day=self.day, first_answer=first
        )

    def _observe(self, permit: Permit, headers: RateLimitHeaders) -> None:
        state = self._states[permit.model]
        self._read(state, permit, headers, self._clock())
        state.touch()

    def _done(
        self, permit: Permit, headers: RateLimitHeaders, used: int | None, prompt: int | None
    ) -> None:
        now = self._clock()
        state = self._settle(permit)
        self._read(state, permit, headers, now, headers_only=False)
        if used is not None and used >= 0:
            refund(state, permit, used, prompt, now)
        trim(state)
        grow(state, self.max_concurrency)
        state.touch()

    def _failed(self, permit: Permit, headers: RateLimitHeaders) -> None:
        now = self._clock()
        state = self._settle(permit)
        apply_reading(state, permit, headers, now, minute=self.minute, day=self.day)
        trim(state)
        state.touch()

    def _rate_limited(
        self,
        permit: Permit,
        headers: RateLimitHeaders,
        message: str | None,
        retry_after: float | None,
    ) -> None:
        now = self._clock()
        state = self._settle(permit)
        give_back(state, permit, now)  # the server did not count a rejected request
        self._read(state, permit, headers, now)
        hit = parse_rate_limit_message(message)
        hint = retry_after if retry_after is not None else hit.retry_after if hit else None
        learned = hit is not None and learn(
            state, permit, hit, headers, hint, now, minute=self.minute, day=self.day
        )
        if not learned:
            back_off(state, hint, now)
        trim(state)
        cut(state, permit, self._seq)
        state.touch()
