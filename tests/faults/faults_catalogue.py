"""The fault catalogue: each fault, what the server does, and the promise the client keeps.

One :class:`Fault` per row of the README's "What happens when..." table. For each fault
and each mode (streamed or not) it says which replies to queue, how many attempts the
retry policy makes, which waits it asks for, and how the call ends:

- ``ok``: the whole answer (perhaps after retries);
- ``error``: a typed error (``error``) and nothing shown;
- ``partial``: a streamed answer that began and then failed: :class:`APIStreamError`
  carrying ``partial`` as ``partial_text``.

Tests in this folder run every fault through the sync and async clients, the engine and
``%%groq``; the short read timeout below is what makes the stalls cheap.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import fault_server as faults
import httpx
from scripted_server import Reply

from groq_magic.client import (
    APIConnectionError,
    APIError,
    APIResponseValidationError,
    APIStreamError,
    APITimeoutError,
    CapacityExceededError,
    InternalServerError,
    RateLimitError,
)

# Short enough that a stall costs little, long enough for a loaded CI machine's loopback.
READ_TIMEOUT = 0.5
TIMEOUT = httpx.Timeout(READ_TIMEOUT, connect=1.0)
STALL = 1.25  # a stall outlasts the read timeout comfortably
HUGE = 2_000_000

# A backoff wait (no retry-after header): retry n waits min(0.5 * 2**n, 8) * 0.75..1.
BACKOFF = "backoff"


@dataclass(frozen=True)
class Expect:
    """How a call ends under a fault, for one mode."""

    outcome: str  # "ok" | "error" | "partial"
    attempts: int
    sleeps: tuple[float | str, ...] = ()
    error: type[APIError] | None = None
    partial: str = ""
    code: str | None = None
    text: str = faults.ANSWER
    in_message: str | None = None


@dataclass(frozen=True)
class Fault:
    """A named fault: the replies to queue for each mode and what the caller gets."""

    name: str
    replies: Callable[[bool], list[Reply]]
    streamed: Expect
    plain: Expect
    max_retries: int = 2
    user_sees: str = ""
    history: str = ""
    retried: str = ""
    tags: frozenset[str] = field(default_factory=frozenset)


def _same(expect: Expect) -> tuple[Expect, Expect]:
    return expect, expect


def _status(status: int, should_retry: bool | None) -> Fault:
    retried = should_retry is not False
    label = {None: "", True: ", x-should-retry: true", False: ", x-should-retry: false"}
    if retried:
        expect = Expect("ok", attempts=2, sleeps=(BACKOFF,))
    else:
        expect = Expect("error", attempts=1, error=InternalServerError)
    return Fault(
        f"{status}{'-retry-' + str(should_retry).lower() if should_retry is not None else ''}",
        lambda stream: [
            faults.server_error(status, should_retry=should_retry),
            faults.answer(stream=stream),
        ],
        *_same(expect),
        user_sees=(
            "the answer, after a short wait"
            if retried
            else f"`{status} internal_server_error: ... (the server failed (already retried); "
            "re-run the cell later)`"
        ),
        history="the turn is recorded" if retried else "unchanged",
        retried=(
            "yes, twice at most (0.5 s then 1 s backoff, with jitter)"
            if retried
            else "no: the server said not to"
        )
        + label[should_retry],
    )


def _catalogue() -> list[Fault]:
    cut = 2  # content frames before a mid-stream fault
    partial = faults.partial_text(cut)
    rows = [
        Fault(
            "429-retry-after-ms",
            lambda stream: [faults.rate_limited(ms=1), faults.answer(stream=stream)],
            *_same(Expect("ok", attempts=2, sleeps=(0.001,))),
            user_sees="the answer (the wait is what `retry-after-ms` asked for)",
            history="the turn is recorded",
            retried="yes, after `retry-after-ms`",
        ),
        Fault(
            "429-retry-after",
            lambda stream: [faults.rate_limited(seconds=3), faults.answer(stream=stream)],
            *_same(Expect("ok", attempts=2, sleeps=(3.0,))),
            user_sees="the answer, after the wait `retry-after` asked for (up to 60 s)",
            history="the turn is recorded",
            retried="yes, after `retry-after` seconds",
        ),
        Fault(
            "429-exhausted",
            lambda stream: [faults.rate_limited(ms=1) for _ in range(3)],
            *_same(
                Expect(
                    "error",
                    attempts=3,
                    sleeps=(0.001, 0.001),
                    error=RateLimitError,
                    code="rate_limit_exceeded",
                    in_message="Please try again",
                )
            ),
            user_sees="`429 rate_limit_exceeded: Rate limit reached ... Please try again in 1.1s."
            " (rate limited: wait a moment and re-run the cell)`",
            history="unchanged",
            retried="yes, 2 retries, then the error",
        ),
        *[_status(s, r) for s in (500, 502, 503) for r in (None, True, False)],
        Fault(
            "498",
            lambda stream: [faults.capacity(), faults.answer(stream=stream)],
            *_same(
                Expect("error", attempts=1, error=CapacityExceededError, code="capacity_exceeded")
            ),
            user_sees="`498 capacity_exceeded: ... (the flex tier is full: try again later or"
            " pass service_tier='on_demand')`",
            history="unchanged",
            retried="no (flex capacity is not retried)",
        ),
        Fault(
            "reset-before-response",
            lambda stream: [faults.reset(), faults.answer(stream=stream)],
            *_same(Expect("ok", attempts=2, sleeps=(BACKOFF,))),
            user_sees="the answer (the reset is retried)",
            history="the turn is recorded",
            retried="yes (a connection error)",
        ),
        Fault(
            "reset-exhausted",
            lambda stream: [faults.reset() for _ in range(3)],
            *_same(
                Expect(
                    "error",
                    attempts=3,
                    sleeps=(BACKOFF, BACKOFF),
                    error=APIConnectionError,
                    in_message="broke before an answer",
                )
            ),
            user_sees="`the connection to http://... broke before an answer (ReadError: ...)"
            " (check the network, or GROQ_BASE_URL if you set one)`",
            history="unchanged",
            retried="yes, 2 retries, then the error",
        ),
        Fault(
            "stall-before-first-byte",
            lambda stream: [faults.stall_first_byte(STALL), faults.answer(stream=stream)],
            *_same(Expect("ok", attempts=2, sleeps=(BACKOFF,))),
            max_retries=1,
            user_sees="the answer after the read timeout and one retry; when every attempt"
            " stalls: `the request to ... timed out (ReadTimeout) (the server did not answer"
            " in time; re-run the cell)`",
            history="the turn is recorded (unchanged when every attempt stalls)",
            retried="yes (a timeout)",
            tags=frozenset({"stall"}),
        ),
        Fault(
            "stall-after-headers",
            lambda stream: [
                faults.stall_mid_stream(0, STALL, stream=stream),
                faults.answer(stream=stream),
            ],
            Expect("partial", attempts=1, error=APIStreamError, code="stream_timeout", partial=""),
            Expect("ok", attempts=2, sleeps=(BACKOFF,)),
            max_retries=1,
            user_sees="`⚠ incomplete: stream_timeout: the stream stalled: no data before the"
            " read timeout (...)` with nothing shown (a non-streamed request is retried)",
            history="unchanged (nothing arrived)",
            retried="no once the stream began; yes for a non-streamed request",
            tags=frozenset({"stall"}),
        ),
        Fault(
            "stall-mid-stream",
            lambda stream: [
                faults.stall_mid_stream(cut, STALL, stream=stream),
                faults.answer(stream=stream),
            ],
            Expect(
                "partial",
                attempts=1,
                error=APIStreamError,
                code="stream_timeout",
                partial=partial,
            ),
            Expect("ok", attempts=2, sleeps=(BACKOFF,)),
            max_retries=1,
            user_sees="the partial answer stays, then `⚠ incomplete: stream_timeout: the stream"
            " stalled: no data before the read timeout (the partial answer was kept and marked"
            " incomplete; %groq retry re-runs it)`",
            history="the partial answer, marked `incomplete`",
            retried="no: shown text is never silently retried (`%groq retry` re-runs it)",
            tags=frozenset({"stall"}),
        ),
        Fault(
            "close-mid-stream",
            lambda stream: [
                faults.cut_mid_stream(cut, stream=stream),
                faults.answer(stream=stream),
            ],
            Expect(
                "partial",
                attempts=1,
                error=APIStreamError,
                code="incomplete_stream",
                partial=partial,
            ),
            Expect("ok", attempts=2, sleeps=(BACKOFF,)),
            user_sees="the partial answer stays, then `⚠ incomplete: incomplete_stream: the"
            " stream ended before it was complete (no finish reason, no [DONE]) (...)`",
            history="the partial answer, marked `incomplete`",
            retried="no once text was shown; a non-streamed body cut short is retried",
        ),
        Fault(
            "malformed-sse-line",
            lambda stream: [faults.malformed_line(stream=stream), faults.answer(stream=stream)],
            Expect("ok", attempts=1),
            Expect("error", attempts=1, error=APIResponseValidationError, in_message="is not JSON"),
            user_sees="the whole answer: junk lines are ignored, as the event-stream rules say"
            " (a non-streamed body that is not JSON: `the server's answer to a chat completion"
            " is not JSON: <html>...`)",
            history="the turn is recorded",
            retried="no need",
        ),
        Fault(
            "chunk-not-json",
            lambda stream: [
                faults.not_json_chunk(cut, stream=stream),
                faults.answer(stream=stream),
            ],
            Expect(
                "partial",
                attempts=1,
                error=APIStreamError,
                code="invalid_chunk",
                partial=partial,
                in_message="not JSON",
            ),
            Expect("error", attempts=1, error=APIResponseValidationError, in_message="is not JSON"),
            user_sees="the partial answer stays, then `⚠ incomplete: invalid_chunk: a stream"
            " chunk is not JSON: data...`",
            history="the partial answer, marked `incomplete`",
            retried="no",
        ),
        Fault(
            "chunk-wrong-shape",
            lambda stream: [
                faults.wrong_shape_chunk(cut, stream=stream),
                faults.answer(stream=stream),
            ],
            Expect(
                "partial",
                attempts=1,
                error=APIStreamError,
                code="invalid_chunk",
                partial=partial,
                in_message="unexpected shape",
            ),
            Expect(
                "error", attempts=1, error=APIResponseValidationError, in_message="unexpected shape"
            ),
            user_sees="the partial answer stays, then `⚠ incomplete: invalid_chunk: a stream"
            " chunk has an unexpected shape (choices: ...)`",
            history="the partial answer, marked `incomplete`",
            retried="no",
        ),
        Fault(
            "event-error",
            lambda stream: [faults.error_event(cut, stream=stream), faults.answer(stream=stream)],
            Expect(
                "partial",
                attempts=1,
                error=APIStreamError,
                code="service_unavailable",
                partial=partial,
                in_message=faults.ERROR_MESSAGE,
            ),
            Expect("error", attempts=1, error=InternalServerError, in_message=faults.ERROR_MESSAGE),
            user_sees="the partial answer stays, then `⚠ incomplete: 503 service_unavailable:"
            " <the server's message> (...)`",
            history="the partial answer, marked `incomplete`",
            retried="no",
        ),
        Fault(
            "huge-chunk",
            lambda stream: [faults.huge_chunk(HUGE, stream=stream)],
            *_same(Expect("ok", attempts=1, text=faults.huge_text(HUGE))),
            user_sees="the whole 2 MB answer",
            history="the turn is recorded",
            retried="no need",
            tags=frozenset({"huge"}),
        ),
        Fault(
            "drip",
            lambda stream: [faults.drip(stream=stream)],
            *_same(Expect("ok", attempts=1)),
            user_sees="the whole answer, however it is split",
            history="the turn is recorded",
            retried="no need",
        ),
    ]
    return rows


FAULTS = _catalogue()
FAULT_IDS = [f.name for f in FAULTS]


def expect_for(fault: Fault, stream: bool) -> Expect:
    """The expectation for one mode."""
    return fault.streamed if stream else fault.plain


def sleeps_match(actual: list[float], expected: tuple[float | str, ...]) -> bool:
    """Exact waits for retry-after headers, the backoff range for the rest."""
    if len(actual) != len(expected):
        return False
    for n, (got, want) in enumerate(zip(actual, expected, strict=True)):
        if want == BACKOFF:
            base = min(0.5 * 2**n, 8.0)
            if not 0.75 * base <= got <= base:
                return False
        elif abs(got - float(want)) > 1e-9:
            return False
    return True


__all__ = [
    "BACKOFF",
    "FAULTS",
    "FAULT_IDS",
    "HUGE",
    "READ_TIMEOUT",
    "STALL",
    "TIMEOUT",
    "APITimeoutError",
    "Expect",
    "Fault",
    "expect_for",
    "sleeps_match",
]
