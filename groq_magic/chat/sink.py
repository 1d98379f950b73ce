"""What the engine tells whoever shows an answer: the sink protocol.

The engine calls ``start`` before the request, ``delta`` for each text fragment
as it arrives, then exactly one of ``finish`` (the turn ended: complete,
interrupted or incomplete) or ``fail`` (the request failed and nothing is kept).
In between, ``reasoning`` receives the model's thinking as it streams and
``tool`` a line for each tool call (once when it starts, again when it is done).
These two are optional: the engine skips them on sinks that lack them.
Sinks live above this layer (``groq_magic.render``, ``groq_magic.ui``); the
protocol lives here so the engine depends on nothing above it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

__all__ = [
    "NullSink",
    "RunStatus",
    "StreamSink",
    "ToolNote",
    "TurnMeta",
    "TurnStatus",
    "TurnSummary",
]

TurnStatus = Literal["complete", "interrupted", "incomplete"]
"""How an answer ended, the one vocabulary of results, history, sinks and tables:
``complete``; ``interrupted`` (the user stopped it; the partial answer is kept);
``incomplete`` (the stream broke; the partial answer is kept)."""

RunStatus = Literal["pending", "complete", "interrupted", "incomplete", "error"]
"""A compare or sweep run: a :data:`TurnStatus`, or ``pending`` (not finished yet)
or ``error`` (the request failed and there is no answer)."""


@dataclass(frozen=True)
class TurnMeta:
    """What a sink knows before the answer starts."""

    model: str
    chat: str
    stream: bool
    notes: tuple[str, ...] = ()  # one line each, e.g. an image that was downscaled


@dataclass(frozen=True)
class TurnSummary:
    """How a turn ended, for the status line."""

    text: str
    model: str
    status: TurnStatus = "complete"
    finish_reason: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    time_to_first_token: float | None = None
    total_time: float | None = None
    tokens_per_second: float | None = None
    error: str | None = None
    reasoning_tokens: int | None = None
    images: int = 0
    tool_calls: int = 0
    cached: bool = False  # replayed from the local store: nothing was sent
    cost: float | None = None  # USD; None: the model's price is unknown
    show_cost: bool = False  # the status line shows the cost (%config GroqMagics.show_cost)
    cached_tokens: int = 0  # prompt tokens Groq served from its prompt cache
    saved: float | None = None  # USD the prompt cache saved (None: nothing cached, or unknown)
    context_tokens: int = 0  # the estimated size of the turn's --context blocks
    extra: tuple[str, ...] = ()  # more status-line parts (``mcp files started in 0.41 s``)


@dataclass(frozen=True)
class ToolNote:
    """A tool call as a sink shows it; a later note with the same ``key`` replaces it.

    ``line`` is the one-line summary (``🔧 get_weather(city="Oslo") → "12°C" · 0.02 s``),
    ``markdown`` the collapsible block saved with the answer, ``done`` False while
    the call runs.
    """

    key: str
    line: str
    markdown: str
    done: bool = True


class StreamSink(Protocol):
    """Receives one answer as it streams."""

    def start(self, meta: TurnMeta) -> None:
        """The request is about to be sent."""

    def delta(self, text: str) -> None:
        """A new fragment of the answer arrived."""

    def finish(self, summary: TurnSummary) -> None:
        """The turn ended; ``summary.status`` says how."""

    def fail(self, message: str) -> None:
        """The request failed; remove any partial display (the caller reports ``message``)."""


class NullSink:
    """A sink that shows nothing (sweeps, tests, code that only wants the result)."""

    def reasoning(self, text: str) -> None:
        """Ignore."""

    def tool(self, note: ToolNote) -> None:
        """Ignore."""

    def start(self, meta: TurnMeta) -> None:
        """Ignore."""

    def delta(self, text: str) -> None:
        """Ignore."""

    def finish(self, summary: TurnSummary) -> None:
        """Ignore."""

    def fail(self, message: str) -> None:
        """Ignore."""
