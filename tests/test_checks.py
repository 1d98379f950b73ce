"""groq_magic.checks: each built-in on passing and failing answers, function checks, resolving
what a user wrote (and refusing what it cannot be), the row columns and the pass-rate table."""

from __future__ import annotations

import functools
import json
import math
import subprocess
import sys
from typing import Any

import numpy
import pandas
import pytest
from pydantic import BaseModel

from groq_magic.chat.errors import ChatError
from groq_magic.chat.result import ChatResult
from groq_magic.chat.schema import schema_response_format
from groq_magic.checks import (
    CHECK_ERRORS,
    Check,
    CheckError,
    CheckOutcome,
    apply_checks,
    check,
    check_columns,
    check_summary,
    contains,
    equals,
    equals_value,
    matches_schema,
    max_words,
    regex,
    resolve_checks,
    valid_json,
)


class City(BaseModel):
    name: str
    population: int


def answer(text: str, **kwargs: Any) -> ChatResult:
    return ChatResult(text, model="alpha", **kwargs)


def outcome(item: Check, text: str, row: dict[str, Any] | None = None, **kw: Any) -> CheckOutcome:
    return item.run(answer(text, **kw), row or {})


# ---- built-ins ---------------------------------------------------------------------------


def test_json_passes_on_json_and_fenced_json() -> None:
    assert outcome(valid_json(), '{"a": 1}') == CheckOutcome(True)
    assert outcome(valid_json(), 'Here:\n```json\n{"a": 1}\n```').passed is True


def test_json_fails_with_the_parse_error() -> None:
    got = outcome(valid_json(), "Sure! {not json", json_mode=True)
    assert got.passed is False
    assert got.message is not None
    assert got.message.startswith("the answer is not JSON:")


def test_schema_passes_when_the_answer_validates() -> None:
    _, validator = schema_response_format(City)
    got = outcome(matches_schema(), '{"name": "Oslo", "population": 700000}', validator=validator)
    assert got == CheckOutcome(True)


def test_schema_fails_with_the_validation_error() -> None:
    _, validator = schema_response_format(City)
    got = outcome(matches_schema(), '{"name": "Oslo"}', validator=validator)
    assert got.passed is False
    assert "does not match City: population" in (got.message or "")
    not_json = outcome(matches_schema(), "Oslo", validator=validator)
    assert (not_json.message or "").startswith("the answer is not JSON")


def test_schema_without_a_schema_on_the_run_fails_saying_so() -> None:
    got = outcome(matches_schema(), '{"name": "Oslo", "population": 1}')
    assert got.passed is False
    assert (got.message or "").startswith("no schema on this run")


@pytest.mark.parametrize(
    ("item", "text", "passed"),
    [
        (contains("paris"), "The capital is Paris.", True),
        (contains("paris"), "The capital is Lyon.", False),
        (contains("paris", case=True), "The capital is Paris.", False),
        (regex(r"^\d+$"), " 42", False),
        (regex(r"\b\d{4}\b"), "It was 1969.", True),
        (equals_value("Paris"), "  Paris\n", True),
        (equals_value("Paris"), "paris", False),
        (equals_value(4), "4", True),
        (max_words(3), "one two three", True),
        (max_words(3), "one two three four", False),
        (max_words(0), "", True),
    ],
)
def test_text_checks(item: Check, text: str, passed: bool) -> None:
    got = outcome(item, text)
    assert got.passed is passed
    assert (got.message is None) is passed


def test_failure_messages_say_what_was_wrong() -> None:
    assert outcome(contains("paris"), "Lyon").message == "does not contain 'paris'"
    assert outcome(max_words(2), "a b c d").message == "4 words (at most 2)"
    assert outcome(equals_value("Paris"), "Lyon").message == "expected 'Paris', got 'Lyon'"


def test_equals_reads_the_rows_column() -> None:
    item = equals("expected")
    assert outcome(item, " 12 \n", {"expected": 12}).passed is True
    assert outcome(item, "13", {"expected": 12}).message == "expected '12', got '13'"
    assert outcome(item, "12", {}).message == "the row has no column 'expected'"
    assert outcome(item, "12", {"expected": math.nan}).message == "the row's 'expected' is empty"
    assert outcome(equals("expected", case=False), "OSLO", {"expected": "Oslo"}).passed is True


# ---- functions as checks -----------------------------------------------------------------


def polite(result: ChatResult) -> bool:
    return "please" in result.text.lower()


def relevance(result: ChatResult) -> float:
    return min(1.0, len(result.text) / 10)


def right_answer(result: ChatResult, row: dict[str, Any]) -> str:
    return "" if result.text == row["expected"] else f"wanted {row['expected']}"


def test_a_function_returning_bool_is_pass_fail() -> None:
    (item,) = resolve_checks(polite)
    assert item.name == "polite"
    assert outcome(item, "Please sit.") == CheckOutcome(True)
    assert outcome(item, "Sit.") == CheckOutcome(False)


def test_a_function_returning_a_number_is_a_score_passing_at_the_threshold() -> None:
    (item,) = resolve_checks(relevance)
    assert outcome(item, "12345") == CheckOutcome(True, 0.5)
    assert outcome(item, "1234") == CheckOutcome(False, 0.4)
    strict = check(relevance, name="rel", threshold=0.9)
    assert strict.name == "rel"
    assert outcome(strict, "12345678") == CheckOutcome(False, 0.8)
    assert check(lambda r: numpy.float64(0.7)).run(answer("x"), {}) == CheckOutcome(True, 0.7)


def test_a_score_outside_0_to_1_fails_saying_so() -> None:
    got = check(lambda r: 3).run(answer("x"), {})
    assert got == CheckOutcome(False, None, "score 3 is not in 0..1")
    assert (
        check(lambda r: numpy.float64(2.5)).run(answer("x"), {}).message
        == "score 2.5 is not in 0..1"
    )
    assert check(lambda r: math.nan).run(answer("x"), {}).passed is False


def test_a_function_returning_a_string_fails_with_it_and_empty_passes() -> None:
    (item,) = resolve_checks(right_answer)
    assert outcome(item, "4", {"expected": "4"}) == CheckOutcome(True)
    assert outcome(item, "5", {"expected": "4"}) == CheckOutcome(False, None, "wanted 4")


def test_row_is_passed_by_arity() -> None:
    seen: list[Any] = []
    one = check(lambda result: seen.append(("one", result.text)) or True)
    two = check(lambda result, row: seen.append(("two", row["k"])) or True)
    default = check(lambda result, row=None: seen.append(("default", row)) or True)
    star = check(lambda *args: seen.append(("star", len(args))) or True)
    tagged = functools.partial(lambda tag, result, row: seen.append((tag, row)) or True, "p")
    part = check(tagged)
    for item in (one, two, default, star, part):
        assert item.run(answer("t"), {"k": 1}).passed is True
    assert seen == [("one", "t"), ("two", 1), ("default", {"k": 1}), ("star", 2), ("p", {"k": 1})]


def test_a_function_that_raises_is_a_failed_check_with_one_line() -> None:
    def boom(result: ChatResult) -> bool:
        raise KeyError("missing\nkey")

    got = check(boom).run(answer("x"), {})
    assert got.passed is False
    assert got.message == "KeyError: 'missing\\nkey'"
    multi = check(lambda r: int("not\na number")).run(answer("x"), {})
    assert multi.message is not None
    assert "\n" not in multi.message
    assert multi.message.startswith("ValueError: invalid literal for int()")


def test_odd_return_values_fail_with_a_hint() -> None:
    got = check(lambda r: None).run(answer("x"), {})
    assert got.passed is False
    assert got.message == "returned NoneType: return a bool, a score in 0..1 or a message"


def test_a_check_outcome_returned_is_kept_and_its_score_decides() -> None:
    assert check(lambda r: CheckOutcome(None)).run(answer("x"), {}) == CheckOutcome(None)
    got = check(lambda r: CheckOutcome(False, 0.9, "close")).run(answer("x"), {})
    assert got == CheckOutcome(True, 0.9, "close")


def test_a_keyboard_interrupt_is_not_swallowed() -> None:
    def stop(result: ChatResult) -> bool:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        check(stop).run(answer("x"), {})


# ---- resolving ---------------------------------------------------------------------------


def test_strings_resolve_to_built_ins_named_as_written() -> None:
    names = ["json", "schema", "contains:Paris", "regex:^a.*b$", "equals:expected"]
    names += ["equals_value:42", "max_words:50"]
    assert [c.name for c in resolve_checks(names)] == names
    (words,) = resolve_checks("max_words:2")
    assert outcome(words, "a b c").passed is False
    (colon,) = resolve_checks("contains:a:b")
    assert outcome(colon, "x a:b").passed is True


def test_one_item_or_a_list_or_none() -> None:
    assert [c.name for c in resolve_checks("json")] == ["json"]
    assert [c.name for c in resolve_checks(valid_json())] == ["json"]
    assert [c.name for c in resolve_checks(("json", polite))] == ["json", "polite"]
    assert resolve_checks(None) == []


def test_names_are_unique_and_lambdas_are_numbered() -> None:
    checks = resolve_checks(
        ["json", "json", lambda r: True, polite, lambda r: 1.0, check(polite, name="json")],
        reserved=["text", "polite"],
    )
    assert [c.name for c in checks] == [
        "json",
        "json_2",
        "check_1",
        "polite_2",
        "check_2",
        "json_3",
    ]
    (named,) = resolve_checks(check(polite, name=CHECK_ERRORS))
    assert named.name == f"{CHECK_ERRORS}_2"


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("jsn", "unknown check 'jsn': the checks are json, schema, contains:TEXT"),
        (["json", 3], "unknown check 3: the checks are json, schema"),
        ("contains", "check 'contains' needs a value after a colon, e.g. contains:..."),
        ("contains:", "contains needs some text: contains:TEXT"),
        ("max_words:fifty", "max_words needs a whole number: max_words:50 (got 'fifty')"),
        ("regex:(", "regex:( is not a valid regular expression: missing ), unterminated"),
        ({"json": 1}, "checks must be a name, a function or a list of them"),
        (lambda: True, "a check function must take (result) or (result, row)"),
        ((lambda a, b, c: True), "a check function must take (result) or (result, row)"),
    ],
)
def test_bad_specs_are_one_line_chat_errors(spec: Any, message: str) -> None:
    with pytest.raises(CheckError) as info:
        resolve_checks(spec)
    assert isinstance(info.value, ChatError)
    assert "\n" not in str(info.value)
    assert str(info.value).startswith(message)


def test_unknown_name_lists_every_known_check() -> None:
    with pytest.raises(CheckError) as info:
        resolve_checks("valid")
    assert str(info.value) == (
        "unknown check 'valid': the checks are json, schema, contains:TEXT, regex:PATTERN,"
        " equals:COLUMN, equals_value:TEXT, max_words:N, or a function"
        " (result) -> bool | float | str"
    )


@pytest.mark.parametrize("threshold", [-0.1, 1.5, "high", True])
def test_a_threshold_outside_0_to_1_is_refused(threshold: Any) -> None:
    with pytest.raises(CheckError, match=r"threshold is a number in 0\.\.1"):
        check(polite, threshold=threshold)


# ---- row columns -------------------------------------------------------------------------


def test_apply_checks_adds_one_column_per_check_and_the_messages() -> None:
    checks = resolve_checks(["json", "max_words:3", relevance, polite])
    assert check_columns(checks) == ["json", "max_words:3", "relevance", "polite", CHECK_ERRORS]
    columns = apply_checks(checks, answer('{"a": "please"}'), {})
    assert columns == {
        "json": True,
        "max_words:3": True,
        "relevance": 1.0,
        "polite": True,
        CHECK_ERRORS: None,
    }
    columns = apply_checks(checks, answer("one two three four"), {})
    assert columns["json"] is False
    assert columns["relevance"] == 1.0
    assert columns["polite"] is False
    errors = columns[CHECK_ERRORS]
    assert errors.startswith("json: the answer is not JSON:")
    assert errors.endswith("; max_words:3: 4 words (at most 3)")


def test_a_run_without_an_answer_is_not_checked() -> None:
    checks = resolve_checks(["json", polite])
    assert apply_checks(checks, None, {"status": "error"}) == dict.fromkeys(
        ["json", "polite", CHECK_ERRORS]
    )


# ---- summary -----------------------------------------------------------------------------


def sweep_rows() -> tuple[list[dict[str, Any]], list[Check]]:
    checks = resolve_checks(["contains:yes", relevance])
    rows = []
    runs = [
        ("alpha", 0.0, 1, "yes yes yes"),
        ("alpha", 0.0, 2, "no"),
        ("alpha", 1.0, 1, "yes"),
        ("beta", 0.0, 1, "yes, indeed"),
        ("beta", 0.0, 2, None),  # a failed run
    ]
    for model, temperature, seed, text in runs:
        row: dict[str, Any] = {
            "model": model,
            "temperature": temperature,
            "top_p": None,
            "seed": seed,
        }
        result = None if text is None else answer(text)
        row.update(apply_checks(checks, result, row))
        rows.append(row)
    return rows, checks


def test_summary_groups_by_what_varies_and_pools_the_seeds() -> None:
    rows, checks = sweep_rows()
    table = check_summary(rows, checks)
    assert isinstance(table, pandas.DataFrame)
    assert list(table.columns) == [
        "model",
        "temperature",
        "count",
        "unchecked",
        "all_passed",
        "contains:yes",
        "relevance",
        "relevance_mean",
    ]
    got = table.to_dict("records")
    assert got[0] == {
        "model": "alpha",
        "temperature": 0.0,
        "count": 2,
        "unchecked": 0,
        "all_passed": 0.5,
        "contains:yes": 0.5,
        "relevance": 0.5,
        "relevance_mean": pytest.approx(0.6),
    }
    assert (got[1]["model"], got[1]["temperature"], got[1]["count"]) == ("alpha", 1.0, 1)
    assert got[1]["relevance_mean"] == pytest.approx(0.3)
    beta = got[2]
    assert (beta["model"], beta["count"], beta["unchecked"]) == ("beta", 2, 1)
    assert (beta["all_passed"], beta["contains:yes"], beta["relevance"]) == (1.0, 1.0, 1.0)


def test_summary_takes_a_dataframe_and_nothing_varying_gives_one_row() -> None:
    rows, checks = sweep_rows()
    frame = pandas.DataFrame(rows)  # None becomes NaN; bools may become numpy bools
    by_model = check_summary(frame, checks, group_by=["model"]).to_dict("records")
    assert [(r["model"], r["count"]) for r in by_model] == [("alpha", 3), ("beta", 2)]
    alpha = check_summary(frame[frame.model == "alpha"], checks, group_by=["model"])
    assert list(alpha.columns[:3]) == ["count", "unchecked", "all_passed"]
    assert alpha.to_dict("records")[0]["contains:yes"] == pytest.approx(2 / 3)


def test_summary_without_pandas_is_a_list_of_dicts(monkeypatch: pytest.MonkeyPatch) -> None:
    rows, checks = sweep_rows()
    monkeypatch.setitem(sys.modules, "pandas", None)
    table = check_summary(rows, checks, group_by=["model"])
    assert isinstance(table, list)
    assert table[1] == {
        "model": "beta",
        "count": 2,
        "unchecked": 1,
        "all_passed": 1.0,
        "contains:yes": 1.0,
        "relevance": 1.0,
        "relevance_mean": 1.0,
    }


def test_summary_of_runs_that_all_failed_has_no_rates() -> None:
    checks = resolve_checks("json")
    rows = [{"model": "alpha", **apply_checks(checks, None, {})}]
    (only,) = check_summary(rows, checks).to_dict("records")
    assert only["count"] == only["unchecked"] == 1
    assert only["json"] is None or math.isnan(only["json"])


def test_importing_checks_loads_no_ipython_widgets_or_pandas() -> None:
    # Checks run wherever a sweep runs, the `python -m groq_magic run` runner included.
    code = "import json, sys, groq_magic.checks; print(json.dumps([*sys.modules]))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = {name.split(".")[0] for name in json.loads(out.stdout)}
    assert loaded.isdisjoint({"IPython", "ipywidgets", "ipykernel", "pandas"})
