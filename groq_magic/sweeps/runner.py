"""The async core of compares and sweeps: many turns at once, bounded, with shared backoff.

``GridRunner(specs, client, ...).run()`` runs every :class:`RunSpec` (a turn
prepared on the one road, :func:`~groq_magic.chat.prepare.prepare_turn`, when its
run starts) through
:func:`~groq_magic.chat.engine.arun_turn` (the same engine as a ``%%groq``
cell) with ``record=False``, so a compare never changes history. It runs on the background
loop (:mod:`groq_magic.background`) and talks to the main thread only through
``emit(index, kind, payload)`` events (``start``, ``delta``, ``reasoning``,
``tool``, ``finish``, ``fail``, ``retry``, ``cancelled``, then ``done`` once per
run with its final :class:`RunRecord`, so a counter counts each run once
whatever happened to it): whoever displays them does so in its own thread.
``stream_events=False`` leaves out the per-token events (``delta``,
``reasoning``, ``tool``) for callers that only count runs (a progress bar).

Any number of runs: a fixed pool of workers takes the runs in order, so a
sweep of 10,000 rows holds a few dozen coroutines, not 10,000. Each run's table
row is computed as it ends (:meth:`RunRecord.settle`); with
``keep_results=False`` the record then drops its :class:`ChatResult` (the
request window, the turn) and keeps only that row, so memory does not grow with
the answers' baggage. An interrupt (:meth:`GridRunner.cancel`) stops the runs in
flight (each keeps its partial text, marked interrupted) and starts no more;
runs that never started are ``interrupted`` with no text.

Retries are made here, not by the client: the client is a view of the
backend's with ``max_retries=0`` (:func:`without_retries`), but the policy is
the client's (``error_is_retryable``, ``error_retry_delay``: statuses,
``x-should-retry``, the server's wait, jittered backoff). When any run gets a
429, every run waits until one shared "resume at" time (:class:`SharedBackoff`)
before it starts or retries: independent per-request retries would each back
off on their own and keep hammering a limit that is shared by the key. A
failure of one request alone (a dropped connection, a 5xx) backs off that run
only. Each run retries at most :data:`RATE_LIMIT_RETRIES` times.

With a ``pacer`` (:class:`~groq_magic.pacing.RateLimitPacer`, one per kernel: see
:func:`kernel_pacer`) every request first waits for its permit, estimated from
its prompt and max tokens (each tool round is a request; a ``--cache`` replay sends
none and waits for nothing: the engine asks, see ``arun_turn(pace=...)``); that
request's ``x-ratelimit-*`` headers and usage settle it, a 429 tells the pacer the
limit its message names (and its wait), and the pacer, not the shared backoff,
decides when the retry goes. A spent daily limit fails the run at once with the
pacer's one line (which points to ``groq_magic.batch``) instead of waiting hours, and
so does a model whose limit the server said is 0 (the line names the model and limit).
``eager`` (a compare) asks for eager permits for the first ``concurrency`` runs' first
attempts: they go together instead of through the sweep's probing (see
:mod:`groq_magic.pacing`); the rest and every retry are paced like a sweep's, so a
compare larger than its concurrency costs at most one burst of 429s.
:func:`choose_pacer` is how compares and sweeps pick the pacer.
"""

from __future__ import annotations

import asyncio
import copy
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from groq_magic._text import one_line
from groq_magic.chat.engine import TurnError, arun_turn
from groq_magic.chat.errors import ChatError
from groq_magic.chat.prepare import PreparedTurn
from groq_magic.chat.result import ChatResult
from groq_magic.chat.row import table_columns, table_row
from groq_magic.chat.sink import RunStatus, ToolNote, TurnMeta, TurnSummary
from groq_magic.checks import Check, apply_checks, check_columns
from groq_magic.client import (
    AsyncGroq,
    GroqError,
    RateLimitError,
    backoff_delay,
    error_is_retryable,
    error_retry_delay,
    error_wait_hint,
)
from groq_magic.pacing import PacingCaps, PacingRefused, Permit, RateLimitPacer

if TYPE_CHECKING:
    from groq_magic.chat.options import ChatOptions
    from groq_magic.session import GroqSession

__all__ = [
    "DEFAULT_CONCURRENCY",
    "RATE_LIMIT_RETRIES",
    "TABLE_COLUMNS",
    "Emit",
    "GridRunner",
    "RunRecord",
    "RunSpec",
    "SharedBackoff",
    "choose_pacer",
    "concurrency_for",
    "kernel_pacer",
    "summary_table",
    "table_from_rows",
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


_PACERS: dict[str, tuple[object, RateLimitPacer]] = {}


def kernel_pacer(
    server: str = "", loop: object = None, caps: PacingCaps | None = None
) -> RateLimitPacer:
    """The kernel's pacer for ``server`` (its base URL): every compare and sweep to it
    shares its limits.

    ``loop`` is the event loop the runs go on: the pacer's waits belong to one loop,
    so a new background loop (after a stop) gets a new pacer. ``caps`` are the
    user's caps now (``%config GroqMagics.max_concurrency`` and ``.requests_per_minute``),
    applied to the pacer if they changed; None leaves its caps as they are.
    """
    found = _PACERS.get(server)
    if found is None or found[0] is not loop:
        found = _PACERS[server] = (loop, RateLimitPacer())
    pacer = found[1]
    if caps is not None and caps != pacer.caps:
        pacer.set_caps(caps)
    return pacer


def choose_pacer(
    pacer: RateLimitPacer | bool | None, session: GroqSession, client: AsyncGroq
) -> RateLimitPacer | None:
    """The pacer a compare or sweep runs under.

    ``None``: the kernel's pacer for ``client``'s server with the session's caps,
    except for the embedded local model (one answer at a time, no rate limits);
    ``False``: none (a 429 then pauses every run: :class:`SharedBackoff`); ``True``:
    the kernel's even for the local model; a :class:`RateLimitPacer`: that one.
    """
    if pacer is None:
        pacer = not getattr(session.backend, "is_local", False)
    if isinstance(pacer, bool):
        if not pacer:
            return None
        from groq_magic.background import background_loop

        return kernel_pacer(str(client.base_url), background_loop().loop, session.pacing_caps())
    return pacer


RATE_LIMIT_RETRIES = 3
"""How many times one run is retried (after a 429, a 5xx or a dropped connection)."""

Emit = Callable[[int, str, Any], None]
"""``emit(run index, event kind, payload)``; must be cheap and thread-safe."""

TABLE_COLUMNS = table_columns()
"""The summary table's columns (a sweep over several prompts adds ``prompt`` first):
the knob columns, then what each run's answer gave (:mod:`groq_magic.chat.row`)."""

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


@dataclass(frozen=True, slots=True)
class RunSpec:
    """One run: its position, what its row shows, and how to get its prepared turn.

    ``prompt``, ``model`` and ``options`` are the prepared turn's (the row reads
    them). ``prepare`` gives the turn when the run starts: a sweep keeps only this
    much per row and prepares each turn again then (see
    :func:`~groq_magic.sweeps.sweep.plan_sweep`), so its memory does not grow with the
    rows' requests (images' data URLs included); :meth:`of` wraps a turn prepared
    already. ``columns`` (a sweep's ``columns=``: say the expected answer of each
    prompt) go into the row after ``prompt``, where checks such as ``equals:COLUMN``
    read them.
    """

    index: int
    prompt: str
    model: str
    options: ChatOptions
    prepare: Callable[[], PreparedTurn] = field(repr=False, compare=False)
    columns: Mapping[str, Any] | None = None

    @classmethod
    def of(
        cls, index: int, prep: PreparedTurn, columns: Mapping[str, Any] | None = None
    ) -> RunSpec:
        """The run of ``prep``, a turn prepared already (held until the run is dropped)."""
        return cls(index, prep.prompt, prep.model, prep.options, lambda: prep, columns)


@dataclass(slots=True)
class RunRecord:
    """How one run ended: its result (or the text it had shown), status and error.

    Its table row is built by the one row builder (:func:`groq_magic.chat.row.table_row`)
    from the result, or, for a run without one, from what is known of it.
    """

    spec: RunSpec
    model: str
    text: str = ""
    status: RunStatus = "pending"
    error: str | None = None
    result: ChatResult | None = None
    attempts: int = 0
    settled: dict[str, Any] | None = field(default=None, repr=False)

    @property
    def tokens(self) -> int | None:
        """Prompt plus completion tokens, None when the run reported none."""
        row = self.row(with_prompt=True)
        prompt, completion = row["prompt_tokens"], row["completion_tokens"]
        if prompt is None and completion is None:
            return None
        return (prompt or 0) + (completion or 0)

    @property
    def cost(self) -> float | None:
        """USD for the run (None: unknown, or it failed)."""
        cost: float | None = self.row(with_prompt=True)["cost"]
        return cost

    def settle(self, *, keep_result: bool = True, checks: Sequence[Check] = ()) -> None:
        """Compute the row now that the run has ended; without ``keep_result``, drop the rest.

        The prompt and the options are read from the spec now, so the row no longer
        needs the result (a large sweep keeps rows, not answers). ``checks`` add their
        columns (:func:`~groq_magic.checks.apply_checks`), while the answer is still at
        hand; a run without one is not checked.
        """
        row = self._row()
        if checks:
            row.update(apply_checks(checks, self.result, row))
        self.settled = row
        if not keep_result:
            self.result = None

    def row(self, *, with_prompt: bool = False) -> dict[str, Any]:
        """The run as one summary-table row (columns :data:`TABLE_COLUMNS`)."""
        row = self.settled if self.settled is not None else self._row()
        if with_prompt:
            return dict(row)
        return {k: v for k, v in row.items() if k != "prompt"}

    def _row(self) -> dict[str, Any]:
        row: dict[str, Any] = {"prompt": self.spec.prompt}
        row.update(self.spec.columns or {})
        row.update(
            table_row(
                self.spec.options,
                model=self.model,
                result=self.result,
                text=self.text,
                status=self.status,
                error=self.error,
            )
        )
        return row


def summary_table(
    records: Sequence[RunRecord],
    *,
    with_prompt: bool = False,
    with_results: bool = False,
    columns: Sequence[str] = (),
    checks: Sequence[Check] = (),
) -> Any:
    """A pandas DataFrame of the runs' rows, or the list of row dicts without pandas.

    ``columns`` are the specs' own columns (after ``prompt``); ``checks`` the
    checks the records were settled with (their columns follow the table's).
    ``with_results`` adds a last ``result`` column: each run's :class:`ChatResult`
    (None when it has none, or when its record did not keep it).
    """
    # The settled rows themselves, not copies: the table takes only the columns it
    # names (a copy of every row was a third of a large sweep's peak memory).
    rows = [r.settled if r.settled is not None else r._row() for r in records]
    if with_results:
        rows = [{**row, "result": r.result} for row, r in zip(rows, records, strict=True)]
    names = ["prompt"] if with_prompt else []
    names += [*columns, *TABLE_COLUMNS]
    if checks:
        names += check_columns(checks)
    if with_results:
        names.append("result")
    return table_from_rows(rows, names)


def table_from_rows(rows: list[dict[str, Any]], columns: Sequence[str]) -> Any:
    """``rows`` as a pandas DataFrame of ``columns`` (other keys are left out), or
    without pandas as a list of new dicts of those columns."""
    try:
        import pandas as pd
    except ImportError:
        return [{name: row.get(name) for name in columns} for row in rows]
    return pd.DataFrame(rows, columns=list(columns))


class _EventSink:
    """Forwards the engine's sink calls as events and keeps the text for interruptions."""

    def __init__(self, index: int, emit: Emit, *, stream: bool = True) -> None:
        self.index = index
        self.emit = emit
        self.stream = stream
        self.parts: list[str] = []

    @property
    def text(self) -> str:
        return "".join(self.parts)

    def start(self, meta: TurnMeta) -> None:
        self.parts = []
        self.emit(self.index, "start", meta)

    def delta(self, text: str) -> None:
        self.parts.append(text)
        if self.stream:
            self.emit(self.index, "delta", text)

    def reasoning(self, text: str) -> None:
        if self.stream:
            self.emit(self.index, "reasoning", text)

    def tool(self, note: ToolNote) -> None:
        if self.stream:
            self.emit(self.index, "tool", note)

    def finish(self, summary: TurnSummary) -> None:
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
    one keeps its partial text with ``status="interrupted"``. ``keep_results``
    False keeps only each run's row (:meth:`RunRecord.settle`); ``stream_events``
    False sends no per-token events; ``checks`` add their columns to every row.
    """

    specs: Sequence[RunSpec]
    client: AsyncGroq
    emit: Emit = _ignore
    concurrency: int = DEFAULT_CONCURRENCY
    retries: int = RATE_LIMIT_RETRIES
    backoff: SharedBackoff = field(default_factory=SharedBackoff)
    keep_results: bool = True
    stream_events: bool = True
    checks: Sequence[Check] = ()
    pacer: RateLimitPacer | None = None
    eager: bool = False
    _loop: asyncio.AbstractEventLoop | None = field(default=None, init=False, repr=False)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list, init=False, repr=False)
    _cancelled: bool = field(default=False, init=False, repr=False)

    async def run(self) -> list[RunRecord]:
        """Run every spec; never raises for a single run's failure."""
        self._loop = asyncio.get_running_loop()
        client = without_retries(self.client)
        slots = max(1, self.concurrency)
        gate = asyncio.Semaphore(slots)
        records: list[RunRecord | None] = [None] * len(self.specs)
        queue = iter(enumerate(self.specs))

        async def worker() -> None:
            # One iterator shared by the workers: each takes the next run when it is free.
            for position, spec in queue:
                if self._cancelled:
                    return
                records[position] = await self._one(spec, client, gate)
                if self._cancelled:
                    return

        # Twice the slots: a run waiting out its own backoff holds a worker, not a slot.
        workers = min(len(self.specs), 2 * slots)
        self._tasks = [asyncio.ensure_future(worker()) for _ in range(workers)]
        if self._cancelled:
            self._cancel_all()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        pairs = zip(records, self.specs, strict=True)
        return [r if r is not None else self._never_ran(s) for r, s in pairs]

    def cancel(self) -> None:
        """Stop every run (callable from any thread); each keeps what it had, marked interrupted."""
        self._cancelled = True
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._cancel_all)

    def _cancel_all(self) -> None:
        for task in self._tasks:
            task.cancel()

    async def _send(
        self, spec: RunSpec, prep: PreparedTurn, client: AsyncGroq, sink: _EventSink, attempt: int
    ) -> ChatResult:
        if self.pacer is None:
            return await arun_turn(prep, client, sink, record=False)
        # Only the first burst goes unprobed: it is what the user watches start together.
        eager = self.eager and attempt == 0 and spec.index < self.concurrency
        return await _paced_turn(self.pacer, prep, client, sink, eager=eager)

    def _never_ran(self, spec: RunSpec) -> RunRecord:
        """The record of a run an interrupt stopped before it started."""
        record = RunRecord(spec, model=spec.model, status="interrupted")
        self._settle(record)
        return record

    def _settle(self, record: RunRecord) -> RunRecord:
        record.settle(keep_result=self.keep_results, checks=self.checks)
        self.emit(record.spec.index, "done", record)
        return record

    async def _one(self, spec: RunSpec, client: AsyncGroq, gate: asyncio.Semaphore) -> RunRecord:
        record = RunRecord(spec, model=spec.model)
        try:
            await self._attempts(record, client, gate)
        except asyncio.CancelledError:
            # Swallowed on purpose: the other runs' records are still wanted.
            pass
        except Exception as exc:  # a bug here must fail this run, not lose the others silently
            logger.exception("run %d failed unexpectedly", spec.index)
            record.status, record.error = "error", one_line(f"{type(exc).__name__}: {exc}")
        return self._settle(record)

    async def _attempts(
        self, record: RunRecord, client: AsyncGroq, gate: asyncio.Semaphore
    ) -> None:
        spec = record.spec
        sink = _EventSink(spec.index, self.emit, stream=self.stream_events)
        pause = 0.0
        try:
            # Prepared now, held only while the run is in flight (see RunSpec). It was
            # prepared once already; only a change since (a file gone) can fail it.
            prep = spec.prepare()
        except ChatError as exc:
            record.status, record.error = "error", one_line(exc)
            sink.fail(record.error)
            return
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
                        result = await self._send(spec, prep, client, sink, attempt)
                    except PacingRefused as exc:  # a spent daily limit, a limit of 0
                        record.status, record.error = "error", str(exc)
                        sink.fail(record.error)
                        return
                    except TurnError as exc:
                        retry = self._retry_after(exc, spec, attempt)
                        if retry is None:
                            record.status, record.error = "error", str(exc)
                            return
                        delay, alone = retry
                        pause = delay if alone else 0.0
                        continue
                    except (ChatError, GroqError) as exc:
                        record.status, record.error = "error", one_line(exc)
                        sink.fail(record.error)
                        return
                record.result = result
                record.text, record.status = result.text, result.status
                record.model, record.error = result.model or record.model, result.error
                return
        except asyncio.CancelledError:
            record.text, record.status = sink.text, "interrupted"
            self.emit(spec.index, "cancelled", record.text)
            raise

    def _retry_after(
        self, exc: TurnError, spec: RunSpec, attempt: int
    ) -> tuple[float, bool] | None:
        """When a failed request is tried again: ``(delay, for this run alone)``, or None
        when it is not (the client's policy says no, or the retries are spent)."""
        reason = _retry_reason(exc.cause)
        if exc.cause is None or reason is None or attempt >= self.retries:
            return None
        alone = False
        if isinstance(exc.cause, RateLimitError) and self.pacer is not None:
            # The pacer holds the retry back as long as it must; this is only what it
            # knows now, for the log and the pane.
            delay = self.pacer.wait_for(spec.model)
            logger.info("rate limited (429): the pacer holds %s back %.2f s", spec.model, delay)
        elif isinstance(exc.cause, RateLimitError):
            delay = self.backoff.hit(exc.cause)
        else:
            delay, alone = self.backoff.alone(exc.cause, attempt), True
        logger.info("run %d: %s; retry %d in %.2f s", spec.index, reason, attempt + 1, delay)
        self.emit(spec.index, "retry", (delay, attempt + 1, reason))
        return delay, alone


async def _paced_turn(
    pacer: RateLimitPacer, prep: PreparedTurn, client: AsyncGroq, sink: _EventSink, *, eager: bool
) -> ChatResult:
    """The run's turn with a permit of ``pacer`` for each request it sends (tool rounds
    each take one; a replay from the cache takes none)."""

    async def pace(body: dict[str, Any]) -> Permit:
        return await pacer.acquire_request(body, eager=eager)

    return await arun_turn(prep, client, sink, record=False, pace=pace)


def _retry_reason(cause: BaseException | None) -> str | None:
    """Why a failed request is worth another try (the client's own policy), else None."""
    if cause is None or not error_is_retryable(cause):
        return None
    if isinstance(cause, RateLimitError):
        return "rate limited (429)"
    status = getattr(cause, "status_code", None)
    return f"server error {status}" if status is not None else "connection failed"
