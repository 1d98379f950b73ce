"""Every ``%%groq`` option, end to end: the cell's flags as the server receives them."""

from __future__ import annotations

from typing import Any

import pytest
from magic_helpers import assert_clean, sent, stream
from scripted_server import completion_reply


def ask(groq: Any, line: str, body: str = "Count to 10.", *, reply: Any = None) -> Any:
    """Run ``%%groq LINE`` with ``body`` against one scripted answer; return the run."""
    groq.server.enqueue(reply or stream(["1, 2", ", 3"]))
    run = groq.run(f"%%groq {line}\n{body}", cell_id="cell-opts")
    assert run.error is None, run.err
    return run


def test_model_flag_reaches_the_request(groq: Any) -> None:
    ask(groq, "-m qwen/qwen3-32b")
    assert sent(groq.server)["model"] == "qwen/qwen3-32b"
    ask(groq, "--model openai/gpt-oss-20b")
    assert sent(groq.server)["model"] == "openai/gpt-oss-20b"


def test_default_model_without_flag(groq: Any) -> None:
    ask(groq, "")
    assert sent(groq.server)["model"] == "llama-3.3-70b-versatile"


def test_sampling_flags_reach_the_request_with_groq_names(groq: Any) -> None:
    ask(groq, "-t 0.5 --top-p 0.9 --max-tokens 100 --seed 7")
    body = sent(groq.server)
    assert body["temperature"] == 0.5
    assert body["top_p"] == 0.9
    assert body["max_completion_tokens"] == 100
    assert body["seed"] == 7
    assert body["stream"] is True


def test_unset_sampling_flags_are_not_sent(groq: Any) -> None:
    ask(groq, "")
    body = sent(groq.server)
    for name in ("temperature", "top_p", "max_completion_tokens", "max_tokens", "seed", "stop"):
        assert name not in body


def test_quoted_stop_arrives_without_quotes(groq: Any) -> None:
    ask(groq, '-m llama-3.3-70b-versatile -t 0.5 --stop ", 6"')
    assert sent(groq.server)["stop"] == ", 6"


def test_stop_escape_becomes_a_newline(groq: Any) -> None:
    ask(groq, r'--stop "\n"')
    assert sent(groq.server)["stop"] == "\n"
    ask(groq, r'--stop "END\nEND"')
    assert sent(groq.server)["stop"] == "END\nEND"


def test_stop_is_repeatable_up_to_four(groq: Any) -> None:
    ask(groq, '--stop a --stop "b c" --stop ", 6" --stop d')
    assert sent(groq.server)["stop"] == ["a", "b c", ", 6", "d"]


def test_fifth_stop_is_one_line_and_nothing_is_sent(groq: Any) -> None:
    run = groq.run("%%groq --stop a --stop b --stop c --stop d --stop e\nhi", cell_id="c5")
    line = run.usage_error
    assert "--stop" in line
    assert "4" in line
    assert groq.server.requests == []


def test_system_flag_is_the_first_message(groq: Any) -> None:
    ask(groq, '-s "You\'re terse."')
    messages = sent(groq.server)["messages"]
    assert messages[0] == {"role": "system", "content": "You're terse."}
    assert messages[-1]["role"] == "user"
    ask(groq, '--system "Answer in French."')
    assert sent(groq.server)["messages"][0]["content"] == "Answer in French."


def test_named_chats_keep_separate_histories(groq: Any) -> None:
    ask(groq, "", "default question")
    groq.server.enqueue(stream(["draft answer"]))
    assert groq.run("%%groq -c drafts\nfirst draft", cell_id="d1").error is None
    groq.server.enqueue(stream(["second"]))
    assert groq.run("%%groq --chat drafts\nsecond draft", cell_id="d2").error is None
    messages = sent(groq.server)["messages"]
    contents = [m["content"].strip() for m in messages]
    assert contents == ["first draft", "draft answer", "second draft"]
    assert [t.prompt.strip() for t in groq.turns("drafts")] == ["first draft", "second draft"]
    assert [t.prompt.strip() for t in groq.turns()] == ["default question"]


def test_json_flag_sets_json_object_and_parses(groq: Any) -> None:
    ask(groq, "--json", "Give me JSON", reply=stream(['{"a": ', "1}"]))
    assert sent(groq.server)["response_format"] == {"type": "json_object"}
    assert groq.ns["_groq"].json == {"a": 1}


def test_no_stream_sends_stream_false_and_shows_the_answer(groq: Any) -> None:
    run = ask(groq, "--no-stream", reply=completion_reply("Whole answer"))
    assert sent(groq.server).get("stream", False) is False
    assert "Whole answer" in run.out
    assert groq.ns["_groq"].text == "Whole answer"
    assert groq.turns()[-1].answer == "Whole answer"


def test_no_history_sends_only_the_prompt_and_records_nothing(groq: Any) -> None:
    ask(groq, "", "remember me")
    assert len(groq.turns()) == 1
    groq.server.enqueue(stream(["alone"]))
    run = groq.run("%%groq --no-history\nforget me", cell_id="nh")
    assert run.error is None
    messages = sent(groq.server)["messages"]
    assert [m["role"] for m in messages] == ["user"]
    assert messages[0]["content"].strip() == "forget me"
    assert [t.prompt.strip() for t in groq.turns()] == ["remember me"]
    assert groq.ns["_groq"].text == "alone"


def test_out_stores_the_result_in_the_variable(groq: Any) -> None:
    ask(groq, "-o answer")
    assert groq.ns["answer"] is groq.ns["_groq"]
    assert groq.ns["answer"].text == "1, 2, 3"
    ask(groq, "--out other")
    assert groq.ns["other"].text == "1, 2, 3"


def test_result_is_the_cell_value_and_underscore_groq(groq: Any) -> None:
    run = ask(groq, "")
    assert run.result is groq.ns["_groq"]
    assert run.result.text == "1, 2, 3"
    assert run.result.status == "complete"
    assert "1, 2, 3" in run.out  # the plain sink streamed it


@pytest.mark.parametrize(
    ("setting", "value", "field", "expected"),
    [
        ("model", '"qwen/qwen3-32b"', "model", "qwen/qwen3-32b"),
        ("temperature", "0.25", "temperature", 0.25),
        ("top_p", "0.5", "top_p", 0.5),
        ("max_tokens", "64", "max_completion_tokens", 64),
        ("seed", "42", "seed", 42),
    ],
)
def test_config_defaults_reach_the_request(
    groq: Any, setting: str, value: str, field: str, expected: Any
) -> None:
    assert groq.run(f"%config GroqMagics.{setting} = {value}").error is None
    ask(groq, "")
    assert sent(groq.server)[field] == expected
    config = groq.run("%groq config")
    assert config.error is None
    row = next(r for r in config.result.rows if r["setting"] == setting)
    assert row["value"] == expected


def test_flags_override_config_defaults(groq: Any) -> None:
    groq.run('%config GroqMagics.model = "configured-model"')
    groq.run("%config GroqMagics.temperature = 0.25")
    ask(groq, "-m flag-model -t 1.5")
    body = sent(groq.server)
    assert body["model"] == "flag-model"
    assert body["temperature"] == 1.5


def test_config_system_and_stream_defaults(groq: Any) -> None:
    groq.run('%config GroqMagics.system = "Be kind, don\'t shout."')
    groq.run("%config GroqMagics.stream = False")
    ask(groq, "", reply=completion_reply("calm"))
    body = sent(groq.server)
    assert body.get("stream", False) is False
    assert body["messages"][0] == {"role": "system", "content": "Be kind, don't shout."}
    rows = {r["setting"]: r["value"] for r in groq.run("%groq config").result.rows}
    assert rows["system"] == "Be kind, don't shout."
    assert rows["stream"] is False


def test_config_lists_every_setting_and_never_the_key(groq: Any) -> None:
    run = groq.run("%groq config")
    assert run.error is None
    rows = {r["setting"]: r["value"] for r in run.result.rows}
    for name in ("model", "temperature", "top_p", "max_tokens", "seed", "system", "stream"):
        assert name in rows
    assert rows["api key"] == "$GROQ_API_KEY"
    assert groq.server.base_url in str(rows["backend"])
    assert_clean(run.everything, repr(run.result), run.result._repr_markdown_())
    assert groq.server.requests == []


def test_help_documents_every_option(groq: Any) -> None:
    run = groq.run("%%groq?")
    assert run.error is None
    for flag in (
        "-m",
        "--model",
        "-t",
        "--temperature",
        "--top-p",
        "--max-tokens",
        "--stop",
        "--seed",
        "-s",
        "--system",
        "-c",
        "--chat",
        "--json",
        "--schema",
        "--no-stream",
        "--no-history",
        "-o",
        "--out",
    ):
        assert flag in run.out, flag
    for subcommand in ("history", "reset", "undo", "retry", "save", "load", "chats", "use"):
        assert subcommand in run.out
    assert groq.server.requests == []


def test_line_prompt_reaches_the_server_as_typed(groq: Any) -> None:
    groq.server.enqueue(stream(["Lots."]))
    run = groq.run("%groq What's new?", cell_id="line")
    assert run.error is None, run.err
    assert sent(groq.server)["messages"][-1]["content"] == "What's new?"


def test_line_prompt_with_options_and_quotes(groq: Any) -> None:
    groq.server.enqueue(stream(["ok"]))
    run = groq.run('%groq -t 0 --stop ", 6" Say "1, 2" then stop, it\'s fine', cell_id="l2")
    assert run.error is None, run.err
    body = sent(groq.server)
    assert body["temperature"] == 0
    assert body["stop"] == ", 6"
    assert body["messages"][-1]["content"] == 'Say "1, 2" then stop, it\'s fine'


def test_double_dash_makes_a_subcommand_word_a_prompt(groq: Any) -> None:
    groq.server.enqueue(stream(["Rome..."]))
    run = groq.run("%groq -- history of Rome", cell_id="rome")
    assert run.error is None, run.err
    assert sent(groq.server)["messages"][-1]["content"] == "history of Rome"


def test_unquoted_stop_escape_becomes_a_newline(groq: Any) -> None:
    # The help says "\\n is a newline", also typed bare (no shell escapes on the line).
    groq.server.enqueue(stream(["1, 2"]))
    run = groq.run("%%groq --stop \\n\nCount.", cell_id="esc")
    assert run.error is None, run.err
    assert sent(groq.server)["stop"] == "\n"
