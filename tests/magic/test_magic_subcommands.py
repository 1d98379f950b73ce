"""Every ``%groq`` subcommand through the shell: history, reset, undo, retry, save, load,
chats, use, system, models, config (see test_magic_options), local status, login."""

from __future__ import annotations

import getpass
import json
from pathlib import Path
from typing import Any

import pytest
from keys import FAKE_KEY
from magic_helpers import assert_clean, sent, stream
from scripted_server import Reply

LOGIN_KEY = "gsk_login_SECRETKEY123_typed_in"


def chat(groq: Any, prompt: str, answer: str, cell_id: str, line: str = "") -> Any:
    """One successful turn."""
    groq.server.enqueue(stream([answer]))
    run = groq.run(f"%%groq {line}\n{prompt}", cell_id=cell_id)
    assert run.error is None, run.err
    return run


def prompts(groq: Any, name: str | None = None) -> list[str]:
    return [t.prompt.strip() for t in groq.turns(name)]


def test_history_shows_every_turn_of_the_current_chat(groq: Any) -> None:
    chat(groq, "first question", "first answer", "h1")
    chat(groq, "second question", "second answer", "h2")
    before = len(groq.server.requests)
    run = groq.run("%groq history")
    assert run.error is None
    rows = run.result.rows
    assert [r["prompt"] for r in rows] == ["first question", "second question"]
    assert [r["answer"] for r in rows] == ["first answer", "second answer"]
    assert [r["cell"] for r in rows] == ["h1", "h2"]
    assert {r["status"] for r in rows} == {"complete"}
    assert "second answer" in run.out  # the table's text form is the cell's output
    assert len(groq.server.requests) == before
    assert_clean(run.everything, run.result._repr_markdown_())


def test_history_of_a_named_chat(groq: Any) -> None:
    chat(groq, "in default", "a", "n1")
    chat(groq, "in drafts", "b", "n2", line="-c drafts")
    run = groq.run("%groq -c drafts history")
    assert run.error is None
    assert [r["prompt"] for r in run.result.rows] == ["in drafts"]


def test_history_of_an_empty_chat(groq: Any) -> None:
    run = groq.run("%groq history")
    assert run.error is None
    assert run.result.rows == []
    assert "no turns" in run.out


def test_reset_forgets_the_current_chat(groq: Any) -> None:
    chat(groq, "q1", "a1", "r1")
    chat(groq, "q2", "a2", "r2")
    run = groq.run("%groq reset")
    assert run.error is None
    assert "2 turns" in run.out
    assert groq.turns() == []
    chat(groq, "fresh", "start", "r3")
    assert [m["content"].strip() for m in sent(groq.server)["messages"]] == ["fresh"]


def test_undo_removes_the_last_turn(groq: Any) -> None:
    chat(groq, "keep me", "kept", "u1")
    chat(groq, "drop me", "dropped", "u2")
    run = groq.run("%groq undo")
    assert run.error is None
    assert "drop me" in run.out
    assert prompts(groq) == ["keep me"]
    chat(groq, "next", "n", "u3")
    contents = [m["content"].strip() for m in sent(groq.server)["messages"]]
    assert contents == ["keep me", "kept", "next"]


def test_undo_on_an_empty_chat_is_one_line(groq: Any) -> None:
    run = groq.run("%groq undo")
    assert "no turns" in run.usage_error
    assert groq.server.requests == []


def test_retry_replaces_the_last_turn(groq: Any) -> None:
    chat(groq, "q1", "a1", "t1")
    chat(groq, "q2", "first try", "t2", line="-t 0.3 --seed 5")
    groq.server.enqueue(stream(["second try"]))
    run = groq.run("%groq retry")
    assert run.error is None, run.err
    body = sent(groq.server)
    contents = [m["content"].strip() for m in body["messages"]]
    assert contents == ["q1", "a1", "q2"]  # the old answer is not sent again
    assert body["temperature"] == 0.3  # the turn's own options are reused
    assert body["seed"] == 5
    turns = groq.turns()
    assert [t.answer for t in turns] == ["a1", "second try"]
    assert turns[-1].cell_id == "t2"
    assert groq.ns["_groq"].text == "second try"


def test_retry_with_out_stores_the_new_result(groq: Any) -> None:
    chat(groq, "q", "old", "ro")
    groq.server.enqueue(stream(["new"]))
    run = groq.run("%groq -o again retry")
    assert run.error is None, run.err
    assert groq.ns["again"].text == "new"
    assert groq.ns["again"] is groq.ns["_groq"]


def test_reload_ext_registers_the_hooks_once(groq: Any) -> None:
    shell = groq.shell
    from groq_magic.magics import keep_question_marks

    assert groq.run("%reload_ext groq_magic").error is None
    groq.fresh_session()
    hooks = [
        cb
        for cb in shell.events.callbacks["pre_run_cell"]
        if getattr(cb, "__self__", None).__class__.__name__ == "GroqMagics"
    ]
    assert len(hooks) == 1
    assert hooks[0].__self__ is groq.magics
    assert shell.input_transformers_cleanup.count(keep_question_marks) == 1
    assert [c for c in shell.configurables if type(c).__name__ == "GroqMagics"] == [groq.magics]
    chat(groq, "after reload", "fine", "rl1")
    chat(groq, "after reload", "still one turn", "rl1")
    assert [t.answer for t in groq.turns()] == ["still one turn"]


def test_retry_on_an_empty_chat_is_one_line(groq: Any) -> None:
    run = groq.run("%groq retry")
    assert "no turn" in run.usage_error
    assert groq.server.requests == []


def test_retry_that_fails_keeps_the_old_turn(groq: Any) -> None:
    chat(groq, "q1", "a1", "f1")
    before = groq.history_json()
    groq.server.enqueue(
        Reply(status=500, headers={"x-should-retry": "false"}, json={"error": {"message": "boom"}})
    )
    run = groq.run("%groq retry")
    assert "500" in run.usage_error
    assert groq.history_json() == before


def test_save_and_load_round_trip_every_field(groq: Any, tmp_path: Path) -> None:
    groq.run("%groq system You're a pirate, aren't you?")
    chat(groq, "q1 {{x}}", "a1", "s1", line="-m m1 -t 0.2 --top-p 0.5 --seed 3 --stop END")
    chat(groq, "q2", "a2", "s2", line="--max-tokens 50")
    original = groq.session.store.current.model_dump()
    path = tmp_path / "my chat.json"
    run = groq.run(f'%groq save "{path}"')
    assert run.error is None, run.err
    assert "2 turns" in run.out
    saved = path.read_text(encoding="utf-8")
    assert_clean(saved)
    groq.run("%groq reset")
    groq.run("%groq system")  # unchanged by reset
    run = groq.run(f"%groq load '{path}'")
    assert run.error is None, run.err
    loaded = groq.session.store.current
    assert loaded.model_dump() == original
    assert json.loads(loaded.to_json()) == json.loads(saved)
    turn = loaded.turns[0]
    assert turn.cell_id == "s1"
    assert turn.prompt.strip() == "q1 {x}"
    assert turn.answer == "a1"
    assert turn.model == "llama-3.3-70b-versatile"
    assert turn.options["temperature"] == 0.2
    assert turn.options["stop"] == ["END"]
    assert turn.usage["total_tokens"] == 19
    assert turn.status == "complete"
    assert loaded.system == "You're a pirate, aren't you?"
    # The loaded chat is sent as history on the next turn.
    chat(groq, "q3", "a3", "s3")
    contents = [m["content"].strip() for m in sent(groq.server)["messages"]]
    assert contents == ["You're a pirate, aren't you?", "q1 {x}", "a1", "q2", "a2", "q3"]


def test_save_keeps_every_field_through_a_fresh_session(groq: Any, tmp_path: Path) -> None:
    chat(groq, "q1", "a1", "k1")
    before = groq.session.store.current.model_dump()
    path = tmp_path / "chat.json"
    groq.run(f"%groq save {path}")
    groq.fresh_session()
    assert groq.run(f"%groq load {path}").error is None
    assert groq.session.store.current.model_dump() == before


def test_chats_lists_every_chat_and_the_current_one(groq: Any) -> None:
    chat(groq, "q", "a", "c1")
    chat(groq, "q", "a", "c2", line="-c drafts")
    chat(groq, "q", "a", "c3", line="-c drafts")
    run = groq.run("%groq chats")
    assert run.error is None
    rows = {r["name"]: r for r in run.result.rows}
    assert set(rows) == {"default", "drafts"}
    assert rows["drafts"]["turns"] == 2
    assert rows["default"]["turns"] == 1
    assert "default" in run.out


def test_use_switches_the_current_chat(groq: Any) -> None:
    chat(groq, "draft q", "draft a", "u1", line="-c drafts")
    run = groq.run("%groq use drafts")
    assert run.error is None
    assert "drafts" in run.out
    chat(groq, "next", "n", "u2")
    contents = [m["content"].strip() for m in sent(groq.server)["messages"]]
    assert contents == ["draft q", "draft a", "next"]
    assert prompts(groq, "drafts") == ["draft q", "next"]
    assert groq.run("%groq use default").error is None
    assert prompts(groq) == []


def test_system_sets_the_chat_prompt_with_apostrophes_kept(groq: Any) -> None:
    run = groq.run("%groq system You're a pirate, aren't you? Say \"arr\".")
    assert run.error is None
    chat(groq, "hello", "arr", "y1")
    messages = sent(groq.server)["messages"]
    assert messages[0] == {
        "role": "system",
        "content": "You're a pirate, aren't you? Say \"arr\".",
    }
    shown = groq.run("%groq system")
    assert "You're a pirate, aren't you?" in shown.out
    cleared = groq.run('%groq system ""')
    assert cleared.error is None


def test_cell_system_flag_overrides_the_chat_system(groq: Any) -> None:
    groq.run("%groq system Chat-wide.")
    chat(groq, "hello", "hi", "y2", line='-s "Just this cell."')
    systems = [m for m in sent(groq.server)["messages"] if m["role"] == "system"]
    assert systems == [{"role": "system", "content": "Just this cell."}]


def test_models_lists_the_servers_models(groq: Any) -> None:
    groq.server.route(
        "GET",
        "/v1/models",
        Reply(
            json={
                "object": "list",
                "data": [
                    {
                        "id": "qwen/qwen3-32b",
                        "object": "model",
                        "owned_by": "Alibaba Cloud",
                        "context_window": 131072,
                        "created": 1,
                        "active": True,
                    },
                    {
                        "id": "llama-3.1-8b-instant",
                        "object": "model",
                        "owned_by": "Meta",
                        "context_window": 131072,
                        "created": 1,
                        "active": True,
                    },
                ],
            }
        ),
    )
    run = groq.run("%groq models")
    assert run.error is None, run.err
    assert [r["id"] for r in run.result.rows] == ["llama-3.1-8b-instant", "qwen/qwen3-32b"]
    assert "qwen/qwen3-32b" in run.out
    request = groq.server.requests[-1]
    assert (request.method, request.path) == ("GET", "/v1/models")
    assert request.headers["authorization"] == f"Bearer {FAKE_KEY}"
    assert_clean(run.everything)


def test_local_status_answers_in_one_line_without_starting_anything(
    groq: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GROQ_API_KEY")
    monkeypatch.delenv("GROQ_BASE_URL")
    run = groq.run("%groq local status")
    assert run.error is None, run.err
    lines = [line for line in run.out.splitlines() if line.strip()]
    assert len(lines) == 1, lines  # "Out[n]: " and the one line (the terminal displayhook)
    assert "local" in lines[0]
    assert groq.server.requests == []
    from groq_magic.local import server as local_server

    running = local_server._SERVER is not None and local_server._SERVER.running
    assert not running


def test_local_with_an_unknown_action_is_one_line(groq: Any) -> None:
    assert "status" in groq.run("%groq local sideways").usage_error


def test_login_key_is_used_and_never_shown(groq: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GROQ_API_KEY")
    prompts_seen: list[str] = []

    def fake_getpass(prompt: str = "") -> str:
        prompts_seen.append(prompt)
        return LOGIN_KEY + "\n"

    monkeypatch.setattr(getpass, "getpass", fake_getpass)
    run = groq.run("%groq login")
    assert run.error is None, run.err
    assert prompts_seen
    assert LOGIN_KEY not in run.everything
    chat(groq, "who am I?", "a user", "l1")
    assert groq.server.requests[-1].headers["authorization"] == f"Bearer {LOGIN_KEY}"
    config = groq.run("%groq config")
    rows = {r["setting"]: r["value"] for r in config.result.rows}
    assert rows["api key"] == "%groq login"
    history = groq.run("%groq history")
    for run in groq.runs:
        assert LOGIN_KEY not in run.everything
        assert "SECRETKEY123" not in run.everything
    assert LOGIN_KEY not in repr(groq.session.backend.__dict__)
    assert LOGIN_KEY not in repr(history.result) + repr(groq.ns["_groq"])


def test_login_overrides_the_environment_key(groq: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    chat(groq, "before", "a", "o1")
    assert groq.server.requests[-1].headers["authorization"] == f"Bearer {FAKE_KEY}"
    monkeypatch.setattr(getpass, "getpass", lambda prompt="": LOGIN_KEY)
    assert groq.run("%groq login").error is None
    chat(groq, "after", "b", "o2")
    assert groq.server.requests[-1].headers["authorization"] == f"Bearer {LOGIN_KEY}"


def test_login_with_nothing_typed_changes_nothing(
    groq: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(getpass, "getpass", lambda prompt="": "  ")
    assert "no key" in groq.run("%groq login").usage_error
    chat(groq, "q", "a", "e1")
    assert groq.server.requests[-1].headers["authorization"] == f"Bearer {FAKE_KEY}"


def test_models_failure_is_one_line_with_a_hint(groq: Any) -> None:
    groq.server.route(
        "GET",
        "/v1/models",
        Reply(
            status=401,
            json={
                "error": {
                    "message": "Invalid API Key",
                    "type": "invalid_request_error",
                    "code": "invalid_api_key",
                }
            },
        ),
    )
    run = groq.run("%groq models")
    line = run.usage_error
    assert "401" in line
    assert "GROQ_API_KEY" in line
    assert_clean(run.everything)
