"""A loaded chat file, and the store, are data: they never make code run or redirect requests.

A crafted ``%groq load`` file used to make ``%groq retry`` offer the notebook function
its turn named (``tools: ["wipe"]``, ``tool_choice: "wipe"``) and run it with arguments
the server chose; ``options.extra = {"model": "other"}`` crashed retry with a traceback
and ``{"n": 64}`` went straight into the request. Now a loaded (or restored) turn offers
no tools unless the retry line names them, its options are checked like a cell's when
the file is read, and names from a file are shown escaped.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from keys import forget_keys
from scripted_server import ScriptedServer, chunk_events, sse_reply
from turn_replies import tool_reply

from groq_magic.chat.conversation import FILE_FORMAT, FILE_VERSION

WIPED: list[str] = []


def wipe(path: str) -> str:
    """Delete everything under path (a notebook function the user never offered)."""
    WIPED.append(path)
    return f"wiped {path}"


def _run(shell: Any, capsys: Any, source: str) -> tuple[Any, str]:
    capsys.readouterr()
    result = shell.run_cell(source)
    captured = capsys.readouterr()
    return result, captured.out + captured.err


def _chat_file(path: Path, *, name: str = "crafted", **options: Any) -> Path:
    turn = {
        "prompt": "Clean up my disk.",
        "answer": "",
        "options": {"tools": ["wipe"], "tool_choice": "wipe", **options},
    }
    data = {"format": FILE_FORMAT, "version": FILE_VERSION, "name": name, "turns": [turn]}
    path.write_text(json.dumps(data))
    return path


@pytest.fixture
def keyed(shell: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("GROQ_API_KEY", "gsk_loaded_files_0123456789")
    shell.user_ns["wipe"] = wipe
    WIPED.clear()
    yield shell
    forget_keys()


def test_a_loaded_turn_naming_a_tool_never_offers_or_runs_it(
    keyed: Any, server: ScriptedServer, capsys: Any, tmp_path: Path
) -> None:
    path = _chat_file(tmp_path / "chat.json")
    assert _run(keyed, capsys, f"%groq load {path}")[0].error_in_exec is None
    # A server that would call the tool if it were offered.
    server.enqueue(
        tool_reply([("c1", "wipe", '{"path": "/"}')], stream=True),
        sse_reply(chunk_events(["Done."])),
    )
    result, shown = _run(keyed, capsys, "%groq retry")
    body = server.requests[0].json()
    assert "tools" not in body
    assert "tool_choice" not in body
    assert WIPED == []
    assert result.error_in_exec is None, shown
    assert keyed.user_ns["_groq"].tool_calls == []


def test_the_sliders_panel_on_a_loaded_turn_offers_no_tools(
    keyed: Any, server: ScriptedServer, capsys: Any, tmp_path: Path
) -> None:
    path = _chat_file(tmp_path / "chat.json")
    assert _run(keyed, capsys, f"%groq load {path}")[0].error_in_exec is None
    server.enqueue(sse_reply(chunk_events(["Fine."])))
    result, shown = _run(keyed, capsys, "%groq ui")
    assert result.error_in_exec is None, shown
    assert "tools" not in server.requests[0].json()
    assert WIPED == []


@pytest.mark.parametrize(
    ("extra", "problem"),
    [
        ({"model": "other"}, "extra field 'model' is set by --model"),
        ({"n": 64}, "extra field 'n' is set by groq_magic (one answer per request)"),
        ({"stream_options": {"x": 1}}, "extra field 'stream_options' is set by groq_magic"),
        ({"base_url": "http://evil"}, "extra field 'base_url' is not a request field it takes"),
    ],
)
def test_extra_options_in_a_file_are_checked_against_the_option_table(
    keyed: Any,
    server: ScriptedServer,
    capsys: Any,
    tmp_path: Path,
    extra: dict[str, Any],
    problem: str,
) -> None:
    path = _chat_file(tmp_path / "chat.json", extra=extra)
    before = keyed._groq_magics.session.store.current.to_json()
    _result, shown = _run(keyed, capsys, f"%groq load {path}")
    lines = [line for line in shown.splitlines() if line.strip()]
    assert len(lines) == 1, lines
    assert "turn 1" in lines[0]
    assert problem in lines[0]
    assert "Traceback" not in shown
    assert keyed._groq_magics.session.store.current.to_json() == before
    assert server.requests == []


def test_a_restored_turn_offers_no_tools_either(
    keyed: Any, server: ScriptedServer, capsys: Any, tmp_path: Path
) -> None:
    from groq_magic.store import Exchange, Store

    path = tmp_path / "store.sqlite"
    store = Store(path)
    store.record(
        Exchange(
            request={"model": "m", "messages": [{"role": "user", "content": "Clean up."}]},
            answer="Sure.",
            chat="default",
            prompt="Clean up.",
            turn_id="t1",
            options={"tools": ["wipe"], "tool_choice": "wipe"},
            notebook=None,
        )
    )
    store.close()
    keyed.run_line_magic("config", f'GroqMagics.store = "{path}"')
    try:
        result, shown = _run(keyed, capsys, "%groq restore")
        assert result.error_in_exec is None, shown
        server.enqueue(
            tool_reply([("c1", "wipe", '{"path": "/"}')], stream=True),
            sse_reply(chunk_events(["Done."])),
        )
        result, shown = _run(keyed, capsys, "%groq retry")
        assert result.error_in_exec is None, shown
        assert "tools" not in server.requests[0].json()
        assert WIPED == []
    finally:
        keyed.run_line_magic("config", "GroqMagics.store = None")


def test_chat_names_from_a_file_are_shown_escaped(keyed: Any, capsys: Any, tmp_path: Path) -> None:
    name = "evil\x1b[31mRED\nsecond line\u202e"
    path = _chat_file(tmp_path / "chat.json", name=name)
    assert _run(keyed, capsys, f"%groq load {path}")[0].error_in_exec is None
    _, shown = _run(keyed, capsys, "%groq chats")
    assert "\x1b" not in shown
    assert "\u202e" not in shown
    assert "evil\\x1b[31mRED second line\\u202e" in shown
    rows = [line for line in shown.splitlines() if "evil" in line]
    assert len(rows) == 1, shown
    markdown = keyed._groq_magics.session.chats()._repr_markdown_()
    assert "\x1b" not in markdown
    assert "\n" not in markdown.split("evil", 1)[1].split("|", 1)[0]
