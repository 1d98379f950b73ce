"""Reading what Groq says of its rate limits: the ``x-ratelimit-*`` headers and a 429's message.

Standard library only (the pacer must stay importable without the client).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, Protocol, TypeAlias

from groq_magic._durations import parse_go_duration

__all__ = [
    "HeaderSource",
    "RateLimitHeaders",
    "RateLimitHit",
    "Unit",
    "Window",
    "format_duration",
    "parse_rate_limit_message",
    "read_rate_limit_headers",
]

Unit = Literal["requests", "tokens"]
Window = Literal["minute", "day"]


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
    window: Window
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
