"""Every fault through the sync and async clients, streamed and not.

For each fault the promise is checked in full: the retry policy (attempts counted on the
server, waits recorded through the injected sleep), the typed error and its one-line
message, the partial text of a stream that began, no secret in any message, nothing left
open (client sockets, file descriptors, threads), and the same client still answers the
next request.
"""

from __future__ import annotations

import asyncio
from typing import Any

import fault_server as faults
import pytest
from faults_catalogue import FAULT_IDS, FAULTS, TIMEOUT, Expect, Fault, expect_for, sleeps_match
from keys import assert_no_secret
from scripted_server import ScriptedServer

from groq_magic.chat.explain import explain_error
from groq_magic.client import APIError, APIStreamError

USER = [{"role": "user", "content": "What is the answer?"}]


def _chat_requests(server: ScriptedServer) -> int:
    return sum(1 for r in server.requests if r.path.endswith("/chat/completions"))


def _check_error(exc: APIError, expect: Expect) -> None:
    assert expect.error is not None
    assert isinstance(exc, expect.error), f"{type(exc).__name__}: {exc}"
    if expect.code is not None:
        assert exc.code == expect.code
    line = explain_error(exc)
    assert "\n" not in str(exc)
    assert "\n" not in line, line
    if expect.in_message:
        assert expect.in_message in line
    for text in (str(exc), repr(exc), line):
        assert_no_secret(text)


def _same_partial(exc: APIStreamError, seen: list[str], text: str) -> None:
    if not exc.partial_text == "".join(seen) == text:
        raise AssertionError(f"partial {exc.partial_text!r}, shown {seen!r}, stream {text!r}")


def _sync_call(client: Any, stream: bool) -> tuple[str, str | None]:
    """(text, None) on success; raises on failure. For streams, also the text seen so far."""
    if not stream:
        return client.chat.completions.create(messages=USER, model="m").text, None
    with client.chat.completions.create(messages=USER, model="m", stream=True) as s:
        seen = []
        try:
            for chunk in s:
                for choice in chunk.choices:
                    if choice.delta.content:
                        seen.append(choice.delta.content)
        except APIStreamError as exc:
            # What was shown is exactly what the error and the stream both report.
            _same_partial(exc, seen, s.text)
            raise
        assert s.completed
        return s.text, "".join(seen)


async def _async_call(client: Any, stream: bool) -> tuple[str, str | None]:
    if not stream:
        completion = await client.chat.completions.create(messages=USER, model="m")
        return completion.text, None
    async with await client.chat.completions.create(messages=USER, model="m", stream=True) as s:
        seen = []
        try:
            async for chunk in s:
                for choice in chunk.choices:
                    if choice.delta.content:
                        seen.append(choice.delta.content)
        except APIStreamError as exc:
            _same_partial(exc, seen, s.text)
            raise
        assert s.completed
        return s.text, "".join(seen)


def _verify(
    fault: Fault,
    stream: bool,
    attempts: int,
    sleeps: list[float],
    result: tuple[str, str | None] | None,
    error: APIError | None,
) -> None:
    expect = expect_for(fault, stream)
    assert attempts == expect.attempts
    assert sleeps_match(sleeps, expect.sleeps), sleeps
    if expect.outcome == "ok":
        assert error is None, f"{type(error).__name__}: {error}"
        assert result is not None
        assert result[0] == expect.text
        return
    assert error is not None, "the fault went unnoticed"
    _check_error(error, expect)
    if expect.outcome == "partial":
        assert isinstance(error, APIStreamError)
        assert error.partial_text == expect.partial


@pytest.mark.parametrize("stream", [True, False], ids=["stream", "plain"])
@pytest.mark.parametrize("fault", FAULTS, ids=FAULT_IDS)
def test_sync_client(
    fault: Fault,
    stream: bool,
    server: ScriptedServer,
    leaks: Any,
    sleeps: list[float],
    make_client: Any,
) -> None:
    server.enqueue(*fault.replies(stream))
    client = make_client(max_retries=fault.max_retries, timeout=TIMEOUT)
    result = error = None
    try:
        result = _sync_call(client, stream)
    except APIError as exc:
        error = exc
    _verify(fault, stream, _chat_requests(server), list(sleeps), result, error)
    # The client is still usable: a good answer comes through on the next call.
    server.enqueue(faults.answer(stream=stream))
    assert _sync_call(client, stream)[0] == faults.ANSWER
    client.close()
    leaks.verify()


@pytest.mark.parametrize("stream", [True, False], ids=["stream", "plain"])
@pytest.mark.parametrize("fault", FAULTS, ids=FAULT_IDS)
def test_async_client(
    fault: Fault,
    stream: bool,
    server: ScriptedServer,
    leaks: Any,
    sleeps: list[float],
    make_async_client: Any,
) -> None:
    server.enqueue(*fault.replies(stream))

    async def scenario() -> tuple[Any, APIError | None, int, list[float], str]:
        async with make_async_client(max_retries=fault.max_retries, timeout=TIMEOUT) as client:
            result = error = None
            try:
                result = await _async_call(client, stream)
            except APIError as exc:
                error = exc
            attempts, waits = _chat_requests(server), list(sleeps)
            server.enqueue(faults.answer(stream=stream))
            after = (await _async_call(client, stream))[0]
        return result, error, attempts, waits, after

    result, error, attempts, waits, after = asyncio.run(scenario())
    _verify(fault, stream, attempts, waits, result, error)
    assert after == faults.ANSWER
    leaks.verify()
