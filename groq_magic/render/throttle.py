"""``UpdateThrottle``: when a growing text is worth resending to the frontend.

Every display update resends the whole answer, so updating per token costs
O(n²) bytes. Two conditions together keep it linear and calm:

- **time**: at least ``min_interval`` seconds since the last update (0.05 s: at
  most 20 updates a second, however fast tokens come);
- **growth**: the text has grown by ``growth`` (15 %) since the last update, and
  by at least ``min_growth`` bytes. The sizes sent then form a geometric series,
  so all updates together cost at most ``(1 + growth) / growth`` times the
  final size (7.7x at 15 %), whether the stream is fast or slow.

The first non-empty text is always allowed (subject to the interval) so the
first token shows at once. The final state is not this class's business: the
caller always sends it. Pure: no I/O, the clock is injected.
"""

from __future__ import annotations

import time
from collections.abc import Callable

__all__ = ["UpdateThrottle"]


class UpdateThrottle:
    """Decides, for each new length of a growing text, whether to send an update now."""

    def __init__(
        self,
        min_interval: float = 0.05,
        growth: float = 0.15,
        clock: Callable[[], float] = time.monotonic,
        min_growth: int = 16,
    ) -> None:
        if min_interval < 0 or growth <= 0 or min_growth < 0:
            raise ValueError("min_interval and min_growth must be >= 0, growth > 0")
        self.min_interval = min_interval
        self.growth = growth
        self.min_growth = min_growth
        self.clock = clock
        self._last_time: float | None = None
        self._last_length = 0

    def record(self, length: int) -> None:
        """Note an update the caller sent anyway (the initial or the final display)."""
        self._last_time = self.clock()
        self._last_length = length

    def threshold(self) -> int:
        """The smallest length that may be sent next."""
        last = self._last_length
        if last == 0:
            return 1
        return max(int(last * (1 + self.growth)) + 1, last + self.min_growth)

    def should_update(self, length: int) -> bool:
        """True (and the update recorded) when ``length`` may be sent now."""
        if length < self.threshold():
            return False
        # The clock is read only for lengths that pass the growth test: cheap per token.
        now = self.clock()
        # The tolerance keeps float noise (100.05 - 100.0 < 0.05) from skipping a due update.
        if self._last_time is not None and now - self._last_time < self.min_interval - 1e-9:
            return False
        self._last_time = now
        self._last_length = length
        return True
