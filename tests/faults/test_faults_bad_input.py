"""Bad input and request errors through ``%%groq``: a clear line or a working cell, history kept.

Cells with 1 MB of text, binary junk, unbalanced braces, a ``--stop`` with newlines and
quotes, a history file edited by hand into something invalid; a bad key, an unknown
model, a conversation too long for the context; an interrupt before the first token.
Each either works or prints one line, and nothing already in the history is lost.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import fault_server as faults
import pytest
from IPython.core.error import UsageError
from keys import assert_no_secret
from scripted_server import ScriptedServer, error_reply

from groq_magic.client import Groq

EARLIER = "Remember the number 7."


def _run(shell: Any, capsys: Any, source: str) -> tuple[Any, str, str]:
    capsys.readouterr()
    result = shell.run_cell(source)
    captured = capsys.readouterr()
    return result, captured.out, captured.err


def _history(shell: Any) -> str:
    store = shell._groq_magics.session.store
    return "\n".join(store.get(c["name"]).to_json() for c in store.chats())


def _one_line(result: Any, err: str) -> str:
    assert isinstance(result.error_in_exec, UsageError), repr(result.error_in_exec)
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, lines
    assert lines[0].startswith("UsageError: ")
    assert "Traceback" not in err
    return lines[0]


@pytest.fixture
def primed(shell: Any, server: ScriptedServer, capsys: Any) -> str:
    """One earlier turn in history; returns the history as JSON."""
    server.enqueue(faults.answer(pieces=["Noted."]))
    result, _, err = _run(shell, capsys, f"%%groq\n{EARLIER}")
    assert result.error_in_exec is None, err
    return _history(shell)


def _chat_bodies(server: ScriptedServer) -> list[Any]:
    return [r.json() for r in server.requests if r.path.endswith("/chat/completions")]


# -- cells that work ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "prompt",
    [
        "x" * 1_000_000,
        "binary \x00\x01\x02\x7f\x1b[31m junk \ufffd\ufeff \udc80 end",
        "unbalanced { brace and } and {{ and }}} and {0: 1 and {'a':",
        'JSON {"a": [1, {"b": null}]} and code: def f(): return {x for x in y}',
    ],
    ids=["1MB", "binary", "unbalanced-braces", "json-and-code"],
)
def test_odd_prompts_work_and_keep_history(
    shell: Any, server: ScriptedServer, capsys: Any, primed: str, prompt: str
) -> None:
    server.enqueue(faults.answer())
    result, _, err = _run(shell, capsys, "%%groq\n" + prompt)
    assert result.error_in_exec is None, err
    assert shell.user_ns["_groq"].text == faults.ANSWER
    sent = _chat_bodies(server)[-1]["messages"]
    assert sent[0]["content"].strip() == EARLIER
    last = sent[-1]["content"]
    assert len(last) >= len(prompt) - 2
    assert "\udc80" not in last  # a lone surrogate goes out as U+FFFD
    turns = shell._groq_magics.session.store.current.turns
    assert turns[0].prompt.strip() == EARLIER
    assert len(turns) == 2


def test_stop_with_newlines_and_quotes(
    shell: Any, server: ScriptedServer, capsys: Any, primed: str
) -> None:
    server.enqueue(faults.answer())
    line = """%%groq --stop "a\\nb" --stop 'say "hi"' --stop "it's" --stop ", 6"\nCount."""
    result, _, err = _run(shell, capsys, line)
    assert result.error_in_exec is None, err
    assert _chat_bodies(server)[-1]["stop"] == ["a\nb", 'say "hi"', "it's", ", 6"]


@pytest.mark.parametrize(
    "line",
    [
        '%%groq --stop "never closed\nCount.',
        "%%groq --stop a --stop b --stop c --stop d --stop e\nCount.",
        '%%groq --stop ""\nCount.',
        "%%groq -t 7\nCount.",
        "%%groq --max-tokens lots\nCount.",
        "%%groq --bogus-flag\nCount.",
        "%%groq\nAsk about {undefined_name_xyz}.",
        "%%groq\n   \n",
    ],
    ids=[
        "unbalanced-quote",
        "five-stops",
        "empty-stop",
        "temperature",
        "max-tokens",
        "flag",
        "missing-name",
        "empty-cell",
    ],
)
def test_bad_options_are_one_line_and_send_nothing(
    shell: Any, server: ScriptedServer, capsys: Any, primed: str, line: str
) -> None:
    before = len(server.requests)
    result, _, err = _run(shell, capsys, line)
    _one_line(result, err)
    assert len(server.requests) == before, "a bad cell still sent a request"
    assert _history(shell) == primed


# -- history files edited by hand ---------------------------------------------------------------


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"{not json",
        b"\xff\xfe\x00 binary",
        b"[]",
        b'{"name": 5, "turns": "many"}',
        b'{"name": "x", "turns": [{"prompt": null}]}',
        json.dumps({"name": "x", "turns": [{"answer": 1, "status": "exploded"}]}).encode(),
    ],
    ids=["empty", "truncated", "binary", "list", "wrong-types", "bad-turn", "bad-status"],
)
def test_a_hand_edited_history_file_is_one_line_and_loses_nothing(
    shell: Any, capsys: Any, primed: str, tmp_path: Path, content: bytes
) -> None:
    path = tmp_path / "edited.json"
    path.write_bytes(content)
    result, _, err = _run(shell, capsys, f"%groq load {path}")
    line = _one_line(result, err)
    assert "edited.json" in line
    assert _history(shell) == primed
    result, _, err = _run(shell, capsys, f"%groq load {tmp_path / 'missing.json'}")
    _one_line(result, err)
    assert _history(shell) == primed


def test_a_saved_history_round_trips(shell: Any, capsys: Any, primed: str, tmp_path: Path) -> None:
    path = tmp_path / "saved.json"
    result, _, err = _run(shell, capsys, f"%groq save {path}")
    assert result.error_in_exec is None, err
    result, _, err = _run(shell, capsys, f"%groq load {path}")
    assert result.error_in_exec is None, err
    turns = shell._groq_magics.session.store.current.turns
    assert [t.prompt.strip() for t in turns] == [EARLIER]


# -- request errors -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        (error_reply(401, "Invalid API Key", code="invalid_api_key"), "GROQ_API_KEY"),
        (
            error_reply(404, "The model `nope` does not exist", code="model_not_found"),
            "%groq models",
        ),
        (
            error_reply(
                400,
                "Please reduce the length of the messages or completion.",
                param="messages",
                code="context_length_exceeded",
            ),
            "%groq reset",
        ),
        (error_reply(413, "Request Entity Too Large", code="request_too_large"), "%groq reset"),
    ],
    ids=["bad-key", "unknown-model", "context-too-long", "too-large"],
)
def test_request_errors_are_one_line_with_a_hint(
    shell: Any, server: ScriptedServer, capsys: Any, primed: str, reply: Any, expected: str
) -> None:
    server.enqueue(reply)
    result, out, err = _run(shell, capsys, "%%groq -m nope\nHello?")
    line = _one_line(result, err)
    assert expected in line
    assert_no_secret(out + err)
    assert _history(shell) == primed
    assert len(_chat_bodies(server)) == 2  # not retried


# -- interrupts -------------------------------------------------------------------------------


def test_interrupt_before_the_first_token_is_one_line_and_history_unchanged(
    shell: Any, server: ScriptedServer, capsys: Any, primed: str, monkeypatch: Any
) -> None:
    """Ctrl-C while waiting for the answer: nothing shown, one line, history as before."""

    def interrupted(*args: Any, **kwargs: Any) -> Any:
        raise KeyboardInterrupt

    client = shell._groq_magics.session.backend.client()
    monkeypatch.setattr(client.chat.completions, "create", interrupted)
    result, _, err = _run(shell, capsys, "%%groq\nHello?")
    assert "interrupted" in _one_line(result, err)
    assert _history(shell) == primed


def test_interrupt_mid_stream_keeps_the_partial_answer(
    shell: Any, server: ScriptedServer, capsys: Any, primed: str, monkeypatch: Any
) -> None:
    """Ctrl-C after two tokens: they stay on screen and in history, marked interrupted;
    the response is closed (the server sees the client go) and the next cell works."""
    from groq_magic.client import Stream

    server.enqueue(faults.stall_mid_stream(2, 1.0))
    real = Stream._chunks

    def chunks(self: Any) -> Any:
        for count, chunk in enumerate(real(self)):
            yield chunk
            if count == 2:  # the role chunk and two content chunks went by
                raise KeyboardInterrupt

    monkeypatch.setattr(Stream, "_chunks", chunks)
    result, out, err = _run(shell, capsys, "%%groq\nHello?")
    assert result.error_in_exec is None, err
    assert faults.partial_text(2) in out
    assert "interrupted" in out
    turns = shell._groq_magics.session.store.current.turns
    assert (turns[-1].status, turns[-1].answer) == ("interrupted", faults.partial_text(2))
    # The response was closed: the server's next write after its stall finds no client.
    assert server.wait_until(lambda: server.client_disconnects >= 1, 5)
    monkeypatch.setattr(Stream, "_chunks", real)
    server.enqueue(faults.answer())
    result, _, err = _run(shell, capsys, "%%groq\nAgain?")
    assert result.error_in_exec is None, err
    assert shell.user_ns["_groq"].text == faults.ANSWER


def test_the_client_outlives_a_bad_cell(server: ScriptedServer) -> None:
    """One client survives many streams cut short, each followed by a good answer."""
    with Groq(api_key="gsk_" + "x" * 52, base_url=server.base_url, max_retries=0) as client:
        for _ in range(5):
            server.enqueue(faults.cut_mid_stream(1), faults.answer())
            with pytest.raises(Exception, match="ended before"):
                client.chat.completions.create(
                    messages=[{"role": "user", "content": "x"}], model="m", stream=True
                ).until_done()
            answer = client.chat.completions.create(
                messages=[{"role": "user", "content": "x"}], model="m", stream=True
            ).until_done()
            assert answer == faults.ANSWER
