"""One answer as one table row: the same builder for compares, sweeps, batches and evaluations.

A run's row has the knobs that are table columns (``Knob.column``: model, temperature,
top_p, max_tokens, seed), read from the options it was asked with, then what came of it
(:data:`RESULT_COLUMNS`), read from its :class:`~groq_magic.chat.ChatResult`. A run that
has no result (it failed, or was stopped before it answered) still has a row: its
options, the text it had shown, its status and error. Nothing else builds a row, so a
sweep's table and a batch's are the same table.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from groq_magic.knobs import Knob, column_names

if TYPE_CHECKING:
    from groq_magic.chat.options import OptionsBase
    from groq_magic.chat.result import ChatResult

__all__ = ["RESULT_COLUMNS", "table_columns", "table_row"]

RESULT_COLUMNS = (
    "text",
    "time_to_first_token",
    "tokens_per_second",
    "prompt_tokens",
    "completion_tokens",
    "finish_reason",
    "total_time",
    "cost",
    "status",
    "error",
)
"""What a run's row says of its answer, after the knob columns.

``cost`` is USD by the price table (0 for the local model or a replay), None when the
model's price is unknown or the run failed."""


def table_columns(table: Mapping[str, Knob] | None = None) -> tuple[str, ...]:
    """The columns of a run's row: the knob columns of ``table``, then :data:`RESULT_COLUMNS`."""
    return (*column_names(table), *RESULT_COLUMNS)


def table_row(
    options: OptionsBase,
    *,
    model: str | None,
    result: ChatResult | None = None,
    text: str = "",
    status: str = "error",
    error: str | None = None,
) -> dict[str, Any]:
    """The row of one run asked with ``options``: from ``result`` when it has one, else
    from what is known (``text`` shown so far, ``status``, ``error``)."""
    row: dict[str, Any] = {name: getattr(options, name) for name in column_names(options.knobs)}
    row["model"] = (result.model if result is not None else None) or model
    if result is None:
        row.update(dict.fromkeys(RESULT_COLUMNS), text=text, status=status, error=error)
        return row
    usage, timings = result.usage_dict, result.timings
    row.update(
        text=result.text,
        time_to_first_token=timings.ttft,
        tokens_per_second=timings.tokens_per_second,
        prompt_tokens=usage.get("prompt_tokens"),
        completion_tokens=usage.get("completion_tokens"),
        finish_reason=result.finish_reason,
        total_time=timings.total,
        cost=result.cost,
        status=result.status,
        error=result.error,
    )
    return row
