"""Protocol-notes rows not covered elsewhere: brotli, model retrieval, usage details, durations."""

from __future__ import annotations

import json
from typing import Any

import pytest
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

USER = [{"role": "user", "content": "hi"}]


def test_brotli_completion(server: ScriptedServer, make_client: Any) -> None:
    reply = completion_reply("brotli body " * 50)
    reply.brotli = True
    server.enqueue(reply)
    completion = make_client().chat.completions.create(messages=USER, model="m")
    assert completion.choices[0].message.content == "brotli body " * 50


def test_brotli_stream(server: ScriptedServer, make_client: Any) -> None:
    server.enqueue(sse_reply(chunk_events(["b", "r"]), brotli=True))
    stream = make_client().chat.completions.create(messages=USER, model="m", stream=True)
    for _ in stream:
        pass
    assert stream.text == "br"


def test_models_retrieve(server: ScriptedServer, make_client: Any) -> None:
    model_body = {
        "id": "llama-3.3-70b-versatile",
        "object": "model",
        "owned_by": "Meta",
        "context_window": 131072,
    }
    server.enqueue(Reply(json=model_body))
    model = make_client().models.retrieve("llama-3.3-70b-versatile")
    assert model.id == "llama-3.3-70b-versatile"
    assert model.context_window == 131072
    assert (server.requests[0].method, server.requests[0].path) == (
        "GET",
        "/v1/models/llama-3.3-70b-versatile",
    )


def test_usage_token_details(server: ScriptedServer, make_client: Any) -> None:
    body = completion_body("ok")
    body["usage"]["prompt_tokens_details"] = {"cached_tokens": 12}
    body["usage"]["completion_tokens_details"] = {"reasoning_tokens": 40}
    server.enqueue(Reply(json=body))
    usage = make_client().chat.completions.create(messages=USER, model="m").usage
    assert usage is not None
    assert usage.prompt_tokens_details == {"cached_tokens": 12}
    assert usage.completion_tokens_details == {"reasoning_tokens": 40}


def test_json_schema_response_format_passes_through(
    server: ScriptedServer, make_client: Any
) -> None:
    schema = {
        "type": "object",
        "properties": {"name": {"type": "string"}},
        "required": ["name"],
        "additionalProperties": False,
    }
    response_format = {
        "type": "json_schema",
        "json_schema": {"name": "person", "schema": schema, "strict": True},
    }
    server.enqueue(completion_reply('{"name": "Ada"}'))
    completion = make_client().chat.completions.create(
        messages=USER, model="openai/gpt-oss-20b", response_format=response_format
    )
    assert json.loads(completion.choices[0].message.content or "") == {"name": "Ada"}
    assert server.requests[0].json()["response_format"] == response_format


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("6s", 6.0), ("130ms", 0.13), ("23.9s", 23.9), ("1m26.4s", 86.4), ("2m0s", 120.0)],
)
def test_go_duration_reset_headers(
    server: ScriptedServer, make_client: Any, text: str, seconds: float
) -> None:
    headers = ratelimit_headers(reset_requests=text, reset_tokens=text)
    server.enqueue(Reply(headers=headers, json=completion_body()))
    limits = make_client().chat.completions.create(messages=USER, model="m").rate_limits
    assert limits is not None
    assert limits.reset_requests == pytest.approx(seconds)
    assert limits.reset_tokens == pytest.approx(seconds)


def test_malformed_rate_limit_headers_do_not_fail(server: ScriptedServer, make_client: Any) -> None:
    headers = ratelimit_headers()
    headers["x-ratelimit-remaining-tokens"] = "lots"
    headers["x-ratelimit-reset-requests"] = "soon"
    server.enqueue(Reply(headers=headers, json=completion_body("fine")))
    completion = make_client().chat.completions.create(messages=USER, model="m")
    assert completion.choices[0].message.content == "fine"
    assert completion.rate_limits is not None
    assert completion.rate_limits.remaining_tokens is None
    assert completion.rate_limits.reset_requests is None
    assert completion.rate_limits.limit_tokens == 6000


def test_stream_request_id_from_x_groq_when_header_missing(
    server: ScriptedServer, make_client: Any
) -> None:
    frames = sse_reply(chunk_events(["a"], request_id="req_only_in_body")).chunks
    server.enqueue(Reply(headers={"content-type": "text/event-stream"}, chunks=frames))
    stream = make_client().chat.completions.create(messages=USER, model="m", stream=True)
    for _ in stream:
        pass
    assert stream.request_id == "req_only_in_body"


def test_stream_request_id_matches_header(server: ScriptedServer, make_client: Any) -> None:
    server.enqueue(sse_reply(chunk_events(["a"])))
    stream = make_client().chat.completions.create(messages=USER, model="m", stream=True)
    chunks = list(stream)
    assert chunks[0].x_groq is not None
    assert chunks[0].x_groq.id == REQUEST_ID == stream.request_id


@pytest.mark.parametrize("reason", ["length", "content_filter", "function_call"])
def test_stream_finish_reasons(server: ScriptedServer, make_client: Any, reason: str) -> None:
    server.enqueue(sse_reply(chunk_events(["cut"], finish_reason=reason)))
    stream = make_client().chat.completions.create(messages=USER, model="m", stream=True)
    for _ in stream:
        pass
    assert stream.finish_reason == reason
    assert stream.completed


def test_stream_with_first_delta_without_content(server: ScriptedServer, make_client: Any) -> None:
    events = chunk_events(["x"])
    events[0]["choices"][0]["delta"] = {"role": "assistant"}
    events[1]["choices"][0]["logprobs"] = {"content": []}  # unexpected detail: tolerated
    events[1]["brand_new_field"] = {"nested": True}
    server.enqueue(sse_reply(events))
    stream = make_client().chat.completions.create(messages=USER, model="m", stream=True)
    for _ in stream:
        pass
    assert stream.text == "x"


def test_stream_text_on_utf8_split_across_network_reads(
    server: ScriptedServer, make_client: Any
) -> None:
    text = "naïve café — 東京 🚀"
    events = chunk_events([text])
    frames = (
        b"".join(f"data: {json.dumps(e, ensure_ascii=False)}\n\n".encode() for e in events)
        + b"data: [DONE]\n\n"
    )
    one_byte_reads = [frames[i : i + 1] for i in range(len(frames))]
    server.enqueue(Reply(headers={"content-type": "text/event-stream"}, chunks=one_byte_reads))
    stream = make_client().chat.completions.create(messages=USER, model="m", stream=True)
    for _ in stream:
        pass
    assert stream.text == text
