"""groq_magic.evaluate over the loopback server: rows, judges, pass rates, cache, display."""

from __future__ import annotations

import json
from typing import Any

import pandas as pd
import pytest
from eval_server import EvalServer, graded_answer, last_message

import groq_magic
from groq_magic.checks import CHECK_ERRORS
from groq_magic.evals import EvalRun
from groq_magic.evals.grader import JUDGE_SYSTEM
from groq_magic.session import GroqSession
from groq_magic.sweeps.runner import TABLE_COLUMNS

RUBRIC = "The answer is kind about {question}."


def run_cases(session: GroqSession, cases: pd.DataFrame, **options: Any) -> EvalRun:
    options.setdefault("checks", ["equals:expected", groq_magic.judge(RUBRIC)])
    return groq_magic.evaluate("Q: {question}", cases, client=session, **options)


def test_the_template_is_filled_per_row_for_every_combination(
    server: EvalServer, session: GroqSession, cases: pd.DataFrame
) -> None:
    run = run_cases(session, cases, model=["alpha", "beta"], temperature=0, checks=None)
    sent = sorted((b["messages"][-1]["content"], b["model"]) for b in server.task_bodies())
    assert sent == sorted((f"Q: {q}", m) for q in cases.question for m in ("alpha", "beta"))
    assert all(len(b["messages"]) == 1 and b["temperature"] == 0 for b in server.task_bodies())
    table = run.table
    assert list(table.columns) == ["case", "question", "expected", "prompt", *TABLE_COLUMNS]
    assert list(zip(table.case, table.model, strict=True)) == [
        (c, m) for c in range(3) for m in ("alpha", "beta")
    ]
    assert list(table.prompt) == [f"Q: {q}" for q in cases.question for _ in range(2)]
    assert list(table.text) == [f"echo: Q: {q}" for q in cases.question for _ in range(2)]
    assert list(table.question) == [q for q in cases.question for _ in range(2)]
    assert set(table.status) == {"complete"}
    assert server.judge_bodies() == []


def test_one_judge_request_per_row_with_the_rubric_the_case_and_the_answer(
    server: EvalServer, session: GroqSession, cases: pd.DataFrame
) -> None:
    run = run_cases(session, cases, model=["alpha", "beta"])
    judged = server.judge_bodies()
    assert len(judged) == len(run.table) == 6
    graded = sorted(graded_answer(b) for b in judged)
    assert graded == sorted(run.table.text)
    for body in judged:
        text = last_message(body)
        question = text.split("- question: ", 1)[1].split("\n", 1)[0]
        # The rubric is a template over the case: {question} is this row's question.
        assert f"<rubric>\nThe answer is kind about {question}.\n</rubric>" in text
        assert f"- expected: {cases.set_index('question').expected[question]}" in text
        assert f"<prompt>\nQ: {question}\n</prompt>" in text
        assert body["messages"][0] == {"role": "system", "content": JUDGE_SYSTEM}
        assert body["temperature"] == 0
        schema = body["response_format"]["json_schema"]["schema"]
        assert list(schema["properties"]) == ["reason", "score"]
    assert list(run.table.judge_reason) == [
        "it says good" if "good" in t else "it does not say good" for t in run.table.text
    ]


def test_pass_rates_per_model_and_check(
    server: EvalServer, session: GroqSession, cases: pd.DataFrame
) -> None:
    run = run_cases(session, cases, model=["alpha", "beta"])
    table = run.table
    assert list(table["equals:expected"]) == [True, True, False, False, False, False]
    assert list(table.judge) == [1.0, 1.0, 0.0, 0.0, 1.0, 1.0]
    summary = run.summary
    assert list(summary.model) == ["alpha", "beta"]
    assert list(summary["equals:expected"]) == pytest.approx([1 / 3, 1 / 3])
    assert list(summary.judge) == pytest.approx([2 / 3, 2 / 3])
    assert list(summary.judge_mean) == pytest.approx([2 / 3, 2 / 3])
    assert list(summary.all_passed) == pytest.approx([1 / 3, 1 / 3])
    assert run.pass_rates() == pytest.approx(
        {"all_passed": 1 / 3, "equals:expected": 1 / 3, "judge": 2 / 3}
    )
    assert table[CHECK_ERRORS][2] == (
        "equals:expected: expected 'no', got 'echo: Q: a bad one';"
        " judge: score 0 < 0.5: it does not say good"
    )
    assert pd.isna(table[CHECK_ERRORS][0])
    assert list(run.failures.case) == [1, 1, 2, 2]


def test_a_judges_tokens_and_cost_are_counted_in_the_run(
    server: EvalServer, session: GroqSession, cases: pd.DataFrame
) -> None:
    # A priced judge model: its six requests' cost is part of the run's.
    judge = groq_magic.judge(RUBRIC, model="llama-3.1-8b-instant")
    run = run_cases(session, cases, model="alpha", checks=[judge])
    answers, judged = run.usage
    assert (answers["phase"], answers["runs"], answers["unpriced"]) == ("answers", 3, 3)
    assert (judged["phase"], judged["runs"], judged["answered"]) == ("judge", 3, 3)
    assert judged["prompt_tokens"] == 3 * 18
    assert judged["completion_tokens"] == 3
    assert judged["cost"] == pytest.approx(3 * (18 * 0.05 + 1 * 0.08) / 1e6)
    assert run.total_cost() == (pytest.approx(judged["cost"]), 3)
    assert {b["model"] for b in server.judge_bodies()} == {"llama-3.1-8b-instant"}
    assert "+ 3 of unknown cost" in run.headline()


def test_a_cache_rerun_sends_nothing(
    server: EvalServer, session: GroqSession, cases: pd.DataFrame
) -> None:
    first = run_cases(session, cases, model=["alpha", "beta"], cache=True)
    sent = len(server.requests)
    assert sent == 12
    again = run_cases(session, cases, model=["alpha", "beta"], cache=True)
    assert len(server.requests) == sent
    columns = ["case", "model", "text", "equals:expected", "judge", "judge_reason"]
    assert again.table[columns].equals(first.table[columns])
    assert again.id is not None
    assert again.id != first.id
    assert [u["cost"] for u in again.usage] == [0, 0]  # a replay costs nothing


def test_an_answer_that_failed_is_not_judged(
    server: EvalServer, session: GroqSession, cases: pd.DataFrame
) -> None:
    run = run_cases(session, cases, model=["alpha", "nope"])
    failed = run.table[run.table.model == "nope"]
    assert set(failed.status) == {"error"}
    assert failed.judge.isna().all()
    assert failed["equals:expected"].isna().all()
    assert len(server.judge_bodies()) == 3
    assert list(run.summary.unchecked) == [0, 3]


def test_a_data_column_named_like_a_table_column_is_kept_apart(
    server: EvalServer, session: GroqSession
) -> None:
    data = [{"text": "the first", "model": "m1"}, {"text": "the second", "model": "m2"}]
    run = groq_magic.evaluate("Say {text} ({model})", data, model="alpha", client=session)
    assert list(run.table.columns)[:4] == ["case", "data_text", "data_model", "prompt"]
    assert list(run.table.data_text) == ["the first", "the second"]
    assert list(run.table.text) == ["echo: Say the first (m1)", "echo: Say the second (m2)"]
    assert list(run.table.model) == ["alpha", "alpha"]


def test_namespace_fills_names_the_data_lacks_and_columns_win(
    server: EvalServer, session: GroqSession, cases: pd.DataFrame
) -> None:
    run = groq_magic.evaluate(
        "{style}: {question}",
        cases,
        model="alpha",
        client=session,
        namespace={"style": "Briefly", "question": "ignored"},
    )
    assert list(run.table.prompt) == [f"Briefly: {q}" for q in cases.question]


def test_the_display_has_the_summary_a_chart_and_failing_rows_first(
    server: EvalServer, session: GroqSession, cases: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    run = run_cases(session, cases, model=["alpha", "beta"])
    bundle = run._repr_mimebundle_()
    page = bundle["text/html"]
    assert page.index("<th>model</th>") < page.index("data:image/png;base64,")
    rows = page.split("failing first", 1)[1]
    positions = [rows.index(f"echo: Q: {q}") for q in ("a bad one", "good again", "a good one")]
    assert positions == sorted(positions)  # failing rows (cases 1, 2) before the passing one
    assert "4 of 6 failed a check" in page
    text = bundle["text/plain"]
    assert text.splitlines()[1:3] == [
        "  model alpha: equals:expected 33% · judge 67%",
        "  model beta: equals:expected 33% · judge 67%",
    ]
    assert "failing rows (4 of 6):" in text
    for name in ("matplotlib", "matplotlib.figure", "matplotlib.backends.backend_agg"):
        monkeypatch.setitem(sys.modules, name, None)  # no matplotlib: an inline SVG
    page = run._repr_mimebundle_()["text/html"]
    assert "<svg" in page
    assert "data:image/png" not in page
    assert ">67%</text>" in page


def test_a_big_evaluation_shows_one_progress_line_per_phase(
    server: EvalServer,
    session: GroqSession,
    cases: pd.DataFrame,
    capsys: pytest.CaptureFixture[str],
) -> None:
    run_cases(session, cases, model="alpha")
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(":")[0] for line in lines if "took" in line] == ["answers", "judge"]


def test_the_stored_run_records_options_and_dataset(
    server: EvalServer, session: GroqSession, cases: pd.DataFrame
) -> None:
    run = run_cases(session, cases, model=["alpha", "beta"], temperature=0.5, name="first")
    assert run.name == "first"
    assert run.id == 1
    assert run.note is None
    assert run.options == {"model": ["alpha", "beta"], "temperature": 0.5}
    assert run.dataset["cases"] == 3
    assert run.dataset["columns"] == ["question", "expected"]
    assert json.loads(json.dumps(run.dataset)) == run.dataset
    assert repr(run).startswith("<EvalRun run 1 'first' · 3 cases x 2 combinations · 6 rows")


def test_without_a_store_the_run_says_so(server: EvalServer, cases: pd.DataFrame) -> None:
    from groq_magic.backend import Backend

    session = GroqSession(Backend())  # no store configured
    try:
        run = run_cases(session, cases, model="alpha", checks=None)
    finally:
        session.close()
    assert run.id is None
    assert (
        run.note
        == "not stored: the exchange store is off (no store was configured for this session)"
    )
    assert "run (not stored)" in run.headline()


def test_a_judge_outside_evaluate_fails_its_rows_with_a_pointer(server: EvalServer) -> None:
    table = groq_magic.sweep(["a"], model="alpha", checks=[groq_magic.judge("Is kind.")])
    assert table.judge[0] is False or not table.judge[0]
    assert "groq_magic.evaluate" in table[CHECK_ERRORS][0]


def test_a_key_in_an_answer_or_a_case_never_reaches_the_judge(
    server: EvalServer, session: GroqSession
) -> None:
    from keys import FAKE_KEY, assert_no_secret

    # An answer holding the key is redacted as it arrives; a case holding something
    # shaped like a key (in a column the template does not use, so the answer was
    # asked) is not sent to the judge at all: that row's grade fails, saying why.
    server.answer = lambda body: f"the key is {FAKE_KEY}" if "leak" in str(body) else "fine"
    data = {"q": ["leak", "safe", "note"], "note": ["", "", "gsk_" + "Z" * 52]}
    run = groq_magic.evaluate(
        "{q}", data, model="alpha", client=session, checks=[groq_magic.judge("Is fine.")]
    )
    assert run.table.text[0] == "the key is [redacted]"
    assert len(server.judge_bodies()) == 2
    assert list(run.table.judge[:2]) == [0.0, 0.0]  # neither answer says "good"
    assert run.table.judge[2] is False or run.table.judge[2] == 0
    assert "shaped like an API key" in run.table.judge_reason[2]
    for body in server.judge_bodies():
        assert_no_secret(json.dumps(body))
        assert "Z" * 52 not in json.dumps(body)


def test_the_stop_button_keeps_finished_answers_and_a_cache_rerun_sends_the_rest(
    server: EvalServer, session: GroqSession
) -> None:
    import _thread
    import threading
    import time

    def answer(body: dict[str, Any]) -> str:
        if "slow" in last_message(body):
            time.sleep(0.5)
        return "good"

    server.answer = answer
    data = {"q": ["fast 0", "fast 1", "slow 2", "slow 3"]}
    judge = groq_magic.judge("Is good.")
    threading.Timer(0.3, _thread.interrupt_main).start()
    run = groq_magic.evaluate("{q}", data, model="alpha", client=session, checks=[judge],
                              concurrency=1)  # fmt: skip
    assert run.interrupted
    assert list(run.table.status) == ["complete", "complete", "interrupted", "interrupted"]
    assert list(run.table.text[:2]) == ["good", "good"]
    assert run.table.judge.isna().all()  # the judge was not asked: nothing is graded
    assert server.judge_bodies() == []
    assert run.id is not None
    assert "interrupted" in run.headline()
    server.answer = lambda body: "good"
    before = len(server.task_bodies())
    again = groq_magic.evaluate("{q}", data, model="alpha", client=session, checks=[judge],
                                cache=True)  # fmt: skip
    assert len(server.task_bodies()) - before == 2  # only the two that did not finish
    assert list(again.table.judge) == [1.0] * 4


def test_without_pandas_the_run_is_lists_of_dicts(
    server: EvalServer, session: GroqSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "pandas", None)  # import pandas -> ImportError
    data = [{"q": "good", "expected": "echo: good"}, {"q": "bad", "expected": "?"}]
    run = groq_magic.evaluate(
        "{q}", data, model="alpha", client=session,
        checks=["equals:expected", groq_magic.judge("Says good.")],
    )  # fmt: skip
    assert isinstance(run.table, list)
    assert [(r["case"], r["text"], r["equals:expected"], r["judge"]) for r in run.table] == [
        (0, "echo: good", True, 1.0),
        (1, "echo: bad", False, 0.0),
    ]
    assert run.summary == [
        {
            "count": 2, "unchecked": 0, "all_passed": 0.5, "equals:expected": 0.5,
            "judge": 0.5, "judge_mean": 0.5,
        }
    ]  # fmt: skip
    assert [r["case"] for r in run.failures] == [1]
    assert "failing rows (1 of 2)" in run._repr_mimebundle_()["text/plain"]
    loaded = groq_magic.load_run(run.id, client=session)
    assert loaded.table == run.table  # time_to_first_token too: no key is taken for a secret
