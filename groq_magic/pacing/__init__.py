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

- Every limit is a bucket of ``limit`` refilled continuously at ``limit / window`` a second;
  a full bucket may be spent at once (:class:`~groq_magic.pacing.bucket.Bucket`: each
  answers "from when does it hold this amount?").
- ``x-ratelimit-*-tokens`` is the tokens-per-minute (TPM) budget. Groq reserves a request's
  prompt plus its max tokens when it admits it, and gives back what the answer did not use
  when it ends; the pacer charges each request its estimate (:func:`estimate_tokens`) when
  it is let go and refunds the difference when the usage is known. Each response's
  ``remaining`` resets the pacer's view of the bucket (:mod:`~groq_magic.pacing.books`).
- ``x-ratelimit-*-requests`` is the requests-per-day (RPD) budget, paced the same way; when
  it is spent and refills only in hours, :meth:`RateLimitPacer.acquire` raises
  :class:`DailyLimitReached` at once instead of waiting.
- Requests per minute (RPM) and tokens per day (TPD) have no header: a 429 names them
  ("on requests per minute (RPM): Limit 30, Used 30, Requested 1"), and from then on they
  are paced too (:mod:`~groq_magic.pacing.hits`). A 429 that says ``Limit 0`` (the key may
  not use the model) makes the model's requests fail at once with :class:`LimitIsZero`'s
  one line, for a minute; then one may try again.
- Until the RPM is known, sends are spaced by about a round trip, and concurrency adapts
  like TCP's congestion window (:mod:`~groq_magic.pacing.congestion`).
- An ``eager`` request (the first runs of a compare: a handful the user is watching side
  by side) skips the probing: no slow start and no spacing while the RPM is unknown, so
  they go together, up to ``max_concurrency``. Everything known still holds it back (the
  TPM and RPD budgets, a learned RPM, the wait after a 429, a spent daily limit), and once
  a 429 has cut the window it is paced like any other request.

The request first in line for a model waits for the time its budgets name, and checks
again whenever anything changes (an answer, its headers, a refund, a 429): it never
sleeps out a delay computed before a refund. Everything is per model, because Groq's limits
are. The pacer is used from one asyncio loop (the kernel's background loop); its clock and
sleep are injectable so tests can run it on a fake clock. Only the standard library is
used: no client, no IPython.
"""

from __future__ import annotations

from groq_magic._durations import parse_go_duration
from groq_magic.pacing.caps import DEFAULT_MAX_CONCURRENCY, PacingCaps
from groq_magic.pacing.estimate import DEFAULT_COMPLETION_TOKENS, estimate_tokens, text_tokens
from groq_magic.pacing.pacer import DAY, MINUTE, ModelLimits, RateLimitPacer
from groq_magic.pacing.permit import Permit
from groq_magic.pacing.reading import (
    HeaderSource,
    RateLimitHeaders,
    RateLimitHit,
    format_duration,
    parse_rate_limit_message,
    read_rate_limit_headers,
)
from groq_magic.pacing.refusals import DailyLimitReached, LimitIsZero, PacingRefused

__all__ = [
    "DAY",
    "DEFAULT_COMPLETION_TOKENS",
    "DEFAULT_MAX_CONCURRENCY",
    "MINUTE",
    "DailyLimitReached",
    "HeaderSource",
    "LimitIsZero",
    "ModelLimits",
    "PacingCaps",
    "PacingRefused",
    "Permit",
    "RateLimitHeaders",
    "RateLimitHit",
    "RateLimitPacer",
    "estimate_tokens",
    "format_duration",
    "parse_go_duration",
    "parse_rate_limit_message",
    "read_rate_limit_headers",
    "text_tokens",
]
