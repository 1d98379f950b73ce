"""Running a :class:`~groq_magic.sweeps.runner.GridRunner` from the main thread.

The runner works on the background loop; its events come back through a
thread-safe queue that the main thread drains every ``interval`` seconds,
handing each to ``on_event`` and then calling ``tick`` (where throttled display
updates go). Every display call therefore happens in the main thread, in the
cell that started the runs.

A ``KeyboardInterrupt`` in the main thread (the kernel's stop button, Ctrl-C)
cancels the runs; each keeps what it had, marked interrupted, and ``drive``
still returns every record, with ``interrupted=True``.
"""

from __future__ import annotations

import concurrent.futures
import queue
from collections.abc import Callable
from typing import Any

from groq_magic.background import BackgroundLoop, background_loop
from groq_magic.sweeps.runner import GridRunner, RunRecord

__all__ = ["drive"]

POLL_INTERVAL = 0.05


def _drain(
    events: queue.SimpleQueue[tuple[int, str, Any]], on_event: Callable[[int, str, Any], None]
) -> None:
    while True:
        try:
            index, kind, payload = events.get_nowait()
        except queue.Empty:
            return
        on_event(index, kind, payload)


def drive(
    runner: GridRunner,
    *,
    on_event: Callable[[int, str, Any], None] | None = None,
    tick: Callable[[], None] | None = None,
    interval: float = POLL_INTERVAL,
    loop: BackgroundLoop | None = None,
) -> tuple[list[RunRecord], bool]:
    """Run ``runner`` on the background loop; return its records and whether it was interrupted."""
    events: queue.SimpleQueue[tuple[int, str, Any]] = queue.SimpleQueue()
    if on_event is not None:
        runner.emit = lambda index, kind, payload: events.put((index, kind, payload))
    future = (loop or background_loop()).submit(runner.run())
    interrupted = False
    while True:
        try:
            done, _ = concurrent.futures.wait([future], timeout=interval)
            if on_event is not None:
                _drain(events, on_event)
            if tick is not None:
                tick()
            if done:
                break
        except KeyboardInterrupt:
            # A second interrupt while the runs wind down changes nothing more.
            if not interrupted:
                interrupted = True
                runner.cancel()
    if on_event is not None:
        _drain(events, on_event)
    return future.result(), interrupted
