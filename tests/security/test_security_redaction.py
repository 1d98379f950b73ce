"""The key in force is masked by value at every sink, whatever its shape.

Self-hosted OpenAI-compatible servers use keys of any shape
(``myserverkey_ABCDEFGHIJ1234567890``); redaction used to look only for ``gsk_``/``sk-``
shapes, and a streamed answer was shown before anything masked it. Here the key is
echoed by the server inside an answer (split across two stream chunks), returned by a
notebook tool, raised in a tool's exception and quoted in an error; then the live
display, the cell's value, history, ``%groq save``, ``%groq export`` (.md and .ipynb),
the exchange store's raw files, a compare table, a sweep table and the DEBUG log are
all read for it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from keys import forget_keys
from scripted_server import ScriptedServer, chunk_events, completion_reply, error_reply, sse_reply
from turn_replies import tool_reply

from groq_magic._keys import StreamRedactor, redact, remember_key

ODD_KEY = "myserverkey_ABCDEFGHIJ1234567890"
PIECES = ("myserverkey_ABCDE", "FGHIJ1234567890")


def _run(shell: Any, capsys: Any, source: str) -> tuple[Any, str]:
    capsys.readouterr()
    result = shell.run_cell(source)
    captured = capsys.readouterr()
    return result, captured.out + captured.err


def _assert_masked(*texts: str) -> None:
    for text in texts:
        for piece in (ODD_KEY, *PIECES):
            assert piece not in text, f"{piece!r} leaked into: {text[:400]!r}"


def _store_bytes(path: Path) -> bytes:
    files = [path, Path(f"{path}-wal"), Path(f"{path}-shm")]
    return b"".join(f.read_bytes() for f in files if f.exists())


@pytest.fixture
def odd(shell: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: Any) -> Iterator[Any]:
    """The shell with a key of no known shape in force and a store in ``tmp_path``."""
    monkeypatch.setenv("GROQ_API_KEY", ODD_KEY)
    shell.run_line_magic("config", f'GroqMagics.store = "{tmp_path / "store.sqlite"}"')
    capsys.readouterr()
    yield shell
    shell.run_line_magic("config", "GroqMagics.store = None")
    forget_keys()


def _leaky_answer(stream: bool) -> Any:
    if stream:
        return sse_reply(chunk_events(["Your key is ", PIECES[0], PIECES[1] + ", keep it."]))
    return completion_reply(f"Your key is {ODD_KEY}, keep it.")


@pytest.mark.parametrize("stream", [True, False], ids=["stream", "no-stream"])
def test_an_answer_holding_the_key_is_masked_everywhere(
    odd: Any, server: ScriptedServer, capsys: Any, tmp_path: Path, stream: bool
) -> None:
    server.enqueue(_leaky_answer(stream))
    flag = "" if stream else " --no-stream"
    result, shown = _run(odd, capsys, f"%%groq{flag}\nWhat is my key?")
    assert result.error_in_exec is None, shown
    answer = odd.user_ns["_groq"]
    assert answer.text == "Your key is [redacted], keep it."
    outputs = [shown]
    for source in (
        "%groq history",
        f"%groq save {tmp_path / 'chat.json'}",
        f"%groq export {tmp_path / 'chat.md'}",
        f"%groq export {tmp_path / 'chat.ipynb'}",
        "%groq log",
    ):
        outputs.append(_run(odd, capsys, source)[1])
    files = [tmp_path / name for name in ("chat.json", "chat.md", "chat.ipynb")]
    assert all(f.exists() for f in files)
    odd._groq_magics.session.log.store.close()
    _assert_masked(*outputs, *(f.read_text() for f in files), repr(answer))
    _assert_masked(_store_bytes(tmp_path / "store.sqlite").decode("utf-8", "replace"))


def fetch_secret(name: str) -> str:
    """Return the stored secret (a tool that leaks the key)."""
    return f"the secret of {name} is {ODD_KEY}"


def fail_with_secret(name: str) -> str:
    """Raise an error that quotes the key."""
    raise RuntimeError(f"denied for {name}: {ODD_KEY}")


@pytest.mark.parametrize("tool", ["fetch_secret", "fail_with_secret"])
def test_a_tool_result_or_error_holding_the_key_is_masked(
    odd: Any, server: ScriptedServer, capsys: Any, tmp_path: Path, tool: str
) -> None:
    odd.user_ns.update(fetch_secret=fetch_secret, fail_with_secret=fail_with_secret)
    calls = [("call_1", tool, '{"name": "vault"}')]
    server.enqueue(tool_reply(calls, stream=True), sse_reply(chunk_events(["Done."])))
    result, shown = _run(odd, capsys, f"%%groq -T {tool}\nGet the vault secret.")
    assert result.error_in_exec is None, shown
    answer = odd.user_ns["_groq"]
    [call] = answer.tool_calls
    # What went back to the model was masked too.
    tool_message = server.requests[-1].json()["messages"][-1]
    assert tool_message["role"] == "tool"
    assert "[redacted]" in tool_message["content"]
    outputs = [shown, json.dumps(call, default=str), json.dumps(tool_message)]
    for source in (f"%groq save {tmp_path / 'c.json'}", f"%groq export {tmp_path / 'c.md'}"):
        outputs.append(_run(odd, capsys, source)[1])
    odd._groq_magics.session.log.store.close()
    _assert_masked(
        *outputs,
        (tmp_path / "c.json").read_text(),
        (tmp_path / "c.md").read_text(),
        _store_bytes(tmp_path / "store.sqlite").decode("utf-8", "replace"),
    )


def test_a_prompt_holding_the_key_is_refused_whatever_its_shape(
    odd: Any, server: ScriptedServer, capsys: Any
) -> None:
    odd.user_ns["token"] = ODD_KEY
    _result, shown = _run(odd, capsys, "%%groq\nUse {token} to log in.")
    lines = [line for line in shown.splitlines() if line.strip()]
    assert len(lines) == 1, lines
    assert "shaped like an API key" in lines[0]
    assert server.requests == []
    _assert_masked(shown)


def test_an_error_quoting_the_key_and_the_debug_log_are_masked(
    odd: Any, server: ScriptedServer, capsys: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    server.enqueue(error_reply(400, f"bad field near {ODD_KEY}", code="invalid_request"))
    result, shown = _run(odd, capsys, "%%groq\nHi")
    assert result.error_in_exec is not None
    assert "[redacted]" in shown
    logging.getLogger("groq_magic").debug("request with %s", ODD_KEY)
    _assert_masked(shown, caplog.text)


def test_compare_and_sweep_tables_are_masked(odd: Any, server: ScriptedServer, capsys: Any) -> None:
    for _ in range(4):
        server.enqueue(_leaky_answer(True))
    result, shown = _run(odd, capsys, "%%groq -t 0,1\nKey?")
    assert result.error_in_exec is None, shown
    compare = odd.user_ns["_groq"]
    import groq_magic

    sweep = groq_magic.sweep(["a", "b"], model="m", namespace=odd.user_ns)
    for table in (compare, sweep):
        assert set(table["text"]) == {"Your key is [redacted], keep it."}
        _assert_masked(table.to_csv())
    _assert_masked(shown)


@pytest.mark.parametrize("split", range(1, len(ODD_KEY)))
def test_a_stream_masks_the_key_however_it_is_split(split: int) -> None:
    remember_key(ODD_KEY)
    text = f"a {ODD_KEY} b gsk_{'x' * 20} c Bearer abcdefghijklmnop d"
    cut = text.index(ODD_KEY) + split
    redactor = StreamRedactor()
    shown = [redactor.feed(piece) for piece in (text[:cut], text[cut : cut + 3], text[cut + 3 :])]
    shown.append(redactor.flush())
    assert "".join(shown) == redact(text) == "a [redacted] b [redacted] c [redacted] d"
    _assert_masked(*shown)
    forget_keys()


def test_a_short_placeholder_key_is_not_registered() -> None:
    remember_key("local")
    assert redact("a local model") == "a local model"


def test_a_batch_table_is_masked(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The batch road: an answer read from the output file holding the key is masked."""
    from batch_server import BatchServer

    import groq_magic
    from groq_magic.backend import Backend
    from groq_magic.session import GroqSession

    def leak(body: dict[str, Any]) -> str:
        return f"the key is {ODD_KEY}"

    with BatchServer(api_key=ODD_KEY, answer=leak) as running:
        monkeypatch.setenv("GROQ_API_KEY", ODD_KEY)
        monkeypatch.setenv("GROQ_BASE_URL", running.base_url)
        session = GroqSession(Backend())
        try:
            job = groq_magic.batch(["a", "b"], client=session, model="m")
            running.step(job.id)
            running.complete(job.id)
            table = job.results()
        finally:
            session.close()
            forget_keys()
    assert set(table["text"]) == {"the key is [redacted]"}
    _assert_masked(table.to_csv(), repr(job))
