"""The cases of an evaluation: a DataFrame, a list of dicts, a dict of columns, or a file.

:func:`load_dataset` turns what a user passes to ``groq_magic.evaluate`` into a
:class:`Dataset` (column names in order, one plain dict per case) or raises one
:class:`EvalError` line: an empty dataset, a path that is missing or of a kind we
do not read, a CSV or JSONL line that does not parse. Files are read with the
standard library (CSV values stay strings, as typed), so pandas is not needed.

:func:`fill_template` fills the prompt template once per case by the same rules
as a cell (:mod:`groq_magic.chat.template`): ``{column}`` (and ``{column.attr}``,
``{column[0]}``) from the case, then from the notebook's names when a namespace
is given. A reference that names neither is one line naming the columns there
are, before anything is sent.

Nothing here imports IPython, pandas or the UI.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import re
from collections import ChainMap
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from groq_magic._text import one_line
from groq_magic.chat.errors import ChatError, TemplateError
from groq_magic.chat.template import find_references, render_prompt

__all__ = [
    "Dataset",
    "EvalError",
    "check_references",
    "fill_template",
    "load_dataset",
    "referenced_names",
]

_ROOT = re.compile(r"[^\W\d]\w*")
_READERS = (".csv", ".jsonl", ".ndjson", ".json")


class EvalError(ChatError, ValueError):
    """An evaluation cannot run (bad data, template, judge answer or run id); one line."""


@dataclass(frozen=True)
class Dataset:
    """The cases: ``columns`` in order and one dict per case (missing values are None)."""

    columns: list[str]
    rows: list[dict[str, Any]]

    def __len__(self) -> int:
        return len(self.rows)

    def column_list(self) -> str:
        """``question, expected`` (for messages)."""
        return ", ".join(self.columns) or "(none)"

    def fingerprint(self) -> str:
        """A short hash of the columns and every value: two runs with the same one ran
        over the same data (what ``diff`` requires)."""
        digest = hashlib.sha256()
        digest.update(json.dumps(self.columns).encode())
        for row in self.rows:
            values = [row.get(c) for c in self.columns]
            digest.update(json.dumps(values, default=str, sort_keys=True).encode())
        return digest.hexdigest()[:16]


def _plain(value: object) -> object:
    """numpy and pandas scalars as Python's own (``.item()``), so they store as JSON."""
    module = type(value).__module__
    if module.startswith(("numpy", "pandas")) and hasattr(value, "item"):
        try:
            return value.item()
        except (TypeError, ValueError):
            return value
    return value


def _from_records(records: Iterable[Mapping[str, Any]], what: str) -> Dataset:
    columns: dict[str, None] = {}
    rows: list[dict[str, Any]] = []
    for number, record in enumerate(records, 1):
        if not isinstance(record, Mapping):
            raise EvalError(
                f"{what}: case {number} is a {type(record).__name__}, not a dict of columns"
            )
        row = {str(k): _plain(v) for k, v in record.items()}
        columns.update(dict.fromkeys(row))
        rows.append(row)
    names = list(columns)
    # A case that lacks a column has None there, as a DataFrame would have NaN.
    return Dataset(names, [{c: row.get(c) for c in names} for row in rows])


def _from_columns(data: Mapping[Any, Any]) -> Dataset:
    lists = {str(k): list(v) for k, v in data.items()}
    sizes = {len(v) for v in lists.values()}
    if len(sizes) > 1:
        shown = ", ".join(f"{k} {len(v)}" for k, v in lists.items())
        raise EvalError(f"the dataset's columns have different lengths ({shown})")
    count = sizes.pop() if sizes else 0
    return _from_records(({k: v[i] for k, v in lists.items()} for i in range(count)), "data")


def _read_csv(path: Path) -> Dataset:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle, strict=True)  # a stray quote is an error, not data
        try:
            header = next(reader, None)
            if header is None:
                return Dataset([], [])
            rows = []
            for row in reader:
                if not row:
                    continue  # a blank line
                if len(row) != len(header):
                    raise EvalError(
                        f"{path}: line {reader.line_num} has {len(row)} fields, the header"
                        f" has {len(header)}: the CSV does not parse"
                    )
                rows.append(dict(zip(header, row, strict=True)))
        except csv.Error as exc:
            raise EvalError(
                f"{path}: line {reader.line_num}: the CSV does not parse: {exc}"
            ) from None
    return _from_records(rows, str(path))


def _read_jsonl(path: Path) -> Dataset:
    records = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise EvalError(
                    f"{path}: line {number} is not JSON ({exc.msg}): each line is one case"
                ) from None
    return _from_records(records, str(path))


def _read_json(path: Path) -> Dataset:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise EvalError(f"{path} is not JSON ({exc.msg} at line {exc.lineno})") from None
    if not isinstance(data, list):
        raise EvalError(f"{path} holds a {type(data).__name__}: a dataset file is a list of cases")
    return _from_records(data, str(path))


def _read_file(path: Path) -> Dataset:
    suffix = path.suffix.lower()
    if suffix not in _READERS:
        raise EvalError(
            f"{path}: a dataset file ends in .csv, .jsonl or .json (got {suffix or 'no suffix'})"
        )
    if not path.is_file():
        raise EvalError(f"{path}: no such file")
    try:
        if suffix == ".csv":
            return _read_csv(path)
        if suffix == ".json":
            return _read_json(path)
        return _read_jsonl(path)
    except UnicodeDecodeError:
        raise EvalError(f"{path} is not UTF-8 text") from None
    except OSError as exc:
        raise EvalError(f"{path} cannot be read: {exc.strerror or exc}") from None


def load_dataset(data: object) -> Dataset:
    """The cases of ``data``: a DataFrame, a list of dicts, a dict of columns, or a path.

    One :class:`EvalError` line when there is nothing to evaluate or it cannot be read.
    """
    if isinstance(data, str | os.PathLike):
        dataset = _read_file(Path(data).expanduser())
    elif isinstance(data, Mapping):
        dataset = _from_columns(data)
    elif callable(getattr(data, "to_dict", None)):
        frame: Any = data  # a DataFrame
        dataset = _from_records(frame.to_dict("records"), "the DataFrame")
    elif isinstance(data, Sequence) and not isinstance(data, bytes):
        dataset = _from_records(data, "data")
    else:
        raise EvalError(
            "data must be a DataFrame, a list of dicts, a dict of columns or a CSV/JSONL path"
            f" (got {type(data).__name__})"
        )
    if not dataset.rows:
        raise EvalError("the dataset is empty: there are no cases to evaluate")
    return dataset


def referenced_names(template: str) -> list[str]:
    """The names ``{name...}`` references in ``template`` start with, in order, once each."""
    names: dict[str, None] = {}
    for expression in find_references(template):
        match = _ROOT.match(expression)
        if match:
            names[match.group(0)] = None
    return list(names)


def check_references(
    template: str, dataset: Dataset, namespace: Mapping[str, Any] | None, what: str
) -> None:
    """One line naming the first ``{name}`` of ``template`` that neither a column nor (with
    a namespace) a notebook name fills."""
    for name in referenced_names(template):
        if name not in dataset.columns and (namespace is None or name not in namespace):
            raise EvalError(
                f"the {what} names {{{name}}}, but the data has no column {name!r}"
                f" (its columns: {dataset.column_list()})"
            )


def fill_template(
    template: str, dataset: Dataset, namespace: Mapping[str, Any] | None = None
) -> list[str]:
    """``template`` filled for each case (its columns first, then ``namespace``).

    Raises one :class:`EvalError` line, before anything is sent, for a reference no
    column fills, or one that cannot be filled for some case (``case 3: ...``).
    """
    if not template.strip():
        raise EvalError("the template is empty: write the prompt, with {column} for each case")
    check_references(template, dataset, namespace, "template")
    outer = dict(namespace or {})
    prompts = []
    for index, row in enumerate(dataset.rows):
        try:
            prompts.append(render_prompt(template, ChainMap(row, outer)))
        except TemplateError as exc:
            raise EvalError(f"case {index}: {one_line(exc)}") from None
    return prompts
