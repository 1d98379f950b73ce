"""A notebook value described for a model: bounded text, whatever the value's size.

``--context NAME`` shows the model what ``NAME`` is. What it is matters more than
its ``repr``: a DataFrame's shape, columns, dtypes and null counts tell a model
more than a printed table, and a function's source more than its address. Each
description is built in time and memory that do not grow with the data:

- **DataFrame / Series**: shape, the index, each column's dtype and null count, the
  first rows as a Markdown table. Null counts cost time that grows with the rows
  (about 1 ms per million for a float, datetime, categorical or masked column,
  15 ms for a text or object one; a numpy integer or boolean column holds none),
  so past :data:`NULL_SCAN_BUDGET` they are counted on rows drawn at random
  (seeded: the same rows every run) and the block says they are estimates: the
  time stays flat however many rows (``bench/context_build.py``);
- **numpy arrays**: shape, dtype, NaN count (floats), the edges as numpy prints them;
- **functions, classes, modules**: the source (``inspect``; a class defined in the
  notebook is found in the cells that ran), else the signature and docstring;
- **generators and iterators**: never advanced (reading one would use it up);
- **str / bytes / containers**: the text itself, or a bounded ``reprlib`` view;
- **anything else**: its type and ``repr``, clipped; a ``repr`` that raises is a note.

Memory addresses (``at 0x7f3a...``) are masked, so the same object gives the same
text every run and Groq's prompt cache can reuse it. pandas and numpy are never
imported here: a value is recognised only when its library is already loaded.
"""

from __future__ import annotations

import ast
import inspect
import re
import reprlib
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "NULL_SCAN_BUDGET",
    "ROWS",
    "SAMPLE_ROWS",
    "Description",
    "describe",
    "mask_addresses",
]

ROWS = 5
"""Rows (or values) of a DataFrame, Series or sequence shown as a sample."""

SAMPLE_ROWS = 20_000
"""Rows drawn at random to estimate null counts past :data:`NULL_SCAN_BUDGET`."""

NULL_SCAN_BUDGET = 5_000_000
"""Row-cost units a DataFrame's null counts may take before sampling (about 5 ms): a float
column costs 1 a row, a text column :data:`_SLOW_COST`, an integer one nothing."""

_LISTED_COLUMNS = 40  # columns listed with dtype and nulls
_TABLE_COLUMNS = 12  # columns in the sample rows table
_CELL_CHARS = 40  # characters of one table cell
_SLOW_COST = 15  # a text/object column costs ~15x a float column to scan
_ARRAY_SCAN_LIMIT = 20_000_000  # elements of a float array counted for NaN
_FAST_PANDAS_DTYPES = frozenset(
    {
        "CategoricalDtype",
        "DatetimeTZDtype",
        "PeriodDtype",
        "BooleanDtype",
        *(f"{sign}Int{bits}Dtype" for sign in ("", "U") for bits in (8, 16, 32, 64)),
        "Float32Dtype",
        "Float64Dtype",
    }
)
_ADDRESS = re.compile(r"\b0x[0-9a-fA-F]{6,}\b")


@dataclass(frozen=True)
class Description:
    """What a value is (``kind``: ``DataFrame``, ``function``, ``list``...) and its text."""

    kind: str
    text: str


def mask_addresses(text: str) -> str:
    """``<Foo at 0x7f3a9c>`` -> ``<Foo at 0x…>``: the same object reads the same every run."""
    return _ADDRESS.sub("0x…", text)


def clip_chars(text: str, limit: int, what: str) -> str:
    """``text`` cut to ``limit`` characters (at a line end when one is near), with a note."""
    if len(text) <= limit:
        return text
    cut = text.rfind("\n", 0, limit)
    end = cut if cut > limit // 2 else limit
    return f"{text[:end]}\n[… {what} of {len(text):,} characters, clipped]"


def describe(value: object, *, max_chars: int, cells: Sequence[str] = ()) -> Description:
    """``value`` described for a model in at most about ``max_chars`` characters.

    ``cells`` are the notebook's cell sources, where a class defined in the
    notebook is found (``inspect`` cannot find its source).
    """
    for test, build in _DESCRIBERS:
        if test(value):
            return build(value, max_chars, cells)
    return _generic(value, max_chars)


# -- pandas and numpy ------------------------------------------------------------------


def _is_frame(value: object) -> bool:
    pandas = sys.modules.get("pandas")
    return pandas is not None and isinstance(value, pandas.DataFrame)


def _is_series(value: object) -> bool:
    pandas = sys.modules.get("pandas")
    return pandas is not None and isinstance(value, pandas.Series)


def _is_array(value: object) -> bool:
    numpy = sys.modules.get("numpy")
    return numpy is not None and isinstance(value, numpy.ndarray)


def _cell(value: object) -> str:
    """One table cell: a value's text, one line, clipped, with pipes escaped."""
    try:
        text = str(value)
    except Exception as exc:  # a broken __str__ is a cell, not a failure
        text = f"<str() raised {type(exc).__name__}>"
    text = " ".join(text.split())
    if len(text) > _CELL_CHARS:
        text = text[: _CELL_CHARS - 1] + "…"
    return mask_addresses(text).replace("|", "\\|")


def _index_line(index: Any) -> str:
    """The index in one line: a RangeIndex's bounds, else its type, dtype and ends."""
    kind = type(index).__name__
    if len(index) == 0:
        return f"{kind} (empty)"
    if kind == "RangeIndex":
        step = f", step {index.step}" if index.step != 1 else ""
        return f"RangeIndex {index.start:,} to {index[-1]:,}{step}"
    names = [str(n) for n in index.names if n is not None]
    named = f" named {', '.join(names)}" if names else ""
    return f"{kind}{named} of {index.dtype}, from {_cell(index[0])} to {_cell(index[-1])}"


def _scan_cost(dtype: Any) -> int:
    """What counting a column's nulls costs per row: 0 (it cannot hold any), 1, or more."""
    numpy = sys.modules["numpy"]
    if isinstance(dtype, numpy.dtype):
        kind = dtype.kind
        if kind in "iub":
            return 0  # numpy integers and booleans have no missing value
        return 1 if kind in "fcmM" else _SLOW_COST
    # pandas' own dtypes: categoricals count their codes, masked numbers (Int64, Float64,
    # boolean) their mask, datetimes with a zone and periods their integers: all vectorised.
    if type(dtype).__name__ in _FAST_PANDAS_DTYPES:
        return 1
    return _SLOW_COST


def _null_counts(frame: Any) -> tuple[list[str], int | None]:
    """Each column's null count as text, and the rows sampled (None: every count exact)."""
    rows = len(frame)
    costs = [_scan_cost(dtype) for dtype in frame.dtypes]
    scanned = [position for position, cost in enumerate(costs) if cost]
    picks = None
    if rows * sum(costs) > NULL_SCAN_BUDGET and rows > SAMPLE_ROWS:
        # Rows drawn at random (seeded, so the text is the same every run): evenly
        # spaced rows would alias with data that repeats with the same period.
        numpy = sys.modules["numpy"]
        picks = numpy.sort(numpy.random.default_rng(0).integers(0, rows, size=SAMPLE_ROWS))
    # One vectorised pass over the scanned columns (each dtype block at once).
    part = frame.iloc[:, scanned] if picks is None else frame.iloc[picks, scanned]
    found = dict(zip(scanned, (int(n) for n in part.isna().sum().to_numpy()), strict=True))
    counts = []
    for position in range(len(costs)):
        if position not in found:
            counts.append(_nulls(0))  # a numpy integer or boolean column holds none
        elif picks is None:
            counts.append(_nulls(found[position]))
        else:
            estimate = _round3(round(found[position] * rows / SAMPLE_ROWS))
            counts.append(f"~{_nulls(estimate)} (estimated)")
    return counts, (SAMPLE_ROWS if picks is not None else None)


def _nulls(count: int) -> str:
    return f"{count:,} null" if count == 1 else f"{count:,} nulls"


def _round3(number: int) -> int:
    """``number`` to three significant digits: an estimate should not look exact."""
    if number < 1000:
        return number
    scale: int = 10 ** (len(str(number)) - 3)
    return round(number / scale) * scale


def _rows_table(frame: Any, rows: int) -> list[str]:
    """The first ``rows`` rows (and first columns) of ``frame`` as a Markdown table."""
    head = frame.iloc[:rows, :_TABLE_COLUMNS]
    columns = [_cell(c) for c in head.columns]
    lines = [
        "| " + " | ".join(["(index)", *columns]) + " |",
        "|" + "---|" * (len(columns) + 1),
    ]
    for label, values in zip(head.index, head.itertuples(index=False, name=None), strict=True):
        lines.append("| " + " | ".join([_cell(label), *(_cell(v) for v in values)]) + " |")
    return lines


def _frame(frame: Any, max_chars: int, cells: Sequence[str]) -> Description:
    rows, width = frame.shape
    listed = frame.iloc[:0, :_LISTED_COLUMNS]  # no rows: slicing costs nothing
    lines = [
        f"pandas DataFrame: {rows:,} rows, {width:,} columns",
        f"index: {_index_line(frame.index)}",
        "columns (dtype, nulls):",
    ]
    counts, sampled = _null_counts(frame.iloc[:, :_LISTED_COLUMNS])
    for name, dtype, nulls in zip(listed.columns, listed.dtypes, counts, strict=True):
        lines.append(f"- {_cell(name)}: {dtype}, {nulls}")
    if width > _LISTED_COLUMNS:
        lines.append(f"- … and {width - _LISTED_COLUMNS:,} more columns")
    if sampled:
        lines.append(
            f"(null counts estimated from {sampled:,} rows drawn at random; counting every"
            " row would take time that grows with the rows)"
        )
    if rows:
        shown = min(rows, ROWS)
        more = f" (of the first {_TABLE_COLUMNS} columns)" if width > _TABLE_COLUMNS else ""
        lines += [f"first {shown} rows{more}:", *_rows_table(frame, shown)]
    return Description("DataFrame", clip_chars("\n".join(lines), max_chars, "the description"))


def _series(series: Any, max_chars: int, cells: Sequence[str]) -> Description:
    name = f" {_cell(series.name)!r}" if series.name is not None else ""
    counts, sampled = _null_counts(series.to_frame())
    estimated = f" (from {sampled:,} values drawn at random)" if sampled else ""
    lines = [
        f"pandas Series{name}: {len(series):,} values, dtype {series.dtype},"
        f" {counts[0]}{estimated}",
        f"index: {_index_line(series.index)}",
    ]
    if len(series):
        head = series.iloc[:ROWS]
        lines.append(f"first {len(head)} values:")
        lines += [f"{_cell(label)}: {_cell(value)}" for label, value in head.items()]
    return Description("Series", clip_chars("\n".join(lines), max_chars, "the description"))


def _array(array: Any, max_chars: int, cells: Sequence[str]) -> Description:
    numpy = sys.modules["numpy"]
    lines = [f"numpy ndarray: shape {array.shape}, dtype {array.dtype}"]
    if array.dtype.kind in "fc":
        if array.size <= _ARRAY_SCAN_LIMIT:
            lines[0] += f", {int(numpy.isnan(array).sum()):,} NaN"
        else:
            lines[0] += f" (NaN not counted: {array.size:,} values)"
    # numpy prints only the edges of a large array (threshold), so this stays bounded.
    text = numpy.array2string(array, threshold=60, edgeitems=3, max_line_width=100)
    lines.append(mask_addresses(text))
    return Description("ndarray", clip_chars("\n".join(lines), max_chars, "the description"))


# -- code: functions, classes, modules -------------------------------------------------


def _class_in_cells(name: str, cells: Sequence[str]) -> str | None:
    """The newest ``class NAME`` definition in the notebook's cells, as written."""
    pattern = re.compile(rf"^class\s+{re.escape(name)}\b", re.M)
    for source in reversed(cells):
        if not pattern.search(source):
            continue
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue  # a cell with magics; an older one may still hold the class
        for node in tree.body:
            if isinstance(node, ast.ClassDef) and node.name == name:
                return ast.get_source_segment(source, node)
    return None


def _source(value: Any, cells: Sequence[str]) -> str | None:
    try:
        return inspect.getsource(value)
    except (OSError, TypeError):
        pass
    if inspect.isclass(value) and value.__module__ == "__main__":
        return _class_in_cells(value.__name__, cells)
    return None


def _code_kind(value: Any) -> str:
    if inspect.ismodule(value):
        return "module"
    if inspect.isclass(value):
        return "class"
    return "function"


def _code(value: Any, max_chars: int, cells: Sequence[str]) -> Description:
    kind = _code_kind(value)
    name = getattr(value, "__qualname__", None) or getattr(value, "__name__", "?")
    where = getattr(value, "__module__", None) if kind != "module" else None
    header = f"{kind} {name}" + (f" (from {where})" if where and where != "__main__" else "")
    source = _source(value, cells)
    if source is not None:
        body = source.rstrip()
    else:
        try:
            signature = f"{name}{inspect.signature(value)}" if kind != "module" else name
        except (TypeError, ValueError):
            signature = name
        doc = inspect.getdoc(value) or "(no docstring)"
        body = f"(source not available)\n{signature}\n\n{doc}"
    text = clip_chars(f"{header}\n{body}", max_chars, "the source")
    return Description(kind, mask_addresses(text))


def _is_code(value: object) -> bool:
    return inspect.ismodule(value) or inspect.isclass(value) or inspect.isroutine(value)


# -- iterators, text, containers, anything -----------------------------------------------


def _is_lazy(value: object) -> bool:
    return (
        inspect.isgenerator(value)
        or inspect.isasyncgen(value)
        or inspect.iscoroutine(value)
        or (hasattr(value, "__next__") and hasattr(value, "__iter__"))
    )


def _lazy(value: Any, max_chars: int, cells: Sequence[str]) -> Description:
    kind = type(value).__name__
    code = getattr(value, "gi_code", None) or getattr(value, "ag_code", None)
    code = code or getattr(value, "cr_code", None)
    made_by = f", made by {code.co_name}()" if code is not None else ""
    text = (
        f"{kind}{made_by}: not read, because reading it would use it up;"
        f" its values are not shown\n{_safe_repr(value, max_chars)}"
    )
    return Description(kind, text)


def _text(value: Any, max_chars: int, cells: Sequence[str]) -> Description:
    if isinstance(value, str):
        head = f"str of {len(value):,} characters:\n"
        return Description("str", head + clip_chars(value, max_chars, "the text"))
    head = f"{type(value).__name__} of {len(value):,} bytes (shown as Python writes them):\n"
    shown = repr(value[: max_chars // 2])  # a bytes repr is up to 4x longer than the bytes
    return Description(type(value).__name__, head + clip_chars(shown, max_chars, "the bytes"))


_CONTAINER_REPR = reprlib.Repr()
_CONTAINER_REPR.maxlist = _CONTAINER_REPR.maxtuple = _CONTAINER_REPR.maxdict = 20
_CONTAINER_REPR.maxset = _CONTAINER_REPR.maxfrozenset = _CONTAINER_REPR.maxdeque = 20
_CONTAINER_REPR.maxstring = _CONTAINER_REPR.maxother = 200
_CONTAINER_REPR.maxlevel = 4


def _container(value: Any, max_chars: int, cells: Sequence[str]) -> Description:
    kind = type(value).__name__
    try:
        shown = _CONTAINER_REPR.repr(value)
    except Exception as exc:  # an element's repr may raise
        shown = f"(its repr raised {type(exc).__name__}: {_cell(exc)})"
    head = f"{kind} of {len(value):,} items (long ones abbreviated with ...):\n"
    return Description(kind, head + clip_chars(mask_addresses(shown), max_chars, "the repr"))


def _safe_repr(value: object, max_chars: int) -> str:
    """``repr(value)`` clipped, or a note saying how it failed (never an exception)."""
    try:
        text = repr(value)
    except Exception as exc:
        return f"(its repr raised {type(exc).__name__}: {_cell(exc)})"
    return clip_chars(mask_addresses(text), max_chars, "a repr")


def _generic(value: object, max_chars: int) -> Description:
    kind = type(value).__name__
    where = type(value).__module__
    named = kind if where in ("builtins", "__main__") else f"{where}.{kind}"
    return Description(kind, f"{named}:\n{_safe_repr(value, max_chars)}")


_Builder = Callable[[Any, int, Sequence[str]], Description]

_DESCRIBERS: tuple[tuple[Callable[[object], bool], _Builder], ...] = (
    (_is_frame, _frame),
    (_is_series, _series),
    (_is_array, _array),
    (_is_code, _code),
    (lambda v: isinstance(v, (str, bytes, bytearray)), _text),
    (lambda v: isinstance(v, (list, tuple, dict, set, frozenset)), _container),
    (_is_lazy, _lazy),
)
