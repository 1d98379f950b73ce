"""Checks on every answer of a sweep: pass/fail or a score per run, and a pass-rate table.

    checks = resolve_checks(["json", "max_words:50", is_polite])   # before anything is sent
    row.update(apply_checks(checks, result, row))                    # as each run ends
    check_summary(rows, checks)                                      # pass rate per model

A :class:`Check` has a ``name`` (its column in the table) and
``run(result, row) -> CheckOutcome``. Built-ins, each also written as a string
(the string is the check's column name):

==========================  ==========================  =======================================
string                      function                    passes when
==========================  ==========================  =======================================
``"json"``                  :func:`valid_json`          ``result.json`` parses
``"schema"``                :func:`matches_schema`      ``result.parsed`` validates (needs a schema)
``"contains:TEXT"``         :func:`contains`            TEXT is in the answer (any case)
``"regex:PATTERN"``         :func:`regex`               ``re.search(PATTERN, answer)``
``"equals:COLUMN"``         :func:`equals`              the stripped answer is the row's COLUMN
``"equals_value:TEXT"``     :func:`equals_value`        the stripped answer is TEXT
``"max_words:N"``           :func:`max_words`           the answer has at most N words
==========================  ==========================  =======================================

Any callable ``(result)`` or ``(result, row)`` (told apart by its signature) is a
check too: it returns a bool (pass/fail), a number (a score in 0..1, passing at
``threshold``, 0.5 unless :func:`check` says otherwise) or a str (failed with that
message; ``""`` passes). A check that raises is a failed check whose message is
the exception's one line: one bad answer never fails a sweep.

:func:`resolve_checks` turns what a user wrote into checks before anything is
sent (an unknown name is one :class:`CheckError` line); :func:`apply_checks`
gives the columns one run adds to its row; :func:`check_summary` is the pass
rate per model and parameter set. Nothing here imports IPython or ipywidgets;
pandas only when a summary is asked for and it is installed.
"""

from __future__ import annotations

import inspect
import math
import numbers
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, TypeGuard

from groq_magic._text import one_line
from groq_magic.chat.errors import ChatError, JSONResultError, SchemaValidationError
from groq_magic.knobs import group_names

if TYPE_CHECKING:
    from groq_magic.chat.result import ChatResult

__all__ = [
    "CHECK_ERRORS",
    "DEFAULT_GROUP_BY",
    "Check",
    "CheckError",
    "CheckOutcome",
    "apply_checks",
    "check",
    "check_columns",
    "check_summary",
    "contains",
    "equals",
    "equals_value",
    "matches_schema",
    "max_words",
    "regex",
    "resolve_checks",
    "valid_json",
]

CHECK_ERRORS = "check_errors"
"""The row column that joins the messages of the checks that failed (None when none did)."""

DEFAULT_GROUP_BY = group_names()
"""What :func:`check_summary` groups by (those that vary): the knobs marked ``groups``
(model, temperature, top_p, max_tokens). Not ``seed``: ``repeat`` varies it, and a pass
rate over the repeats is the point of repeating; not ``prompt``: the prompts of a test
set are the cases a pass rate counts (add it to see each one)."""

_MESSAGE_LIMIT = 200

Verdict = Any
"""What a check function may return: bool, number, str or :class:`CheckOutcome`."""


class CheckError(ChatError, ValueError):
    """A checks argument names no known check or is malformed; raised before any request."""


@dataclass(frozen=True)
class CheckOutcome:
    """One check on one answer: passed (None: not decided), the score if any, why it failed."""

    passed: bool | None
    score: float | None = None
    message: str | None = None


@dataclass(frozen=True)
class Check:
    """A named check; ``func(result, row)`` returns a :data:`Verdict`, ``run`` normalises it."""

    name: str
    func: Callable[[ChatResult, Mapping[str, Any]], Verdict]
    threshold: float = 0.5

    def run(self, result: ChatResult, row: Mapping[str, Any]) -> CheckOutcome:
        """The outcome on ``result``; never raises for what the check itself raised."""
        try:
            verdict = self.func(result, row)
        except Exception as exc:  # a user's check must not fail the sweep
            return CheckOutcome(False, None, _exception_line(exc))
        return self._outcome(verdict)

    def passes(self, value: object) -> bool | None:
        """Whether a table cell of this check's column passed (None: not checked)."""
        if _is_missing(value):
            return None
        if _is_bool(value):
            return bool(value)
        if _is_number(value):
            return float(value) >= self.threshold
        return None

    def _outcome(self, verdict: Verdict) -> CheckOutcome:
        if isinstance(verdict, CheckOutcome):
            if verdict.score is None:
                return verdict
            # One rule for scores, so a table cell (the score) says the same as the outcome.
            scored = self._outcome(verdict.score)
            return replace(scored, message=verdict.message or scored.message)
        if _is_bool(verdict):
            return CheckOutcome(bool(verdict))
        if _is_number(verdict):
            score = float(verdict)
            if not 0.0 <= score <= 1.0:  # NaN included
                return CheckOutcome(False, None, f"score {score:g} is not in 0..1")
            return CheckOutcome(score >= self.threshold, score)
        if isinstance(verdict, str):
            message = one_line(verdict, _MESSAGE_LIMIT)
            return CheckOutcome(True) if not message else CheckOutcome(False, None, message)
        return CheckOutcome(
            False,
            None,
            f"returned {type(verdict).__name__}: return a bool, a score in 0..1 or a message",
        )


def _is_bool(value: object) -> bool:
    # numpy's bool is not a bool subclass, and a DataFrame column of checks holds them.
    kind = type(value)
    return kind is bool or (kind.__module__ == "numpy" and kind.__name__ in {"bool", "bool_"})


def _is_number(value: object) -> TypeGuard[numbers.Real]:
    # numbers.Real takes numpy's ints and floats too (numpy.int64 is no int subclass).
    return isinstance(value, numbers.Real) and not _is_bool(value)


def _is_missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _exception_line(exc: BaseException) -> str:
    # ChatError messages are already sentences for people; other types say what broke.
    text = str(exc) if isinstance(exc, ChatError) else f"{type(exc).__name__}: {exc}"
    return one_line(text, _MESSAGE_LIMIT)


# ---- built-ins ----------------------------------------------------------------------------


def valid_json() -> Check:
    """Passes when the answer parses as JSON (``result.json``; fenced JSON counts)."""

    def run(result: ChatResult, row: Mapping[str, Any]) -> Verdict:
        try:
            result.json  # noqa: B018 - parsing is the check
        except JSONResultError as exc:
            return str(exc)
        return True

    return Check("json", run)


def matches_schema() -> Check:
    """Passes when ``result.parsed`` validates against the run's schema; fails without one."""

    def run(result: ChatResult, row: Mapping[str, Any]) -> Verdict:
        if result.validator is None:
            return "no schema on this run: pass schema= (or --schema) to check against one"
        try:
            result.parsed  # noqa: B018 - validating is the check
        except (JSONResultError, SchemaValidationError) as exc:
            return str(exc)
        return True

    return Check("schema", run)


def contains(text: str, *, case: bool = False) -> Check:
    """Passes when ``text`` is in the answer; ``case=True`` makes case matter."""
    if not text:
        raise CheckError("contains needs some text: contains:TEXT")
    needle = text if case else text.casefold()

    def run(result: ChatResult, row: Mapping[str, Any]) -> Verdict:
        haystack = result.text if case else result.text.casefold()
        return needle in haystack or f"does not contain {text!r}"

    return Check(f"contains:{text}", run)


def regex(pattern: str, flags: int = 0) -> Check:
    """Passes when ``re.search(pattern, answer, flags)`` finds a match."""
    try:
        compiled = re.compile(pattern, flags)
    except re.error as exc:
        raise CheckError(f"regex:{pattern} is not a valid regular expression: {exc}") from None

    def run(result: ChatResult, row: Mapping[str, Any]) -> Verdict:
        return compiled.search(result.text) is not None or f"no match for {pattern!r}"

    return Check(f"regex:{pattern}", run)


def equals(column: str, *, case: bool = True) -> Check:
    """Passes when the stripped answer equals the row's value in ``column`` (stripped too)."""
    if not column:
        raise CheckError("equals needs a column name: equals:COLUMN")

    def run(result: ChatResult, row: Mapping[str, Any]) -> Verdict:
        if column not in row:
            return f"the row has no column {column!r}"
        expected = row[column]
        if _is_missing(expected):
            return f"the row's {column!r} is empty"
        return _same(result.text, str(expected), case)

    return Check(f"equals:{column}", run)


def equals_value(value: object, *, case: bool = True) -> Check:
    """Passes when the stripped answer equals ``str(value)`` stripped."""
    expected = str(value)

    def run(result: ChatResult, row: Mapping[str, Any]) -> Verdict:
        return _same(result.text, expected, case)

    return Check(f"equals_value:{expected}", run)


def _same(answer: str, expected: str, case: bool) -> Verdict:
    got, want = answer.strip(), expected.strip()
    if got == want or (not case and got.casefold() == want.casefold()):
        return True
    return f"expected {one_line(want, 60)!r}, got {one_line(got, 60)!r}"


def max_words(limit: int) -> Check:
    """Passes when the answer has at most ``limit`` words (split on whitespace)."""
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
        raise CheckError(f"max_words needs a whole number >= 0 (got {limit!r})")

    def run(result: ChatResult, row: Mapping[str, Any]) -> Verdict:
        words = len(result.text.split())
        return words <= limit or f"{words} words (at most {limit})"

    return Check(f"max_words:{limit}", run)


def check(
    func: Callable[..., Verdict], *, name: str | None = None, threshold: float = 0.5
) -> Check:
    """A function ``(result)`` or ``(result, row)`` as a check named ``name``.

    ``name`` defaults to the function's name (a lambda gets ``check_N`` from
    :func:`resolve_checks`); a numeric score passes when it is ``>= threshold``.
    """
    if isinstance(threshold, bool) or not isinstance(threshold, int | float):
        raise CheckError(f"a check's threshold is a number in 0..1 (got {threshold!r})")
    if not 0.0 <= threshold <= 1.0:
        raise CheckError(f"a check's threshold is a number in 0..1 (got {threshold!r})")
    label = name if name is not None else _function_name(func)
    if _takes_row(func):
        return Check(label or "", func, float(threshold))

    def without_row(result: ChatResult, row: Mapping[str, Any]) -> Verdict:
        return func(result)

    return Check(label or "", without_row, float(threshold))


def _takes_row(func: Callable[..., Any]) -> bool:
    """True when ``func`` takes ``(result, row)``, False for ``(result)``; CheckError otherwise."""
    try:
        signature = inspect.signature(func)
    except (TypeError, ValueError):
        return False  # a builtin without a signature: give it the result alone
    positional = inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD
    params = list(signature.parameters.values())
    if any(p.kind is inspect.Parameter.VAR_POSITIONAL for p in params):
        return True
    names = [p for p in params if p.kind in positional]
    required = [p for p in names if p.default is inspect.Parameter.empty]
    label = _function_name(func) or "a check function"
    if not names or len(required) > 2:
        raise CheckError(f"{label} must take (result) or (result, row)")
    return len(names) >= 2


def _function_name(func: object) -> str | None:
    name = getattr(func, "__name__", None)
    if not isinstance(name, str) or not name or name.startswith("<"):
        return None  # a lambda, a partial, a callable object
    return name


# ---- resolving what the user wrote --------------------------------------------------------

_WITH_ARGUMENT: dict[str, Callable[[str], Check]] = {
    "contains": contains,
    "regex": regex,
    "equals": equals,
    "equals_value": equals_value,
    "max_words": lambda text: max_words(_whole_number(text)),
}
_PLAIN: dict[str, Callable[[], Check]] = {"json": valid_json, "schema": matches_schema}
_KNOWN = (
    "json, schema, contains:TEXT, regex:PATTERN, equals:COLUMN, equals_value:TEXT,"
    " max_words:N, or a function (result) -> bool | float | str"
)


def _whole_number(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise CheckError(f"max_words needs a whole number: max_words:50 (got {text!r})") from None


def _from_string(spec: str) -> Check:
    key, colon, argument = spec.partition(":")
    key = key.strip()
    if not colon and key in _PLAIN:
        return _PLAIN[key]()
    if colon and key in _WITH_ARGUMENT:
        return _WITH_ARGUMENT[key](argument)
    if key in _WITH_ARGUMENT:
        raise CheckError(f"check {spec!r} needs a value after a colon, e.g. {key}:...")
    raise CheckError(f"unknown check {spec!r}: the checks are {_KNOWN}")


def resolve_checks(spec: object, *, reserved: Iterable[str] = ()) -> list[Check]:
    """Checks from one item or a list of strings, :class:`Check` objects and functions.

    Column names are made unique: a later duplicate, or a name in ``reserved``
    (the table's own columns), gets ``_2``, ``_3``...; an unnamed function gets
    ``check_1``, ``check_2``... Anything else is one :class:`CheckError` line.
    """
    if spec is None:
        return []
    items: Sequence[object]
    if isinstance(spec, str | Check) or callable(spec):
        items = [spec]
    elif isinstance(spec, Iterable) and not isinstance(spec, Mapping):
        items = list(spec)
    else:
        raise CheckError(f"checks must be a name, a function or a list of them (got {spec!r})")
    taken = {*reserved, CHECK_ERRORS}
    checks: list[Check] = []
    unnamed = 0
    for item in items:
        if isinstance(item, Check):
            made = item
        elif isinstance(item, str):
            made = _from_string(item)
        elif callable(item):
            made = check(item)
        else:
            raise CheckError(f"unknown check {item!r}: the checks are {_KNOWN}")
        if not made.name:
            unnamed += 1
            made = replace(made, name=f"check_{unnamed}")
        checks.append(replace(made, name=_unique(made.name, taken)))
        taken.add(checks[-1].name)
    return checks


def _unique(name: str, taken: set[str]) -> str:
    if name not in taken:
        return name
    n = 2
    while f"{name}_{n}" in taken:
        n += 1
    return f"{name}_{n}"


# ---- rows and the summary -----------------------------------------------------------------


def check_columns(checks: Sequence[Check]) -> list[str]:
    """The columns :func:`apply_checks` adds, in order (for a DataFrame's ``columns=``)."""
    return [c.name for c in checks] + [CHECK_ERRORS]


def apply_checks(
    checks: Sequence[Check], result: ChatResult | None, row: Mapping[str, Any]
) -> dict[str, Any]:
    """The columns one run adds to its row.

    One column per check: its score when it gave one, else True/False; then
    :data:`CHECK_ERRORS`, the failed checks' messages as ``name: message; ...``
    (None when there are none). A run without an answer (``result`` None: it
    failed or was interrupted before finishing) is not checked: every column None.
    """
    columns: dict[str, Any] = {}
    if result is None:
        columns = dict.fromkeys(check_columns(checks))
        return columns
    messages: list[str] = []
    for item in checks:
        outcome = item.run(result, row)
        columns[item.name] = outcome.score if outcome.score is not None else outcome.passed
        if outcome.message and outcome.passed is not True:
            messages.append(f"{item.name}: {one_line(outcome.message, _MESSAGE_LIMIT)}")
    columns[CHECK_ERRORS] = "; ".join(messages) or None
    return columns


def _plain_rows(rows: Any) -> list[Mapping[str, Any]]:
    to_dict = getattr(rows, "to_dict", None)
    if callable(to_dict) and not isinstance(rows, Mapping):
        records: list[Mapping[str, Any]] = to_dict("records")  # a DataFrame
        return records
    return list(rows)


def _key(value: object) -> object:
    # NaN != NaN: a column of None read back from a DataFrame would split every group.
    return None if _is_missing(value) else value


def check_summary(
    rows: Any, checks: Sequence[Check], group_by: Sequence[str] = DEFAULT_GROUP_BY
) -> Any:
    """The pass rate of each check per model and parameter set.

    ``rows`` are the sweep's rows (a DataFrame or dicts) with the columns
    :func:`apply_checks` added. Groups are the ``group_by`` columns whose values
    vary (none varying: one row for everything), in order of first appearance.
    Columns: those group columns, ``count`` (runs), ``unchecked`` (runs without
    an answer), ``all_passed`` (share of checked runs passing every check), then
    per check its pass rate (share of the runs it checked) and, for a check that
    gave scores, ``<name>_mean`` (their mean). A pandas DataFrame, or the list
    of dicts without pandas (as :func:`~groq_magic.sweeps.runner.summary_table`).
    """
    data = _plain_rows(rows)
    keys = [c for c in group_by if len({_key(r.get(c)) for r in data}) > 1]
    groups: dict[tuple[object, ...], list[Mapping[str, Any]]] = {}
    for row in data:
        groups.setdefault(tuple(_key(row.get(c)) for c in keys), []).append(row)
    scored = {c.name for c in checks if any(_score(r.get(c.name)) is not None for r in data)}
    out = [
        _summary_row(dict(zip(keys, key, strict=True)), members, checks, scored)
        for key, members in groups.items()
    ]
    columns = [*keys, "count", "unchecked", "all_passed"]
    for item in checks:
        columns.append(item.name)
        if item.name in scored:
            columns.append(f"{item.name}_mean")
    try:
        import pandas as pd
    except ImportError:
        return out
    return pd.DataFrame(out, columns=columns)


def _score(value: object) -> float | None:
    if _is_missing(value) or not _is_number(value):
        return None
    return float(value)


def _rate(values: Iterable[bool | None]) -> float | None:
    """The share of True among the decided values (None when none is decided)."""
    decided = [v for v in values if v is not None]
    return sum(decided) / len(decided) if decided else None


def _summary_row(
    head: dict[str, Any],
    members: Sequence[Mapping[str, Any]],
    checks: Sequence[Check],
    scored: set[str],
) -> dict[str, Any]:
    verdicts = [[c.passes(r.get(c.name)) for c in checks] for r in members]
    checked = [v for v in verdicts if any(p is not None for p in v)]
    row = dict(head, count=len(members), unchecked=len(members) - len(checked))
    row["all_passed"] = _rate([all(p is not False for p in v) for v in checked])
    for i, item in enumerate(checks):
        row[item.name] = _rate(v[i] for v in verdicts)
        if item.name in scored:
            scores = [s for r in members if (s := _score(r.get(item.name))) is not None]
            row[f"{item.name}_mean"] = sum(scores) / len(scores) if scores else None
    return row
