"""One rate limit as the pacer sees it: a bucket refilled continuously, as Groq's are.

Groq's limits behave as buckets of ``limit`` units refilled at ``limit / window`` a second
(its "Please try again in 2s" for an RPM of 30 is one request's worth of refill); a full
bucket may be spent at once. :class:`Bucket` keeps the pacer's view of one such limit and
answers the one question the pacer asks of it: from when does it hold this amount?
"""

from __future__ import annotations

import math

__all__ = ["Bucket", "refit"]


class Bucket:
    """A bucket of ``capacity`` units refilled continuously over ``window`` seconds.

    The level may go below zero: a request is charged when it is let go, and the server
    can say more was used than we thought. ``capacity`` and ``window`` must be positive and
    finite (a limit of 0 is no bucket: the pacer refuses such a model instead).
    """

    __slots__ = ("capacity", "level", "rate", "stamp")

    def __init__(
        self, capacity: float, window: float, now: float, level: float | None = None
    ) -> None:
        self.capacity, self.rate = _sized(capacity, window)
        self.level = self.capacity if level is None else min(self.capacity, level)
        self.stamp = now

    def refill(self, now: float) -> float:
        """Bring the level up to ``now``; return it."""
        if now > self.stamp:
            self.level = min(self.capacity, self.level + (now - self.stamp) * self.rate)
            self.stamp = now
        return self.level

    def earliest(self, amount: float, now: float) -> float:
        """The first time from ``now`` the bucket holds ``amount``, if nothing else changes.

        An amount larger than the bucket waits for a full one (the server may still take it).
        """
        level = self.refill(now)
        need = min(amount, self.capacity)
        return now if level >= need else now + (need - level) / self.rate

    def take(self, amount: float, now: float) -> None:
        """Charge ``amount`` (the level may go below zero)."""
        self.refill(now)
        self.level -= amount

    def give(self, amount: float, now: float) -> None:
        """Give ``amount`` back (never above a full bucket)."""
        self.refill(now)
        self.level = min(self.capacity, self.level + amount)

    def set(self, level: float, now: float) -> None:
        """The level is ``level`` now (what the server said)."""
        self.stamp = now
        self.level = min(self.capacity, level)

    def resize(self, capacity: float, window: float) -> None:
        """A new capacity or window (a changed limit), keeping the level if it still fits."""
        self.capacity, self.rate = _sized(capacity, window)
        self.level = min(self.level, self.capacity)

    @property
    def limit(self) -> int:
        """The capacity as the server states it."""
        return round(self.capacity)


def _sized(capacity: float, window: float) -> tuple[float, float]:
    """(capacity, rate) of a bucket; refused unless both are positive and finite."""
    if not (0 < capacity < math.inf and 0 < window < math.inf):
        raise ValueError(f"a bucket needs a positive capacity and window ({capacity}, {window})")
    return float(capacity), capacity / window


def refit(
    current: Bucket | None, limit: int, window: float, now: float, level: float | None = None
) -> Bucket:
    """``current`` resized to ``limit`` (or a new bucket), then set to ``level`` if given."""
    if current is None:
        current = Bucket(limit, window, now, level)
    elif current.capacity != limit:
        current.resize(limit, window)
    if level is not None:
        current.set(level, now)
    return current
