"""The API key never shows: not in any error's message, str, repr or formatted traceback."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import traceback
from collections.abc import Callable
from typing import Any

import pytest
from keys import FAKE_KEY, assert_no_secret
from scripted_server import Reply, ScriptedServer, chunk_events, error_reply, sse_reply

from groq_magic.client import APIError, GroqError

USER = [{"role": "user", "content": "hi"}]


def everything_shown(error: BaseException) -> str:
    """Every way an error reaches a person: message, str, repr, traceback with its causes."""
    shown = [str(error), repr(error), "".join(traceback.format_exception(error))]
    if isinstance(error, APIError):
        shown.append(error.message)
    for arg in error.args:
        shown.append(repr(arg))
    return "\n".join(shown)


def attributes_shown(error: BaseException) -> str:
    """The error's data attributes a notebook may display (failed_generation, body...)."""
    if not isinstance(error, APIError):
        return ""
    return "\n".join(
        repr(getattr(error, name, None))
        for name in ("body", "failed_generation", "partial_text", "param", "code", "type")
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


Scenario = Callable[[ScriptedServer, Any], None]


def _status(status: int, **fields: Any) -> Scenario:
    def run(server: ScriptedServer, client: Any) -> None:
        server.enqueue(error_reply(status, "nope", **fields))
        client.chat.completions.create(messages=USER, model="m")

    return run


def _echoed_key(server: ScriptedServer, client: Any) -> None:
    # Servers have been known to echo the bad key back in the message.
    server.enqueue(
        error_reply(
            401,
            f"Invalid API Key: {FAKE_KEY}",
            code="invalid_api_key",
            failed_generation=f"api_key={FAKE_KEY}",
        )
    )
    client.chat.completions.create(messages=USER, model="m")


def _echoed_key_non_json(server: ScriptedServer, client: Any) -> None:
    server.enqueue(Reply(status=401, body=f"bad key {FAKE_KEY} (key {FAKE_KEY})".encode()))
    client.chat.completions.create(messages=USER, model="m")


def _echoed_key_in_stream(server: ScriptedServer, client: Any) -> None:
    error = {"error": {"message": f"key {FAKE_KEY} revoked", "type": "x", "code": "revoked"}}
    frames: list[Any] = [*chunk_events(["a"])[:2], f"event: error\ndata: {json.dumps(error)}\n\n"]
    server.enqueue(sse_reply(frames, done=False))
    for _ in client.chat.completions.create(messages=USER, model="m", stream=True):
        pass


def _not_json(server: ScriptedServer, client: Any) -> None:
    server.enqueue(Reply(body=b"<html>gateway</html>"))
    client.chat.completions.create(messages=USER, model="m")


def _truncated_stream(server: ScriptedServer, client: Any) -> None:
    server.enqueue(sse_reply(chunk_events(["abc", "def"]), close_after=700))
    for _ in client.chat.completions.create(messages=USER, model="m", stream=True):
        pass


def _refused(server: ScriptedServer, client: Any) -> None:
    from groq_magic.client import Groq

    with Groq(
        api_key=FAKE_KEY, base_url=f"http://127.0.0.1:{free_port()}/v1", max_retries=0
    ) as other:
        other.chat.completions.create(messages=USER, model="m")


def _reset(server: ScriptedServer, client: Any) -> None:
    server.enqueue(*[Reply(reset_before_response=True)] * 3)
    client.chat.completions.create(messages=USER, model="m")


def _timeout(server: ScriptedServer, client: Any) -> None:
    from groq_magic.client import Groq

    server.enqueue(Reply(json={}, stall_before=1.0))
    with Groq(api_key=FAKE_KEY, base_url=server.base_url, timeout=0.1, max_retries=0) as other:
        other.chat.completions.create(messages=USER, model="m")


def _bad_argument(server: ScriptedServer, client: Any) -> None:
    client.chat.completions.create(messages=[{"role": "robot", "content": FAKE_KEY[:3]}], model="m")


SCENARIOS: dict[str, Scenario] = {
    "400": _status(400, code="json_validate_failed", failed_generation="{"),
    "401": _status(401, code="invalid_api_key"),
    "403": _status(403),
    "404": _status(404, code="model_not_found"),
    "429": _status(429, code="rate_limit_exceeded", headers={"x-should-retry": "false"}),
    "498": _status(498),
    "500": _status(500, headers={"x-should-retry": "false"}),
    "echoed_key": _echoed_key,
    "echoed_key_non_json": _echoed_key_non_json,
    "echoed_key_in_stream": _echoed_key_in_stream,
    "not_json": _not_json,
    "truncated_stream": _truncated_stream,
    "refused": _refused,
    "reset": _reset,
    "timeout": _timeout,
    "bad_argument": _bad_argument,
}


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_no_error_shows_the_key(
    server: ScriptedServer,
    make_client: Any,
    caplog: pytest.LogCaptureFixture,
    name: str,
) -> None:
    client = make_client()
    with caplog.at_level(logging.DEBUG), pytest.raises(GroqError) as info:
        SCENARIOS[name](server, client)
    assert_no_secret(everything_shown(info.value))
    # The data attributes are displayed too (a failed JSON generation, the body).
    assert FAKE_KEY not in attributes_shown(info.value)
    # Nor does anything the client (or httpx under it) logged meanwhile.
    assert_no_secret(caplog.text)


def test_key_is_sent_on_the_wire(server: ScriptedServer, make_client: Any) -> None:
    # The counterpart of the checks above: the key is redacted, not lost.
    server.enqueue(error_reply(401, f"Invalid API Key: {FAKE_KEY}", code="invalid_api_key"))
    with pytest.raises(GroqError) as info:
        make_client().chat.completions.create(messages=USER, model="m")
    assert server.requests[0].headers["authorization"] == f"Bearer {FAKE_KEY}"
    assert "Invalid API Key" in str(info.value)


def test_no_async_error_shows_the_key(server: ScriptedServer, make_async_client: Any) -> None:
    server.enqueue(error_reply(401, f"Invalid API Key: {FAKE_KEY}", code="invalid_api_key"))
    server.enqueue(sse_reply(chunk_events(["abc", "def"]), close_after=700))

    async def main() -> list[BaseException]:
        errors: list[BaseException] = []
        async with make_async_client(max_retries=0) as client:
            try:
                await client.chat.completions.create(messages=USER, model="m")
            except GroqError as exc:
                errors.append(exc)
            try:
                stream = await client.chat.completions.create(messages=USER, model="m", stream=True)
                async for _ in stream:
                    pass
            except GroqError as exc:
                errors.append(exc)
        return errors

    errors = asyncio.run(main())
    assert len(errors) == 2
    for error in errors:
        assert_no_secret(everything_shown(error))
