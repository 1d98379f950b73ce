"""Bad input to an evaluation: one clear line, and nothing sent when found before a request.

A judge whose answer is unusable is not bad input: that row's check fails with the
reason and the run goes on.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from eval_server import EvalServer

import groq_magic
from groq_magic.chat import ChatError
from groq_magic.checks import CHECK_ERRORS, CheckError
from groq_magic.evals import EvalError
from groq_magic.session import GroqSession


def assert_one_line(message: str) -> None:
    assert message
    assert "\n" not in message, message
    assert "Traceback" not in message, message


@pytest.mark.parametrize(
    ("template", "data", "message"),
    [
        (
            "Capital of {country}?",
            {"nation": ["France"]},
            "the template names {country}, but the data has no column 'country'"
            " (its columns: nation)",
        ),
        ("Q: {q.nope}", {"q": ["x"]}, "case 0: {q.nope}: str 'q' has no attribute 'nope'"),
        ("Q: {q}", [], "the dataset is empty: there are no cases to evaluate"),
        ("Q: {q}", pd.DataFrame({"q": []}), "the dataset is empty"),
        ("Q: {q}", {"q": ["a", "b"], "r": ["c"]}, "the dataset's columns have different lengths"),
        ("Q: {q}", [{"q": 1}, "x"], "data: case 2 is a str, not a dict of columns"),
        ("Q: {q}", 42, "data must be a DataFrame, a list of dicts, a dict of columns"),
        ("   ", {"q": ["a"]}, "the template is empty"),
    ],
)
def test_bad_data_or_template_is_one_line_and_nothing_is_sent(
    server: EvalServer, session: GroqSession, template: str, data: Any, message: str
) -> None:
    with pytest.raises(EvalError) as info:
        groq_magic.evaluate(template, data, model="alpha", client=session)
    assert str(info.value).startswith(message), str(info.value)
    assert_one_line(str(info.value))
    assert server.requests == []


def test_a_rubric_naming_a_missing_column_is_one_line_before_anything_is_sent(
    server: EvalServer, session: GroqSession, cases: pd.DataFrame
) -> None:
    with pytest.raises(EvalError) as info:
        groq_magic.evaluate(
            "Q: {question}",
            cases,
            client=session,
            checks=[groq_magic.judge("Matches {answer}.", name="match")],
        )
    assert str(info.value) == (
        "the rubric of 'match' names {answer}, but the data has no column 'answer'"
        " (its columns: question, expected)"
    )
    assert server.requests == []


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("missing.csv", None, "missing.csv: no such file"),
        ("cases.txt", "q\na\n", "cases.txt: a dataset file ends in .csv, .jsonl or .json"),
        ("ragged.csv", "q,expected\na,b\nc,d,e\n", "ragged.csv: line 3 has 3 fields"),
        ("quote.csv", 'q\n"a\n', "quote.csv: line 2: the CSV does not parse"),
        ("stray.csv", 'q\n"a"b\n', "stray.csv: line 2: the CSV does not parse"),
        ("bad.jsonl", '{"q": "a"}\n{"q": \n', "bad.jsonl: line 2 is not JSON"),
        ("obj.json", '{"q": "a"}', "obj.json holds a dict: a dataset file is a list of cases"),
        ("empty.csv", "", "the dataset is empty"),
        ("latin.csv", b"q\n\xe9t\xe9\n", "latin.csv is not UTF-8 text"),
    ],
)
def test_a_bad_path_or_file_is_one_line(
    server: EvalServer,
    session: GroqSession,
    tmp_path: Path,
    name: str,
    content: str | bytes | None,
    message: str,
) -> None:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content)
    with pytest.raises(EvalError) as info:
        groq_magic.evaluate("Q: {q}", path, client=session)
    assert message in str(info.value)
    assert_one_line(str(info.value))
    assert server.requests == []


def test_an_unknown_check_or_bad_option_is_one_line_before_anything_is_sent(
    server: EvalServer, session: GroqSession, cases: pd.DataFrame
) -> None:
    with pytest.raises(CheckError, match="unknown check 'spelling'"):
        groq_magic.evaluate("{question}", cases, client=session, checks=["spelling"])
    with pytest.raises(ChatError, match="--temperature must be between 0 and 2"):
        groq_magic.evaluate("{question}", cases, client=session, temperature=[0, 5])
    with pytest.raises(EvalError, match="via must be 'sweep' or 'batch'"):
        groq_magic.evaluate("{question}", cases, client=session, via="post")
    with pytest.raises(EvalError, match="use one or the other"):
        groq_magic.evaluate("{question}", cases, client=session, via="batch", cache=True)
    assert server.requests == []


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"rubric": " "}, "a judge needs a rubric"),
        ({"rubric": "ok", "threshold": 2}, "a check's threshold is a number in 0..1"),
        ({"rubric": "ok", "name": ""}, "a judge's name is its column's name"),
        ({"rubric": "ok", "max_tokens": 3}, "a judge's max_tokens is a whole number >= 16"),
    ],
)
def test_a_bad_judge_is_one_line(kwargs: dict[str, Any], message: str) -> None:
    rubric = kwargs.pop("rubric")
    with pytest.raises(CheckError, match=message):
        groq_magic.judge(rubric, **kwargs)


@pytest.mark.parametrize(
    ("verdict", "reason"),
    [
        ("not json at all", "the judge gave no verdict: the answer is not JSON"),
        (json.dumps({"reason": "great", "score": 1.7}), "the judge's score 1.7 is not in 0..1"),
        (json.dumps({"reason": "great", "score": -0.5}), "the judge's score -0.5 is not in 0..1"),
        (
            json.dumps({"reason": "no score"}),
            "the judge gave no verdict: answer does not match Verdict: score: Field required",
        ),
    ],
)
def test_an_unusable_verdict_fails_that_row_with_the_reason_and_the_run_goes_on(
    server: EvalServer, session: GroqSession, verdict: str, reason: str
) -> None:
    def judge(body: dict[str, Any]) -> str:
        content = body["messages"][-1]["content"]
        return verdict if "first" in content else json.dumps({"reason": "fine", "score": 0.9})

    server.judge = judge
    run = groq_magic.evaluate(
        "Say {q}", {"q": ["first", "second"]}, model="alpha", client=session,
        checks=[groq_magic.judge("Is fine.")],
    )  # fmt: skip
    table = run.table
    assert list(table.status) == ["complete", "complete"]
    assert table.judge[0] is False or table.judge[0] == 0
    assert table.judge_reason[0].startswith(reason), table.judge_reason[0]
    assert table[CHECK_ERRORS][0].startswith(f"judge: {reason}")
    assert (table.judge[1], table.judge_reason[1]) == (0.9, "fine")
    assert run.pass_rates()["judge"] == 0.5
    assert run.id is not None  # the run is kept


def test_an_unknown_run_id_is_one_line(session: GroqSession) -> None:
    with pytest.raises(ChatError) as info:
        groq_magic.load_run(99, client=session)
    assert str(info.value) == "no stored evaluation run with id 99 (groq_magic.runs() lists them)"
    with pytest.raises(EvalError, match="a run id is a whole number"):
        groq_magic.load_run("latest", client=session)
    with pytest.raises(ChatError, match="no stored evaluation run with id 7"):
        groq_magic.diff(7, 8, client=session)


def test_runs_with_the_store_off_is_one_line(server: EvalServer) -> None:
    from groq_magic.backend import Backend

    session = GroqSession(Backend())
    try:
        with pytest.raises(ChatError, match="the exchange store is off") as info:
            groq_magic.runs(client=session)
    finally:
        session.close()
    assert_one_line(str(info.value))
