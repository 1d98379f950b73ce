"""Tool calls on the embedded model: the bridge (pure) and a real round trip on SmolLM2."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from groq_magic.local import LocalServer
from groq_magic.local.tools import (
    ARGUMENT_CHARS,
    ARGUMENT_TOKENS,
    forced_tool,
    tool_call_request,
    tool_call_response,
    without_tools,
)

WEATHER = {
    "name": "get_weather",
    "description": "The weather in a city.",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    },
}
TOOLS = [{"type": "function", "function": WEATHER}]
ROUND = [
    {"role": "user", "content": "Weather in Oslo?"},
    {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": "c1",
                "type": "function",
                "function": {"name": "get_weather", "arguments": '{"city": "Oslo"}'},
            }
        ],
    },
    {"role": "tool", "tool_call_id": "c1", "content": "12 degrees"},
]


@pytest.mark.parametrize(
    ("choice", "forced"),
    [
        ({"type": "function", "function": {"name": "get_weather"}}, WEATHER),
        ("required", WEATHER),
        ("auto", None),
        ("none", None),
        ({"type": "function", "function": {"name": "other"}}, None),
    ],
)
def test_only_a_forced_call_is_bridged(choice: Any, forced: Any) -> None:
    assert forced_tool({"tools": TOOLS, "tool_choice": choice}) == forced


def test_required_with_several_tools_is_not_forced() -> None:
    two = [*TOOLS, {"type": "function", "function": {**WEATHER, "name": "other"}}]
    assert forced_tool({"tools": two, "tool_choice": "required"}) is None


def test_tool_rounds_become_text_and_tool_fields_go() -> None:
    body = {"model": "m", "messages": ROUND, "tools": TOOLS, "tool_choice": "auto"}
    plain = without_tools(body)
    assert "tools" not in plain
    assert "tool_choice" not in plain
    assert plain["messages"] == [
        ROUND[0],
        {
            "role": "user",
            "content": 'The function get_weather({"city": "Oslo"}) returned: 12 degrees',
        },
    ]
    assert body["tools"] == TOOLS  # the caller's body is not changed


def test_a_plain_request_passes_unchanged() -> None:
    body = {"model": "m", "messages": [{"role": "user", "content": "Hi"}]}
    assert without_tools(body) is body


def test_the_forced_call_asks_for_arguments_under_the_tools_schema() -> None:
    body = {"model": "m", "messages": ROUND[:1], "tools": TOOLS, "tool_choice": "required"}
    asked = tool_call_request({**body, "stream": True, "max_completion_tokens": 40}, WEATHER)
    # The tool's schema, each free-text string bounded so the grammar closes it in time.
    bounded = json.loads(json.dumps(WEATHER["parameters"]))
    bounded["properties"]["city"]["maxLength"] = ARGUMENT_CHARS
    assert asked["response_format"] == {"type": "json_object", "schema": bounded}
    assert "maxLength" not in WEATHER["parameters"]["properties"]["city"]  # a copy
    # The arguments have a budget of their own: cut-off arguments are no JSON.
    assert asked["max_tokens"] == ARGUMENT_TOKENS
    assert "max_completion_tokens" not in asked
    assert "stream" not in asked
    assert asked["messages"][0]["role"] == "system"
    assert "get_weather" in asked["messages"][0]["content"]
    assert asked["messages"][1:] == ROUND[:1]


ANSWER = {
    "id": "x",
    "created": 1,
    "model": "smollm2-135m-instruct",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": '{"city": "Oslo"}'}}],
    "usage": {"prompt_tokens": 9, "completion_tokens": 5, "total_tokens": 14},
}


def test_arguments_with_a_raw_newline_in_a_string_become_strict_json() -> None:
    from groq_magic.client import ChatCompletion

    raw = {**ANSWER, "choices": [{"index": 0, "message": {"content": '{"city": "Os\nlo"}'}}]}
    _, body = tool_call_response(raw, WEATHER, stream=False)
    call = ChatCompletion.model_validate_json(body).choices[0].message.tool_calls[0]
    assert json.loads(call.function.arguments) == {"city": "Os\nlo"}


def test_the_answer_becomes_a_groq_tool_call_streamed_and_not() -> None:
    from groq_magic.client import ChatCompletion, SSEDecoder

    kind, body = tool_call_response(ANSWER, WEATHER, stream=False)
    assert kind == "application/json"
    completion = ChatCompletion.model_validate_json(body)
    call = completion.choices[0].message.tool_calls[0]
    assert (call.function.name, call.function.arguments) == ("get_weather", '{"city": "Oslo"}')
    assert completion.choices[0].finish_reason == "tool_calls"

    kind, body = tool_call_response(ANSWER, WEATHER, stream=True)
    assert kind == "text/event-stream"
    events = [e.data for e in SSEDecoder().feed(body)]
    assert events[-1] == "[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    assert chunks[1]["choices"][0]["delta"]["tool_calls"][0]["function"]["name"] == "get_weather"
    assert chunks[-1]["choices"][0]["finish_reason"] == "tool_calls"
    assert chunks[-1]["x_groq"]["usage"]["completion_tokens"] == 5


# -- the real model --------------------------------------------------------------------


@pytest.mark.local_model
@pytest.mark.parametrize("stream", [True, False])
def test_a_forced_tool_call_on_the_real_model(
    make_local_server: Callable[..., LocalServer], stream: bool
) -> None:
    """SmolLM2 writes the arguments (constrained by the schema); the function runs; it answers."""
    from groq_magic.chat import ChatOptions, Conversation
    from groq_magic.chat.engine import run_turn
    from groq_magic.chat.prepare import TurnDefaults, prepare_turn
    from groq_magic.chat.sink import NullSink
    from groq_magic.client import Groq
    from groq_magic.local import LOCAL_API_KEY, LOCAL_MODEL_NAME, LocalCompatTransport

    seen: list[str] = []

    def get_weather(city: str) -> str:
        """The weather in a city.

        Args:
            city: the city's name
        """
        seen.append(city)
        return f"12 degrees and rain in {city}"

    url = make_local_server().start()
    conversation = Conversation()
    options = ChatOptions.parse(
        tools="get_weather", tool_choice="get_weather", stream=stream, temperature=0,
        max_tokens=40,
    )  # fmt: skip
    prep = prepare_turn(
        options,
        "What is the weather in Oslo?",
        {"get_weather": get_weather},
        conversation,
        defaults=TurnDefaults(model=LOCAL_MODEL_NAME),
    )
    with Groq(api_key=LOCAL_API_KEY, base_url=url, transport=LocalCompatTransport()) as client:
        result = run_turn(prep, client, NullSink())
    assert result.status == "complete"
    assert [c["name"] for c in result.tool_calls] == ["get_weather"]
    assert result.tool_calls[0]["error"] is None
    assert len(seen) == 1
    assert seen[0].strip()  # a city the model wrote, as a string (the schema says so)
    assert result.text.strip()  # the second request, with the result, answered in words
    turn = conversation.turns[-1]
    assert [m["role"] for m in turn.exchange] == ["assistant", "tool"]


def test_images_to_the_local_model_are_one_clear_400_and_never_sent() -> None:
    """SmolLM2 reads no images: Groq's answer for a text-only model, before any request."""
    import httpx

    from groq_magic.client import BadRequestError, Groq
    from groq_magic.local import LocalCompatTransport

    sent: list[httpx.Request] = []

    def server(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(500)

    transport = LocalCompatTransport(httpx.MockTransport(server))
    image = {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}}
    content = [{"type": "text", "text": "What is this?"}, image]
    client = Groq(api_key="local", base_url="http://127.0.0.1:9/v1", transport=transport)
    with client, pytest.raises(BadRequestError) as info:
        client.chat.completions.create(
            messages=[{"role": "user", "content": content}], model="m", max_retries=0
        )
    assert sent == []
    assert info.value.code == "text_only"
    assert "reads text only" in str(info.value)
