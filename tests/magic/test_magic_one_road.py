"""One road into a turn: every entry point prepares its turns in the same place.

The five ways of running a turn (a ``%%groq`` cell, ``%groq retry``, the sliders
panel, ``--compare`` and ``groq_magic.sweep``) go through ``prepare_turn``, so each
rule checked there holds on each road. Each test below is parametrized over the
five roads; a road that skipped the preparation would fail its row.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from ipykernel.zmqshell import ZMQInteractiveShell
from keys import FAKE_KEY
from magic_helpers import CellRun, sent
from scripted_server import Reply, completion_body, completion_reply

ROADS = ("cell", "retry", "panel", "compare", "sweep")

CITY = '{"name": "Oslo", "population": 709000}'


def _chat_requests(groq: Any) -> int:
    return sum(r.path.endswith("/chat/completions") for r in groq.server.requests)


def _answers(groq: Any, count: int, content: str = "ok") -> None:
    groq.server.enqueue(*(completion_reply(content) for _ in range(count)))


def _prepare_retry(groq: Any, flags: str, prompt: str) -> None:
    """A recorded turn to retry, made by a cell with ``flags`` and an innocent prompt."""
    _answers(groq, 1, CITY)
    first = groq.run(f"%%groq --no-stream {flags}\nA first prompt.", cell_id="cell-road")
    assert first.error is None, first.err
    # As if the history had been loaded from a file someone edited: the recorded
    # prompt is what the road must check again.
    groq.session.store.current.turns[-1].prompt = prompt


def run_road(groq: Any, road: str, flags: str, template: str, answers: int = 1) -> CellRun:
    """Run ``template`` with ``flags`` on ``road``; ``answers`` replies are queued."""
    groq.server.route("GET", "/v1/models", Reply(status=503, json={"error": {"message": "x"}}))
    if road == "retry":
        from groq_magic.chat.template import render_prompt

        _prepare_retry(groq, flags, render_prompt(template, groq.ns))
        _answers(groq, answers, CITY)
        return groq.run("%groq retry")
    _answers(groq, answers, CITY)
    if road == "cell":
        return groq.run(f"%%groq --no-stream {flags}\n{template}")
    if road == "panel":
        # A live kernel, so the real widget panel is built and runs once.
        groq.shell.__class__ = ZMQInteractiveShell
        return groq.run(f"%%groq --ui --no-stream {flags}\n{template}")
    if road == "compare":
        return groq.run(f"%%groq --no-stream --compare m1,m2 {flags}\n{template}")
    assert road == "sweep"
    groq.ns["_template"] = template
    arguments = {"": "", "--schema City": ", schema=City", "-t 1.5": ", temperature=1.5"}[flags]
    return groq.run(
        "import groq_magic\n"
        f"_table = groq_magic.sweep(_template, namespace=globals(), stream=False{arguments})"
    )


def _requests_sent(groq: Any, road: str) -> list[dict[str, Any]]:
    bodies = [
        json.loads(r.body) for r in groq.server.requests if r.path.endswith("/chat/completions")
    ]
    # The retry road's first request made the turn being retried.
    return bodies[1:] if road == "retry" else bodies


@pytest.fixture
def live_shell_restored(groq: Any) -> Any:
    """Undo the panel road's switch to a live-kernel shell class."""
    original = groq.shell.__class__
    yield groq
    groq.shell.__class__ = original


@pytest.mark.parametrize("road", ROADS)
def test_a_key_in_the_prompt_is_refused_on_every_road(live_shell_restored: Any, road: str) -> None:
    """Issue 9 bug 1: compare, panel and sweep sent a key that a plain cell refused."""
    groq = live_shell_restored
    groq.ns["k"] = FAKE_KEY
    run = run_road(groq, road, "", "repeat {k}", answers=2)
    assert _requests_sent(groq, road) == []
    shown = run.err + run.out + repr(run.error)
    assert "shaped like an API key" in shown
    assert FAKE_KEY not in shown


@pytest.mark.parametrize("road", ROADS)
def test_schema_is_sent_and_checked_on_every_road(live_shell_restored: Any, road: str) -> None:
    groq = live_shell_restored
    groq.run("from pydantic import BaseModel\nclass City(BaseModel):\n name: str\n population: int")
    run = run_road(groq, road, "--schema City", "A city as JSON.", answers=2)
    assert run.error is None, run.err
    bodies = _requests_sent(groq, road)
    assert bodies
    for body in bodies:
        assert body["response_format"]["type"] == "json_schema"
        assert body["response_format"]["json_schema"]["name"] == "City"
        assert body["response_format"]["json_schema"]["schema"]["required"] == [
            "name",
            "population",
        ]


@pytest.mark.parametrize("road", ROADS)
def test_configured_defaults_apply_on_every_road(live_shell_restored: Any, road: str) -> None:
    groq = live_shell_restored
    assert groq.run("%config GroqMagics.temperature = 0.3").error is None
    assert groq.run("%config GroqMagics.max_tokens = 77").error is None
    assert groq.run('%config GroqMagics.model = "configured-model"').error is None
    run = run_road(groq, road, "", "Say hi.", answers=2)
    assert run.error is None, run.err
    bodies = _requests_sent(groq, road)
    assert bodies
    for body in bodies:
        assert body["temperature"] == 0.3
        assert body["max_completion_tokens"] == 77
        if road != "compare":  # a compare names its models
            assert body["model"] == "configured-model"


@pytest.mark.parametrize("road", ROADS)
def test_a_flag_beats_the_configured_default_on_every_road(
    live_shell_restored: Any, road: str
) -> None:
    groq = live_shell_restored
    assert groq.run("%config GroqMagics.temperature = 0.3").error is None
    run = run_road(groq, road, "-t 1.5", "Say hi.", answers=2)
    assert run.error is None, run.err
    bodies = _requests_sent(groq, road)
    assert bodies
    for body in bodies:
        assert body["temperature"] == 1.5


# -- the bugs of issue 9, each on its own ------------------------------------------------


def _city(groq: Any) -> None:
    groq.run("from pydantic import BaseModel\nclass City(BaseModel):\n name: str\n population: int")


def test_retry_after_a_schema_turn_sends_and_validates_the_schema(groq: Any) -> None:
    """Bug 2: ``%groq retry`` after ``--schema City`` sent no response_format, validated nothing."""
    _city(groq)
    _answers(groq, 1, CITY)
    assert groq.run("%%groq --no-stream --schema City\nA city.").error is None
    before = groq.history_json()
    _answers(groq, 1, '{"name": "Oslo"}')  # population missing
    run = groq.run("%groq retry")
    assert "population" in run.usage_error
    assert sent(groq.server)["response_format"]["json_schema"]["name"] == "City"
    assert groq.history_json() == before
    _answers(groq, 1, '{"name": "Bergen", "population": 291000}')
    again = groq.run("%groq retry")
    assert again.error is None, again.err
    assert again.result.parsed.name == "Bergen"
    assert type(again.result.parsed).__name__ == "City"


def test_retry_uses_the_remembered_schema_when_the_variable_is_gone(groq: Any) -> None:
    _city(groq)
    _answers(groq, 1, CITY)
    assert groq.run("%%groq --no-stream --schema City\nA city.").error is None
    groq.run("del City")
    _answers(groq, 1, CITY)
    run = groq.run("%groq retry")
    assert run.error is None, run.err
    assert run.result.parsed.population == 709000


def test_retry_of_a_loaded_schema_turn_without_the_variable_is_one_line(
    groq: Any, tmp_path: Any
) -> None:
    """Bad input: a loaded turn names a schema nobody defined: one line, nothing sent."""
    _city(groq)
    _answers(groq, 1, CITY)
    assert groq.run("%%groq --no-stream --schema City\nA city.").error is None
    path = tmp_path / "chat.json"
    assert groq.run(f"%groq save {path}").error is None
    groq.run("del City")
    assert groq.run(f"%groq load {path}").error is None
    before, requests = groq.history_json(), _chat_requests(groq)
    run = groq.run("%groq retry")
    assert run.usage_error == "--schema City: no variable named 'City' in the notebook"
    assert _chat_requests(groq) == requests
    assert groq.history_json() == before


def test_ui_after_a_schema_turn_finds_the_schema(groq: Any) -> None:
    """Bug 3: ``%groq ui`` after ``--schema`` said "no variable named 'City'"."""
    _city(groq)
    _answers(groq, 1, CITY)
    assert groq.run("%%groq --no-stream --schema City\nA city.").error is None
    _answers(groq, 1, CITY)
    run = groq.run("%groq ui")
    assert run.error is None, run.err
    assert sent(groq.server)["response_format"]["json_schema"]["name"] == "City"


def test_ui_on_a_chat_with_no_turns_is_one_line(groq: Any) -> None:
    run = groq.run("%groq ui")
    assert run.usage_error.startswith("chat 'default' has no turns yet")
    assert _chat_requests(groq) == 0


@pytest.mark.parametrize(
    ("usage", "expected"),
    [
        ({"prompt_tokens": 5, "completion_tokens": 40}, None),
        (
            {
                "prompt_tokens": 5,
                "completion_tokens": 40,
                "total_tokens": 45,
                "completion_time": 0.1,
            },
            400.0,
        ),
    ],
)
def test_one_tokens_per_second_rule_for_the_line_and_the_result(
    groq: Any, usage: dict[str, Any], expected: float | None
) -> None:
    """Bug 4: a non-streamed answer's status line showed no speed, its result one with
    network time in it. Both now follow one rule."""
    body = completion_body("x" * 40)
    body["usage"] = usage
    groq.server.enqueue(Reply(headers={"content-type": "application/json"}, json=body))
    run = groq.run("%%groq --no-stream\nHi.")
    assert run.error is None, run.err
    speed = run.result.timings.tokens_per_second
    if expected is None:
        assert speed is None
        assert "tok/s" not in run.out
    else:
        assert speed == pytest.approx(expected)
        assert "400 tok/s" in run.out


def test_compare_obeys_x_should_retry_false(groq: Any) -> None:
    """Bug 5: the compare runner retried a 503 the server said not to retry."""
    no_retry = Reply(
        status=503,
        headers={"x-should-retry": "false"},
        json={"error": {"message": "busy", "type": "internal_server_error"}},
    )
    groq.server.enqueue(no_retry)
    run = groq.run("%%groq --no-stream --compare m1\nHi.")
    assert run.error is None, run.err
    assert _chat_requests(groq) == 1
    assert list(run.result.status) == ["error"]


@pytest.mark.parametrize(
    ("setting", "line"),
    [
        ("temperature = 7", "GroqMagics.temperature must be between 0 and 2 (got 7)"),
        ('model = ""', "GroqMagics.model must not be empty"),
        ("max_tokens = 0", "GroqMagics.max_tokens must be between 1 and 131072 (got 0)"),
        ('seed = "x"', "GroqMagics.seed"),
        ("timeout = -1", "GroqMagics.timeout must be more than 0 seconds (got -1)"),
        ("max_retries = -2", "GroqMagics.max_retries must be 0 or more (got -2)"),
        ("max_concurrency = 0", "GroqMagics.max_concurrency must be at least 1 (got 0)"),
        (
            "requests_per_minute = 0",
            "GroqMagics.requests_per_minute must be more than 0 (got 0)",
        ),
    ],
)
def test_config_values_are_checked_when_set(
    groq: Any, caplog: pytest.LogCaptureFixture, setting: str, line: str
) -> None:
    """``%config`` reports a refused value through logging.error: one line, the config name."""
    name = setting.split()[0]
    before = getattr(groq.magics, name)
    with caplog.at_level(logging.ERROR):
        run = groq.run(f"%config GroqMagics.{setting}")
    messages = [r.getMessage() for r in caplog.records] + [run.out + run.err]
    assert any(line in m for m in messages), messages
    assert not any("--" in m and "GroqMagics" in m for m in messages)
    assert "Traceback" not in run.out + run.err
    assert getattr(groq.magics, name) == before


def test_repeats_count_from_the_configured_seed(groq: Any) -> None:
    """``%config GroqMagics.seed = 42`` then ``--repeat 3``: seeds 42, 43, 44, as before the
    defaults moved into the one road (the grid is expanded before the road applies them)."""
    assert groq.run("%config GroqMagics.seed = 42").error is None
    _answers(groq, 3)
    run = groq.run("%%groq --no-stream --repeat 3\nName a robot.")
    assert run.error is None, run.err
    assert sorted(body["seed"] for body in _requests_sent(groq, "cell")) == [42, 43, 44]
    assert sorted(run.result.seed) == [42, 43, 44]
