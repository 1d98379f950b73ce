"""Bad input: each mistake is one clear line, nothing is sent, and no history is lost."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from keys import FAKE_KEY
from magic_helpers import assert_clean, stream

KEY_SHAPED = "gsk_" + "A1b2C3d4E5f6G7h8I9j0"


@pytest.fixture
def with_history(groq: Any) -> Any:
    """The harness with two turns in the default chat and one in ``drafts``."""
    for prompt, answer, cell, line in (
        ("first", "one", "p1", ""),
        ("second", "two", "p2", ""),
        ("draft", "three", "p3", "-c drafts"),
    ):
        groq.server.enqueue(stream([answer]))
        assert groq.run(f"%%groq {line}\n{prompt}", cell_id=cell).error is None
    groq.run("%groq use default")
    groq.before = groq.history_json()
    groq.sent_before = len(groq.server.requests)
    return groq


def refused(groq: Any, source: str) -> str:
    """Run ``source``; assert it is one line, sends nothing and keeps history; the line."""
    run = groq.run(source, cell_id="bad")
    line = run.usage_error
    assert len(groq.server.requests) == groq.sent_before, "a request was sent"
    assert groq.history_json() == groq.before, "history changed"
    assert groq.session.store.current.name == "default"
    assert_clean(run.everything)
    return line


@pytest.mark.parametrize(
    ("source", "words"),
    [
        ("%%groq --temprature 0.5\nhi", ["unrecognized", "--temprature"]),
        ("%%groq -x\nhi", ["-x"]),
        ("%groq --bogus hello there", ["--bogus"]),
        ("%%groq -t\nhi", ["-t"]),
    ],
    ids=["misspelt", "short", "line-form", "missing-value"],
)
def test_unknown_option(with_history: Any, source: str, words: list[str]) -> None:
    line = refused(with_history, source)
    for word in words:
        assert word in line


@pytest.mark.parametrize(
    ("flags", "words"),
    [
        ("-t 2.5", ["--temperature", "2"]),
        ("-t -0.1", ["--temperature"]),
        ("-t hot", ["--temperature", "hot"]),
        ("--top-p 1.5", ["--top-p", "1"]),
        ("--max-tokens 0", ["--max-tokens"]),
        ("--max-tokens 9999999", ["--max-tokens"]),
        ("--max-tokens 1.5", ["--max-tokens"]),
        ("--seed x", ["--seed"]),
        ('--stop ""', ["--stop"]),
        ("-o 1abc", ["--out", "1abc"]),
        ("-o 'a b'", ["--out"]),
        ("-c ''", ["--chat"]),
        ("--stop a --stop b --stop c --stop d --stop e", ["--stop"]),
    ],
)
def test_out_of_range_value(with_history: Any, flags: str, words: list[str]) -> None:
    line = refused(with_history, f"%%groq {flags}\nhi")
    for word in words:
        assert word in line


def test_unbalanced_quote_in_options(with_history: Any) -> None:
    assert "quote" in refused(with_history, '%%groq --stop ", 6\nhi')


def test_words_after_the_options_of_a_cell(with_history: Any) -> None:
    assert "unexpected" in refused(with_history, "%%groq -t 0.5 tell me\nhi")


@pytest.mark.parametrize("body", ["", "\n", "   \n\t\n"], ids=["empty", "newline", "blank"])
def test_empty_cell(with_history: Any, body: str) -> None:
    assert "empty" in refused(with_history, f"%%groq -t 0.5\n{body}")


def test_empty_line_magic(with_history: Any) -> None:
    assert "prompt" in refused(with_history, "%groq")


def test_unknown_chat_name(with_history: Any) -> None:
    line = refused(with_history, "%groq use nosuchchat")
    assert "nosuchchat" in line
    assert "default" in line  # the chats there are


def test_use_without_a_name(with_history: Any) -> None:
    assert "NAME" in refused(with_history, "%groq use")


def test_history_of_an_unknown_chat(with_history: Any) -> None:
    assert "nosuchchat" in refused(with_history, "%groq -c nosuchchat history")


def test_schema_name_not_in_the_namespace(with_history: Any) -> None:
    line = refused(with_history, "%%groq --schema Missing\nhi")
    assert "Missing" in line


@pytest.mark.parametrize(
    "value",
    [42, "a string", [1, 2], None, int],
    ids=["int", "str", "list", "none", "plain-class"],
)
def test_schema_name_that_is_not_a_model_or_schema(with_history: Any, value: Any) -> None:
    with_history.ns["NotASchema"] = value
    line = refused(with_history, "%%groq --schema NotASchema\nhi")
    assert "NotASchema" in line
    assert "pydantic" in line or "schema" in line


def test_missing_template_name(with_history: Any) -> None:
    line = refused(with_history, "%%groq\nSummarise {missing_var}")
    assert "missing_var" in line


@pytest.mark.parametrize(
    "content",
    [
        None,
        b"not json at all",
        b'{"format": "something else"}',
        b"\xff\xfe\x00",
        b"[1, 2]",
        b'{"format": "groq_magic.conversation", "version": 999, "turns": []}',
    ],
    ids=["missing", "garbage", "wrong-format", "binary", "list", "bad-version"],
)
def test_unreadable_history_file(with_history: Any, tmp_path: Path, content: bytes | None) -> None:
    path = tmp_path / "chat.json"
    if content is not None:
        path.write_bytes(content)
    line = refused(with_history, f"%groq load {path}")
    assert "chat.json" in line


def test_history_file_with_a_bad_turn(with_history: Any, tmp_path: Path) -> None:
    good = tmp_path / "good.json"
    assert with_history.run(f"%groq save {good}").error is None
    broken = good.read_text(encoding="utf-8").replace('"complete"', '"exploded"', 1)
    bad = tmp_path / "bad.json"
    bad.write_text(broken, encoding="utf-8")
    assert "bad.json" in refused(with_history, f"%groq load {bad}")


def test_history_file_that_is_a_directory(with_history: Any, tmp_path: Path) -> None:
    assert str(tmp_path.name) in refused(with_history, f"%groq load {tmp_path}")


def test_save_to_an_unwritable_place(with_history: Any, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    line = refused(with_history, f"%groq save {blocker}/inside/chat.json")
    assert "cannot save" in line


def test_load_and_save_without_a_path(with_history: Any) -> None:
    assert "PATH" in refused(with_history, "%groq load")
    assert "PATH" in refused(with_history, "%groq save")


@pytest.mark.parametrize(
    "source",
    [
        f"%groq Is {KEY_SHAPED} a valid key?",
        f"%%groq -s {KEY_SHAPED}\nhi",
        f"%groq -m {KEY_SHAPED} hi",
        f"%groq login {KEY_SHAPED}",
    ],
    ids=["prompt", "system-flag", "model-flag", "login-arg"],
)
def test_key_shaped_line_is_refused(with_history: Any, source: str) -> None:
    line = refused(with_history, source)
    assert "key" in line
    assert KEY_SHAPED not in line
    for run in with_history.runs:
        assert KEY_SHAPED not in run.everything


def test_the_fake_key_itself_on_a_line_is_refused(groq: Any) -> None:
    # tests/keys.py's FAKE_KEY has an underscore after gsk_; it must still be refused.
    groq.server.enqueue(stream(["sent anyway"]))  # so the bug fails fast instead of retrying
    run = groq.run(f"%groq {FAKE_KEY}", cell_id="key")
    line = run.usage_error
    assert "key" in line
    assert FAKE_KEY not in line
    assert groq.server.requests == []
    assert groq.turns() == []
