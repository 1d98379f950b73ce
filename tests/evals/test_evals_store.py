"""Stored runs: listed and loaded in a new process, and diffed case by case."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from eval_server import EvalServer, last_message

import groq_magic
from groq_magic.evals import EvalError, EvalRun
from groq_magic.session import GroqSession

ROOT = Path(__file__).resolve().parents[2]
COLUMNS = ["case", "question", "model", "text", "equals:expected", "judge", "judge_reason"]


def answers(by_question: dict[str, str]) -> Callable[[dict[str, Any]], str]:
    """A server answer: the scripted text for each question."""
    return lambda body: by_question[last_message(body).removeprefix("Q: ")]


def evaluate(session: GroqSession, data: Any, **options: Any) -> EvalRun:
    options.setdefault("model", ["alpha", "beta"])
    checks = ["equals:expected", groq_magic.judge("Says good.")]
    return groq_magic.evaluate("Q: {question}", data, client=session, checks=checks, **options)


@pytest.fixture
def four() -> pd.DataFrame:
    return pd.DataFrame({"question": ["c0", "c1", "c2", "c3"], "expected": ["yes"] * 4})


def test_runs_are_listed_and_loaded_in_a_new_process(
    server: EvalServer, session: GroqSession, four: pd.DataFrame, store_path: Path
) -> None:
    server.answer = answers({"c0": "yes", "c1": "yes good", "c2": "no", "c3": "yes"})
    first = evaluate(session, four, name="baseline")
    second = evaluate(session, four, name="again", temperature=0.5, model="alpha")
    script = textwrap.dedent(
        f"""
        import json, groq_magic
        listed = groq_magic.runs()
        run = groq_magic.load_run({first.id})
        print(json.dumps({{
            "listed": listed.to_dict("records"),
            "table": run.table[{COLUMNS!r}].to_dict("records"),
            "summary": run.summary.to_dict("records"),
            "name": run.name, "id": run.id, "checks": [c.name for c in run.checks],
            "created": run.created.isoformat(), "usage": run.usage,
        }}))
        """
    )
    env = {**os.environ, "GROQ_MAGIC_STORE": str(store_path), "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout.strip().splitlines()[-1])
    listed = found["listed"]
    assert [(r["id"], r["name"], r["rows"]) for r in listed] == [
        (second.id, "again", 4),
        (first.id, "baseline", 8),
    ]
    assert listed[1]["models"] == "alpha, beta"
    assert listed[1]["template"] == "Q: {question}"
    assert listed[1]["pass_rates"] == "all_passed 0% · equals:expected 50% · judge 25%"
    assert found["name"] == "baseline"
    assert found["id"] == first.id
    assert found["checks"] == ["equals:expected", "judge"]
    assert found["created"] == first.created.isoformat()
    assert found["table"] == first.table[COLUMNS].to_dict("records")
    assert found["summary"] == first.summary.to_dict("records")
    assert found["usage"] == first.usage


def test_a_loaded_run_is_the_run_that_was_stored(
    server: EvalServer, new_session: Callable[[], GroqSession], four: pd.DataFrame
) -> None:
    server.answer = answers({"c0": "yes", "c1": "no good", "c2": "no", "c3": "yes"})
    run = evaluate(new_session(), four)
    loaded = groq_magic.load_run(run.id, client=new_session())  # a restarted kernel
    assert list(loaded.table.columns) == list(run.table.columns)
    assert loaded.table[COLUMNS].equals(run.table[COLUMNS])
    assert loaded.summary.equals(run.summary)
    assert loaded.pass_rates() == run.pass_rates()
    assert loaded.failing_positions() == run.failing_positions()
    assert (loaded.template, loaded.dataset, loaded.options) == (
        run.template,
        run.dataset,
        run.options,
    )
    assert "data:image/png" in loaded._repr_mimebundle_()["text/html"]


def test_diff_returns_exactly_the_changed_cases_regressions_first(
    server: EvalServer, new_session: Callable[[], GroqSession], four: pd.DataFrame
) -> None:
    server.answer = answers({"c0": "yes", "c1": "yes", "c2": "no", "c3": "yes"})
    before = evaluate(new_session(), four)
    server.answer = answers({"c0": "yes", "c1": "no", "c2": "yes", "c3": "no good"})
    after = evaluate(new_session(), four)
    changed = groq_magic.diff(before.id, after.id, client=new_session())
    assert list(changed.columns) == [
        "case", "question", "expected", "model", "change", "regressed", "fixed", "text_a", "text_b",
    ]  # fmt: skip
    assert changed[["case", "model", "change", "regressed", "fixed"]].values.tolist() == [
        [1, "alpha", "regressed", "equals:expected", ""],
        [1, "beta", "regressed", "equals:expected", ""],
        [3, "alpha", "mixed", "equals:expected", "judge"],
        [3, "beta", "mixed", "equals:expected", "judge"],
        [2, "alpha", "fixed", "", "equals:expected"],
        [2, "beta", "fixed", "", "equals:expected"],
    ]
    assert list(changed.text_a) == ["yes", "yes", "yes", "yes", "no", "no"]
    assert list(changed.text_b) == ["no", "no", "no good", "no good", "yes", "yes"]
    assert changed.attrs["summary"] == (
        f"run {before.id} -> run {after.id}: 4 regressed, 2 fixed, of 8 rows compared"
    )
    same = groq_magic.diff(before, before)
    assert len(same) == 0


def test_runs_on_different_models_line_up_by_case(
    server: EvalServer, session: GroqSession, four: pd.DataFrame
) -> None:
    server.answer = lambda body: "yes" if body["model"] == "alpha" else "no"
    on_alpha = evaluate(session, four, model="alpha")
    on_beta = evaluate(session, four, model="beta")
    changed = groq_magic.diff(on_alpha, on_beta)
    assert list(changed.case) == [0, 1, 2, 3]
    assert set(changed.change) == {"regressed"}
    assert "model" not in changed.columns  # the same throughout each run: not part of the key


def test_diff_of_runs_over_different_datasets_is_one_line(
    server: EvalServer, session: GroqSession, four: pd.DataFrame
) -> None:
    a = evaluate(session, four, model="alpha")
    b = evaluate(session, four.iloc[:3], model="alpha")
    with pytest.raises(EvalError) as info:
        groq_magic.diff(a, b)
    assert str(info.value) == (
        f"diff needs two runs over the same dataset: run {a.id} has 4 cases (question,"
        f" expected), run {b.id} has 3 cases (question, expected)"
    )


def test_diff_needs_a_check_in_common(
    server: EvalServer, session: GroqSession, four: pd.DataFrame
) -> None:
    a = groq_magic.evaluate("{question}", four, client=session, checks=["max_words:3"])
    b = groq_magic.evaluate("{question}", four, client=session, checks=["json"])
    with pytest.raises(EvalError, match=r"share no check to compare \(max_words:3; json\)"):
        groq_magic.diff(a, b)


def test_the_store_keeps_a_key_out_of_stored_rows(
    server: EvalServer, session: GroqSession, store_path: Path
) -> None:
    from keys import FAKE_KEY, assert_no_secret

    server.answer = lambda body: f"here: {FAKE_KEY}"
    run = groq_magic.evaluate("{q}", {"q": ["x"]}, model="alpha", client=session)
    loaded = groq_magic.load_run(run.id, client=session)
    assert loaded.table.text[0] == "here: [redacted]"
    session.close()
    assert_no_secret(store_path.read_bytes().decode("utf-8", "replace"))
