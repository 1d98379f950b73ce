"""Non-streamed completions, models.list, rate-limit headers, gzip and the connection pool."""

from __future__ import annotations

import json
from typing import Any

from scripted_server import (
    REQUEST_ID,
    Reply,
    ScriptedServer,
    chunk_events,
    completion_body,
    completion_reply,
    ratelimit_headers,
    sse_reply,
)

from groq_magic.client import ChatCompletion, CompletionUsage, ModelList, RateLimits

USER = [{"role": "user", "content": "hi"}]


def test_completion_fields(server: ScriptedServer, make_client: Any) -> None:
    server.enqueue(completion_reply("Fast models matter.", finish_reason="length"))
    completion = make_client().chat.completions.create(messages=USER, model="m")
    assert isinstance(completion, ChatCompletion)
    assert completion.choices[0].message.content == "Fast models matter."
    assert completion.choices[0].message.role == "assistant"
    assert completion.choices[0].finish_reason == "length"
    assert completion.id == "chatcmpl-5a6b7c8d-test"
    assert completion.model == "llama-3.3-70b-versatile"
    assert completion.x_groq is not None
    assert completion.x_groq.id == REQUEST_ID
    usage = completion.usage
    assert isinstance(usage, CompletionUsage)
    assert (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == (18, 7, 25)
    assert (usage.queue_time, usage.prompt_time) == (0.021, 0.0042)
    assert (usage.completion_time, usage.total_time) == (0.0125, 0.0167)


def test_request_id_and_rate_limits_from_headers(server: ScriptedServer, make_client: Any) -> None:
    headers = ratelimit_headers(
        request_id="req_from_header",
        limit_requests=1000,
        limit_tokens=12000,
        remaining_requests=999,
        remaining_tokens=11890,
        reset_requests="1m26.4s",
        reset_tokens="550ms",
    )
    server.enqueue(Reply(headers=headers, json=completion_body("ok")))
    completion = make_client().chat.completions.create(messages=USER, model="m")
    assert completion.request_id == "req_from_header"
    limits = completion.rate_limits
    assert isinstance(limits, RateLimits)
    assert (limits.limit_requests, limits.limit_tokens) == (1000, 12000)
    assert (limits.remaining_requests, limits.remaining_tokens) == (999, 11890)
    assert abs(limits.reset_requests - 86.4) < 1e-9
    assert abs(limits.reset_tokens - 0.55) < 1e-9
    assert limits.raw["x-ratelimit-reset-requests"] == "1m26.4s"


def test_rate_limits_absent_headers_are_none(server: ScriptedServer, make_client: Any) -> None:
    server.enqueue(Reply(json=completion_body("ok")))  # a local server: no Groq headers at all
    completion = make_client().chat.completions.create(messages=USER, model="m")
    assert completion.choices[0].message.content == "ok"
    limits = completion.rate_limits
    if limits is not None:
        assert limits.remaining_tokens is None
        assert limits.reset_requests is None


def test_lenient_parsing_of_missing_and_new_fields(
    server: ScriptedServer, make_client: Any
) -> None:
    body = {
        "choices": [{"message": {"content": "bare"}, "brand_new": {"x": 1}}],
        "usage": None,
        "x_groq": None,
        "future_top_level": [1, 2],
    }
    server.enqueue(Reply(json=body))
    completion = make_client().chat.completions.create(messages=USER, model="m")
    assert completion.choices[0].message.content == "bare"
    assert completion.usage is None
    assert completion.choices[0].finish_reason is None


def test_reasoning_and_tool_calls_in_message(server: ScriptedServer, make_client: Any) -> None:
    calls = [
        {
            "id": "call_abc",
            "type": "function",
            "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
        }
    ]
    server.enqueue(
        completion_reply(
            None, reasoning="think first", tool_calls=calls, finish_reason="tool_calls"
        )
    )
    completion = make_client().chat.completions.create(messages=USER, model="m")
    message = completion.choices[0].message
    assert message.content is None
    assert message.reasoning == "think first"
    assert message.tool_calls[0].id == "call_abc"
    assert message.tool_calls[0].function is not None
    assert json.loads(message.tool_calls[0].function.arguments or "") == {"city": "Paris"}
    assert completion.choices[0].finish_reason == "tool_calls"


def test_gzip_completion_body(server: ScriptedServer, make_client: Any) -> None:
    reply = completion_reply("squeezed " * 200)
    reply.gzip = True
    server.enqueue(reply)
    completion = make_client().chat.completions.create(messages=USER, model="m")
    assert completion.choices[0].message.content == "squeezed " * 200
    assert "gzip" in server.requests[0].headers.get("accept-encoding", "")


def test_models_list(server: ScriptedServer, make_client: Any) -> None:
    server.route(
        "GET",
        "/v1/models",
        Reply(
            headers=ratelimit_headers(),
            json={
                "object": "list",
                "data": [
                    {
                        "id": "llama-3.3-70b-versatile",
                        "object": "model",
                        "created": 1,
                        "owned_by": "Meta",
                        "active": True,
                        "context_window": 131072,
                    },
                    {
                        "id": "openai/gpt-oss-20b",
                        "object": "model",
                        "owned_by": "OpenAI",
                        "public_apps": None,
                    },
                ],
            },
        ),
    )
    models = make_client().models.list()
    assert isinstance(models, ModelList)
    assert [m.id for m in models.data] == ["llama-3.3-70b-versatile", "openai/gpt-oss-20b"]
    assert models.data[0].context_window == 131072
    (request,) = server.requests
    assert (request.method, request.path) == ("GET", "/v1/models")
    assert request.headers["authorization"].startswith("Bearer ")


def test_one_connection_for_many_calls(server: ScriptedServer, make_client: Any) -> None:
    server.route("GET", "/v1/models", Reply(json={"object": "list", "data": []}))
    client = make_client()
    for n in range(3):
        server.enqueue(completion_reply(f"answer {n}"))
        completion = client.chat.completions.create(messages=USER, model="m")
        assert completion.choices[0].message.content == f"answer {n}"
        client.models.list()
    assert len(server.requests) == 6
    assert server.connections_opened == 1


def test_one_connection_for_many_streams(server: ScriptedServer, make_client: Any) -> None:
    client = make_client()
    for n in range(3):
        server.enqueue(sse_reply(chunk_events([f"streamed {n}"])))
        with client.chat.completions.create(messages=USER, model="m", stream=True) as stream:
            text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
        assert text == f"streamed {n}"
        server.enqueue(completion_reply(f"answer {n}"))
        client.chat.completions.create(messages=USER, model="m")
    assert len(server.requests) == 6
    # A stream read to [DONE] leaves its connection in the pool for the next call.
    assert server.connections_opened == 1


def test_connection_reused_after_an_error_status(server: ScriptedServer, make_client: Any) -> None:
    from scripted_server import error_reply

    from groq_magic.client import BadRequestError

    client = make_client()
    server.enqueue(error_reply(400, "bad"), completion_reply("fine"))
    try:
        client.chat.completions.create(messages=USER, model="m")
    except BadRequestError:
        pass
    else:
        raise AssertionError("expected BadRequestError")
    assert client.chat.completions.create(messages=USER, model="m").choices[0].message.content
    assert server.connections_opened == 1


def test_seed_and_stop_list_round_trip(server: ScriptedServer, make_client: Any) -> None:
    server.enqueue(completion_reply("1, 2, 3, 4, 5"))
    completion = make_client().chat.completions.create(
        messages=USER, model="m", stop=[", 6", ", six", ", Six"], seed=1234
    )
    assert completion.choices[0].message.content == "1, 2, 3, 4, 5"
    body = server.requests[0].json()
    assert body["stop"] == [", 6", ", six", ", Six"]
    assert body["seed"] == 1234
