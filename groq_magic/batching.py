"""``groq_magic.batch``: a sweep sent through Groq's Batch API, at half the price, no rate limits.

    job = groq_magic.batch(df.question, model="llama-3.1-8b-instant", temperature=0)
    job                      # its status and progress
    job.wait()               # a progress bar until it ends; the stop button stops waiting only
    table = job.results()    # the same table as groq_magic.sweep gives
    job.cancel()

``batch`` takes :func:`groq_magic.sweep`'s arguments and prepares every row on the
same road (:meth:`GroqSession.prepare`: defaults, templates, key check, schema), so
bad input is one line before anything is sent. Each row becomes one JSONL line
(``custom_id`` ``row-<n>``, the request body as a cell would send it, without the
stream fields); the file is uploaded (``client.files``), the batch created
(``client.batches``), and the job id kept in the exchange store, so after a kernel
restart ``groq_magic.batch_job(ID)`` picks the job up again and
``groq_magic.batch_jobs()`` lists the recent ones.

:meth:`BatchJob.results` rebuilds the rows from the input file (so a job picked up
again gives the same table as the one that created it) and joins the output and
error files on ``custom_id``: a failed request is a row with its error; a request an
expired or cancelled batch never ran is a row marked ``interrupted``; a result line that
cannot be read is an error row (or one printed line naming it), and every finished
answer is kept. Costs are the price table's at half (Groq's batch
discount); unknown stays unknown.

The module is ``batching``, not ``batch``: importing a submodule named ``batch`` would
set ``groq_magic.batch`` to the module and hide the function of that name.

Every problem is one :class:`BatchError` line: a server without the Batch API (the
embedded model: "batch needs Groq's Batch API: ..."), a file over Groq's limits
(:data:`MAX_LINES` lines, :data:`MAX_BYTES` bytes: the limit is named), an unknown
batch id, a batch whose input was rejected.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from groq_magic._keys import redact
from groq_magic._text import one_line
from groq_magic.chat.errors import ChatError
from groq_magic.chat.result import ChatResult
from groq_magic.checks import Check, apply_checks, check_columns, resolve_checks
from groq_magic.client import Batch, BatchOutputLine, Groq, NotFoundError, parse_batch_output
from groq_magic.client._resource import ENDPOINT_NOT_FOUND
from groq_magic.runs.runner import TABLE_COLUMNS, RunSpec, table_from_rows
from groq_magic.runs.sweep import plan_sweep, with_check_summary

if TYPE_CHECKING:
    from groq_magic.session import GroqSession
    from groq_magic.store import Store

__all__ = [
    "BATCH_DISCOUNT",
    "MAX_BYTES",
    "MAX_LINES",
    "BatchError",
    "BatchJob",
    "batch",
    "batch_job",
    "batch_jobs",
]

MAX_LINES = 50_000
"""Groq's limit on the lines of one batch input file."""

MAX_BYTES = 200 * 1024 * 1024
"""Groq's limit on the size of one batch input file (200 MB)."""

BATCH_DISCOUNT = 0.5
"""Batch requests cost half the interactive price."""

POLL_SECONDS = 5.0
"""How often :meth:`BatchJob.wait` asks for the batch's status."""

_STREAM_FIELDS = ("stream", "stream_options")
_RUNNING = ("validating", "in_progress", "finalizing", "cancelling")


class BatchError(ChatError, RuntimeError):
    """A batch cannot be sent, found or read; the message is one line."""


def _store(session: GroqSession) -> Store | None:
    """The session's exchange store, when it has one that is on."""
    store = getattr(getattr(session, "log", None), "store", None)
    return store if store is not None and getattr(store, "enabled", False) else None


def _not_found(exc: NotFoundError, what: str) -> BatchError:
    if exc.code == ENDPOINT_NOT_FOUND:
        return BatchError(f"batch needs Groq's Batch API: {exc.message}")
    return BatchError(f"{what}: {one_line(exc.message, 200)}")


def _jsonl(specs: Sequence[RunSpec]) -> bytes:
    lines = []
    for spec in specs:
        prep = spec.prepare()
        if prep.toolbox is not None:
            raise BatchError("batch sends one request per row: --tools needs a sweep, not a batch")
        body = {k: v for k, v in prep.request.items() if k not in _STREAM_FIELDS}
        line = {
            "custom_id": f"row-{spec.index}",
            "method": "POST",
            "url": "/v1/chat/completions",
            "body": body,
        }
        lines.append(json.dumps(line, ensure_ascii=False, separators=(",", ":")))
    data = ("\n".join(lines) + "\n").encode()
    if len(lines) > MAX_LINES:
        raise BatchError(
            f"the batch has {len(lines):,} requests; Groq's Batch API takes at most"
            f" {MAX_LINES:,} lines per file: split the prompts into several batches"
        )
    if len(data) > MAX_BYTES:
        raise BatchError(
            f"the batch file is {_size(len(data))}; Groq's Batch API takes at most"
            f" {_size(MAX_BYTES)} per file: split the prompts into several batches"
        )
    return data


def _size(count: int) -> str:
    mega = 1024 * 1024
    return f"{count / mega:,.0f} MB" if count >= mega else f"{count:,} bytes"


def batch(
    prompt: str | Sequence[str],
    *,
    repeat: int = 1,
    client: Any = None,
    namespace: Mapping[str, Any] | None = None,
    schema: object | None = None,
    checks: object = None,
    columns: object = None,
    completion_window: str = "24h",
    **options: Any,
) -> BatchJob:
    """Send a sweep (the same arguments as :func:`groq_magic.sweep`) as one Batch API job.

    ``completion_window`` is Groq's (``24h`` up to ``7d``). ``checks`` and
    ``columns`` apply when :meth:`BatchJob.results` builds the table. Returns the
    :class:`BatchJob`; raises one :class:`BatchError` or ChatError line when
    nothing could be sent.
    """
    resolved = resolve_checks(checks, reserved=(*TABLE_COLUMNS, "prompt"))
    plan = plan_sweep(
        prompt,
        repeat=repeat,
        client=client,
        namespace=namespace,
        schema=schema,
        columns=columns,
        **options,
    )
    data = _jsonl(plan.specs)
    sync = plan.session.backend.client()
    try:
        uploaded = sync.files.create(file=("groq_magic_batch.jsonl", data), purpose="batch")
        created = sync.batches.create(
            input_file_id=uploaded.id,
            completion_window=completion_window,
            metadata={"created_by": "groq_magic", "prompt_column": "yes" if plan.many else "no"},
        )
    except NotFoundError as exc:
        raise _not_found(exc, "the batch could not be created") from None
    store = _store(plan.session)
    if store is not None:
        models = sorted({s.model for s in plan.specs})
        store.record_batch(
            created.id,
            str(sync.base_url),
            {"rows": len(plan.specs), "models": models, "input_file_id": uploaded.id},
        )
    extra = {s.index: dict(s.columns) for s in plan.specs if s.columns}
    return BatchJob(created.id, sync, created, resolved, list(plan.columns), extra, plan.session)


def _session(client: Any) -> GroqSession:
    from groq_magic.runs.sweep import _resolve

    session, _ = _resolve(client)
    return session


def batch_job(job_id: str, *, client: Any = None, checks: object = None) -> BatchJob:
    """The Batch API job ``job_id`` (from :func:`batch_jobs`, or printed by :func:`batch`)."""
    session = _session(client)
    sync = session.backend.client()
    resolved = resolve_checks(checks, reserved=(*TABLE_COLUMNS, "prompt"))
    job = BatchJob(job_id, sync, None, resolved, session=session)
    job.refresh()
    return job


def batch_jobs(n: int = 10, *, client: Any = None) -> Any:
    """The ``n`` newest batch jobs this store knows (a DataFrame, or a list without pandas)."""
    store = _store(_session(client))
    rows = []
    for job in store.recent_batches(n) if store is not None else []:
        meta = job.get("metadata") or {}
        rows.append(
            {
                "job_id": job["job_id"],
                "created": job["created"],
                "host": job["host"],
                "rows": meta.get("rows"),
                "models": ", ".join(meta.get("models") or []),
            }
        )
    try:
        import pandas as pd
    except ImportError:
        return rows
    return pd.DataFrame(rows, columns=["job_id", "created", "host", "rows", "models"])


@dataclass
class BatchJob:
    """A Batch API job: its status and progress, ``wait()``, ``cancel()``, ``results()``."""

    id: str
    client: Groq = field(repr=False)
    batch: Batch | None = field(default=None, repr=False)
    checks: list[Check] = field(default_factory=list, repr=False)
    columns: list[str] = field(default_factory=list, repr=False)
    extra: dict[int, dict[str, Any]] = field(default_factory=dict, repr=False)
    session: GroqSession | None = field(default=None, repr=False)

    # ---- the job's state ---------------------------------------------------------------

    def refresh(self) -> Batch:
        """Ask the server for the job's current state."""
        try:
            self.batch = self.client.batches.retrieve(self.id)
        except NotFoundError as exc:
            if exc.code == ENDPOINT_NOT_FOUND:
                raise _not_found(exc, "") from None
            raise BatchError(
                f"no batch {self.id!r} on {self.client.base_url}"
                " (groq_magic.batch_jobs() lists the recent ones)"
            ) from None
        return self.batch

    @property
    def status(self) -> str:
        """``validating``, ``in_progress``, ``finalizing``, ``completed``, ``failed``..."""
        return (self.batch.status if self.batch else None) or "unknown"

    def line(self) -> str:
        """The job as one line: id, status, requests done and failed."""
        parts = [f"batch {self.id}", self.status]
        if self.batch is not None:
            counts = self.batch.request_counts
            parts.append(f"{counts.completed + counts.failed:,} / {counts.total:,} done")
            if counts.failed:
                parts.append(f"{counts.failed:,} failed")
            if self.batch.errors is not None and self.batch.error_messages:
                parts.append(one_line(self.batch.error_messages[0], 120))
        return " · ".join(parts)

    def __repr__(self) -> str:
        return f"<BatchJob {self.line()}>"

    def _repr_markdown_(self) -> str:
        return f"**{self.line()}**" + (
            "" if self.batch is None or self.batch.is_done else "  \n`.wait()` shows its progress"
        )

    # ---- acting on it ------------------------------------------------------------------

    def cancel(self) -> BatchJob:
        """Ask the server to stop the job; what already ran stays in :meth:`results`."""
        self.batch = self.client.batches.cancel(self.id)
        return self

    def wait(self, *, poll: float = POLL_SECONDS, progress: bool = True) -> BatchJob:
        """Poll until the job ends, with a progress bar; the stop button stops waiting only.

        The bar appears once the job is validated (its number of requests known).
        """
        from groq_magic.render import is_live_kernel
        from groq_magic.render.progress import Progress
        from groq_magic.runs.sweep import _shell

        live = is_live_kernel(_shell())
        bar: Progress | None = None
        try:
            batch = self.refresh()
            while True:
                total = batch.request_counts.total
                if progress and bar is None and (total or batch.is_done):
                    bar = Progress(total, live=live)
                if bar is not None:
                    self._show(bar, batch)
                if batch.is_done:
                    break
                time.sleep(poll)
                batch = self.refresh()
        except KeyboardInterrupt:
            note = f"stopped waiting; the batch goes on: groq_magic.batch_job({self.id!r})"
            if bar is not None:
                bar.close(note)
            else:
                print(note)
            return self
        if bar is not None:
            bar.close(batch.status)
        return self

    @staticmethod
    def _show(bar: Any, batch: Batch) -> None:
        counts = batch.request_counts
        done = counts.completed + counts.failed
        running = counts.total - done if batch.status == "in_progress" else 0
        bar.update(done=done, failed=counts.failed, running=running)
        bar.tick()

    # ---- the table ---------------------------------------------------------------------

    def results(self) -> Any:
        """The same table as :func:`groq_magic.sweep` gives, joined on ``custom_id``.

        A job still running is one line saying so (``.wait()`` first); a job whose
        input was rejected is one line with the reason. An expired or cancelled
        job gives every answer that finished, the rest marked ``interrupted``. A line
        of the output or error file that cannot be read (cut short, not an object, not
        a chat completion) makes its request's row an ``error`` that names the line;
        one that does not even name its request is one printed line, and the rows left
        without a result say so: every good answer is still in the table.
        """
        batch = self.refresh()
        if batch.status in _RUNNING:
            raise BatchError(f"{self.line()}: not finished yet; .wait() until it is")
        if batch.status == "failed":
            reasons = "; ".join(batch.error_messages) or "no reason given"
            raise BatchError(f"batch {self.id} failed: {one_line(reasons, 300)}")
        if batch.input_file_id is None:
            raise BatchError(f"batch {self.id} names no input file")
        requests = [json.loads(x) for x in self._file(batch.input_file_id).splitlines() if x]
        answers, lost = self._answers(batch)
        missing = f"no readable result ({'; '.join(lost)})" if lost else None
        rows = [self._row(r, answers.get(r["custom_id"]), self.status, missing) for r in requests]
        if lost:
            print(
                f"batch {self.id}: {'; '.join(lost)}; the rows without a result are marked"
                " error, every other answer is in the table"
            )
        if batch.status in ("expired", "cancelled"):
            missing = sum(row["status"] == "interrupted" for row in rows)
            print(
                f"batch {self.id} {batch.status}: {missing:,} of {len(rows):,} requests did not"
                " run (marked interrupted); every answer that finished is in the table"
            )
        many = (batch.metadata or {}).get("prompt_column") != "no"
        names = (["prompt"] if many else []) + self.columns + list(TABLE_COLUMNS)
        if not many:
            for row in rows:
                row.pop("prompt", None)
        if self.checks:
            names += check_columns(self.checks)
        return with_check_summary(table_from_rows(rows, names), self.checks)

    def _file(self, file_id: str) -> str:
        return self.client.files.content(file_id).decode("utf-8", "replace")

    def _answers(self, batch: Batch) -> tuple[dict[str, BatchOutputLine], list[str]]:
        """The result lines of both files by ``custom_id``, and a note per file on the
        lines that could not be read and name no request (a line cut short, say)."""
        answers: dict[str, BatchOutputLine] = {}
        lost: list[str] = []
        for file_id, source in ((batch.output_file_id, "output"), (batch.error_file_id, "error")):
            if not file_id:
                continue
            unnamed: list[int] = []
            for answer in parse_batch_output(self._file(file_id), source=f"{source} file"):
                if answer.custom_id:
                    answers[answer.custom_id] = answer
                elif answer.line_number is not None:
                    unnamed.append(answer.line_number)
            if unnamed:
                numbers = ", ".join(str(n) for n in unnamed[:10])
                more = f" and {len(unnamed) - 10:,} more" if len(unnamed) > 10 else ""
                plural = "s" if len(unnamed) > 1 else ""
                lost.append(
                    f"line{plural} {numbers}{more} of the {source} file could not be read"
                    " and name no request"
                )
        return answers, lost

    def _row(
        self,
        request: Mapping[str, Any],
        answer: BatchOutputLine | None,
        status: str,
        missing: str | None = None,
    ) -> dict[str, Any]:
        body = request.get("body") or {}
        messages = body.get("messages") or [{}]
        index = int(str(request.get("custom_id", "row-0")).rpartition("-")[2] or 0)
        row: dict[str, Any] = {"prompt": messages[-1].get("content")}
        row.update(self.extra.get(index, {}))
        row.update(
            model=body.get("model"),
            temperature=body.get("temperature"),
            top_p=body.get("top_p"),
            max_tokens=body.get("max_completion_tokens", body.get("max_tokens")),
            seed=body.get("seed"),
            text="",
            time_to_first_token=None,
            tokens_per_second=None,
            prompt_tokens=None,
            completion_tokens=None,
            finish_reason=None,
            total_time=None,
            cost=None,
            status="error",
            error=None,
        )
        result = None
        completion = answer.completion if answer is not None else None
        if completion is not None:
            result = self._result(body, completion)
            usage = result.usage or {}
            row.update(
                model=result.model or row["model"],
                text=result.text,
                prompt_tokens=usage.get("prompt_tokens"),
                completion_tokens=usage.get("completion_tokens"),
                finish_reason=result.finish_reason,
                total_time=usage.get("total_time"),
                cost=result.cost,
                status="complete",
            )
        elif answer is not None and not _never_ran(answer):
            row["error"] = redact(answer.error_message or "") or None
        elif answer is not None:
            row["status"] = "interrupted"
            row["error"] = redact(answer.error_message or "") or None
        elif missing is not None:
            row["error"] = missing  # its line may be one that could not be read
        else:
            row["status"] = "interrupted"
            row["error"] = f"not run: the batch was {status}"
        if self.checks:
            row.update(apply_checks(self.checks, result, row))
        return row

    def _result(self, body: Mapping[str, Any], completion: Any) -> ChatResult:
        choice = completion.choices[0] if completion.choices else None
        message = choice.message if choice is not None else None
        usage = completion.usage.model_dump(exclude_none=True) if completion.usage else {}
        model = completion.model or str(body.get("model"))
        log = getattr(self.session, "log", None) if self.session is not None else None
        price = log.cost(model, usage) if log is not None and usage else None
        return ChatResult(
            # An answer read from the output file is masked like a streamed one.
            redact((message.content if message is not None else None) or ""),
            model=model,
            usage=usage,
            finish_reason=choice.finish_reason if choice is not None else None,
            request=body,
            json_mode="response_format" in body,
            cost=price * BATCH_DISCOUNT if price is not None else None,
        )


def _never_ran(answer: BatchOutputLine) -> bool:
    """An error line for a request the batch never ran (its window expired)."""
    return answer.response is None and answer.error is not None and not answer.unreadable
