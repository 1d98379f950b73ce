"""What a batch's table is made of, kept with the job so any process can rebuild it.

A sweep's table comes from its plan: each run's prompt, options and ``columns=``
values, and the schema its answers are checked against. A batch runs later, maybe
after a restart, so :class:`BatchTable` keeps exactly that (options stored once per
distinct set, rows pointing at them) in the exchange store's record of the job, as
JSON. :meth:`BatchTable.spec` gives each row back as a :class:`~groq_magic.sweeps.runner.RunSpec`
whose turn is prepared again on the one road from the row's user message as it was
sent (read from the batch's input file), so its answer is concluded like a sweep's.

A job created without a store, or by an older groq_magic, has no stored table: one is
read off the input file's request bodies (each knob from its wire field), without the
``columns=`` values or a schema it cannot know.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from groq_magic.chat.conversation import Conversation
from groq_magic.chat.options import ChatOptions
from groq_magic.chat.prepare import without_code
from groq_magic.sweeps.runner import RunSpec

if TYPE_CHECKING:
    from groq_magic.chat.prepare import PreparedTurn
    from groq_magic.session import GroqSession

__all__ = ["BatchRow", "BatchTable"]

FORMAT = 1
"""The version of the stored table (a newer one is not read)."""


@dataclass(frozen=True)
class BatchRow:
    """One request of a batch: its prompt as the table shows it, its model, which of the
    table's option sets it was asked with, and its ``columns=`` values."""

    prompt: str
    model: str
    options: int
    columns: dict[str, Any] = field(default_factory=dict)


@dataclass
class BatchTable:
    """A batch's table definition (see the module docstring).

    ``schema`` is what the answers are validated against: the object the sweep was
    given (a pydantic model) while the job's own process lives, else the JSON schema
    that was sent. ``checks`` are the checks named by text (a function cannot be kept;
    pass it again to ``batch_job``).
    """

    many: bool
    columns: list[str]
    options: list[dict[str, Any]]
    rows: list[BatchRow]
    schema: Any = None
    checks: list[str] = field(default_factory=list)

    @classmethod
    def of_specs(
        cls,
        specs: Sequence[RunSpec],
        *,
        many: bool,
        columns: Sequence[str],
        schema: Any,
        checks: Sequence[str],
    ) -> BatchTable:
        """The table of a planned batch (its runs, as the sweep's plan made them)."""
        options: list[dict[str, Any]] = []
        index: dict[str, int] = {}
        rows = []
        for spec in specs:
            snapshot = spec.options.snapshot()
            key = json.dumps(snapshot, sort_keys=True, default=str)
            if key not in index:
                index[key] = len(options)
                options.append(snapshot)
            values = {name: _plain(value) for name, value in (spec.columns or {}).items()}
            rows.append(BatchRow(spec.prompt, spec.model, index[key], values))
        return cls(many, list(columns), options, rows, schema, list(checks))

    @classmethod
    def from_requests(cls, requests: Sequence[Mapping[str, Any]]) -> BatchTable:
        """A table read off the input file alone (a job with no stored table)."""
        wire = {k.param: k.name for k in ChatOptions.knobs.values() if k.param}
        options: list[dict[str, Any]] = []
        rows = []
        for request in requests:
            body = request.get("body") or {}
            snapshot = {wire[f]: v for f, v in body.items() if f in wire}
            snapshot["stream"] = False
            options.append(snapshot)
            message = (body.get("messages") or [{}])[-1]
            text = message.get("content") if isinstance(message, Mapping) else None
            prompt = text if isinstance(text, str) else str(text or "")
            rows.append(BatchRow(prompt, str(body.get("model") or ""), len(options) - 1))
        return cls(True, [], options, rows)

    def metadata(self) -> dict[str, Any]:
        """The table as JSON-ready data, for the store's record of the job."""
        schema = self.schema if isinstance(self.schema, Mapping) else None
        return {
            "format": FORMAT,
            "many": self.many,
            "columns": self.columns,
            "options": self.options,
            "rows": [[r.prompt, r.model, r.options, r.columns] for r in self.rows],
            "schema": schema,
            "checks": self.checks,
        }

    @classmethod
    def from_metadata(cls, data: object) -> BatchTable | None:
        """The table stored with a job, or None when there is none (or it cannot be read)."""
        if not isinstance(data, Mapping) or data.get("format") != FORMAT:
            return None
        try:
            rows = [BatchRow(str(p), str(m), int(o), dict(c)) for p, m, o, c in data["rows"]]
            return cls(
                bool(data["many"]),
                [str(c) for c in data["columns"]],
                [dict(o) for o in data["options"]],
                rows,
                data.get("schema"),
                [str(c) for c in data.get("checks") or []],
            )
        except (KeyError, TypeError, ValueError):
            return None

    def spec(
        self, index: int, user_message: Mapping[str, Any], session: GroqSession
    ) -> RunSpec | None:
        """Row ``index`` as a run whose turn is prepared again from ``user_message`` (the
        request's as sent), or None when the table has no such row."""
        if not 0 <= index < len(self.rows):
            return None
        row = self.rows[index]
        # Read from the store in a new process: data, so nothing in it may start a tool or
        # an MCP server (a batch sends no tools anyway).
        options = ChatOptions.from_snapshot(without_code(self.options[row.options]))
        scratch = Conversation(name="batch")

        def prepare() -> PreparedTurn:
            return session.prepare(
                options,
                row.prompt,
                None,
                conversation=scratch,
                rendered=True,
                message=user_message,
                schema=self.schema,
            )

        return RunSpec(index, row.prompt, row.model, options, prepare, row.columns or None)


def _plain(value: Any) -> Any:
    """A column value as JSON keeps it (numpy and pandas scalars become Python's)."""
    item = getattr(value, "item", None)
    if callable(item) and not isinstance(value, str | bytes):
        try:
            return item()
        except (TypeError, ValueError):
            return str(value)
    return value
