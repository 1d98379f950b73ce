"""What the pacer knows and is doing for one model: its buckets, its window of requests in
flight, the permits it let go, and the signal that wakes waiting requests."""

from __future__ import annotations

import asyncio
import math
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from groq_magic.pacing.bucket import Bucket
from groq_magic.pacing.reading import Unit, Window

if TYPE_CHECKING:
    from groq_magic.pacing.permit import Permit

__all__ = ["ModelState", "Spent", "Zero"]


@dataclass
class Spent:
    """A daily limit a 429 said is spent, and until when the pacer believes it."""

    unit: Unit
    limit: int | None
    until: float
    resets_in_known: bool


@dataclass
class Zero:
    """A limit a 429 said is 0 for this key, and until when the pacer believes it."""

    unit: Unit
    window: Window
    until: float


@dataclass
class ModelState:
    """Everything the pacer knows and is doing for one model (Groq's limits are per model)."""

    tokens: Bucket | None = None  # TPM, from headers (and TPM 429s)
    requests: Bucket | None = None  # RPM, learned from a 429
    user_requests: Bucket | None = None  # the user's requests_per_minute, evenly spaced
    day_requests: Bucket | None = None  # RPD, from headers
    day_tokens: Bucket | None = None  # TPD, learned from a 429
    day_reset_at: float | None = None
    spent: Spent | None = None
    zero: Zero | None = None
    # Requests in flight at most, like TCP's congestion window (see the package doc).
    window: float = 1.0
    threshold: float = math.inf
    cut_after: int = -1  # a 429 on a permit granted at or before this seq cuts no further
    in_flight: int = 0
    # Spacing of sends while the RPM is unknown.
    gap: float | None = None
    header_rtt: float = math.inf  # shortest time from a send to its response's start
    streak: int = 0
    last_sent: float = -math.inf
    # The wait after a 429 that named no limit.
    resume_at: float = -math.inf
    strikes: int = 0
    scale: float = 1.0  # estimates times this (a TPM 429 said requests count more)
    # The reading (response headers) the TPM and RPD buckets were last set from.
    base_seq: int = -1
    base_requests_left: int | None = None
    surplus: float = 0.0  # tokens that reading showed beyond the books (see books.refund)
    log: deque[Permit] = field(default_factory=deque)  # permits not yet forgotten, in order
    turnstile: asyncio.Lock = field(default_factory=asyncio.Lock)
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    def touch(self) -> None:
        """Something changed (an answer, its headers, a refund, a 429): wake every
        waiting request to check again; later waits wait for the next change."""
        self.changed.set()
        self.changed = asyncio.Event()

    def token_buckets(self) -> Iterator[Bucket]:
        """The budgets a request's tokens count against (TPM, TPD), as far as known."""
        return (b for b in (self.tokens, self.day_tokens) if b is not None)

    def request_buckets(self, *, users: bool = True) -> Iterator[Bucket]:
        """The budgets each request counts against (RPM, RPD; the user's cap if ``users``)."""
        mine = self.user_requests if users else None
        return (b for b in (self.requests, mine, self.day_requests) if b is not None)
