"""``groq_magic.diff(a, b)``: what changed between two runs over the same dataset.

    groq_magic.diff(before, after)     # runs, or their ids from groq_magic.runs()

The rows of the two runs are lined up by case and by the options that tell rows
apart within either run (the model when both compare models, the temperature
when one sweeps it...); options that are the same throughout each run are not
part of the key, so a run on one model lines up with a run on another. For each
pair, every check both runs have is compared by its own pass rule: a row whose
outcome went pass -> fail is a regression, fail -> pass a fix (a row not
checked in one of the runs, its answer failed, is neither). The result has one
row per changed pair, regressions first: the case and its columns, the options,
``change`` (``regressed``, ``fixed`` or ``mixed``), which checks regressed and
which were fixed, and the two answers side by side (``text_a``, ``text_b``).

Two runs over different data (their fingerprints differ), or with no check in
common, are one line.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from groq_magic.checks import Check
from groq_magic.evals.dataset import EvalError
from groq_magic.evals.run import EvalRun, row_dicts
from groq_magic.evals.stored import load_run
from groq_magic.knobs import GRID_FIELDS

__all__ = ["OPTION_COLUMNS", "diff"]

OPTION_COLUMNS = GRID_FIELDS
"""The option columns rows may differ by (the ones a sweep varies, from the knob table)."""

_ORDER = {"regressed": 0, "mixed": 1, "fixed": 2}


def _run(value: EvalRun | int | str, client: Any) -> EvalRun:
    return value if isinstance(value, EvalRun) else load_run(value, client=client)


def _label(run: EvalRun) -> str:
    return f"run {run.id}" if run.id is not None else f"run {run.name!r}"


def _same_data(a: EvalRun, b: EvalRun) -> None:
    if a.dataset.get("fingerprint") == b.dataset.get("fingerprint"):
        return

    def shape(run: EvalRun) -> str:
        columns = ", ".join(run.dataset.get("columns") or [])
        return f"{_label(run)} has {run.dataset.get('cases', '?')} cases ({columns})"

    raise EvalError(f"diff needs two runs over the same dataset: {shape(a)}, {shape(b)}")


def _varying(rows: Sequence[Mapping[str, Any]]) -> set[str]:
    return {c for c in OPTION_COLUMNS if len({_key(r.get(c)) for r in rows}) > 1}


def _key(value: object) -> object:
    return None if value is None or (isinstance(value, float) and value != value) else value


def _change(
    row_a: Mapping[str, Any], row_b: Mapping[str, Any], pairs: Sequence[tuple[Check, Check]]
) -> tuple[list[str], list[str]]:
    regressed, fixed = [], []
    for check_a, check_b in pairs:
        before, after = (
            check_a.passes(row_a.get(check_a.name)),
            check_b.passes(row_b.get(check_b.name)),
        )
        if before is True and after is False:
            regressed.append(check_a.name)
        elif before is False and after is True:
            fixed.append(check_a.name)
    return regressed, fixed


def diff(a: EvalRun | int | str, b: EvalRun | int | str, *, client: Any = None) -> Any:
    """The rows whose check outcomes changed from run ``a`` to run ``b``, regressions first.

    ``a`` and ``b`` are :class:`EvalRun` objects or stored run ids. A DataFrame (a list
    of dicts without pandas); ``.attrs["summary"]`` says how many regressed and were fixed.
    """
    run_a, run_b = _run(a, client), _run(b, client)
    _same_data(run_a, run_b)
    by_name = {c.name: c for c in run_b.checks}
    pairs = [(c, by_name[c.name]) for c in run_a.checks if c.name in by_name]
    if not pairs:
        raise EvalError(
            f"{_label(run_a)} and {_label(run_b)} share no check to compare"
            f" ({', '.join(c.name for c in run_a.checks) or 'none'};"
            f" {', '.join(by_name) or 'none'})"
        )
    rows_a, rows_b = list(row_dicts(run_a.table)), list(row_dicts(run_b.table))
    keys = sorted(_varying(rows_a) | _varying(rows_b), key=OPTION_COLUMNS.index)

    def key(row: Mapping[str, Any]) -> tuple[object, ...]:
        return (_key(row.get("case")), *(_key(row.get(k)) for k in keys))

    partner = {key(row): row for row in rows_b}
    data_columns = run_a.data_columns()
    changed: list[dict[str, Any]] = []
    compared = 0
    for row_a in rows_a:
        row_b = partner.get(key(row_a))
        if row_b is None:
            continue
        compared += 1
        regressed, fixed = _change(row_a, row_b, pairs)
        if not regressed and not fixed:
            continue
        kind = "mixed" if regressed and fixed else "regressed" if regressed else "fixed"
        changed.append(
            {
                "case": row_a.get("case"),
                **{c: row_a.get(c) for c in data_columns},
                **{k: row_a.get(k) for k in keys},
                "change": kind,
                "regressed": ", ".join(regressed),
                "fixed": ", ".join(fixed),
                "text_a": row_a.get("text"),
                "text_b": row_b.get("text"),
            }
        )
    changed.sort(key=lambda row: _ORDER[row["change"]])  # stable: case order within each
    from groq_magic.sweeps.runner import table_from_rows

    names = ["case", *data_columns, *keys, "change", "regressed", "fixed", "text_a", "text_b"]
    table = table_from_rows(changed, names)
    regressions = sum(row["change"] != "fixed" for row in changed)
    summary = (
        f"{_label(run_a)} -> {_label(run_b)}: {regressions} regressed,"
        f" {len(changed) - regressions} fixed, of {compared} rows compared"
    )
    if hasattr(table, "attrs"):
        table.attrs["summary"] = summary
    return table
