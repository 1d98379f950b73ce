"""Pacing requests by Groq's rate limits: one scheduler per kernel, shared by every run.

A sweep that fires requests as fast as a semaphore lets it spends its first seconds
collecting 429s and then retries in lockstep. :class:`RateLimitPacer` instead sends each
request when the limits say it will be accepted::

    permit = await pacer.acquire(estimate_tokens(body), model=body["model"])
    response = ...                                  # send the request
    permit.observe(response.headers)                # optional: as soon as headers arrive
    permit.done(headers=response.headers, used_tokens=usage["total_tokens"])
    # or, on a 429:  permit.failed_rate_limited(response.headers, error_message)
    # or, on any other failure:  permit.failed()

What Groq tells us, and how each piece is used (see ``groq-protocol.md``):

- ``x-ratelimit-*-tokens`` is the tokens-per-minute (TPM) budget: a bucket of ``limit``
  tokens refilled at ``limit / 60`` per second. Each request is charged its estimate when
  it is let go; each response's ``remaining`` resets the pacer's view of the bucket.
- ``x-ratelimit-*-requests`` is the requests-per-day (RPD) budget, paced the same way; when
  it is spent and refills only in hours, :meth:`RateLimitPacer.acquire` raises
  :class:`DailyLimitReached` at once instead of waiting.
- Requests per minute (RPM) and tokens per day (TPD) have no header: a 429 names them
  ("on requests per minute (RPM): Limit 30, Used 30, Requested 1"), and from then on they
  are paced too. Until the RPM is known, sends are spaced by about a round trip (less as
  answers keep coming without 429s), so reaching the unknown wall costs one or two 429s
  rather than a window full of them.
- Concurrency adapts like TCP's congestion window: it starts at 1 (the first answer's
  headers tell the budgets), grows while no 429 comes back and halves on one, never above
  ``max_concurrency``.
- An ``eager`` request (the first runs of a compare: a handful the user is watching side
  by side) skips the probing: no slow start and no spacing while the RPM is unknown, so
  they go together, up to ``max_concurrency``. Everything known still holds it back (the
  TPM and RPD budgets, a learned RPM, the wait after a 429, a spent daily limit), and once
  a 429 has cut the window it is paced like any other request. Past an unknown RPM, a
  burst costs at most its own size in 429s, once; so callers keep bursts small.

Groq's buckets refill continuously (its "Please try again in 2s" for an RPM of 30 is one
request's worth of refill), so a bucket with a refill rate reproduces the server's verdicts
closely. Everything here is per model, because Groq's limits are. The pacer is used from one
asyncio loop (the kernel's background loop); its clock and sleep are injectable so tests can
run it on a fake clock. Only the standard library is used: no client, no IPython.
"""

from __future__ import annotations

import asyncio
import json
import math
import re
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Literal, Protocol, TypeAlias

from groq_magic._durations import parse_go_duration

__all__ = [
    "DAY",
    "DEFAULT_COMPLETION_TOKENS",
    "DEFAULT_MAX_CONCURRENCY",
    "MINUTE",
    "DailyLimitReached",
    "HeaderSource",
    "ModelLimits",
    "PacingCaps",
    "Permit",
    "RateLimitHeaders",
    "RateLimitHit",
    "RateLimitPacer",
    "estimate_tokens",
    "format_duration",
    "parse_go_duration",
    "parse_rate_limit_message",
    "read_rate_limit_headers",
]

MINUTE = 60.0
"""Seconds in the window of Groq's per-minute limits."""

DAY = 86400.0
"""Seconds in the window of Groq's per-day limits."""

DEFAULT_MAX_CONCURRENCY = 16
"""Requests in flight per model at most, unless the user caps it otherwise."""

DEFAULT_COMPLETION_TOKENS = 256
"""Completion tokens assumed for a request that sets no max tokens (corrected by its usage)."""

Unit = Literal["requests", "tokens"]

# -- reading what the server says ---------------------------------------------------------


def format_duration(seconds: float) -> str:
    """A wait for people: ``3h12m``, ``4m30s``, ``12s``, ``0.4s``."""
    if seconds < 10:
        return f"{seconds:.1f}s".replace(".0s", "s")
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes}m" if minutes else f"{hours}h"
    if minutes:
        return f"{minutes}m{secs}s" if secs else f"{minutes}m"
    return f"{secs}s"


class _HasRaw(Protocol):
    """The client's ``RateLimits`` (``stream.rate_limits``): its ``raw`` holds the headers."""

    @property
    def raw(self) -> Mapping[str, str]:
        """The ``x-ratelimit-*`` headers as received."""


HeaderSource: TypeAlias = Mapping[str, str] | _HasRaw
"""Response headers (``httpx.Headers`` or a dict), or the client's ``RateLimits``."""


@dataclass(frozen=True)
class RateLimitHeaders:
    """Groq's ``x-ratelimit-*`` headers: ``requests`` are per day, ``tokens`` per minute.

    Resets are seconds until the budget is full again; None where a header is absent.
    """

    requests_limit: int | None = None
    requests_remaining: int | None = None
    requests_reset: float | None = None
    tokens_limit: int | None = None
    tokens_remaining: int | None = None
    tokens_reset: float | None = None

    @property
    def any(self) -> bool:
        """Whether the response carried any usable rate-limit header."""
        return any(getattr(self, name) is not None for name in self.__dataclass_fields__)


def _int(text: str | None) -> int | None:
    try:
        return int(text.strip()) if text is not None else None
    except ValueError:
        return None


def read_rate_limit_headers(headers: HeaderSource | None) -> RateLimitHeaders:
    """The rate-limit headers of a response (any capitalisation), tolerating junk values."""
    if headers is None:
        return RateLimitHeaders()
    mapping: Mapping[str, str] = headers if isinstance(headers, Mapping) else headers.raw
    found = {k.lower(): v for k, v in mapping.items() if k.lower().startswith("x-ratelimit-")}
    return RateLimitHeaders(
        requests_limit=_int(found.get("x-ratelimit-limit-requests")),
        requests_remaining=_int(found.get("x-ratelimit-remaining-requests")),
        requests_reset=parse_go_duration(found.get("x-ratelimit-reset-requests")),
        tokens_limit=_int(found.get("x-ratelimit-limit-tokens")),
        tokens_remaining=_int(found.get("x-ratelimit-remaining-tokens")),
        tokens_reset=parse_go_duration(found.get("x-ratelimit-reset-tokens")),
    )


@dataclass(frozen=True)
class RateLimitHit:
    """What a 429's message says: which limit (``unit`` per ``window``), its numbers, the wait."""

    unit: Unit
    window: Literal["minute", "day"]
    limit: int | None = None
    used: int | None = None
    requested: int | None = None
    retry_after: float | None = None
    model: str | None = None


_NUMBER = r"\d{1,3}(?:,\d{3})+|\d+"  # 14400 or 14,400, but not the comma after "Limit 30"
_WHICH = re.compile(
    r"\b(requests|tokens)\s+per\s+(minute|min|day)\b(?:\s*\((?:RPM|RPD|TPM|TPD)\))?"
    rf"(?:\s*:\s*Limit\s+({_NUMBER})(?:\s*,\s*Used\s+({_NUMBER}))?"
    rf"(?:\s*,\s*Requested\s+({_NUMBER}))?)?",
    re.IGNORECASE,
)
_TRY_AGAIN = re.compile(r"try again in\s+((?:\d+(?:\.\d+)?(?:ns|us|µs|μs|ms|s|m|h))+)", re.I)
_MODEL = re.compile(r"for model\s+`([^`]+)`")


def _number(text: str | None) -> int | None:
    return int(text.replace(",", "")) if text else None


def parse_rate_limit_message(message: str | None) -> RateLimitHit | None:
    """Read Groq's 429 message; None when it names no per-minute or per-day limit.

    ``Rate limit reached for model `llama-3.1-8b-instant` in organization `org_...` service
    tier `on_demand` on requests per minute (RPM): Limit 30, Used 30, Requested 1. Please try
    again in 2s.`` gives ``RateLimitHit("requests", "minute", 30, 30, 1, 2.0, "llama-...")``.
    """
    if not message:
        return None
    which = _WHICH.search(message)
    if which is None:
        return None
    unit, window, limit, used, requested = which.groups()
    wait = _TRY_AGAIN.search(message)
    model = _MODEL.search(message)
    return RateLimitHit(
        unit="requests" if unit.lower() == "requests" else "tokens",
        window="day" if window.lower() == "day" else "minute",
        limit=_number(limit),
        used=_number(used),
        requested=_number(requested),
        retry_after=parse_go_duration(wait.group(1)) if wait else None,
        model=model.group(1) if model else None,
    )


# -- estimating a request's tokens ---------------------------------------------------------

# Pieces a BPE tokenizer (Llama 3's, 128k entries) rarely merges across: a run of ASCII
# letters, up to three digits (numbers are split in threes), one non-ASCII character (CJK,
# emoji: about a token each), a run of punctuation.
_PIECE = re.compile(r"[A-Za-z]+|\d{1,3}|[^\x00-\x7f]|[^\sA-Za-z\d\x80-\U0010ffff]+")
# Chat-template tokens around each message (header start/end, role, end of turn).
_PER_MESSAGE = 4
# Tokens Groq is assumed to count for an image part (a guess on the safe side).
_PER_IMAGE = 1024


def _text_tokens(text: str) -> int:
    """About how many tokens ``text`` is: chars/4, or more for code, numbers and CJK.

    Plain English runs about 4 characters a token, which chars/4 gets right; dense text
    (JSON, code, digits, non-Latin scripts) has more tokens than that, which counting the
    pieces a tokenizer cannot merge catches. The larger of the two is kept.
    """
    if not text:
        return 0
    pieces = 0
    for match in _PIECE.finditer(text):
        piece = match.group()
        first = piece[0]
        if first.isascii() and first.isalpha():
            pieces += 1 + len(piece) // 9  # long words split; common ones are one token
        elif first.isascii() and not first.isdigit():
            pieces += (len(piece) + 1) // 2  # '{"', '":', '),' often merge in pairs
        else:
            pieces += 1
    return max(pieces, math.ceil(len(text) / 4))


def text_tokens(text: str) -> int:
    """About how many tokens ``text`` is, by the estimate the pacer uses (see ``_text_tokens``).

    Public for the layers that size what they send (``--context`` blocks).
    """
    return _text_tokens(text)


def _content_tokens(content: Any) -> int:
    if isinstance(content, str):
        return _text_tokens(content)
    if isinstance(content, Iterable) and not isinstance(content, (bytes, Mapping)):
        total = 0
        for part in content:
            if isinstance(part, Mapping) and part.get("type") == "image_url":
                total += _PER_IMAGE
            elif isinstance(part, Mapping):
                total += _text_tokens(str(part.get("text") or ""))
            else:
                total += _text_tokens(str(part))
        return total
    return 0 if content is None else _text_tokens(json.dumps(content, default=str))


def estimate_tokens(
    request_body: Mapping[str, Any], *, default_completion: int = DEFAULT_COMPLETION_TOKENS
) -> int:
    """What the request will count against the tokens-per-minute budget, before it is sent.

    The prompt (every message's text, the tools' and the response schema's JSON, the
    chat template's few tokens per message) plus the completion it may produce:
    ``max_completion_tokens`` (or ``max_tokens``), else ``default_completion``, a guess that
    each answer's real usage corrects.
    """
    prompt = 3  # the assistant header the template appends
    for message in request_body.get("messages") or ():
        if not isinstance(message, Mapping):
            continue
        prompt += _PER_MESSAGE + _content_tokens(message.get("content"))
        for extra in ("tool_calls", "name", "reasoning"):
            if message.get(extra):
                prompt += _text_tokens(json.dumps(message[extra], default=str))
    for extra in ("tools", "response_format"):
        value = request_body.get(extra)
        if value:
            prompt += _text_tokens(json.dumps(value, default=str))
    limit = request_body.get("max_completion_tokens") or request_body.get("max_tokens")
    completion = limit if isinstance(limit, int) and limit > 0 else default_completion
    return prompt + completion


# -- the scheduler --------------------------------------------------------------------------


class DailyLimitReached(RuntimeError):
    """A daily limit (requests or tokens per day) is spent: waiting would take hours.

    ``str()`` is the one line to show; ``model``, ``unit`` (``requests`` or ``tokens``),
    ``limit`` and ``resets_in`` (seconds, None when unknown) say the same as data.
    """

    def __init__(self, model: str, unit: Unit, limit: int | None, resets_in: float | None) -> None:
        self.model = model
        self.unit = unit
        self.limit = limit
        self.resets_in = resets_in
        what = "request" if unit == "requests" else "token"
        quota = f" ({limit:,} {unit} per day)" if limit else ""
        if resets_in is None:
            when, why = "it resets within a day", "waiting would take hours"
        else:
            when = f"it resets in {format_duration(resets_in)}"
            why = "waiting would take hours" if resets_in >= 3600 else "too long to wait here"
        super().__init__(
            f"the daily {what} limit for {model} is spent{quota}; {when}: {why}"
            " — run the rest with groq_magic.batch(...)"
        )


class _Budget:
    """A bucket of ``capacity`` units refilled continuously over ``window`` seconds.

    The level may go below zero: charges are taken when a request is let go, and a
    correction from the server can say more was used than we thought.
    """

    __slots__ = ("capacity", "level", "rate", "stamp")

    def __init__(self, capacity: float, window: float, now: float, level: float | None = None):
        self.capacity = float(capacity)
        self.rate = self.capacity / window
        self.level = self.capacity if level is None else min(self.capacity, level)
        self.stamp = now

    def refill(self, now: float) -> None:
        if now > self.stamp:
            self.level = min(self.capacity, self.level + (now - self.stamp) * self.rate)
            self.stamp = now

    def wait(self, amount: float, now: float) -> float:
        """Seconds until ``amount`` is available (a request larger than the bucket waits for
        a full one, which the server may still accept)."""
        self.refill(now)
        need = min(amount, self.capacity)
        return 0.0 if self.level >= need else (need - self.level) / self.rate

    def take(self, amount: float, now: float) -> None:
        self.refill(now)
        self.level -= amount

    def give(self, amount: float, now: float) -> None:
        self.refill(now)
        self.level = min(self.capacity, self.level + amount)

    def set(self, level: float, now: float) -> None:
        self.stamp = now
        self.level = min(self.capacity, level)

    def resize(self, capacity: float, window: float) -> None:
        self.capacity = float(capacity)
        self.rate = self.capacity / window
        self.level = min(self.level, self.capacity)


def _budget(
    current: _Budget | None, limit: int, window: float, now: float, level: float | None = None
) -> _Budget:
    """``current`` resized to ``limit`` (or a new bucket), then set to ``level`` if given."""
    if current is None:
        current = _Budget(limit, window, now, level)
    elif current.capacity != limit:
        current.resize(limit, window)
    if level is not None:
        current.set(level, now)
    return current


@dataclass
class _Spent:
    """A daily limit a 429 said is spent, and until when the pacer believes it."""

    unit: Unit
    limit: int | None
    until: float
    resets_in_known: bool


# Spacing of sends while the RPM is unknown: one round trip at first, shrunk as answers
# keep coming back without 429s (down to half the time a response takes to start, or
# 10 ms), so a high RPM is not capped by it for long and reaching the unknown wall costs
# a few 429s at most.
_MIN_GAP = 0.001
_MAX_GAP = 0.25
_GAP_SHRINK = 0.8
_GAP_STREAK = 4
_GAP_FLOOR_CAP = 0.01  # 6,000 requests a minute: 200 times the free tier's RPM of 30
# A wait this short is rounding, not a wait.
_NEGLIGIBLE = 1e-6
# Backoff after a 429 that names no limit (and carries no hint).
_BACKOFF_BASE = 0.5
_BACKOFF_CAP = 8.0
# A 429 that names no reset keeps a daily limit "spent" this long before probing again.
_SPENT_PROBE = 60.0


@dataclass
class _ModelState:
    """Everything the pacer knows and is doing for one model."""

    tokens: _Budget | None = None  # TPM, from headers (and TPM 429s)
    requests: _Budget | None = None  # RPM, learned from a 429
    user_requests: _Budget | None = None  # the user's requests_per_minute, evenly spaced
    day_requests: _Budget | None = None  # RPD, from headers
    day_tokens: _Budget | None = None  # TPD, learned from a 429
    day_reset_at: float | None = None
    spent: _Spent | None = None
    window: float = 1.0
    threshold: float = math.inf
    in_flight: int = 0
    cut_after: int = -1  # a 429 on a permit granted at or before this seq cuts no further
    base_seq: int = -1  # the permit whose headers last reset the TPM/RPD budgets
    base_requests_left: int | None = None  # the RPD remaining those headers said
    gap: float | None = None
    header_rtt: float = math.inf  # shortest time from a send to its response's start
    streak: int = 0
    last_sent: float = -math.inf
    resume_at: float = -math.inf
    strikes: int = 0
    scale: float = 1.0
    log: deque[Permit] = field(default_factory=deque)
    turnstile: asyncio.Lock = field(default_factory=asyncio.Lock)
    changed: asyncio.Event = field(default_factory=asyncio.Event)


@dataclass(frozen=True)
class PacingCaps:
    """The user's own caps on a pacer (``%config GroqMagics.max_concurrency`` and
    ``GroqMagics.requests_per_minute``): at most ``max_concurrency`` requests in flight per
    model, and at most ``requests_per_minute`` requests a minute per model (None: only the
    server's limits), evenly spaced."""

    max_concurrency: int = DEFAULT_MAX_CONCURRENCY
    requests_per_minute: float | None = None

    def __post_init__(self) -> None:
        if self.max_concurrency < 1:
            raise ValueError(f"max_concurrency must be at least 1 (got {self.max_concurrency})")
        if self.requests_per_minute is not None and not self.requests_per_minute > 0:
            raise ValueError(
                f"requests_per_minute must be more than 0 (got {self.requests_per_minute:g})"
            )


@dataclass(frozen=True)
class ModelLimits:
    """What the pacer knows of one model's limits now (None: not known yet)."""

    tokens_per_minute: int | None
    requests_per_minute: int | None
    requests_per_day: int | None
    tokens_per_day: int | None
    concurrency: int
    in_flight: int


def _cap(budget: _Budget | None) -> int | None:
    return None if budget is None else round(budget.capacity)


class Permit:
    """Leave to send one request; say how it went with one of :meth:`done`,
    :meth:`failed_rate_limited` or :meth:`failed` (later calls are ignored).

    Used as a context manager (``with await pacer.acquire(...) as permit:``), leaving the
    block without a verdict (an exception, a cancelled task) counts as :meth:`failed`.
    """

    def __init__(
        self, pacer: RateLimitPacer, model: str, seq: int, tokens: int, acquired_at: float
    ) -> None:
        self.model = model
        self.seq = seq
        self.tokens = tokens
        """The tokens charged: the estimate, then the real usage once :meth:`done` says it."""
        self.acquired_at = acquired_at
        self.settled = False
        self.rejected = False
        # True once a response's headers counted this request in the server's remaining
        # tokens: its real usage is then already in the budget, and no refund is due.
        self.seen = False
        self.observed = False
        self.answered = False
        self._pacer = pacer

    def observe(self, headers: HeaderSource | None) -> None:
        """The response's headers arrived (a stream's start): correct the budgets now."""
        if not self.settled and not self.observed:
            self.observed = True
            self._pacer._observe(self, read_rate_limit_headers(headers))

    def done(self, *, headers: HeaderSource | None = None, used_tokens: int | None = None) -> None:
        """The request succeeded; ``used_tokens`` is the usage's ``total_tokens`` when known.

        After :meth:`observe`, ``headers`` are ignored: they are the same response's, and
        applying them again at the end of a long stream would forget the refill meanwhile.
        """
        if not self.settled:
            seen = None if self.observed else headers
            self._pacer._done(self, read_rate_limit_headers(seen), used_tokens)

    def failed_rate_limited(
        self,
        headers: HeaderSource | None = None,
        message: str | None = None,
        *,
        retry_after: float | None = None,
    ) -> None:
        """The request got a 429: learn the limit its message names; back off as it says."""
        if not self.settled:
            self._pacer._rate_limited(self, read_rate_limit_headers(headers), message, retry_after)

    def failed(self, headers: HeaderSource | None = None) -> None:
        """The request failed otherwise (connection, 5xx, cancelled): free its place."""
        if not self.settled:
            self._pacer._failed(self, read_rate_limit_headers(headers))

    def __enter__(self) -> Permit:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.failed()

    def __repr__(self) -> str:
        state = "settled" if self.settled else "in flight"
        return f"<Permit {self.model} #{self.seq} {self.tokens} tokens {state}>"


class RateLimitPacer:
    """Lets requests go at the pace Groq's limits allow; one per kernel (see the module doc).

    ``max_concurrency`` bounds requests in flight per model; ``requests_per_minute`` is a
    cap of the user's own (requests are then evenly spaced); ``max_daily_wait`` is the
    longest wait for a daily budget before :meth:`acquire` gives up with
    :class:`DailyLimitReached`. ``minute`` and ``day`` are the lengths of the server's
    windows: 60 s and 24 h for Groq, shorter for loopback test servers.
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
        self._states: dict[str, _ModelState] = {}
        self._seq = 0

    # -- public ---------------------------------------------------------------------------

    async def acquire(self, estimated_tokens: int, *, model: str, eager: bool = False) -> Permit:
        """Wait until a request of ``estimated_tokens`` to ``model`` may go; return its permit.

        Requests for one model are let go in the order they asked. ``eager`` skips the
        probing (see the module doc): for a few requests wanted together. Raises
        :class:`DailyLimitReached` when a daily limit is spent and refills only in hours.
        """
        state = self._state(model)
        async with state.turnstile:
            while True:
                now = self._clock()
                tokens = math.ceil(max(0, estimated_tokens) * state.scale)
                try:
                    delay = self._check_daily(model, state, tokens, now)
                except DailyLimitReached:
                    if state.spent is not None or not state.in_flight:
                        raise  # the server said so, or every answer is in
                    # Spent by the estimate, which counts requests still on their way
                    # as not yet counted: their answers say what really remains.
                    state.changed.clear()
                    await state.changed.wait()
                    continue
                if state.in_flight >= self._allowed(state, eager=eager):
                    state.changed.clear()
                    await state.changed.wait()
                    continue
                delay = max(delay, self._delay(state, tokens, now, eager=eager))
                # Float rounding can leave a wait of 1e-15 s that a clock cannot move by.
                if delay > _NEGLIGIBLE:
                    await self._sleep(delay)
                    continue
                return self._grant(state, model, tokens, now)

    async def acquire_request(
        self, request_body: Mapping[str, Any], *, eager: bool = False
    ) -> Permit:
        """:meth:`acquire` for a chat-completions body: its model and :func:`estimate_tokens`."""
        return await self.acquire(
            estimate_tokens(request_body), model=str(request_body["model"]), eager=eager
        )

    @property
    def caps(self) -> PacingCaps:
        """The user's caps in force."""
        return PacingCaps(self.max_concurrency, self.requests_per_minute)

    def set_caps(self, caps: PacingCaps) -> None:
        """Apply new user caps; what was learned of the server's limits is kept.

        Read by the next request that asks (call it before the runs start, from the
        thread of the runs' loop or before they go to it).
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
        """What is known of ``model``'s limits, and its concurrency now."""
        state = self._state(model)
        return ModelLimits(
            tokens_per_minute=_cap(state.tokens),
            requests_per_minute=_cap(state.requests),
            requests_per_day=_cap(state.day_requests),
            tokens_per_day=_cap(state.day_tokens),
            concurrency=self._allowed(state),
            in_flight=state.in_flight,
        )

    # -- deciding -------------------------------------------------------------------------

    def _state(self, model: str) -> _ModelState:
        state = self._states.get(model)
        if state is None:
            state = self._states[model] = _ModelState()
            state.user_requests = self._user_budget()
        return state

    def _user_budget(self) -> _Budget | None:
        if self.requests_per_minute is None:
            return None
        # Capacity 1: the user's cap spaces requests evenly instead of allowing a burst.
        return _Budget(1, self.minute / self.requests_per_minute, self._clock())

    def _allowed(self, state: _ModelState, *, eager: bool = False) -> int:
        if eager and state.threshold == math.inf:  # no 429 has cut the window yet
            return self.max_concurrency
        return max(1, min(self.max_concurrency, math.floor(state.window)))

    def _delay(self, state: _ModelState, tokens: int, now: float, *, eager: bool = False) -> float:
        waits = [state.resume_at - now]
        if state.tokens is not None:
            waits.append(state.tokens.wait(tokens, now))
        for budget in (state.requests, state.user_requests, state.day_requests):
            if budget is not None:
                waits.append(budget.wait(1, now))
        if state.day_tokens is not None:
            waits.append(state.day_tokens.wait(tokens, now))
        if state.requests is None and state.gap is not None and not eager:
            waits.append(state.last_sent + state.gap - now)
        return max(waits)

    def _check_daily(self, model: str, state: _ModelState, tokens: int, now: float) -> float:
        """Raise :class:`DailyLimitReached` if a daily limit is spent for longer than
        ``max_daily_wait``; else return how long to wait for it (0 when it is not spent)."""
        spent = state.spent
        wait = 0.0
        if spent is not None:
            left = spent.until - now
            if left <= 0:
                state.spent = None
            elif spent.resets_in_known and left <= self.max_daily_wait:
                wait = left
            else:
                raise DailyLimitReached(
                    model, spent.unit, spent.limit, left if spent.resets_in_known else None
                )
        day = state.day_requests
        if day is not None and day.wait(1, now) > _NEGLIGIBLE:
            if state.day_reset_at is not None:
                resets_in = state.day_reset_at - now
            else:
                resets_in = (day.capacity - day.level) / day.rate
            if resets_in > self.max_daily_wait:
                raise DailyLimitReached(model, "requests", _cap(day), resets_in)
        day_tokens = state.day_tokens
        if day_tokens is not None and day_tokens.wait(tokens, now) > _NEGLIGIBLE:
            resets_in = (day_tokens.capacity - day_tokens.level) / day_tokens.rate
            if resets_in > self.max_daily_wait:
                raise DailyLimitReached(model, "tokens", _cap(day_tokens), resets_in)
        return wait

    def _grant(self, state: _ModelState, model: str, tokens: int, now: float) -> Permit:
        self._seq += 1
        permit = Permit(self, model, self._seq, tokens, now)
        for budget in (state.tokens, state.day_tokens):
            if budget is not None:
                budget.take(tokens, now)
        for budget in (state.requests, state.user_requests, state.day_requests):
            if budget is not None:
                budget.take(1, now)
        if state.day_requests is not None and state.day_reset_at is not None:
            state.day_reset_at += 1 / state.day_requests.rate  # one more to refill
        state.in_flight += 1
        state.last_sent = now
        state.log.append(permit)
        return permit

    # -- learning -------------------------------------------------------------------------

    def _settle(self, permit: Permit) -> _ModelState:
        state = self._states[permit.model]
        permit.settled = True
        state.in_flight -= 1
        state.changed.set()
        return state

    @staticmethod
    def _trim(state: _ModelState) -> None:
        """Forget settled permits older than every one in flight: no correction needs them.

        Called after a verdict's correction, which still needs the permits after its own.
        """
        while state.log and state.log[0].settled:
            state.log.popleft()

    def _round_trip(
        self, state: _ModelState, permit: Permit, now: float, *, headers_only: bool
    ) -> None:
        """The first answer to a permit: how long a round trip takes (sets the send gap).

        ``headers_only``: the answer is a response's start (headers, or a 429), which is
        how long a 429 takes to come back; a whole answer also holds the generation.
        """
        if permit.answered:
            return
        permit.answered = True
        rtt = now - permit.acquired_at
        if headers_only:
            state.header_rtt = min(state.header_rtt, rtt)
        rtt = max(_MIN_GAP, min(_MAX_GAP, rtt))
        state.gap = rtt if state.gap is None else min(state.gap, rtt)

    @staticmethod
    def _uncounted(permit: Permit, base: Permit) -> bool:
        """Whether the server may not have counted ``permit`` when it answered ``base``.

        Those let go after ``base``, and those let go before it that have had no answer
        yet: on a loaded machine a request let go first can reach the server last.
        """
        if permit is base or permit.rejected:
            return False
        return permit.seq > base.seq or not permit.answered

    def _later(self, state: _ModelState, base: Permit) -> tuple[int, int]:
        """Requests and tokens the server may not have counted when it answered ``base``."""
        requests = tokens = 0
        for permit in state.log:
            if self._uncounted(permit, base):
                requests += 1
                tokens += permit.tokens
        return requests, tokens

    def _observe(self, permit: Permit, headers: RateLimitHeaders) -> None:
        state = self._states[permit.model]
        now = self._clock()
        first = not permit.answered
        self._round_trip(state, permit, now, headers_only=True)
        self._correct(state, permit, headers, now, first_answer=first)

    def _correct(
        self,
        state: _ModelState,
        base: Permit,
        headers: RateLimitHeaders,
        now: float,
        *,
        first_answer: bool = False,
    ) -> None:
        """Reset the TPM and RPD budgets to what the server said when it answered ``base``.

        The server had counted ``base`` (unless it was rejected) and the requests let go
        before it that have been answered; the others are subtracted as still to count
        (:meth:`_uncounted`). The refill between the server's answer and now is left out:
        a little conservative. ``first_answer``: ``base`` had no answer before this one.
        """
        if not headers.any:
            return
        if base.seq < state.base_seq:
            # An older answer than the one applied, which took this request as not yet
            # counted. If the server had counted it (more requests remained when it
            # answered this one), the daily budget was charged twice: give one back, or
            # the last request of a day would be refused as spent.
            left, applied = headers.requests_remaining, state.base_requests_left
            if (
                first_answer
                and not base.rejected
                and state.day_requests is not None
                and left is not None
                and applied is not None
                and left > applied
            ):
                state.day_requests.give(1, now)
            return
        state.base_seq = base.seq
        state.base_requests_left = headers.requests_remaining
        later_requests, later_tokens = self._later(state, base)
        if headers.tokens_limit and headers.tokens_remaining is not None:
            level = headers.tokens_remaining - later_tokens
            state.tokens = _budget(state.tokens, headers.tokens_limit, self.minute, now, level)
            for permit in state.log:
                if not self._uncounted(permit, base):
                    permit.seen = True
            base.seen = True
        if headers.requests_limit and headers.requests_remaining is not None:
            level = headers.requests_remaining - later_requests
            state.day_requests = _budget(
                state.day_requests, headers.requests_limit, self.day, now, level
            )
            if headers.requests_reset is not None:
                # Groq's reset is the time until the budget is full again; the requests
                # let go since push it further out.
                rate = state.day_requests.rate
                state.day_reset_at = now + headers.requests_reset + later_requests / rate

    def _done(self, permit: Permit, headers: RateLimitHeaders, used: int | None) -> None:
        now = self._clock()
        state = self._settle(permit)
        first = not permit.answered
        self._round_trip(state, permit, now, headers_only=False)
        if used is not None and used >= 0:
            refund = permit.tokens - used
            permit.tokens = used
            if not permit.seen and state.tokens is not None:
                state.tokens.give(refund, now)
            if state.day_tokens is not None:
                state.day_tokens.give(refund, now)
        self._correct(state, permit, headers, now, first_answer=first)
        self._trim(state)
        # Additive increase: +1 a success below the threshold (slow start), +1 a window above.
        step = 1.0 if state.window < state.threshold else 1.0 / state.window
        state.window = min(float(self.max_concurrency), state.window + step)
        state.strikes = 0
        state.streak += 1
        if state.gap is not None and state.streak % _GAP_STREAK == 0:
            # Never below half the time a response takes to start: at most a couple of
            # sends can be on their way when the first 429 from the unknown RPM comes back.
            # A non-streamed answer starts only when it is generated, so the floor is
            # capped: it must not hold a sweep below a high RPM for long.
            floor = min(state.header_rtt / 2, _GAP_FLOOR_CAP)
            state.gap = max(_MIN_GAP, floor, state.gap * _GAP_SHRINK)

    def _failed(self, permit: Permit, headers: RateLimitHeaders) -> None:
        now = self._clock()
        state = self._settle(permit)
        self._correct(state, permit, headers, now)
        self._trim(state)

    def _rate_limited(
        self,
        permit: Permit,
        headers: RateLimitHeaders,
        message: str | None,
        retry_after: float | None,
    ) -> None:
        now = self._clock()
        state = self._settle(permit)
        self._round_trip(state, permit, now, headers_only=True)
        # The server did not count a rejected request: give back what it was charged.
        permit.rejected = True
        for budget in (state.tokens, state.day_tokens):
            if budget is not None and not permit.seen:
                budget.give(permit.tokens, now)
        for budget in (state.requests, state.day_requests):
            if budget is not None:
                budget.give(1, now)
        if state.day_requests is not None and state.day_reset_at is not None:
            state.day_reset_at -= 1 / state.day_requests.rate
        self._correct(state, permit, headers, now)
        hit = parse_rate_limit_message(message)
        hint = retry_after if retry_after is not None else hit.retry_after if hit else None
        if hit is None or not self._learn(state, permit, hit, headers, hint, now):
            wait = hint if hint is not None else min(_BACKOFF_BASE * 2**state.strikes, _BACKOFF_CAP)
            state.resume_at = max(state.resume_at, now + wait)
            state.strikes += 1
            if state.gap is not None:
                state.gap = min(_MAX_GAP, state.gap * 2)
        self._trim(state)
        # Multiplicative decrease, once per burst: 429s on permits granted before the last
        # cut are the same congestion seen again, not a new one.
        if permit.seq > state.cut_after:
            state.threshold = max(1.0, math.floor(state.window) / 2)
            state.window = state.threshold
            state.cut_after = self._seq
        state.streak = 0

    def _learn(
        self,
        state: _ModelState,
        permit: Permit,
        hit: RateLimitHit,
        headers: RateLimitHeaders,
        hint: float | None,
        now: float,
    ) -> bool:
        """Fold what a 429's message says into the budgets; False if it says too little."""
        if hit.window == "day":
            resets = headers.requests_reset if hit.unit == "requests" else None
            known = resets is not None
            wait = resets if resets is not None else max(hint or 0.0, _SPENT_PROBE)
            state.spent = _Spent(hit.unit, hit.limit, now + wait, known)
            if hit.limit and hit.used is not None and hit.unit == "tokens":
                state.day_tokens = _budget(
                    state.day_tokens, hit.limit, self.day, now, hit.limit - hit.used
                )
            return True
        if hit.limit is None:
            return False
        later_requests, later_tokens = self._later(state, permit)
        used = hit.used if hit.used is not None else hit.limit
        if hit.unit == "requests":
            level = hit.limit - used - later_requests
            state.requests = _budget(state.requests, hit.limit, self.minute, now, level)
        else:
            level = hit.limit - used - later_tokens
            state.tokens = _budget(state.tokens, hit.limit, self.minute, now, level)
            if hit.requested and permit.tokens and hit.requested > permit.tokens:
                # The server counts this request as larger than we estimated: scale up
                # later estimates for this model (at most doubled).
                state.scale = min(2.0, max(state.scale, hit.requested / permit.tokens))
        return True
