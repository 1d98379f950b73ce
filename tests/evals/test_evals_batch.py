"""``evaluate(..., via="batch")`` over the Batch API emulation: the same table as a sweep."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from batch_server import BatchServer
from eval_server import EvalServer, echo, good_judge, is_judge
from keys import FAKE_KEY

import groq_magic
from groq_magic.backend import Backend
from groq_magic.evals import EvalRun
from groq_magic.evals.grader import JUDGE_SYSTEM
from groq_magic.session import GroqSession
from groq_magic.store import StoreSettings

# What a sweep and a batch both know; timings, token counts (each server counts its
# own way) and costs (a batch pays half) differ by design.
SAME = [
    "case", "question", "expected", "prompt", "model", "temperature", "top_p", "max_tokens",
    "seed", "text", "finish_reason", "status", "equals:expected", "judge", "judge_reason",
    "check_errors",
]  # fmt: skip


def answer(body: dict[str, Any]) -> str:
    return good_judge(body) if is_judge(body) else echo(body)


@pytest.fixture
def batches(monkeypatch: pytest.MonkeyPatch) -> Iterator[BatchServer]:
    from groq_magic import batching

    monkeypatch.setattr(batching, "POLL_SECONDS", 0.01)
    with BatchServer(api_key=FAKE_KEY, answer=answer, advance_on_poll=True) as running:
        yield running


def session_on(url: str, store: Path) -> GroqSession:
    return GroqSession(Backend(base_url=lambda: url), store=lambda: StoreSettings(path=str(store)))


def run_on(session: GroqSession, cases: pd.DataFrame, via: str) -> EvalRun:
    return groq_magic.evaluate(
        "Q: {question}",
        cases,
        model=["alpha", "beta"],
        temperature=0,
        checks=["equals:expected", groq_magic.judge("Kind to {question}")],
        client=session,
        via=via,
        progress=False,
    )


def test_batch_mode_gives_the_same_table_as_sweep_mode(
    server: EvalServer, batches: BatchServer, cases: pd.DataFrame, tmp_path: Path
) -> None:
    swept_session = session_on(server.base_url, tmp_path / "a.sqlite")
    batched_session = session_on(batches.base_url, tmp_path / "b.sqlite")
    try:
        swept = run_on(swept_session, cases, "sweep")
        batched = run_on(batched_session, cases, "batch")
    finally:
        swept_session.close()
        batched_session.close()
    assert list(batched.table.columns) == list(swept.table.columns)
    assert batched.table[SAME].equals(swept.table[SAME])
    assert batched.summary.equals(swept.summary)
    assert (batched.via, batched.id) == ("batch", 1)
    # Two jobs: the answers, then one judge request per answered row.
    assert len(batches.batches) == 2
    answers_job, judge_job = (
        [json.loads(line) for line in batches.files[b.input_file_id].data.splitlines()]
        for b in batches.batches.values()
    )
    assert [line["body"]["messages"][-1]["content"] for line in answers_job] == [
        f"Q: {q}" for q in cases.question for _ in range(2)
    ]
    assert len(judge_job) == 6
    assert all(line["body"]["messages"][0]["content"] == JUDGE_SYSTEM for line in judge_job)
    assert all(is_judge(line["body"]) for line in judge_job)
    phases = {u["phase"]: u for u in batched.usage}
    assert phases["judge"]["cost"] > 0  # the judge's default model is priced, at half


def test_a_failed_batch_row_is_kept_and_not_judged(
    batches: BatchServer, cases: pd.DataFrame, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GROQ_API_KEY", FAKE_KEY)
    session = session_on(batches.base_url, tmp_path / "c.sqlite")
    try:
        run = groq_magic.evaluate(
            "Q: {question}", cases, model=["alpha", "bad-model"], client=session, via="batch",
            checks=[groq_magic.judge("Kind")], progress=False,
        )  # fmt: skip
    finally:
        session.close()
    failed = run.table[run.table.model == "bad-model"]
    assert set(failed.status) == {"error"}
    assert failed.error.str.startswith("404 model_not_found").all()
    assert failed.judge.isna().all()
    judge_job = list(batches.batches.values())[1]
    assert len(batches.files[judge_job.input_file_id].data.splitlines()) == 3
