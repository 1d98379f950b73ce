"""groq_magic.sweep: the compare engine from code, over a list of prompts, with no display."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest
from keys import FAKE_KEY
from ui_fakes import RoutedServer

import groq_magic
from groq_magic.backend import Backend
from groq_magic.chat import OptionsError
from groq_magic.client import AsyncGroq, RateLimitError
from groq_magic.client import error_wait_hint as retry_after
from groq_magic.sweeps.runner import TABLE_COLUMNS, SharedBackoff, without_retries


def test_sweep_over_a_dataframe_column_of_prompts(
    env: RoutedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    prompts = pd.DataFrame({"q": ["Name a fruit.", "Name a city.", "Name a river."]})
    table = groq_magic.sweep(prompts.q, model="alpha", temperature=[0, 1], max_tokens=16, seed=4)
    assert list(table.columns) == ["prompt", *TABLE_COLUMNS]
    assert len(table) == 6
    assert list(zip(table.prompt, table.temperature, strict=True)) == [
        (p, t) for p in prompts.q for t in (0.0, 1.0)
    ]
    sent = sorted(
        (b["messages"][-1]["content"], b["temperature"], b["max_completion_tokens"], b["seed"])
        for b in env.chat_bodies()
    )
    assert sent == sorted((p, t, 16, 4) for p in prompts.q for t in (0.0, 1.0))
    # Each prompt is asked alone: no history from the other runs.
    assert all(len(b["messages"]) == 1 for b in env.chat_bodies())
    assert set(table.status) == {"complete"}
    assert table.text[3] == "answer: model=alpha temperature=1.0 max_completion_tokens=16 seed=4"
    assert capsys.readouterr().out == ""  # a sweep shows nothing


def test_one_prompt_has_no_prompt_column_and_repeat_varies_the_seed(env: RoutedServer) -> None:
    table = groq_magic.sweep("Hi", model=["alpha", "beta"], repeat=2, system="Be brief.")
    assert list(table.columns) == list(TABLE_COLUMNS)
    assert [(r.model, r.seed) for r in table.itertuples()] == [
        ("alpha", 0),
        ("alpha", 1),
        ("beta", 0),
        ("beta", 1),
    ]
    assert all(
        b["messages"][0] == {"role": "system", "content": "Be brief."} for b in env.chat_bodies()
    )


def test_sweep_with_an_explicit_async_client_and_namespace(routed: RoutedServer) -> None:
    client = AsyncGroq(api_key=FAKE_KEY, base_url=routed.base_url)
    table = groq_magic.sweep(
        ["About {topic}.", "More on {topic}."],
        model="alpha",
        client=client,
        namespace={"topic": "owls"},
        concurrency=1,
    )
    assert list(table.prompt) == ["About owls.", "More on owls."]
    assert client.max_retries == 2  # the runner used a no-retry view, not the client itself


def test_sweep_with_a_backend(env: RoutedServer) -> None:
    table = groq_magic.sweep("Hi", model=["alpha", "nope"], client=Backend())
    assert list(table.status) == ["complete", "error"]
    assert "model_not_found" in table.error[1]


def test_records_without_pandas(env: RoutedServer, monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "pandas", None)  # import pandas -> ImportError
    rows = groq_magic.sweep(["a", "b"], model="alpha")
    assert isinstance(rows, list)
    assert [r["prompt"] for r in rows] == ["a", "b"]
    assert list(rows[0]) == ["prompt", *TABLE_COLUMNS]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"prompt": [], "model": "a"}, "sweep needs at least one prompt"),
        ({"prompt": "Hi", "temperature": []}, "--temperature needs at least one value"),
        ({"prompt": "Hi", "temperature": [0.5, 9]}, "--temperature must be between 0 and 2"),
        (
            {"prompt": ["Hi"] * 65, "model": "a", "max_runs": 64},
            "the grid has 65 runs (65 prompts); the limit",
        ),
        ({"prompt": "Hi", "seed": [1, 2], "repeat": 3}, "--repeat gives each repetition"),
    ],
)
def test_bad_input_raises_one_line_before_sending(
    env: RoutedServer, kwargs: dict[str, Any], message: str
) -> None:
    with pytest.raises(OptionsError) as info:
        groq_magic.sweep(**kwargs)
    assert str(info.value).startswith(message)
    assert env.requests == []


def test_max_runs_can_be_raised_for_big_sweeps(env: RoutedServer) -> None:
    table = groq_magic.sweep(["Hi"] * 70, model="alpha", max_runs=70, concurrency=16)
    assert len(table) == 70
    assert set(table.status) == {"complete"}, table.error.dropna().tolist()[:2]


# -- the runner's pieces ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("message", "seconds"),
    [
        ("Rate limit reached. Please try again in 7.66s. Visit ...", 7.66),
        ("Please try again in 850ms.", 0.85),
        ("Please try again in 1m2.5s.", 62.5),
        ("Rate limit reached.", None),
    ],
)
def test_retry_after_reads_groqs_message(message: str, seconds: float | None) -> None:
    exc = RateLimitError(message, status_code=429)
    assert retry_after(exc) == pytest.approx(seconds) if seconds else retry_after(exc) is None


def test_shared_backoff_uses_the_hint_else_doubles() -> None:
    now = [0.0]
    backoff = SharedBackoff(clock=lambda: now[0], rand=lambda: 0.0)
    assert backoff.hit(RateLimitError("x", status_code=429)) == 0.5
    assert backoff.hit(RateLimitError("x", status_code=429)) == 1.0
    assert backoff.hit(RateLimitError("try again in 4s", status_code=429)) == 4.0
    assert backoff.resume_at == 4.0
    for _ in range(10):
        backoff.hit(RateLimitError("x", status_code=429))
    assert backoff.hit(RateLimitError("x", status_code=429)) == 8.0  # the client's cap


def test_shared_backoff_jitters_like_the_client() -> None:
    # Bug 5 of issue 9: the grid's backoff had no jitter (every run retried in lockstep).
    backoff = SharedBackoff(clock=lambda: 0.0, rand=lambda: 1.0)
    assert backoff.hit(RateLimitError("x", status_code=429)) == pytest.approx(0.375)
    hinted = RateLimitError("x", status_code=429)
    hinted.retry_after = 2.0
    assert backoff.hit(hinted) == 2.0  # a server's wait is never jittered


def test_without_retries_shares_the_pool() -> None:
    client = AsyncGroq(api_key=FAKE_KEY, base_url="http://127.0.0.1:9/v1", max_retries=2)
    view = without_retries(client)
    assert view.max_retries == 0
    assert client.max_retries == 2
    assert view._http is client._http
    assert view.chat.completions._client is view
    assert without_retries(view) is view


def test_numpy_scalars_and_ranges(env: RoutedServer) -> None:
    import numpy as np

    table = groq_magic.sweep("Hi", model="alpha", seed=range(2), max_tokens=np.int64(9))
    assert list(table.seed) == [0, 1]
    assert {b["max_completion_tokens"] for b in env.chat_bodies()} == {9}
