"""What the client sends: the body, the headers, pass-through fields, and early argument errors."""

from __future__ import annotations

from typing import Any

import pytest
from keys import FAKE_KEY
from scripted_server import ScriptedServer, completion_reply

from groq_magic.client import ArgumentError, GroqError

USER = [{"role": "user", "content": "hi"}]


def test_request_line_headers_and_body(server: ScriptedServer, make_client: Any) -> None:
    server.enqueue(completion_reply())
    make_client().chat.completions.create(
        messages=[
            {"role": "system", "content": "be brief"},
            {"role": "user", "content": "hi"},
        ],
        model="llama-3.3-70b-versatile",
        temperature=0.5,
        top_p=1,
        max_completion_tokens=1024,
        stop=", 6",
        seed=7,
    )
    (request,) = server.requests
    assert (request.method, request.path) == ("POST", "/v1/chat/completions")
    assert request.headers["authorization"] == f"Bearer {FAKE_KEY}"
    assert request.headers["content-type"].startswith("application/json")
    body = request.json()
    assert body["messages"] == [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "hi"},
    ]
    assert body["model"] == "llama-3.3-70b-versatile"
    assert body["temperature"] == 0.5
    assert body["top_p"] == 1
    assert body["max_completion_tokens"] == 1024
    assert body["stop"] == ", 6"
    assert body["seed"] == 7
    assert body.get("stream") in (None, False)


def test_every_documented_parameter_reaches_the_body(
    server: ScriptedServer, make_client: Any
) -> None:
    server.enqueue(completion_reply())
    tools = [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}]
    params: dict[str, Any] = {
        "max_tokens": 64,
        "stop": ["a", "b"],
        "response_format": {"type": "json_object"},
        "tools": tools,
        "tool_choice": "auto",
        "reasoning_format": "parsed",
        "reasoning_effort": "low",
        "service_tier": "flex",
    }
    make_client().chat.completions.create(messages=USER, model="m", **params)
    body = server.requests[0].json()
    for name, value in params.items():
        assert body[name] == value, name


def test_unknown_fields_pass_through_untouched(server: ScriptedServer, make_client: Any) -> None:
    server.enqueue(completion_reply())
    make_client().chat.completions.create(
        messages=USER,
        model="m",
        parallel_tool_calls=False,
        future_knob={"nested": [1, 2.5, None, "x"]},
        include_reasoning=True,
    )
    body = server.requests[0].json()
    assert body["parallel_tool_calls"] is False
    assert body["future_knob"] == {"nested": [1, 2.5, None, "x"]}
    assert body["include_reasoning"] is True


def test_message_fields_pass_through(server: ScriptedServer, make_client: Any) -> None:
    server.enqueue(completion_reply())
    messages = [
        {"role": "developer", "content": "rules"},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "what is this?"},
                {
                    "type": "image_url",
                    "image_url": {"url": "data:image/png;base64,AA==", "detail": "low"},
                },
            ],
            "name": "ada",
        },
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "42"},
    ]
    make_client().chat.completions.create(messages=messages, model="m")
    sent = server.requests[0].json()["messages"]
    assert sent[0] == messages[0]
    assert sent[1] == messages[1]
    assert sent[2]["tool_calls"] == messages[2]["tool_calls"]
    assert sent[3] == messages[3]


def test_none_arguments_are_not_sent_as_values(server: ScriptedServer, make_client: Any) -> None:
    server.enqueue(completion_reply())
    make_client().chat.completions.create(
        messages=USER, model="m", stop=None, temperature=None, seed=None
    )
    body = server.requests[0].json()
    for name in ("stop", "temperature", "seed"):
        assert body.get(name) is None


def test_messages_may_be_any_iterable(server: ScriptedServer, make_client: Any) -> None:
    server.enqueue(completion_reply())
    make_client().chat.completions.create(messages=(m for m in USER), model="m")
    assert server.requests[0].json()["messages"] == USER


BAD_CALLS: list[tuple[str, dict[str, Any]]] = [
    ("messages", {"messages": []}),
    ("messages", {"messages": "hi"}),
    ("messages", {"messages": {"role": "user", "content": "hi"}}),
    ("messages", {"messages": None}),
    ("messages[0]", {"messages": ["hi"]}),
    ("role", {"messages": [{"role": "robot", "content": "hi"}]}),
    ("role", {"messages": [{"content": "hi"}]}),
    ("content", {"messages": [{"role": "user", "content": 42}]}),
    ("tool_call_id", {"messages": [{"role": "tool", "content": "x"}]}),
    ("model", {"model": ""}),
    ("model", {"model": None}),
    ("model", {"model": 3}),
    ("temperature", {"temperature": "hot"}),
    ("top_p", {"top_p": [1]}),
    ("max_completion_tokens", {"max_completion_tokens": 1.5}),
    ("max_tokens", {"max_tokens": "10"}),
    ("seed", {"seed": "7"}),
    ("stop", {"stop": ["a", "b", "c", "d", "e"]}),
    ("stop", {"stop": 5}),
    ("stop", {"stop": ["a", 1]}),
    ("stream", {"stream": "yes"}),
    ("response_format", {"response_format": "json"}),
]


@pytest.mark.parametrize(("argument", "override"), BAD_CALLS)
def test_bad_arguments_fail_before_any_request(
    server: ScriptedServer, make_client: Any, argument: str, override: dict[str, Any]
) -> None:
    call: dict[str, Any] = {"messages": USER, "model": "m", **override}
    with pytest.raises(ArgumentError) as info:
        make_client().chat.completions.create(**call)
    assert argument in str(info.value)
    assert isinstance(info.value, GroqError)
    assert isinstance(info.value, ValueError)
    assert server.requests == []


def test_missing_required_arguments_fail_before_any_request(
    server: ScriptedServer, make_client: Any
) -> None:
    client = make_client()
    with pytest.raises(TypeError, match="model"):
        client.chat.completions.create(messages=USER)
    with pytest.raises(TypeError, match="messages"):
        client.chat.completions.create(model="m")
    assert server.requests == []


@pytest.mark.parametrize(("argument", "override"), BAD_CALLS[:6])
def test_bad_arguments_fail_before_any_request_async(
    server: ScriptedServer, make_async_client: Any, argument: str, override: dict[str, Any]
) -> None:
    import asyncio

    async def main() -> None:
        async with make_async_client() as client:
            await client.chat.completions.create(**{"messages": USER, "model": "m", **override})

    with pytest.raises(ArgumentError, match=argument.replace("[", r"\[").replace("]", r"\]")):
        asyncio.run(main())
    assert server.requests == []


def test_bad_stream_arguments_fail_before_any_request(
    server: ScriptedServer, make_client: Any
) -> None:
    with pytest.raises(ArgumentError, match="messages"):
        make_client().chat.completions.create(messages=[], model="m", stream=True)
    assert server.requests == []
