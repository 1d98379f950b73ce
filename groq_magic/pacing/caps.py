"""The user's own caps on the pacer (``%config GroqMagics.max_concurrency`` and
``GroqMagics.requests_per_minute``), checked once, here."""

from __future__ import annotations

import math
from dataclasses import dataclass
from numbers import Real

__all__ = ["DEFAULT_MAX_CONCURRENCY", "PacingCaps"]

DEFAULT_MAX_CONCURRENCY = 16
"""Requests in flight per model at most, unless the user caps it otherwise."""


@dataclass(frozen=True)
class PacingCaps:
    """At most ``max_concurrency`` requests in flight per model, and at most
    ``requests_per_minute`` requests a minute per model, evenly spaced (None: only the
    server's limits).

    A cap that makes no sense is refused with a one-line ``ValueError``: a
    ``max_concurrency`` that is not a whole number of at least 1, a ``requests_per_minute``
    of 0, below 0 or NaN. An infinite ``requests_per_minute`` means no cap (stored as None).
    """

    max_concurrency: int = DEFAULT_MAX_CONCURRENCY
    requests_per_minute: float | None = None

    def __post_init__(self) -> None:
        concurrency = self.max_concurrency
        if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
            raise ValueError(f"max_concurrency must be at least 1 (got {concurrency!r})")
        object.__setattr__(self, "requests_per_minute", _per_minute(self.requests_per_minute))


def _per_minute(value: object) -> float | None:
    """The user's requests a minute as a number, or None for no cap (None or infinity)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, Real):
        raise ValueError(f"requests_per_minute must be a number or None (got {value!r})")
    number = float(value)
    if number == math.inf:
        return None
    if not number > 0:  # 0, below 0, NaN
        raise ValueError(f"requests_per_minute must be more than 0 (got {number:g})")
    return number
