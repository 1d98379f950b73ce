"""``EvalRun``: one evaluation's table, pass rates, usage, and its place in the store.

What ``groq_magic.evaluate`` returns and ``groq_magic.load_run(id)`` brings back:

- ``.table``: one row per case x combination: ``case`` (the case's position in the
  data), the case's own columns, ``prompt``, the sweep table's columns (options,
  ``text``, usage, time, cost, status), then one column per check (a judge adds
  ``<name>_reason``) and ``check_errors``. A pandas DataFrame, or a list of dicts
  without pandas.
- ``.summary``: pass rate (and mean score) per model / parameter set and check
  (:func:`~groq_magic.checks.check_summary`); ``.failures``: the rows that failed a check.
- ``.id`` (None when the store is off), ``.name``, ``.created``, ``.usage`` (requests,
  tokens and cost of the answers and of each judge), ``.interrupted``.
- a rich display (:mod:`groq_magic.render.evalview`, loaded when shown): the summary, a
  chart of pass rates per model and check, and the failing rows first.

:meth:`EvalRun.stored` and :meth:`EvalRun.from_stored` are the run as the store
keeps it (:meth:`groq_magic.store.Store.record_run`): the listing fields, the
metadata needed to rebuild the checks, and the rows, written one at a time.
Nothing here imports IPython.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from groq_magic._text import cost_text
from groq_magic.checks import CHECK_ERRORS, Check, CheckOutcome, check_summary
from groq_magic.evals.grader import Judge
from groq_magic.sweeps.runner import TABLE_COLUMNS

__all__ = ["RESERVED_COLUMNS", "EvalRun", "data_column", "row_dicts", "rows_failing"]

RESERVED_COLUMNS = ("case", "prompt", "result", CHECK_ERRORS, *TABLE_COLUMNS)
"""The table's own columns: a data column of such a name is shown as ``data_<name>``."""


def data_column(name: str) -> str:
    """A data column's name in the table: its own, or ``data_<name>`` where the table has
    a column of that name already (``text``, ``model``...)."""
    return f"data_{name}" if name in RESERVED_COLUMNS else name


STORED_FORMAT = 1
"""The version of the metadata a stored run carries (for a future change of shape)."""


def row_dicts(table: Any) -> Iterator[dict[str, Any]]:
    """The rows of a table (a DataFrame, or a list of dicts), one new dict at a time."""
    columns = getattr(table, "columns", None)
    if columns is not None and hasattr(table, "itertuples"):
        names = [str(c) for c in columns]
        for values in table.itertuples(index=False, name=None):
            yield dict(zip(names, values, strict=True))
        return
    for row in table:
        yield dict(row)


def row_values(table: Any, columns: Sequence[str]) -> Iterator[Sequence[Any]]:
    """The rows of a table as values in the order of ``columns`` (the DataFrame's own, for
    a DataFrame: no copy of it is made), one row at a time."""
    if hasattr(table, "itertuples"):
        yield from table.itertuples(index=False, name=None)
        return
    for row in table:
        yield [row.get(c) for c in columns]


def rows_failing(rows: Sequence[Mapping[str, Any]], checks: Sequence[Check]) -> list[int]:
    """Positions of the rows where some check failed (not merely unchecked)."""
    return [
        i for i, row in enumerate(rows) if any(c.passes(row.get(c.name)) is False for c in checks)
    ]


def _stored_check(result: Any, row: Mapping[str, Any]) -> CheckOutcome:
    return CheckOutcome(None, None, "a stored run's check is not run again")


def _check_meta(item: Check) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": item.name, "threshold": item.threshold}
    if isinstance(item, Judge):
        meta.update(judge=True, rubric=item.rubric, model=item.model)
    return meta


def _check_from_meta(meta: Mapping[str, Any]) -> Check:
    name, threshold = str(meta["name"]), float(meta.get("threshold", 0.5))
    if meta.get("judge"):
        return Judge(name, _stored_check, threshold, str(meta.get("rubric", "")), meta.get("model"))
    return Check(name, _stored_check, threshold)


@dataclass
class EvalRun:
    """One evaluation (see the module docstring)."""

    table: Any
    checks: list[Check]
    name: str
    template: str
    created: datetime = field(default_factory=lambda: datetime.now(timezone.utc))
    id: int | None = None
    via: str = "sweep"
    dataset: dict[str, Any] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)
    usage: list[dict[str, Any]] = field(default_factory=list)
    interrupted: bool = False
    note: str | None = None

    # ---- what it holds ------------------------------------------------------------------

    @functools.cached_property
    def summary(self) -> Any:
        """Pass rate (and mean score) per model / parameter set and check."""
        return check_summary(self.table, self.checks)

    @property
    def rows(self) -> int:
        """How many rows the table has (cases x combinations)."""
        return len(self.table)

    @property
    def models(self) -> list[str]:
        """The models that answered, in order of first appearance."""
        seen: dict[str, None] = {}
        for row in row_dicts(self.table):
            if row.get("model") is not None:
                seen[str(row["model"])] = None
        return list(seen)

    def records(self) -> list[dict[str, Any]]:
        """The table's rows as new dicts."""
        return list(row_dicts(self.table))

    def summary_records(self) -> list[dict[str, Any]]:
        """The summary's rows as new dicts."""
        return list(row_dicts(self.summary))

    def failing_positions(self, rows: Sequence[Mapping[str, Any]] | None = None) -> list[int]:
        """Positions of the rows where some check failed (of ``rows``, else the table's)."""
        return rows_failing(self.records() if rows is None else rows, self.checks)

    @property
    def failures(self) -> Any:
        """The rows where some check failed, in table order (the same kind of table)."""
        failing = self.failing_positions()
        if hasattr(self.table, "iloc"):
            return self.table.iloc[failing]
        return [self.table[i] for i in failing]

    def data_columns(self) -> list[str]:
        """The case's own columns, as the table names them."""
        return [data_column(str(c)) for c in self.dataset.get("columns") or []]

    def pass_rates(self) -> dict[str, float | None]:
        """Each check's pass rate over the whole run (and ``all_passed``)."""
        if not self.checks:
            return {}
        overall = check_summary(self.table, self.checks, group_by=())
        first = next(row_dicts(overall), {})
        names = ["all_passed", *(c.name for c in self.checks)]
        return {n: _rate(first.get(n)) for n in names}

    def total_cost(self) -> tuple[float | None, int]:
        """USD for every request of the run (answers and judges), and how many had no price."""
        known = [u["cost"] for u in self.usage if u.get("cost") is not None]
        unpriced = sum(int(u.get("unpriced") or 0) for u in self.usage)
        return (sum(known) if known else None), unpriced

    # ---- showing it ---------------------------------------------------------------------

    def headline(self) -> str:
        """``run 3 'capitals' · 4 cases x 2 combinations · 8 rows · $0.0012``."""
        who = f"run {self.id}" if self.id is not None else "run (not stored)"
        cases = self.dataset.get("cases")
        parts = [f"{who} {self.name!r}"]
        if cases:
            parts.append(f"{cases} cases x {max(1, self.rows // cases)} combinations")
        parts.append(f"{self.rows} rows")
        tokens = sum(
            (u.get("prompt_tokens") or 0) + (u.get("completion_tokens") or 0) for u in self.usage
        )
        if tokens:
            parts.append(f"{tokens:,} tokens")
        cost, unpriced = self.total_cost()
        parts.append(cost_text(cost) + (f" (+ {unpriced} of unknown cost)" if unpriced else ""))
        if self.via == "batch":
            parts.append("via the Batch API")
        if self.interrupted:
            parts.append("interrupted")
        return " · ".join(parts)

    def __repr__(self) -> str:
        rates = ", ".join(f"{name} {_percent(rate)}" for name, rate in self.pass_rates().items())
        return f"<EvalRun {self.headline()}{' · ' + rates if rates else ''}>"

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        from groq_magic.render.evalview import run_bundle

        return run_bundle(self)

    # ---- the store ------------------------------------------------------------------------

    def stored(self) -> tuple[dict[str, Any], Iterator[Sequence[Any]]]:
        """The run as :meth:`~groq_magic.store.Store.record_run` takes it: fields and rows."""
        columns = (
            [str(c) for c in self.table.columns]
            if hasattr(self.table, "columns")
            else (list(self.table[0]) if self.table else [])
        )
        run = {
            "created": self.created.timestamp(),
            "name": self.name,
            "template": self.template,
            "models": self.models,
            "rows": self.rows,
            "pass_rates": self.pass_rates(),
            "metadata": {
                "format": STORED_FORMAT,
                "via": self.via,
                "checks": [_check_meta(c) for c in self.checks],
                "dataset": self.dataset,
                "options": self.options,
                "usage": self.usage,
                "interrupted": self.interrupted,
                "columns": columns,
            },
        }
        return run, row_values(self.table, columns)

    @classmethod
    def from_stored(cls, run: Mapping[str, Any], rows: Sequence[Sequence[Any]]) -> EvalRun:
        """A run as :meth:`~groq_magic.store.Store.run` gives it back."""
        from groq_magic.sweeps.runner import table_from_rows

        meta = run.get("metadata") or {}
        columns = [str(c) for c in meta.get("columns") or []]
        created = run.get("created")
        records = [dict(zip(columns, values, strict=True)) for values in rows]
        return cls(
            table=table_from_rows(records, columns),
            checks=[_check_from_meta(m) for m in meta.get("checks") or []],
            name=str(run.get("name") or ""),
            template=str(run.get("template") or ""),
            created=created if isinstance(created, datetime) else datetime.now(timezone.utc),
            id=run.get("id"),
            via=str(meta.get("via") or "sweep"),
            dataset=dict(meta.get("dataset") or {}),
            options=dict(meta.get("options") or {}),
            usage=list(meta.get("usage") or []),
            interrupted=bool(meta.get("interrupted")),
        )


def _rate(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
        return None  # None, or NaN from a DataFrame
    return float(value)


def _percent(rate: float | None) -> str:
    return "-" if rate is None else f"{rate:.0%}"
