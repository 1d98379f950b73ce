"""Sending a batch: every row prepared on the one road, one JSONL file, one job, one record."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from groq_magic._files import size_text
from groq_magic._text import one_line
from groq_magic.batching._table import BatchTable
from groq_magic.chat.errors import ChatError
from groq_magic.checks import resolve_checks
from groq_magic.client import ENDPOINT_NOT_FOUND, NotFoundError
from groq_magic.sweeps.runner import TABLE_COLUMNS, RunSpec
from groq_magic.sweeps.sweep import plan_sweep

if TYPE_CHECKING:
    from groq_magic.batching._job import BatchJob
    from groq_magic.session import GroqSession
    from groq_magic.store import Store

__all__ = ["BATCH_DISCOUNT", "MAX_BYTES", "MAX_LINES", "BatchError", "batch"]

MAX_LINES = 50_000
"""Groq's limit on the lines of one batch input file."""

MAX_BYTES = 200 * 1024 * 1024
"""Groq's limit on the size of one batch input file (200 MB)."""

BATCH_DISCOUNT = 0.5
"""Batch requests cost half the interactive price (the price table's ``batch_discount``)."""

_STREAM_FIELDS = ("stream", "stream_options")
RESERVED = (*TABLE_COLUMNS, "prompt")
"""Names a check's column cannot take: the table's own columns."""


class BatchError(ChatError, RuntimeError):
    """A batch cannot be sent, found or read; the message is one line."""


def not_found(exc: NotFoundError, what: str) -> BatchError:
    """The one line for a 404: no Batch API at all, or no such thing."""
    if exc.code == ENDPOINT_NOT_FOUND:
        return BatchError(f"batch needs Groq's Batch API: {exc.message}")
    return BatchError(f"{what}: {one_line(exc.message, 200)}")


def session_store(session: GroqSession) -> Store | None:
    """The session's exchange store, when it has one that is on."""
    store = session.log.store
    return store if store.enabled else None


def _jsonl(specs: Sequence[RunSpec]) -> tuple[bytes, Any]:
    """The input file of ``specs``, and the schema their answers are asked to follow."""
    lines = []
    schema: Any = None
    for spec in specs:
        prep = spec.prepare()
        if prep.toolbox is not None:
            raise BatchError("batch sends one request per row: --tools needs a sweep, not a batch")
        if schema is None and prep.schema is not None:
            schema = prep.schema
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
            f"the batch file is {size_text(len(data))}; Groq's Batch API takes at most"
            f" {size_text(MAX_BYTES)} per file: split the prompts into several batches"
        )
    return data, schema


def _sent_schema(schema: Any) -> Any:
    """The JSON schema of ``schema`` as it went in the requests (what a new process
    validates with), or None."""
    if schema is None:
        return None
    from groq_magic.chat.schema import schema_response_format

    response_format, _ = schema_response_format(schema, name="schema", strict=False)
    return (response_format.get("json_schema") or {}).get("schema")


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
    ``columns`` apply when :meth:`BatchJob.results` builds the table; the table's
    definition is kept in the exchange store with the job. Returns the
    :class:`BatchJob`; raises one :class:`BatchError` or ChatError line when nothing
    could be sent.
    """
    from groq_magic.batching._job import BatchJob

    resolved = resolve_checks(checks, reserved=RESERVED)
    # A batch answer arrives whole: its turns are not streamed.
    options.setdefault("stream", False)
    plan = plan_sweep(
        prompt,
        repeat=repeat,
        client=client,
        namespace=namespace,
        schema=schema,
        columns=columns,
        **options,
    )
    data, asked_schema = _jsonl(plan.specs)
    table = BatchTable.of_specs(
        plan.specs,
        many=plan.many,
        columns=plan.columns,
        schema=asked_schema,
        checks=_named(checks),
    )
    sync = plan.session.backend.client()
    try:
        uploaded = sync.files.create(file=("groq_magic_batch.jsonl", data), purpose="batch")
        created = sync.batches.create(
            input_file_id=uploaded.id,
            completion_window=completion_window,
            metadata={"created_by": "groq_magic", "prompt_column": "yes" if plan.many else "no"},
        )
    except NotFoundError as exc:
        raise not_found(exc, "the batch could not be created") from None
    _keep(plan.session, created.id, str(sync.base_url), uploaded.id, table)
    return BatchJob(created.id, sync, created, resolved, table, plan.session)


def _named(checks: object) -> list[str]:
    """The checks given by name (what the store can keep; a function it cannot)."""
    if isinstance(checks, str):
        return [checks]
    if isinstance(checks, list | tuple):
        return [c for c in checks if isinstance(c, str)]
    return []


def _keep(session: GroqSession, job_id: str, url: str, file_id: str, table: BatchTable) -> None:
    """Keep the job and its table's definition in the exchange store (when it is on)."""
    store = session_store(session)
    if store is None:
        return
    stored = table.metadata()
    if table.schema is not None:
        stored["schema"] = _sent_schema(table.schema)
    models = sorted({row.model for row in table.rows})
    metadata = {"rows": len(table.rows), "models": models, "input_file_id": file_id}
    store.record_batch(job_id, url, {**metadata, "table": stored})
