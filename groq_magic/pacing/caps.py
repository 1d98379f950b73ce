"""The user's own caps on the pacer (``%config GroqMagics.max_concurrency`` and
``GroqMagics.requests_per_minute``), checked once, here."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["DEFAULT_MAX_CONCURRENCY", "PacingCaps"]

DEFAULT_MAX_CONCURRENCY = 16
"""Requests in flight per model at most, unless the user caps it otherwise."""


@dataclass(frozen=True)
class PacingCaps:
    """At most ``max_concurrency`` requests in flight per model, and at most
    ``requests_per_minute`` requests a minute per model, evenly spaced (None: only the
    server's limits)."""

    max_concurrency: int = DEFAULT_MAX_CONCURRENCY
    requests_per_minute: float | None = None

    def __post_init__(self) -> None:
        if self.max_concurrency < 1:
            raise ValueError(f"max_concurrency must be at least 1 (got {self.max_concurrency})")
        if self.requests_per_minute is not None and not self.requests_per_minute > 0:
            raise ValueError(
                f"requests_per_minute must be more than 0 (got {self.requests_per_minute:g})"
            )
