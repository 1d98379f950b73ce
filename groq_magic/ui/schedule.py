"""When the panel re-runs: a debounce delay and the scheduler that waits it out.

In a kernel the scheduler is the main thread's running asyncio loop
(``call_later``): the callback then runs in the main thread, between messages,
like any widget callback. Tests pass their own scheduler and fire it by hand.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, Protocol

__all__ = ["DEBOUNCE", "Cancellable", "Scheduler", "kernel_scheduler"]

DEBOUNCE = 0.3
"""Seconds of quiet after a change before the prompt re-runs."""


class Cancellable(Protocol):
    """What a scheduler returns: something that can be cancelled."""

    def cancel(self) -> Any:
        """Do not run the callback."""


Scheduler = Callable[[float, Callable[[], None]], Cancellable]
"""``scheduler(delay, callback)``: run ``callback`` in the main thread after ``delay`` seconds."""


def kernel_scheduler(delay: float, callback: Callable[[], None]) -> Cancellable:
    """Schedule on the main thread's asyncio loop (ipykernel runs one)."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        loop = asyncio.get_event_loop_policy().get_event_loop()
    return loop.call_later(delay, callback)
