"""Writes the store could not make yet, kept in order until its file can be used again.

Every write (an exchange, an undo, a reset, a turn kept from the panel, a Batch job)
goes through the backlog: written at once when the file is fine, else kept, in the
order they were made, and written at the next write, at the next store command,
at :meth:`Store.close` and when the interpreter exits (one ``atexit`` hook for every
store that has writes waiting). History edits carry the time they were made, and
restore orders turns by their creation time, so writes that land late still take
their place.

The bound: at most :data:`LIMIT` writes wait. An exchange shares its messages with the
chat in memory, so each costs little beyond its answer; past the bound the oldest
is dropped, the user is told in one line when dropping starts, and ``%groq cache
info`` counts what was dropped.
"""

from __future__ import annotations

import atexit
import threading
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from groq_magic.store._exchange import Exchange

__all__ = ["LIMIT", "Backlog", "CarriedExchange", "Edit", "Waiting", "hold", "release"]

LIMIT = 1000
"""Writes kept in memory while the store file cannot be written; past it the oldest go."""


@dataclass(frozen=True)
class Edit:
    """A write other than an exchange: ``kind`` (``undo``, ``reset``, ``batch``, ``write``),
    its SQL and its parameters (the time it was made among them)."""

    kind: str
    sql: str
    params: tuple[Any, ...]


@dataclass(frozen=True)
class CarriedExchange:
    """An exchange as its two stored rows, read back from a store file that went away."""

    exchange_row: tuple[Any, ...]
    data_row: tuple[Any, ...]


Waiting = Exchange | Edit | CarriedExchange


class Backlog:
    """The writes waiting for the file, oldest first, at most ``limit`` of them."""

    def __init__(self, limit: int = LIMIT) -> None:
        self.limit = limit
        self.dropped = 0
        self._items: deque[Waiting] = deque()

    def __len__(self) -> int:
        return len(self._items)

    def add(self, item: Waiting) -> bool:
        """Keep ``item`` last; True when the oldest was dropped to make room."""
        self._items.append(item)
        if len(self._items) <= self.limit:
            return False
        self._items.popleft()
        self.dropped += 1
        return True

    def carry(self, items: Iterable[Waiting]) -> None:
        """Put ``items`` (older than anything waiting) first, in their order."""
        self._items.extendleft(reversed(list(items)))

    def first(self) -> Waiting:
        """The oldest write waiting."""
        return self._items[0]

    def done(self) -> None:
        """The oldest write was made (or can never be): forget it."""
        self._items.popleft()

    def exchanges(self) -> list[Exchange]:
        """The waiting exchanges (what :attr:`Store.unsaved` shows), oldest first."""
        return [item for item in self._items if isinstance(item, Exchange)]

    def summary(self) -> str:
        """``"3 exchanges and 1 history edit"``: what waits, in words."""
        exchanges = sum(isinstance(i, (Exchange, CarriedExchange)) for i in self._items)
        jobs = sum(isinstance(i, Edit) and i.kind == "batch" for i in self._items)
        edits = len(self._items) - exchanges - jobs
        parts = [
            f"{number} {name}{'s' if number != 1 else ''}"
            for number, name in (
                (exchanges, "exchange"),
                (edits, "history edit"),
                (jobs, "batch job"),
            )
            if number
        ]
        return " and ".join(parts) or "nothing"


class _Flushable(Protocol):
    def flush_at_exit(self) -> None: ...


_HELD: set[_Flushable] = set()
_HELD_LOCK = threading.Lock()


def hold(store: _Flushable) -> None:
    """Keep ``store`` alive until its writes are made (at the latest: at exit)."""
    with _HELD_LOCK:
        _HELD.add(store)


def release(store: _Flushable) -> None:
    """Nothing of ``store`` waits any more."""
    with _HELD_LOCK:
        _HELD.discard(store)


@atexit.register
def _flush_all_at_exit() -> None:
    with _HELD_LOCK:
        stores = list(_HELD)
    for store in stores:
        store.flush_at_exit()
