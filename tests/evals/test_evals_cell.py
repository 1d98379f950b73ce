"""``%%groq --data NAME``: the cell's template over a DataFrame of the notebook, as a run."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest
from eval_server import EvalServer
from IPython.core.error import UsageError

from groq_magic.evals import EvalRun


def run_cell(ip: Any, source: str) -> Any:
    result = ip.run_cell(source)
    if result.error_in_exec is not None:
        raise result.error_in_exec
    return result.result


def test_a_data_cell_runs_the_template_over_each_row_with_checks_and_a_judge(
    ip: Any, server: EvalServer, cases: pd.DataFrame, capsys: pytest.CaptureFixture[str]
) -> None:
    ip.user_ns["cases"] = cases
    run = run_cell(
        ip,
        '%%groq --data cases -m alpha,beta --check equals:expected --judge "Kind to {question}"'
        " -o evaluation\nQ: {question}\n",
    )
    assert isinstance(run, EvalRun)
    assert ip.user_ns["evaluation"] is run
    assert ip.user_ns["_groq"] is run
    assert run.name == "cases"
    assert run.id == 1
    assert list(zip(run.table.case, run.table.model, strict=True)) == [
        (c, m) for c in range(3) for m in ("alpha", "beta")
    ]
    assert list(run.table.prompt) == [f"Q: {q}" for q in cases.question for _ in range(2)]
    assert [c.name for c in run.checks] == ["equals:expected", "judge"]
    assert len(server.judge_bodies()) == 6
    assert all("Kind to " in b["messages"][-1]["content"] for b in server.judge_bodies())
    assert list(run.summary["equals:expected"]) == pytest.approx([1 / 3, 1 / 3])
    out = capsys.readouterr().out
    assert "answers: 6 / 6 done" in out
    assert "judge: 6 / 6 done" in out
    assert len(ip._groq_magics.session.store.current) == 0  # no chat turn was recorded


def test_list_flags_vary_and_a_notebook_function_is_a_check(
    ip: Any, server: EvalServer, cases: pd.DataFrame
) -> None:
    ip.user_ns["cases"] = cases
    run_cell(ip, "def short(result):\n    return len(result.text) < 16\n")
    run = run_cell(ip, "%%groq --data cases -m alpha -t 0,0.7 --check short\n{question}")
    assert list(run.table.temperature) == [0.0, 0.7] * 3
    assert sorted(b["temperature"] for b in server.task_bodies()) == [0.0] * 3 + [0.7] * 3
    assert list(run.table.short) == [False, False, True, True, False, False]
    assert list(run.summary.temperature) == [0.0, 0.7]


def test_cache_replays_a_data_cell(ip: Any, server: EvalServer, cases: pd.DataFrame) -> None:
    ip.user_ns["cases"] = cases
    source = '%%groq --data cases -m alpha --cache --judge "Says good"\n{question}'
    first = run_cell(ip, source)
    sent = len(server.requests)
    again = run_cell(ip, source)
    assert len(server.requests) == sent == 6
    assert list(again.table.judge) == list(first.table.judge) == [1.0, 0.0, 1.0]


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ('%%groq --judge "Is kind."\nHi', "--judge grades the rows of an evaluation"),
        ("%%groq --data nowhere\n{question}", "--data nowhere: no variable named 'nowhere'"),
        (
            "%%groq --data cases\nQ: {country}",
            "the template names {country}, but the data has no column 'country'"
            " (its columns: question, expected)",
        ),
        ("%%groq --data cases --check spelling\n{question}", "unknown check 'spelling'"),
        ("%%groq --data cases --ui\n{question}", "--ui and --data cannot be combined"),
        ("%%groq --data frame_of_nothing\n{question}", "the dataset is empty"),
    ],
)
def test_bad_data_cells_are_one_line_and_send_nothing(
    ip: Any,
    server: EvalServer,
    cases: pd.DataFrame,
    capsys: pytest.CaptureFixture[str],
    source: str,
    message: str,
) -> None:
    ip.user_ns["cases"] = cases
    ip.user_ns["frame_of_nothing"] = pd.DataFrame({"question": []})
    with pytest.raises(UsageError) as info:
        run_cell(ip, source)
    assert str(info.value).startswith(message), str(info.value)
    assert "\n" not in str(info.value)
    assert server.requests == []
