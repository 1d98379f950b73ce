"""Every fault through ``%%groq`` (a real InteractiveShell) and through ``arun_turn`` (asyncio).

The promise per fault: the retry policy holds (attempts on the server, waits recorded);
the user gets one clear line; a partial answer that was shown stays on screen and is in
history marked ``incomplete``, otherwise history is exactly what it was before the cell;
nothing is left open; and the next cell works.
"""

from __future__ import annotations

import asyncio
from typing import Any

import fault_server as faults
import pytest
from faults_catalogue import FAULT_IDS, FAULTS, TIMEOUT, Fault, expect_for, sleeps_match
from IPython.core.error import UsageError
from keys import FAKE_KEY, assert_no_secret
from scripted_server import ScriptedServer

from groq_magic.chat import ChatOptions, Conversation
from groq_magic.chat.engine import TurnError, arun_turn
from groq_magic.chat.prepare import prepare_turn
from groq_magic.chat.sink import NullSink
from groq_magic.client import AsyncGroq

EARLIER = "Remember the number 7."


def _chat_requests(server: ScriptedServer) -> int:
    return sum(1 for r in server.requests if r.path.endswith("/chat/completions"))


def _history(shell: Any) -> str:
    store = shell._groq_magics.session.store
    return "\n".join(store.get(c["name"]).to_json() for c in store.chats())


def _run(shell: Any, capsys: Any, source: str) -> tuple[Any, str, str]:
    capsys.readouterr()
    result = shell.run_cell(source)
    captured = capsys.readouterr()
    return result, captured.out, captured.err


def _one_error_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, f"expected one line, got {lines!r}"
    assert lines[0].startswith("UsageError: "), lines[0]
    return lines[0].removeprefix("UsageError: ")


@pytest.mark.parametrize("stream", [True, False], ids=["stream", "plain"])
@pytest.mark.parametrize("fault", FAULTS, ids=FAULT_IDS)
def test_magic(
    fault: Fault,
    stream: bool,
    leaks: Any,
    shell: Any,
    server: ScriptedServer,
    shell_sleeps: list[float],
    capsys: Any,
) -> None:
    expect = expect_for(fault, stream)
    flags = "" if stream else " --no-stream"
    session = shell._groq_magics.session
    session.backend.max_retries = fault.max_retries
    # A changed setting rebuilds the client: record the new one's retry waits too.
    session.backend.client()._sleep = shell_sleeps.append

    # An earlier turn that must survive whatever the fault does.
    server.enqueue(faults.answer(stream=stream, pieces=["Noted."]))
    first, _, _ = _run(shell, capsys, f"%%groq{flags}\n{EARLIER}")
    assert first.error_in_exec is None
    before = _history(shell)
    turns_before = list(session.store.current.turns)
    requests_before = _chat_requests(server)

    server.enqueue(*fault.replies(stream))
    result, out, err = _run(shell, capsys, f"%%groq{flags}\nWhat is the answer?")
    attempts = _chat_requests(server) - requests_before
    assert attempts == expect.attempts
    assert sleeps_match(shell_sleeps, expect.sleeps), shell_sleeps
    assert "Traceback" not in out + err
    assert_no_secret(out + err)
    turns = session.store.current.turns

    if expect.outcome == "ok":
        assert result.error_in_exec is None, err
        assert shell.user_ns["_groq"].text == expect.text
        assert expect.text[:1000] in out
        assert len(turns) == len(turns_before) + 1
        assert turns[-1].status == "complete"
        assert turns[-1].answer == expect.text
    elif expect.outcome == "error" or not stream or not expect.partial:
        # Nothing was shown (a stream that broke before any text counts as a failed
        # request): one UsageError line, history exactly as before.
        assert isinstance(result.error_in_exec, UsageError)
        line = _one_error_line(err)
        if expect.in_message:
            assert expect.in_message in line
        if expect.code == "stream_timeout":
            assert "did not answer in time" in line
        assert "partial answer was kept" not in line
        assert _history(shell) == before, "a failed cell changed the history"
    else:
        # A stream that began and broke: the cell does not fail; what was shown stays.
        assert result.error_in_exec is None, err
        lines = [line for line in out.splitlines() if line.startswith("⚠ incomplete: ")]
        assert len(lines) == 1, out
        assert expect.code is None or expect.code in lines[0]
        assert expect.partial in out
        assert shell.user_ns["_groq"].status == "incomplete"
        assert shell.user_ns["_groq"].text == expect.partial
        assert len(turns) == len(turns_before) + 1
        assert turns[-1].status == "incomplete"
        assert turns[-1].answer == expect.partial
        assert [t.answer for t in turns[:-1]] == [t.answer for t in turns_before]

    # The kernel is still usable: the next cell answers, and sends the earlier turn along.
    server.enqueue(faults.answer(stream=stream))
    after, out, err = _run(shell, capsys, f"%%groq{flags}\nAnd again?")
    assert after.error_in_exec is None, err
    assert shell.user_ns["_groq"].text == faults.ANSWER
    sent = server.requests[-1].json()["messages"]
    assert sent[0]["role"] == "user"
    assert sent[0]["content"].strip() == EARLIER
    assert server.requests[-1].headers["authorization"] == f"Bearer {FAKE_KEY}"

    session.backend.close()
    leaks.verify()


@pytest.mark.parametrize("stream", [True, False], ids=["stream", "plain"])
@pytest.mark.parametrize("fault", FAULTS, ids=FAULT_IDS)
def test_arun_turn(
    fault: Fault,
    stream: bool,
    leaks: Any,
    server: ScriptedServer,
    sleeps: list[float],
    make_async_client: Any,
) -> None:
    expect = expect_for(fault, stream)
    conversation = Conversation(name="default")
    options = ChatOptions.parse(stream=stream)

    def turn(prompt: str) -> Any:
        return prepare_turn(options, prompt, None, conversation)

    async def scenario() -> tuple[Any, BaseException | None, str, str, int, str]:
        async with make_async_client(max_retries=fault.max_retries, timeout=TIMEOUT) as client:
            assert isinstance(client, AsyncGroq)
            server.enqueue(faults.answer(stream=stream, pieces=["Noted."]))
            await arun_turn(turn(EARLIER), client, NullSink())
            before = conversation.to_json()
            server.enqueue(*fault.replies(stream))
            result: Any = None
            error: BaseException | None = None
            try:
                result = await arun_turn(turn("What?"), client, NullSink())
            except TurnError as exc:
                error = exc
            attempts = _chat_requests(server) - 1
            server.enqueue(faults.answer(stream=stream))
            after = await arun_turn(turn("Again?"), client, NullSink())
            return result, error, before, after.text, attempts, conversation.to_json()

    result, error, before, after, attempts, _ = asyncio.run(scenario())
    assert attempts == expect.attempts
    assert sleeps_match(sleeps, expect.sleeps), sleeps
    assert after == faults.ANSWER
    turns = conversation.turns
    if expect.outcome == "ok":
        assert error is None
        assert result.text == expect.text
        assert [t.status for t in turns] == ["complete"] * 3
    elif expect.outcome == "error" or not stream or not expect.partial:
        assert isinstance(error, TurnError)
        assert "\n" not in str(error)
        assert_no_secret(str(error))
        # History as before the failed turn, plus the next turn.
        assert [t.prompt for t in turns] == [EARLIER, "Again?"]
        assert Conversation.from_json(before).turns[0] == turns[0]
    else:
        assert error is None
        assert result.status == "incomplete"
        assert result.text == expect.partial
        assert [t.status for t in turns] == ["complete", "incomplete", "complete"]
        assert turns[1].answer == expect.partial
    leaks.verify()
