"""Checks on every answer of a sweep and of ``%%groq --check`` (issue 12, part 3).

The echo server answers ``answer: model=alpha ...`` (7 words with these options); a
model called ``nope`` gets a 404, so its runs have no answer and are not checked.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest
from IPython.core.error import UsageError
from ui_fakes import RoutedServer

import groq_magic
from groq_magic.chat import ChatResult
from groq_magic.checks import CHECK_ERRORS, CheckError
from groq_magic.sweeps.runner import TABLE_COLUMNS


def mentions_beta(result: ChatResult) -> bool:
    return "beta" in result.text


def broken(result: ChatResult, row: dict[str, Any]) -> bool:
    raise RuntimeError("the check itself broke")


def test_each_check_is_a_column_and_the_pass_rates_come_with_the_table(
    env: RoutedServer,
) -> None:
    table = groq_magic.sweep(
        ["a", "b"],
        model=["alpha", "beta", "nope"],
        checks=["contains:model=", "max_words:1", mentions_beta, broken, lambda r: 0.75],
    )
    names = ["contains:model=", "max_words:1", "mentions_beta", "broken", "check_1"]
    assert list(table.columns) == ["prompt", *TABLE_COLUMNS, *names, CHECK_ERRORS]
    alpha = table[table.model == "alpha"].iloc[0]
    assert alpha["contains:model="]
    assert not alpha["max_words:1"]
    assert not alpha["mentions_beta"]
    assert alpha["check_1"] == 0.75
    assert "max_words:1: " in alpha[CHECK_ERRORS]
    assert "broken: RuntimeError: the check itself broke" in alpha[CHECK_ERRORS]
    missing = table[table.model == "nope"]
    assert missing[names].isna().all().all()  # no answer: not checked, not failed
    summary = table.attrs["checks"]
    assert list(summary.model) == ["alpha", "beta", "nope"]
    assert list(summary["mentions_beta"][:2]) == [0.0, 1.0]
    assert list(summary["count"]) == [2, 2, 2]
    assert list(summary["unchecked"]) == [0, 0, 2]
    assert summary["check_1_mean"][0] == 0.75


def test_an_unknown_check_is_one_line_before_anything_is_sent(env: RoutedServer) -> None:
    with pytest.raises(CheckError) as info:
        groq_magic.sweep(["a"], model="alpha", checks=["json", "polite"])
    assert str(info.value).startswith("unknown check 'polite': the checks are json, schema,")
    assert "\n" not in str(info.value)
    assert env.requests == []


def test_columns_give_each_prompt_its_expected_answer(env: RoutedServer) -> None:
    cases = pd.DataFrame(
        {
            "question": ["a", "b"],
            "expected": ["answer: model=alpha", "answer: model=alpha max_completion_tokens=5"],
        }
    )
    table = groq_magic.sweep(
        cases.question,
        model="alpha",
        max_tokens=5,
        columns=cases[["expected"]],
        checks="equals:expected",
    )
    assert list(table.columns[:2]) == ["prompt", "expected"]
    assert list(table["equals:expected"]) == [False, True]
    assert table.attrs["checks"]["equals:expected"][0] == 0.5
    with pytest.raises(groq_magic.chat.OptionsError, match="has 1 values for 2 prompts"):
        groq_magic.sweep(["a", "b"], columns={"expected": ["x"]})


def test_the_magic_checks_a_compare_and_prints_the_pass_rates(
    ip: Any, routed: RoutedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    ip.user_ns["mentions_beta"] = mentions_beta
    table = ip.run_cell_magic(
        "groq", "--compare alpha,beta --check contains:answer --check mentions_beta", "Hi"
    )
    assert list(table["contains:answer"]) == [True, True]
    assert list(table["mentions_beta"]) == [False, True]
    out = capsys.readouterr().out
    assert "checks (pass rate):\n" in out
    assert "  model alpha: contains:answer 100% · mentions_beta 0% (1 runs)" in out
    assert "  model beta: contains:answer 100% · mentions_beta 100% (1 runs)" in out
    # One model and --check alone: still a compare of one run, checked.
    single = ip.run_cell_magic("groq", "-m alpha --check max_words:1", "Hi")
    assert list(single["max_words:1"]) == [False]
    assert single.attrs["checks"]["all_passed"][0] == 0.0


def test_the_magic_refuses_an_unknown_check_in_one_line(ip: Any, routed: RoutedServer) -> None:
    with pytest.raises(UsageError) as info:
        ip.run_cell_magic("groq", "-m alpha --check nonesuch", "Hi")
    assert "unknown check 'nonesuch'" in str(info.value)
    assert routed.chat_bodies() == []
