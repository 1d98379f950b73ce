"""Nothing on a magic line is evaluated: IPython's ``{expr}`` and ``$name`` expansion is off.

IPython expands ``{...}`` and ``$name`` on a line magic's line (and a cell magic's first
line) before the magic sees it, unless the magic is marked ``no_var_expand``. Before it
was, ``%groq -m m {__import__('os').system('touch x')}`` ran the code. Now braces on the
line follow groq_magic's own template rules in a prompt (a ``{name}`` reference is
filled, anything else is literal) and are literal in option values; ``$x`` is literal.
Each road that reads a line is tried: the line form, a cell, the ``?`` rewrite, an
assignment, a compare, the panel, a check and retry.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from keys import forget_keys
from scripted_server import ScriptedServer, chunk_events, sse_reply

CODE = "{__import__('os').system('touch {target}')}"


def _code(target: Path) -> str:
    return CODE.replace("{target}", str(target))


def _run(shell: Any, capsys: Any, source: str) -> tuple[Any, str]:
    capsys.readouterr()
    result = shell.run_cell(source)
    captured = capsys.readouterr()
    return result, captured.out + captured.err


def _answers(server: ScriptedServer, count: int = 1) -> None:
    for _ in range(count):
        server.enqueue(sse_reply(chunk_events(["Fine."])))


def _chat_bodies(server: ScriptedServer) -> list[dict[str, Any]]:
    return [r.json() for r in server.requests if r.path.endswith("/chat/completions")]


@pytest.fixture
def keyed(shell: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("GROQ_API_KEY", "gsk_line_tests_0123456789abcdef")
    yield shell
    forget_keys()


def test_code_in_a_line_prompt_is_sent_as_text_and_never_run(
    keyed: Any, server: ScriptedServer, capsys: Any, tmp_path: Path
) -> None:
    target = tmp_path / "ran"
    _answers(server)
    result, shown = _run(keyed, capsys, f"%groq -m m {_code(target)}")
    assert result.error_in_exec is None, shown
    assert not target.exists(), "code on the %groq line was evaluated"
    [body] = _chat_bodies(server)
    assert body["messages"][-1]["content"] == _code(target)


@pytest.mark.parametrize(
    "line",
    ['%%groq -s "{code}"', '%%groq --stop "{code}"', '%%groq -t 0,1 -s "{code}"'],
    ids=["system", "stop", "compare"],
)
def test_code_in_a_cell_line_option_is_literal(
    keyed: Any, server: ScriptedServer, capsys: Any, tmp_path: Path, line: str
) -> None:
    target = tmp_path / "ran"
    _answers(server, 2)
    code = _code(target)
    result, shown = _run(keyed, capsys, line.replace("{code}", code) + "\nHi")
    assert not target.exists(), "code on the %%groq line was evaluated"
    assert result.error_in_exec is None, shown
    bodies = _chat_bodies(server)
    assert bodies
    for body in bodies:
        assert code in str(body), "the option value was not sent as typed"


def test_code_in_a_check_is_the_literal_text_checked(
    keyed: Any, server: ScriptedServer, capsys: Any, tmp_path: Path
) -> None:
    target = tmp_path / "ran"
    server.enqueue(sse_reply(chunk_events([f"It says {_code(target)} here."])))
    result, shown = _run(keyed, capsys, f'table = %groq --check "contains:{_code(target)}" Hi')
    assert result.error_in_exec is None, shown
    assert not target.exists()
    [row] = keyed.user_ns["table"].to_dict("records")
    assert [v for k, v in row.items() if k.startswith("contains")] == [True]


def test_the_question_mark_rewrite_does_not_evaluate_either(
    keyed: Any, server: ScriptedServer, capsys: Any, tmp_path: Path
) -> None:
    target = tmp_path / "ran"
    _answers(server)
    result, shown = _run(keyed, capsys, f"%groq is {_code(target)} real?")
    assert result.error_in_exec is None, shown
    assert not target.exists()
    assert _chat_bodies(server)[-1]["messages"][-1]["content"].endswith("real?")


def test_an_assigned_line_magic_is_not_evaluated(
    keyed: Any, server: ScriptedServer, capsys: Any, tmp_path: Path
) -> None:
    target = tmp_path / "ran"
    _answers(server)
    result, shown = _run(keyed, capsys, f"answer = %groq {_code(target)}")
    assert result.error_in_exec is None, shown
    assert not target.exists()
    assert keyed.user_ns["answer"].text == "Fine."


def test_dollar_names_are_literal_and_braces_follow_our_template(
    keyed: Any, server: ScriptedServer, capsys: Any
) -> None:
    keyed.user_ns["city"] = "Oslo"
    _answers(server, 2)
    _run(keyed, capsys, "%groq say $city")
    _run(keyed, capsys, "%groq weather in {city}, JSON like {'a': 1}")
    first, second = (b["messages"][-1]["content"] for b in _chat_bodies(server))
    assert first == "say $city"
    assert second == "weather in Oslo, JSON like {'a': 1}"


def test_a_dunder_reference_on_the_line_is_one_line_and_nothing_is_sent(
    keyed: Any, server: ScriptedServer, capsys: Any
) -> None:
    keyed.user_ns["x"] = 5
    result, shown = _run(keyed, capsys, "%groq what is {x.__class__.__mro__}")
    lines = [line for line in shown.splitlines() if line.strip()]
    assert len(lines) == 1, lines
    assert "dunder attribute '__class__' is not allowed" in lines[0]
    assert "object" not in lines[0]  # the MRO was not computed and shown
    assert _chat_bodies(server) == []
    assert result.error_in_exec is not None


def test_retry_and_ui_lines_are_not_evaluated(
    keyed: Any, server: ScriptedServer, capsys: Any, tmp_path: Path
) -> None:
    _answers(server, 3)
    _run(keyed, capsys, "%%groq\nHello")
    target = tmp_path / "ran"
    _run(keyed, capsys, f'%groq -s "{_code(target)}" retry')
    _run(keyed, capsys, f'%groq -s "{_code(target)}" ui')
    assert not target.exists()
    retried, panel = _chat_bodies(server)[1:]
    for body in (retried, panel):
        assert body["messages"][0] == {"role": "system", "content": _code(target)}
