"""Test doubles for the render tests: a manual clock and a recording display function."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any


class FakeClock:
    """A clock that moves only when told to."""

    def __init__(self, start: float = 100.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def payload_bytes(bundle: dict[str, Any]) -> int:
    """The bytes of a mimebundle as jupyter_client sends it (JSON, UTF-8, not ASCII-escaped)."""
    return len(json.dumps(bundle, ensure_ascii=False).encode("utf-8"))


@dataclass
class Call:
    """One display or update: when, what and how many bytes."""

    kind: str  # "display" or "update"
    bundle: dict[str, Any]
    at: float
    nbytes: int


@dataclass
class RecordingDisplay:
    """Stands in for ``IPython.display.display``; every call and its payload size is kept."""

    clock: FakeClock
    calls: list[Call] = field(default_factory=list)

    def __call__(self, obj: Any, *, raw: bool, display_id: bool) -> RecordingHandle:
        assert raw is True
        assert display_id is True
        self._record("display", obj)
        return RecordingHandle(self)

    def _record(self, kind: str, bundle: dict[str, Any]) -> None:
        self.calls.append(Call(kind, dict(bundle), self.clock(), payload_bytes(bundle)))

    @property
    def total_bytes(self) -> int:
        return sum(call.nbytes for call in self.calls)

    @property
    def last(self) -> dict[str, Any]:
        return self.calls[-1].bundle


@dataclass
class RecordingHandle:
    """Stands in for ``IPython.display.DisplayHandle``."""

    display: RecordingDisplay

    def update(self, obj: Any, **kwargs: Any) -> None:
        assert kwargs == {"raw": True}
        self.display._record("update", obj)
