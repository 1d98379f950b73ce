"""Reading the cases of an evaluation, and filling the template per case (no server)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from groq_magic.evals.dataset import Dataset, EvalError, fill_template, load_dataset

ROWS = [{"q": "one", "n": 1}, {"q": "two", "n": 2}]


def test_every_kind_of_data_gives_the_same_cases(tmp_path: Path) -> None:
    csv_path = tmp_path / "cases.csv"
    csv_path.write_text("q,n\none,1\n\ntwo,2\n")  # a blank line is skipped
    jsonl = tmp_path / "cases.jsonl"
    jsonl.write_text("\n".join(json.dumps(r) for r in ROWS) + "\n\n")
    whole = tmp_path / "cases.json"
    whole.write_text(json.dumps(ROWS))
    frame = pd.DataFrame(ROWS)
    expected = Dataset(["q", "n"], [{"q": "one", "n": 1}, {"q": "two", "n": 2}])
    assert load_dataset(ROWS) == expected
    assert load_dataset({"q": ["one", "two"], "n": [1, 2]}) == expected
    assert load_dataset(frame) == expected
    assert load_dataset(jsonl) == expected
    assert load_dataset(str(whole)) == expected
    # CSV values stay as typed: strings.
    assert load_dataset(csv_path) == Dataset(
        ["q", "n"], [{"q": "one", "n": "1"}, {"q": "two", "n": "2"}]
    )


def test_numpy_values_become_plain_python_and_missing_columns_none() -> None:
    data = load_dataset([{"a": np.int64(3), "b": np.float64(0.5)}, {"a": np.int64(4)}])
    assert data.columns == ["a", "b"]
    assert data.rows == [{"a": 3, "b": 0.5}, {"a": 4, "b": None}]
    assert type(data.rows[0]["a"]) is int


def test_the_fingerprint_changes_with_any_value_and_not_otherwise() -> None:
    same = load_dataset(pd.DataFrame(ROWS)).fingerprint()
    assert load_dataset(ROWS).fingerprint() == same
    assert load_dataset([ROWS[0], {"q": "two", "n": 3}]).fingerprint() != same
    assert load_dataset(ROWS[:1]).fingerprint() != same


def test_the_template_follows_the_cell_rules() -> None:
    data = load_dataset([{"q": "a", "d": {"k": "v"}}, {"q": "b", "d": {"k": "w"}}])
    template = 'Q {q} {d["k"]} {{literal}} {"json": 1}\n```\n{q} in a fence\n```\n'
    assert fill_template(template, data) == [
        'Q a v {literal} {"json": 1}\n```\n{q} in a fence\n```\n',
        'Q b w {literal} {"json": 1}\n```\n{q} in a fence\n```\n',
    ]


def test_a_case_value_is_not_filled_again() -> None:
    data = load_dataset([{"q": "{q} stays"}])
    assert fill_template("Say {q}", data) == ["Say {q} stays"]


def test_a_missing_column_names_the_columns_there_are() -> None:
    data = load_dataset(ROWS)
    with pytest.raises(EvalError) as info:
        fill_template("{q} and {answer}", data)
    assert str(info.value) == (
        "the template names {answer}, but the data has no column 'answer' (its columns: q, n)"
    )
    assert fill_template("{q} and {answer}", data, {"answer": 42}) == ["one and 42", "two and 42"]
