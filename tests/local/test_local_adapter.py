"""The request translation and the stream usage bridge, without a real server."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
from hypothesis import given
from hypothesis import strategies as st

from groq_magic.local.adapter import (
    SMOLLM2_DEFAULT_SYSTEM,
    AsyncLocalCompatTransport,
    LocalCompatTransport,
    StreamUsageCounter,
    chatml_prompt,
    translate_request,
)
from groq_magic.local.server import LOCAL_MODEL_NAME

SCHEMA = {"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"]}


def test_max_completion_tokens_becomes_max_tokens() -> None:
    body = {"model": "m", "messages": [], "max_completion_tokens": 7}
    assert translate_request(body) == {"model": "m", "messages": [], "max_tokens": 7}


def test_max_completion_tokens_wins_over_max_tokens() -> None:
    out = translate_request({"max_completion_tokens": 7, "max_tokens": 99})
    assert out == {"max_tokens": 7}


def test_max_tokens_alone_and_none_limit_are_left_alone() -> None:
    assert translate_request({"max_tokens": 3}) == {"max_tokens": 3}
    assert translate_request({"max_completion_tokens": None}) == {}


def test_json_schema_becomes_json_object_with_schema() -> None:
    fmt = {"type": "json_schema", "json_schema": {"name": "x", "schema": SCHEMA, "strict": True}}
    out = translate_request({"response_format": fmt})
    assert out["response_format"] == {"type": "json_object", "schema": SCHEMA}
    assert out["response_format"]["schema"] is not SCHEMA  # a copy, not shared


def test_json_schema_without_schema_becomes_plain_json_object() -> None:
    out = translate_request({"response_format": {"type": "json_schema", "json_schema": {}}})
    assert out["response_format"] == {"type": "json_object"}


def test_other_formats_and_fields_pass_through() -> None:
    body = {
        "response_format": {"type": "json_object"},
        "temperature": 0.2,
        "stop": ["x"],
        "seed": 3,
        "stream": True,
    }
    assert translate_request(body) == body


def test_translate_does_not_modify_its_input() -> None:
    fmt = {"type": "json_schema", "json_schema": {"schema": SCHEMA}}
    body = {"max_completion_tokens": 5, "response_format": fmt}
    before = json.dumps(body, sort_keys=True)
    translate_request(body)
    assert json.dumps(body, sort_keys=True) == before


def test_chatml_prompt_adds_default_system_only_when_missing() -> None:
    user_only = chatml_prompt([{"role": "user", "content": "hi"}])
    assert user_only == (
        f"<|im_start|>system\n{SMOLLM2_DEFAULT_SYSTEM}<|im_end|>\n"
        "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n"
    )
    with_system = chatml_prompt(
        [{"role": "system", "content": "S"}, {"role": "user", "content": [{"text": "a"}]}]
    )
    assert SMOLLM2_DEFAULT_SYSTEM not in with_system
    assert "<|im_start|>user\na<|im_end|>" in with_system


def _frame(obj: Any) -> bytes:
    return b"data: " + json.dumps(obj).encode() + b"\n\n"


def _chunk(content: str | None = None, finish: str | None = None) -> dict[str, Any]:
    delta = {} if content is None else {"content": content}
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "model": "m",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


LLAMA_STREAM = (
    _frame({**_chunk(), "choices": [{"index": 0, "delta": {"role": "assistant"}}]})
    + _frame(_chunk("Hel"))
    + _frame(_chunk("lo"))
    + _frame(_chunk("!"))
    + _frame(_chunk(finish="stop"))
    + b"data: [DONE]\n\n"
)


def _frames(raw: bytes) -> list[Any]:
    frames = []
    for line in raw.decode().splitlines():
        if line.startswith("data:"):
            payload = line[5:].strip()
            frames.append(payload if payload == "[DONE]" else json.loads(payload))
    return frames


def _rewrite(pieces: list[bytes], prompt_tokens: int = 10) -> bytes:
    counter = StreamUsageCounter(prompt_tokens)
    return b"".join(counter.feed(piece) for piece in pieces) + counter.flush()


def test_usage_lands_in_the_finish_frame_in_groq_and_openai_places() -> None:
    frames = _frames(_rewrite([LLAMA_STREAM]))
    final = frames[-2]
    usage = {"prompt_tokens": 10, "completion_tokens": 3, "total_tokens": 13}
    assert final["x_groq"]["usage"] == usage
    assert final["usage"] == usage
    assert final["choices"][0]["finish_reason"] == "stop"
    assert frames[-1] == "[DONE]"
    assert frames[:-2] == _frames(LLAMA_STREAM)[:-2]


def test_lines_other_than_the_finish_frame_pass_through_byte_for_byte() -> None:
    out = _rewrite([LLAMA_STREAM])
    head = LLAMA_STREAM.split(b"data: " + json.dumps(_chunk(finish="stop")).encode())[0]
    assert out.startswith(head)
    assert out.endswith(b"\n\ndata: [DONE]\n\n")


@given(st.lists(st.integers(min_value=0, max_value=len(LLAMA_STREAM)), max_size=12))
def test_any_split_of_the_bytes_gives_the_same_result(cuts: list[int]) -> None:
    points = sorted(set(cuts))
    bounds = zip([0, *points], [*points, len(LLAMA_STREAM)], strict=True)
    pieces = [LLAMA_STREAM[a:b] for a, b in bounds]
    assert _rewrite(pieces) == _rewrite([LLAMA_STREAM])


def test_stream_without_finish_gets_no_usage_and_is_unchanged() -> None:
    cut = LLAMA_STREAM.split(b"data: " + json.dumps(_chunk(finish="stop")).encode())[0]
    assert _rewrite([cut]) == cut


def test_existing_usage_is_not_overwritten() -> None:
    frame = {**_chunk(finish="stop"), "usage": {"prompt_tokens": 1}}
    assert _rewrite([_frame(frame)]) == _frame(frame)


# -- the transports, with httpx.MockTransport standing in for the server -------------


class Recorder:
    """A MockTransport handler that answers like llama-cpp-python and records requests."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, Any]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        try:
            body = json.loads(request.content)
        except ValueError:
            body = request.content
        self.requests.append((request.url.path, body))
        if request.url.path == "/extras/tokenize/count":
            return httpx.Response(200, json={"count": 42})
        if (
            request.url.path == "/v1/chat/completions"
            and isinstance(body, dict)
            and body.get("stream")
        ):
            return httpx.Response(
                200, headers={"content-type": "text/event-stream"}, content=LLAMA_STREAM
            )
        return httpx.Response(200, json={"ok": True, "path": request.url.path})


def test_sync_transport_translates_and_adds_stream_usage() -> None:
    recorder = Recorder()
    transport = LocalCompatTransport(httpx.MockTransport(recorder))
    with httpx.Client(base_url="http://127.0.0.1:1/v1", transport=transport) as client:
        plain = client.post(
            "/chat/completions",
            json={
                "model": "m",
                "messages": [{"role": "user", "content": "x"}],
                "max_completion_tokens": 4,
            },
        )
        assert plain.json()["ok"] is True
        # The model becomes the one the server serves: it echoes whatever name it gets.
        assert recorder.requests[-1] == (
            "/v1/chat/completions",
            {
                "model": LOCAL_MODEL_NAME,
                "messages": [{"role": "user", "content": "x"}],
                "max_tokens": 4,
            },
        )
        with client.stream(
            "POST",
            "/chat/completions",
            json={"model": "m", "messages": [{"role": "user", "content": "x"}], "stream": True},
        ) as response:
            frames = _frames(response.read())
        assert recorder.requests[-2][0] == "/extras/tokenize/count"
        assert recorder.requests[-2][1] == {
            "input": chatml_prompt([{"role": "user", "content": "x"}])
        }
        assert frames[-2]["x_groq"]["usage"] == {
            "prompt_tokens": 42,
            "completion_tokens": 3,
            "total_tokens": 45,
        }
        models = client.get("/models")
        assert models.json()["path"] == "/v1/models"


def test_sync_transport_leaves_non_json_bodies_to_the_server() -> None:
    recorder = Recorder()
    transport = LocalCompatTransport(httpx.MockTransport(recorder))
    with httpx.Client(base_url="http://127.0.0.1:1/v1", transport=transport) as client:
        client.post("/chat/completions", content=b"not json")
    assert recorder.requests == [("/v1/chat/completions", b"not json")]


def test_failed_prompt_count_still_streams_with_zero_prompt_tokens() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/count"):
            raise httpx.ConnectError("nope")
        return httpx.Response(
            200, headers={"content-type": "text/event-stream"}, content=LLAMA_STREAM
        )

    transport = LocalCompatTransport(httpx.MockTransport(handler))
    with httpx.Client(base_url="http://127.0.0.1:1/v1", transport=transport) as client:
        response = client.post("/chat/completions", json={"messages": [], "stream": True})
    assert _frames(response.content)[-2]["usage"]["prompt_tokens"] == 0


def test_async_transport_translates_and_adds_stream_usage() -> None:
    recorder = Recorder()

    async def run() -> list[Any]:
        transport = AsyncLocalCompatTransport(httpx.MockTransport(recorder))
        async with httpx.AsyncClient(
            base_url="http://127.0.0.1:1/v1", transport=transport
        ) as client:
            fmt = {"type": "json_schema", "json_schema": {"name": "n", "schema": SCHEMA}}
            await client.post("/chat/completions", json={"messages": [], "response_format": fmt})
            async with client.stream(
                "POST", "/chat/completions", json={"messages": [], "stream": True}
            ) as response:
                return _frames(await response.aread())

    frames = asyncio.run(run())
    assert recorder.requests[0][1]["response_format"] == {"type": "json_object", "schema": SCHEMA}
    assert frames[-2]["usage"]["total_tokens"] == 45
