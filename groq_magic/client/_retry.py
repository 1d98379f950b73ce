"""When to retry a failed request and how long to wait: the official SDK's policy.

- ``x-should-retry: true`` forces a retry and ``false`` forbids it;
- otherwise 408, 409, 429 and 5xx are retried, and so are connection errors and
  timeouts; 498 (flex capacity) is not;
- the wait is ``retry-after-ms``, else ``retry-after`` (seconds or an HTTP date)
  when it lies in 0..60 s, else ``min(0.5 * 2**n, 8)`` seconds times a jitter
  factor in 0.75..1.
"""

from __future__ import annotations

import email.utils
import random
import time
from collections.abc import Callable

import httpx

__all__ = ["RETRYABLE_STATUSES", "retry_after_header", "retry_delay", "should_retry"]

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
    base = min(INITIAL_DELAY * 2.0**retries_done, MAX_DELAY)
    return base * (1 - 0.25 * rand())
