"""Key hygiene through ``%%groq``: where a key may come from, and where it never goes.

The key is read from the environment, a ``.env`` file, or a hidden prompt
(``%groq login``); a magic line that looks like it holds a key is refused with one
warning line and nothing is sent. In every case the key reaches the server in the
Authorization header and appears in no output, error line, repr, saved history or log.
"""

from __future__ import annotations

import getpass
import json
import logging
import os
from pathlib import Path
from typing import Any

import pytest
from IPython.core.error import UsageError
from keys import FAKE_KEY, assert_no_secret
from scripted_server import ScriptedServer, chunk_events, error_reply, sse_reply

REALISTIC_KEY = "gsk_" + "A1b2C3d4E5f6G7h8" * 3 + "ZzYy"


def _run(shell: Any, capsys: Any, source: str) -> tuple[Any, str]:
    capsys.readouterr()
    result = shell.run_cell(source)
    captured = capsys.readouterr()
    return result, captured.out + captured.err


def _answer() -> Any:
    return sse_reply(chunk_events(["Hi ", "there."]))


def _authorizations(server: ScriptedServer) -> list[str | None]:
    return [r.headers.get("authorization") for r in server.requests]


@pytest.mark.parametrize(
    "line",
    [
        f"%groq {REALISTIC_KEY}",
        f"%groq my key is {REALISTIC_KEY} please use it",
        f"%groq login {REALISTIC_KEY}",
        f"%groq -s {REALISTIC_KEY} hello",
        f"%groq --system 'key={REALISTIC_KEY}' hello",
        f"%groq {FAKE_KEY}",
        "%groq sk-proj-abcdefghijklmnop1234",
        f"%%groq -m {REALISTIC_KEY}\nhello",
        f"%%groq --stop {REALISTIC_KEY}\nhello",
    ],
    ids=[
        "bare",
        "in-a-prompt",
        "login-arg",
        "system-flag",
        "quoted",
        "fake-key",
        "openai-shape",
        "cell-model",
        "cell-stop",
    ],
)
def test_a_line_holding_a_key_is_refused(
    shell: Any, server: ScriptedServer, capsys: Any, monkeypatch: pytest.MonkeyPatch, line: str
) -> None:
    monkeypatch.setenv("GROQ_API_KEY", FAKE_KEY)
    monkeypatch.setattr(getpass, "getpass", lambda prompt="": pytest.fail("prompted"))
    before = shell._groq_magics.session.store.current.to_json()
    result, shown = _run(shell, capsys, line)
    assert isinstance(result.error_in_exec, UsageError)
    lines = [x for x in shown.splitlines() if x.strip()]
    assert len(lines) == 1, lines
    assert "looks like it holds an API key" in lines[0]
    assert REALISTIC_KEY not in shown
    assert "A1b2C3d4E5f6G7h8" not in shown
    assert_no_secret(shown)
    assert server.requests == [], "a refused line still sent a request"
    assert shell._groq_magics.session.store.current.to_json() == before


def test_key_from_the_environment(
    shell: Any, server: ScriptedServer, capsys: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GROQ_API_KEY", FAKE_KEY)
    server.enqueue(_answer())
    result, shown = _run(shell, capsys, "%%groq\nHello?")
    assert result.error_in_exec is None, shown
    assert _authorizations(server) == [f"Bearer {FAKE_KEY}"]
    assert_no_secret(shown)


def test_key_from_a_dotenv_file(
    shell: Any, server: ScriptedServer, capsys: Any, tmp_path: Path
) -> None:
    assert "GROQ_API_KEY" not in os.environ
    (tmp_path / ".env").write_text(f'# secrets\nexport GROQ_API_KEY="{FAKE_KEY}"\n')
    server.enqueue(_answer())
    result, shown = _run(shell, capsys, "%%groq\nHello?")
    assert result.error_in_exec is None, shown
    assert _authorizations(server) == [f"Bearer {FAKE_KEY}"]
    _, config = _run(shell, capsys, "%groq config")
    assert ".env file" in config
    assert_no_secret(shown + config)


def test_key_from_the_hidden_login_prompt(
    shell: Any, server: ScriptedServer, capsys: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert "GROQ_API_KEY" not in os.environ
    prompts: list[str] = []

    def hidden(prompt: str = "") -> str:
        prompts.append(prompt)
        return FAKE_KEY + "\n"

    monkeypatch.setattr(getpass, "getpass", hidden)
    result, shown = _run(shell, capsys, "%groq login")
    assert result.error_in_exec is None, shown
    assert prompts
    assert "hidden" in prompts[0]
    # Kept in memory only: not put in the environment, not echoed.
    assert "GROQ_API_KEY" not in os.environ
    server.enqueue(_answer())
    result, more = _run(shell, capsys, "%%groq\nHello?")
    assert result.error_in_exec is None, more
    assert _authorizations(server) == [f"Bearer {FAKE_KEY}"]
    _, config = _run(shell, capsys, "%groq config")
    assert "%groq login" in config
    assert_no_secret(shown + more + config)
    assert_no_secret(repr(shell._groq_magics.session.backend._login_key))


def test_key_appears_in_no_output_repr_history_or_log(
    shell: Any,
    server: ScriptedServer,
    capsys: Any,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Answers, errors (a 401 that echoes the key back), subcommands, reprs, saved
    history and DEBUG logs: the key is in none of them."""
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("GROQ_API_KEY", FAKE_KEY)
    echoed = f"Invalid API Key: {FAKE_KEY}"
    server.enqueue(
        _answer(),
        error_reply(401, echoed, type="invalid_request_error", code="invalid_api_key"),
        sse_reply(chunk_events(["Partial "]), done=False),  # finish frame kept, no [DONE]
    )
    shown = []
    for source in ["%%groq\nHello?", "%%groq\nAgain?", "%%groq -o res\nOnce more?"]:
        shown.append(_run(shell, capsys, source)[1])
    assert "invalid_api_key" in shown[1]
    assert "[redacted]" in shown[1]
    for source in [
        "%groq history",
        "%groq config",
        "%groq chats",
        "%groq save hist.json",
        "_groq",
        "print(repr(res), str(res), res.request)",
    ]:
        shown.append(_run(shell, capsys, source)[1])
    session = shell._groq_magics.session
    shown += [
        repr(session),
        repr(session.backend),
        repr(session.backend.client()),
        repr(session.backend.choice()),
        session.store.current.to_json(),
        (tmp_path / "hist.json").read_text(),
        json.dumps(shell.user_ns["_groq"].request),
        caplog.text,
    ]
    assert all(r.headers.get("authorization") == f"Bearer {FAKE_KEY}" for r in server.requests)
    for text in shown:
        assert_no_secret(text)
