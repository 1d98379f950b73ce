"""A Batch API job: its state, waiting for it, and its table, built like a sweep's."""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from groq_magic._keys import redact
from groq_magic._text import one_line
from groq_magic.batching._send import RESERVED, BatchError, not_found, session_store
from groq_magic.batching._table import BatchTable
from groq_magic.chat.engine import TurnError, conclude_completion
from groq_magic.chat.errors import ChatError
from groq_magic.checks import Check, resolve_checks
from groq_magic.client import (
    ENDPOINT_NOT_FOUND,
    Batch,
    BatchOutputLine,
    Groq,
    NotFoundError,
    parse_batch_output,
)
from groq_magic.sweeps.runner import RunRecord, summary_table
from groq_magic.sweeps.sweep import with_check_summary

if TYPE_CHECKING:
    from groq_magic.session import GroqSession
    from groq_magic.store import StoreLog
    from groq_magic.sweeps.runner import RunSpec

__all__ = ["POLL_SECONDS", "BatchJob", "batch_job", "batch_jobs"]

POLL_SECONDS = 5.0
"""How often :meth:`BatchJob.wait` asks for the batch's status."""

_RUNNING = ("validating", "in_progress", "finalizing", "cancelling")


def batch_job(job_id: str, *, client: Any = None, checks: object = None) -> BatchJob:
    """The Batch API job ``job_id`` (from :func:`batch_jobs`, or printed by :func:`batch`).

    Its table's definition (rows, ``columns=``, schema, named checks) comes back from the
    exchange store, so its results are the table the job's own process would give;
    ``checks`` (a function cannot be stored) replace the named ones.
    """
    from groq_magic.session import find_session

    session = find_session(client)
    sync = session.backend.client()
    store = session_store(session)
    stored = store.batch_metadata(job_id) if store is not None else None
    table = BatchTable.from_metadata((stored or {}).get("table"))
    named = table.checks if table is not None and checks is None else checks
    resolved = resolve_checks(named, reserved=RESERVED)
    job = BatchJob(job_id, sync, None, resolved, table, session)
    job.refresh()
    return job


def batch_jobs(n: int = 10, *, client: Any = None) -> Any:
    """The ``n`` newest batch jobs this store knows (a DataFrame, or a list without pandas)."""
    from groq_magic.session import find_session

    store = session_store(find_session(client))
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
    table: BatchTable | None = field(default=None, repr=False)
    session: GroqSession | None = field(default=None, repr=False)

    # ---- the job's state ---------------------------------------------------------------

    def refresh(self) -> Batch:
        """Ask the server for the job's current state."""
        try:
            self.batch = self.client.batches.retrieve(self.id)
        except NotFoundError as exc:
            if exc.code == ENDPOINT_NOT_FOUND:
                raise not_found(exc, "") from None
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
        from groq_magic.render import in_live_kernel
        from groq_magic.render.progress import Progress

        bar: Progress | None = None
        try:
            batch = self.refresh()
            while True:
                total = batch.request_counts.total
                if progress and bar is None and (total or batch.is_done):
                    bar = Progress(total, live=in_live_kernel())
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
        """The same table as :func:`groq_magic.sweep` gives, row by row built the same way.

        A job still running is one line saying so (``.wait()`` first); a job whose
        input was rejected is one line with the reason. An expired or cancelled
        job gives every answer that finished, the rest marked ``interrupted``. A line
        of the output or error file that cannot be read (cut short, not an object, not
        a chat completion) makes its request's row an ``error`` that names the line;
        one that does not even name its request is one printed line, and the rows left
        without a result say so: every good answer is still in the table.
        """
        batch = self._finished()
        assert batch.input_file_id is not None  # _finished checked it
        requests = [json.loads(x) for x in self._file(batch.input_file_id).splitlines() if x]
        table = self.table or BatchTable.from_requests(requests)
        answers, lost = self._answers(batch)
        missing = f"no readable result ({'; '.join(lost)})" if lost else None
        session = self._session()
        log = session.log.for_batch()
        records = []
        for request in requests:
            answer = answers.get(request.get("custom_id"))
            record = self._record(request, answer, table, session, log)
            if answer is None and missing is not None:
                # Its line may be one that could not be read.
                record.status, record.error = "error", missing
            record.settle(checks=self.checks)
            records.append(record)
        self._say_what_is_missing(batch, records, lost)
        rows = summary_table(
            records, with_prompt=table.many, columns=table.columns, checks=self.checks
        )
        return with_check_summary(rows, self.checks)

    def _finished(self) -> Batch:
        """The job's state, once it has ended with an input file (else one line)."""
        batch = self.refresh()
        if batch.status in _RUNNING:
            raise BatchError(f"{self.line()}: not finished yet; .wait() until it is")
        if batch.status == "failed":
            reasons = "; ".join(batch.error_messages) or "no reason given"
            raise BatchError(f"batch {self.id} failed: {one_line(reasons, 300)}")
        if batch.input_file_id is None:
            raise BatchError(f"batch {self.id} names no input file")
        return batch

    def _session(self) -> GroqSession:
        if self.session is None:
            from groq_magic.session import find_session

            self.session = find_session(None)
        return self.session

    def _say_what_is_missing(self, batch: Batch, records: list[RunRecord], lost: list[str]) -> None:
        if lost:
            print(
                f"batch {self.id}: {'; '.join(lost)}; the rows without a result are marked"
                " error, every other answer is in the table"
            )
        if batch.status in ("expired", "cancelled"):
            missing = sum(record.status == "interrupted" for record in records)
            print(
                f"batch {self.id} {batch.status}: {missing:,} of {len(records):,} requests did"
                " not run (marked interrupted); every answer that finished is in the table"
            )

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

    def _record(
        self,
        request: Mapping[str, Any],
        answer: BatchOutputLine | None,
        table: BatchTable,
        session: GroqSession,
        log: StoreLog,
    ) -> RunRecord:
        """One request's run, concluded like a sweep's (see :func:`_conclude`)."""
        body = request.get("body") or {}
        index = int(str(request.get("custom_id", "row-0")).rpartition("-")[2] or 0)
        message = (body.get("messages") or [{}])[-1]
        spec = table.spec(index, message if isinstance(message, Mapping) else {}, session)
        if spec is None:
            spec = BatchTable.from_requests([request]).spec(0, message, session)
            assert spec is not None
        record = RunRecord(spec, model=spec.model)
        completion = answer.completion if answer is not None else None
        if completion is not None:
            _conclude(record, spec, completion, log)
        elif answer is not None:
            never_ran = answer.response is None and answer.error is not None
            record.status = "interrupted" if never_ran and not answer.unreadable else "error"
            record.error = redact(answer.error_message or "") or None
        else:
            record.status = "interrupted"
            record.error = f"not run: the batch was {self.status}"
        return record


def _conclude(record: RunRecord, spec: RunSpec, completion: Any, log: StoreLog) -> None:
    """``record`` with the answer ``completion``, concluded by the engine as a sent turn's
    answer is (key masking, JSON and schema checks, the batch price, the store)."""
    try:
        prep = dataclasses.replace(spec.prepare(), log=log)
        result = conclude_completion(prep, completion)
    except (TurnError, ChatError) as exc:
        record.status, record.error = "error", one_line(exc)
        return
    record.result, record.text = result, result.text
    record.status, record.model, record.error = (
        result.status,
        result.model or spec.model,
        result.error,
    )
