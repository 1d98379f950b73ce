"""The async core of compares and sweeps: many turns at once, bounded, with shared backoff.

``GridRunner(specs, client, ...).run()`` runs every :class:`RunSpec` (a turn
prepared on the one road, :func:`~groq_magic.chat.prepare.prepare_turn`) through
:func:`~groq_magic.chat.engine.arun_turn` (the same engine as a ``%%groq``
cell) with ``record=False``, so a compare never changes history. It runs on the background
loop (:mod:`groq_magic.ui.loop`) and talks to the main thread only through
``emit(index, kind, payload)`` events (``start``, ``delta``, ``reasoning``,
``tool``, ``finish``, ``fail``, ``retry``, ``cancelled``): whoever displays them
does so in its own thread.

Retries are made here, not by the client: the client is a view of the
backend's with ``max_retries=0`` (:func:`without_retries`), but the policy is
the client's (``error_is_retryable``, ``error_retry_delay``: statuses,
``x-should-retry``, the server's wait, jittered backoff). When any run gets a
429, every run waits until one shared "resume at" time (:class:`SharedBackoff`)
before it starts or retries: independent per-request retries would each back
off on their own and keep hammering a limit that is shared by the key. A
failure of one request alone (a dropped connection, a 5xx) backs off that run
only. Each run retries at most :data:`RATE_LIMIT_RETRIES` times.
"""

from __future__ import annotations

import asyncio
import copy
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from groq_magic._text import one_line
from groq_magic.chat.engine import TurnError, arun_turn
from groq_magic.chat.errors import ChatError
from groq_magic.chat.prepare import PreparedTurn
from groq_magic.chat.result import ChatResult
from groq_magic.chat.sink import RunStatus, ToolNote, TurnMeta, TurnSummary
from groq_magic.client import AsyncGroq, GroqError, RateLimitError
from groq_magic.client._retry import (
    backoff_delay,
    error_is_retryable,
    error_retry_delay,
    error_wait_hint,
)

__all__ = [
    "DEFAULT_CONCURRENCY",
    "RATE_LIMIT_RETRIES",
    "TABLE_COLUMNS",
    "Emit",
    "GridRunner",
    "RunRecord",
    "RunSpec",
    "SharedBackoff",
    "concurrency_for",
    "summary_table",
    "without_retries",
]

DEFAULT_CONCURRENCY = 8
"""Runs in flight at once, unless the caller says otherwise."""


def concurrency_for(backend: Any, wanted: int) -> int:
    """``wanted``, or 1 for the embedded local model.

    llama-cpp-python's server generates one answer at a time and, by default
    (``interrupt_requests``), breaks the stream in progress when another request
    arrives, so concurrent runs would fail each other. One at a time costs
    nothing there: the model could not have run them in parallel anyway.
    """
    return 1 if getattr(backend, "is_local", False) else wanted


RATE_LIMIT_RETRIES = 3
"""How many times one run is retried (after a 429, a 5xx or a dropped connection)."""

Emit = Callable[[int, str, Any], None]
"""``emit(run index, event kind, payload)``; must be cheap and thread-safe."""

TABLE_COLUMNS = (
    "model",
    "temperature",
    "top_p",
    "max_tokens",
    "seed",
    "text",
    "time_to_first_token",
    "tokens_per_second",
    "prompt_tokens",
    "completion_tokens",
    "finish_reason",
    "total_time",
    "status",
    "error",
)
"""The summary table's columns (a sweep over several prompts adds ``prompt`` first)."""

logger = logging.getLogger("groq_magic")


def without_retries(client: AsyncGroq) -> AsyncGroq:
    """A view of ``client`` that sends through the same pool but never retries by itself.

    A shallow copy shares the connection pool and the key; its ``chat`` and
    ``models`` facades are rebuilt so they send through the copy.
    """
    if client.max_retries == 0:
        return client
    view = copy.copy(client)
    view.max_retries = 0
    view.chat = type(client.chat)(view)
    view.models = type(client.models)(view)
    return view


class SharedBackoff:
    """One "resume at" time for every run: a 429 anywhere pauses every start and retry.

    The wait is the client's policy: the server's hint when there is one (its
    headers, or the wait its 429 message states), else the client's jittered
    backoff, where ``n`` counts the 429s seen so far. ``clock``, ``sleep`` and
    ``rand`` are injectable so tests record the waits without waiting.
    """

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rand: Callable[[], float] | None = None,
    ) -> None:
        import random

        self.clock = clock
        self.sleep = sleep
        self.rand = rand or random.random
        self.resume_at = float("-inf")
        self.strikes = 0
        self.waits: list[float] = []

    def hit(self, exc: BaseException) -> float:
        """Note a 429; push the shared resume time out and return this delay."""
        delay = error_wait_hint(exc)
        if delay is None:
            delay = backoff_delay(self.strikes, rand=self.rand)
        self.strikes += 1
        self.resume_at = max(self.resume_at, self.clock() + delay)
        logger.info("rate limited (429): every run of the grid waits %.2f s", delay)
        return delay

    def alone(self, exc: BaseException, attempt: int) -> float:
        """The wait before retrying one run's own failure (a 5xx, a dropped connection)."""
        return error_retry_delay(exc, attempt, rand=self.rand)

    async def wait(self) -> None:
        """Return once the shared resume time has passed."""
        while (delay := self.resume_at - self.clock()) > 0:
            self.waits.append(delay)
            await self.sleep(delay)


@dataclass(frozen=True)
class RunSpec:
    """One run: its position and its prepared turn."""

    index: int
    prep: PreparedTurn


@dataclass
class RunRecord:
    """How one run ended: text, summary numbers, status (``error`` when it failed)."""

    spec: RunSpec
    model: str
    text: str = ""
    status: RunStatus = "pending"
    error: str | None = None
    summary: TurnSummary | None = None
    result: ChatResult | None = None
    attempts: int = 0

    def row(self, *, with_prompt: bool = False) -> dict[str, Any]:
        """The run as one summary-table row (columns :data:`TABLE_COLUMNS`)."""
        opts, summary = self.spec.prep.options, self.summary
        row: dict[str, Any] = {"prompt": self.spec.prep.prompt} if with_prompt else {}
        row.update(
            model=self.model,
            temperature=opts.temperature,
            top_p=opts.top_p,
            max_tokens=opts.max_tokens,
            seed=opts.seed,
            text=self.text,
            time_to_first_token=summary.time_to_first_token if summary else None,
            tokens_per_second=summary.tokens_per_second if summary else None,
            prompt_tokens=summary.prompt_tokens if summary else None,
            completion_tokens=summary.completion_tokens if summary else None,
            finish_reason=summary.finish_reason if summary else None,
            total_time=summary.total_time if summary else None,
            status=self.status,
            error=self.error,
        )
        return row


def summary_table(records: Sequence[RunRecord], *, with_prompt: bool = False) -> Any:
    """A pandas DataFrame of the runs' rows, or the list of row dicts without pandas."""
    rows = [r.row(with_prompt=with_prompt) for r in records]
    try:
        import pandas as pd
    except ImportError:
        return rows
    columns = (["prompt"] if with_prompt else []) + list(TABLE_COLUMNS)
    return pd.DataFrame(rows, columns=columns)


class _EventSink:
    """Forwards the engine's sink calls as events and keeps the text for interruptions."""

    def __init__(self, index: int, emit: Emit) -> None:
        self.index = index
        self.emit = emit
        self.parts: list[str] = []
        self.summary: TurnSummary | None = None

    @property
    def text(self) -> str:
        return "".join(self.parts)

    def start(self, meta: TurnMeta) -> None:
        self.parts = []
        self.emit(self.index, "start", meta)

    def delta(self, text: str) -> None:
        self.parts.append(text)
        self.emit(self.index, "delta", text)

    def reasoning(self, text: str) -> None:
        self.emit(self.index, "reasoning", text)

    def tool(self, note: ToolNote) -> None:
        self.emit(self.index, "tool", note)

    def finish(self, summary: TurnSummary) -> None:
        self.summary = summary
        self.emit(self.index, "finish", summary)

    def fail(self, message: str) -> None:
        self.emit(self.index, "fail", message)


def _ignore(index: int, kind: str, payload: Any) -> None:
    """The emit of a run nobody watches."""


@dataclass
class GridRunner:
    """Runs ``specs`` concurrently (at most ``concurrency`` at once); see the module docstring.

    ``run()`` returns one :class:`RunRecord` per spec, in spec order, whatever
    happened: a failed run is a record with ``status="error"``, an interrupted
    one keeps its partial text with ``status="interrupted"``.
    """

    specs: Sequence[RunSpec]
    client: AsyncGroq
    emit: Emit = _ignore
    concurrency: int = DEFAULT_CONCURRENCY
    retries: int = RATE_LIMIT_RETRIES
    backoff: SharedBackoff = field(default_factory=SharedBackoff)
    _loop: asyncio.AbstractEventLoop | None = field(default=None, init=False, repr=False)
    _tasks: list[asyncio.Task[RunRecord]] = field(default_factory=list, init=False, repr=False)
    _cancelled: bool = field(default=False, init=False, repr=False)

    async def run(self) -> list[RunRecord]:
        """Run every spec; never raises for a single run's failure."""
        self._loop = asyncio.get_running_loop()
        client = without_retries(self.client)
        gate = asyncio.Semaphore(max(1, self.concurrency))
        self._tasks = [asyncio.ensure_future(self._one(s, client, gate)) for s in self.specs]
        if self._cancelled:
            self._cancel_all()
        return list(await asyncio.gather(*self._tasks))

    def cancel(self) -> None:
        """Stop every run (callable from any thread); each keeps what it had, marked interrupted."""
        self._cancelled = True
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._cancel_all)

    def _cancel_all(self) -> None:
        for task in self._tasks:
            task.cancel()

    async def _one(self, spec: RunSpec, client: AsyncGroq, gate: asyncio.Semaphore) -> RunRecord:
        record = RunRecord(spec, model=spec.prep.model)
        sink = _EventSink(spec.index, self.emit)
        pause = 0.0
        try:
            for attempt in range(self.retries + 1):
                if pause:
                    # A failure of this run alone: wait without holding a slot.
                    await self.backoff.sleep(pause)
                    pause = 0.0
                async with gate:
                    await self.backoff.wait()
                    record.attempts += 1
                    try:
                        result = await arun_turn(spec.prep, client, sink, record=False)
                    except TurnError as exc:
                        reason = _retry_reason(exc.cause)
                        if exc.cause is None or reason is None or attempt >= self.retries:
                            record.status, record.error = "error", str(exc)
                            return record
                        if isinstance(exc.cause, RateLimitError):
                            delay = self.backoff.hit(exc.cause)
                        else:
                            delay = pause = self.backoff.alone(exc.cause, attempt)
                        logger.info(
                            "run %d: %s; retry %d in %.2f s", spec.index, reason, attempt + 1, delay
                        )
                        self.emit(spec.index, "retry", (delay, attempt + 1, reason))
                        continue
                    except (ChatError, GroqError) as exc:
                        record.status, record.error = "error", one_line(exc)
                        sink.fail(record.error)
                        return record
                record.result, record.summary = result, sink.summary
                record.text, record.status = result.text, result.status
                record.model, record.error = result.model or record.model, result.error
                return record
        except asyncio.CancelledError:
            # Swallowed on purpose: the other runs' records are still wanted.
            record.text, record.status = sink.text, "interrupted"
            record.summary = sink.summary
            self.emit(spec.index, "cancelled", record.text)
        return record


def _retry_reason(cause: BaseException | None) -> str | None:
    """Why a failed request is worth another try (the client's own policy), else None."""
    if cause is None or not error_is_retryable(cause):
        return None
    if isinstance(cause, RateLimitError):
        return "rate limited (429)"
    status = getattr(cause, "status_code", None)
    return f"server error {status}" if status is not None else "connection failed"
