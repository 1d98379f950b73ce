"""When to retry a failed request and how long to wait: the official SDK's policy.

- ``x-should-retry: true`` forces a retry and ``false`` forbids it;
- otherwise 408, 409, 429 and 5xx are retried, and so are connection errors and
  timeouts; 498 (flex capacity) is not;
- the wait is ``retry-after-ms``, else ``retry-after`` (seconds or an HTTP date)
  when it lies in 0..60 s, else ``min(0.5 * 2**n, 8)`` seconds times a jitter
  factor in 0.75..1.

:func:`error_is_retryable` and :func:`error_retry_delay` apply the same policy
to an error already raised, for callers that retry themselves (the compare
grid, which must also share one wait across its runs after a 429).
"""

from __future__ import annotations

import email.utils
import random
import re
import time
from collections.abc import Callable

import httpx

from ._exceptions import APIConnectionError, APIStatusError

__all__ = [
    "RETRYABLE_STATUSES",
    "backoff_delay",
    "error_is_retryable",
    "error_retry_delay",
    "retry_after_header",
    "retry_delay",
    "should_retry",
]

RETRYABLE_STATUSES = frozenset({408, 409, 429})
INITIAL_DELAY = 0.5
MAX_DELAY = 8.0
MAX_RETRY_AFTER = 60.0


def should_retry(response: httpx.Response) -> bool:
    """Whether an error response may be retried."""
    verdict = response.headers.get("x-should-retry", "").strip().lower()
    if verdict == "true":
        return True
    if verdict == "false":
        return False
    status = response.status_code
    return status in RETRYABLE_STATUSES or status >= 500


def _retry_after(headers: httpx.Headers | None, now: Callable[[], float]) -> float | None:
    if headers is None:
        return None
    millis = headers.get("retry-after-ms")
    if millis is not None:
        try:
            return float(millis) / 1000.0
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return when.timestamp() - now()


def retry_after_header(
    headers: httpx.Headers | None, now: Callable[[], float] = time.time
) -> float | None:
    """The server's wait hint in seconds (``retry-after-ms``, else ``retry-after``), or None."""
    hinted = _retry_after(headers, now)
    return None if hinted is None or hinted < 0 else hinted


def retry_delay(
    retries_done: int,
    headers: httpx.Headers | None = None,
    *,
    rand: Callable[[], float] = random.random,
    now: Callable[[], float] = time.time,
) -> float:
    """Seconds to wait before retry number ``retries_done + 1``."""
    hinted = _retry_after(headers, now)
    if hinted is not None and 0 <= hinted <= MAX_RETRY_AFTER:
        return hinted
    return backoff_delay(retries_done, rand=rand)


def backoff_delay(retries_done: int, *, rand: Callable[[], float] = random.random) -> float:
    """The wait without a server hint: ``min(0.5 * 2**n, 8)`` s, jittered down by up to 25 %."""
    base = min(INITIAL_DELAY * 2.0**retries_done, MAX_DELAY)
    return base * (1 - 0.25 * rand())


# Groq's 429 message says "Please try again in 7.66s" (or "1m2.5s", "850ms").
_TRY_AGAIN = re.compile(r"try again in\s*(?:(\d+)m(?!s))?\s*(\d+(?:\.\d+)?)(ms|s)\b", re.I)


def error_wait_hint(exc: BaseException) -> float | None:
    """Seconds the server asked to wait: its headers (``retry_after``), else its message."""
    hinted = getattr(exc, "retry_after", None)
    if isinstance(hinted, (int, float)) and not isinstance(hinted, bool) and hinted >= 0:
        return float(hinted)
    match = _TRY_AGAIN.search(str(getattr(exc, "message", None) or exc))
    if not match:
        return None
    minutes, amount, unit = match.groups()
    seconds = float(amount) / (1000.0 if unit.lower() == "ms" else 1.0)
    return seconds + 60.0 * int(minutes or 0)


def error_is_retryable(exc: BaseException) -> bool:
    """Whether the client would have retried the request that raised ``exc``."""
    if isinstance(exc, APIStatusError):
        return exc.retryable
    # Refused, reset and timed-out connections (a stream that began is not one of these).
    return isinstance(exc, APIConnectionError)


def error_retry_delay(
    exc: BaseException, retries_done: int, *, rand: Callable[[], float] = random.random
) -> float:
    """The client's wait before retrying after ``exc``: the server's hint, else backoff."""
    hinted = error_wait_hint(exc)
    if hinted is not None and 0 <= hinted <= MAX_RETRY_AFTER:
        return hinted
    return backoff_delay(retries_done, rand=rand)
