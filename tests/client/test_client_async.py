"""AsyncGroq and AsyncStream: the important sync behaviours, under ``asyncio.run``."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from scripted_server import (
    REQUEST_ID,
    Reply,
    ScriptedServer,
    chunk_events,
    completion_reply,
    error_reply,
    ratelimit_headers,
    sse_bytes,
    sse_reply,
)

from groq_magic.client import (
    APIResponseValidationError,
    APIStreamError,
    AsyncStream,
    ChatCompletion,
    InternalServerError,
    NotFoundError,
    RateLimitError,
)

USER = [{"role": "user", "content": "hi"}]
PIECES = ["Async", " answers", " stream", " too", "."]


def run(factory: Callable[..., Any], body: Callable[[Any], Awaitable[Any]], **kwargs: Any) -> Any:
    """Run ``body(client)`` in a fresh event loop with a client closed afterwards."""

    async def main() -> Any:
        async with factory(**kwargs) as client:
            return await body(client)

    return asyncio.run(main())


def test_async_completion(server: ScriptedServer, make_async_client: Any) -> None:
    server.enqueue(completion_reply("async hello"))

    async def body(client: Any) -> Any:
        return await client.chat.completions.create(messages=USER, model="m", temperature=0.5)

    completion = run(make_async_client, body)
    assert isinstance(completion, ChatCompletion)
    assert completion.choices[0].message.content == "async hello"
    assert completion.request_id == REQUEST_ID
    assert completion.rate_limits is not None
    assert completion.rate_limits.remaining_requests == 14399
    assert server.requests[0].json()["temperature"] == 0.5
    assert server.requests[0].headers["authorization"].endswith("SECRETKEY123")


def test_async_stream(server: ScriptedServer, make_async_client: Any) -> None:
    server.enqueue(sse_reply(chunk_events(PIECES, include_usage_chunk=True)))

    async def body(client: Any) -> tuple[Any, list[str | None]]:
        stream = await client.chat.completions.create(messages=USER, model="m", stream=True)
        assert isinstance(stream, AsyncStream)
        contents = []
        async with stream:
            async for chunk in stream:
                contents.append(chunk.choices[0].delta.content if chunk.choices else "usage")
        return stream, contents

    stream, contents = run(make_async_client, body)
    assert contents == ["", *PIECES, None, "usage"]
    assert stream.text == "".join(PIECES)
    assert stream.finish_reason == "stop"
    assert stream.request_id == REQUEST_ID
    assert stream.usage is not None
    assert stream.usage.completion_tokens == len(PIECES)
    assert stream.rate_limits.limit_tokens == 6000
    assert stream.timings.time_to_first_token is not None
    assert stream.timings.total is not None
    assert stream.completed


def test_async_stream_reasoning_and_tools(server: ScriptedServer, make_async_client: Any) -> None:
    deltas = [
        [{"index": 0, "id": "c1", "type": "function",
          "function": {"name": "lookup", "arguments": '{"q": '}}],
        [{"index": 0, "function": {"arguments": '"groq"}'}}],
    ]  # fmt: skip
    events = chunk_events([], reasoning_pieces=["hmm"], tool_call_deltas=deltas,
                          finish_reason="tool_calls")  # fmt: skip
    server.enqueue(sse_reply(events))

    async def body(client: Any) -> Any:
        stream = await client.chat.completions.create(messages=USER, model="m", stream=True)
        await stream.until_done()
        return stream

    stream = run(make_async_client, body)
    assert stream.reasoning == "hmm"
    assert stream.tool_calls[0]["function"]["name"] == "lookup"
    assert json.loads(stream.tool_calls[0]["function"]["arguments"]) == {"q": "groq"}
    assert stream.finish_reason == "tool_calls"


def test_async_status_errors_and_retries(
    server: ScriptedServer, make_async_client: Any, sleeps: list[float]
) -> None:
    server.enqueue(
        error_reply(429, "slow", headers={"retry-after-ms": "40"}),
        error_reply(503, "busy"),
        completion_reply("third time"),
    )

    async def body(client: Any) -> Any:
        return await client.chat.completions.create(messages=USER, model="m")

    completion = run(make_async_client, body)
    assert completion.choices[0].message.content == "third time"
    assert len(server.requests) == 3
    assert sleeps[0] == 0.04
    assert 0.75 <= sleeps[1] <= 1.0


def test_async_retries_exhausted(
    server: ScriptedServer, make_async_client: Any, sleeps: list[float]
) -> None:
    server.enqueue(*[error_reply(500, "down") for _ in range(4)])

    async def body(client: Any) -> Any:
        return await client.chat.completions.create(messages=USER, model="m")

    with pytest.raises(InternalServerError):
        run(make_async_client, body, max_retries=1)
    assert len(server.requests) == 2
    assert len(sleeps) == 1
    assert 0.375 <= sleeps[0] <= 0.5


def test_async_not_retried_statuses(
    server: ScriptedServer, make_async_client: Any, sleeps: list[float]
) -> None:
    server.enqueue(error_reply(404, "no such model", code="model_not_found"))

    async def body(client: Any) -> Any:
        return await client.chat.completions.create(messages=USER, model="m")

    with pytest.raises(NotFoundError) as info:
        run(make_async_client, body)
    assert info.value.code == "model_not_found"
    assert len(server.requests) == 1


def test_async_should_retry_false(
    server: ScriptedServer, make_async_client: Any, sleeps: list[float]
) -> None:
    server.enqueue(error_reply(429, "no", headers={"x-should-retry": "false"}))

    async def body(client: Any) -> Any:
        return await client.chat.completions.create(messages=USER, model="m")

    with pytest.raises(RateLimitError):
        run(make_async_client, body)
    assert sleeps == []


def test_async_stream_drop_keeps_partial_and_is_not_retried(
    server: ScriptedServer, make_async_client: Any, sleeps: list[float]
) -> None:
    cut = sum(len(f) for f in sse_bytes(chunk_events(PIECES))[:3]) + 10
    server.enqueue(sse_reply(chunk_events(PIECES), close_after=cut), sse_reply(chunk_events(["x"])))

    async def body(client: Any) -> Any:
        stream = await client.chat.completions.create(messages=USER, model="m", stream=True)
        async for _ in stream:
            pass

    with pytest.raises(APIStreamError) as info:
        run(make_async_client, body, max_retries=4)
    assert info.value.partial_text == "Async answers"
    assert len(server.requests) == 1
    assert sleeps == []


def test_async_mid_stream_error_event(server: ScriptedServer, make_async_client: Any) -> None:
    error = {"error": {"message": "gone", "type": "server_error", "code": "x", "status_code": 500}}
    frame = f"event: error\ndata: {json.dumps(error)}\n\n"
    frames: list[Any] = [*chunk_events(["part"])[:2], frame]
    server.enqueue(sse_reply(frames, done=False))

    async def body(client: Any) -> Any:
        stream = await client.chat.completions.create(messages=USER, model="m", stream=True)
        async for _ in stream:
            pass

    with pytest.raises(APIStreamError) as info:
        run(make_async_client, body)
    assert info.value.partial_text == "part"
    assert info.value.message == "gone"


def test_async_not_json(server: ScriptedServer, make_async_client: Any) -> None:
    server.enqueue(Reply(headers={"content-type": "text/html"}, body=b"<html></html>"))

    async def body(client: Any) -> Any:
        return await client.chat.completions.create(messages=USER, model="m")

    with pytest.raises(APIResponseValidationError):
        run(make_async_client, body)


def test_async_gzip_and_split_stream(server: ScriptedServer, make_async_client: Any) -> None:
    server.enqueue(sse_reply(chunk_events(PIECES), split=5, gzip=True))

    async def body(client: Any) -> Any:
        stream = await client.chat.completions.create(messages=USER, model="m", stream=True)
        return await stream.until_done()

    assert run(make_async_client, body) == "".join(PIECES)


def test_async_pool_reused(server: ScriptedServer, make_async_client: Any) -> None:
    models = {"object": "list", "data": [{"id": "a"}]}
    server.route("GET", "/v1/models", Reply(headers=ratelimit_headers(), json=models))

    async def body(client: Any) -> list[str]:
        ids = []
        for n in range(3):
            server.enqueue(completion_reply(f"n{n}"))
            completion = await client.chat.completions.create(messages=USER, model="m")
            ids.append(completion.choices[0].message.content)
            models = await client.models.list()
            ids.append(models.data[0].id)
        return ids

    assert run(make_async_client, body) == ["n0", "a", "n1", "a", "n2", "a"]
    assert server.connections_opened == 1


def test_async_pool_reused_after_streams(server: ScriptedServer, make_async_client: Any) -> None:
    async def body(client: Any) -> list[str]:
        texts = []
        for n in range(3):
            server.enqueue(sse_reply(chunk_events([f"s{n}"])))
            stream = await client.chat.completions.create(messages=USER, model="m", stream=True)
            async with stream:
                texts.append(await stream.until_done())
        return texts

    assert run(make_async_client, body) == ["s0", "s1", "s2"]
    assert server.connections_opened == 1


def test_async_with_closes_the_response_early(
    server: ScriptedServer, make_async_client: Any
) -> None:
    server.enqueue(sse_reply(chunk_events([f"t{n} " for n in range(2000)]), delay=0.002))

    async def body(client: Any) -> Any:
        stream = await client.chat.completions.create(messages=USER, model="m", stream=True)
        async with stream:
            async for chunk in stream:
                if chunk.choices[0].delta.content:
                    break
        return stream

    stream = run(make_async_client, body)
    assert server.disconnected.wait(10)
    assert stream.text == "t0 "
    assert not stream.completed


def test_async_aclose(server: ScriptedServer, make_async_client: Any) -> None:
    server.enqueue(sse_reply(chunk_events([f"t{n} " for n in range(2000)]), delay=0.002))

    async def main() -> None:
        client = make_async_client()
        stream = await client.chat.completions.create(messages=USER, model="m", stream=True)
        await stream.__anext__()
        await stream.aclose()
        await client.aclose()

    asyncio.run(main())
    assert server.disconnected.wait(10)
    assert server.wait_until(lambda: server.open_connections == 0)


def test_async_models_list(server: ScriptedServer, make_async_client: Any) -> None:
    server.route("GET", "/v1/models", Reply(json={"object": "list", "data": [{"id": "x"}]}))

    async def body(client: Any) -> Any:
        return await client.models.list()

    assert [m.id for m in run(make_async_client, body).data] == ["x"]
