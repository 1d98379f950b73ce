"""Streamed completions end to end: text, usage, tool calls, reasoning, errors mid-stream."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from scripted_server import (
    REQUEST_ID,
    Reply,
    ScriptedServer,
    chunk_events,
    ratelimit_headers,
    sse_bytes,
    sse_reply,
)

from groq_magic.client import (
    APIError,
    APIStreamError,
    ChatCompletionChunk,
    ClientTimings,
    RateLimits,
    Stream,
)

USER = [{"role": "user", "content": "Explain the importance of fast language models"}]
PIECES = ["Fast", " models", " make", " chat", " feel", " instant", "."]
TEXT = "".join(PIECES)
SAMPLE = (Path(__file__).parent.parent / "data" / "groq_stream.sse").read_bytes()
SAMPLE_TEXT = "The fastest models answer in milliseconds — ünïcode ✓."


def open_stream(make_client: Any, **kwargs: Any) -> Stream:
    stream = make_client().chat.completions.create(
        messages=USER, model="llama-3.3-70b-versatile", stream=True, **kwargs
    )
    assert isinstance(stream, Stream)
    return stream


def test_stream_yields_chunks_and_text(server: ScriptedServer, make_client: Any) -> None:
    server.enqueue(sse_reply(chunk_events(PIECES)))
    stream = open_stream(make_client)
    seen = []
    for chunk in stream:
        assert isinstance(chunk, ChatCompletionChunk)
        seen.append(chunk.choices[0].delta.content)
        # The running text is readable during iteration.
        assert stream.text == "".join(s or "" for s in seen)
    assert seen == ["", *PIECES, None]
    assert stream.text == TEXT
    assert stream.completed
    body = server.requests[0].json()
    assert body["stream"] is True
    assert server.requests[0].headers["accept"] == "text/event-stream"


def test_stream_exposes_everything_after_it_ends(server: ScriptedServer, make_client: Any) -> None:
    headers = ratelimit_headers(request_id="req_stream_42", remaining_tokens=4000)
    server.enqueue(sse_reply(chunk_events(PIECES, request_id="req_stream_42"), headers=headers))
    with open_stream(make_client) as stream:
        assert not stream.completed
        for _ in stream:
            pass
    assert stream.text == TEXT
    assert stream.finish_reason == "stop"
    assert stream.request_id == "req_stream_42"
    assert stream.model == "llama-3.3-70b-versatile"
    usage = stream.usage
    assert usage is not None
    assert (usage.prompt_tokens, usage.completion_tokens) == (18, len(PIECES))
    assert usage.total_tokens == 18 + len(PIECES)
    assert (usage.queue_time, usage.prompt_time, usage.completion_time, usage.total_time) == (
        0.021,
        0.0042,
        0.0125,
        0.0167,
    )
    limits = stream.rate_limits
    assert isinstance(limits, RateLimits)
    assert limits.remaining_tokens == 4000
    assert limits.limit_requests == 14400
    assert limits.reset_requests == 6.0
    assert abs((limits.reset_tokens or 0) - 0.26) < 1e-9
    timings = stream.timings
    assert isinstance(timings, ClientTimings)
    assert timings.time_to_first_token is not None
    assert timings.total is not None
    assert 0 <= timings.time_to_first_token <= timings.total
    assert stream.completed


def test_usage_from_top_level_on_final_chunk(server: ScriptedServer, make_client: Any) -> None:
    usage = {"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8, "total_time": 0.5}
    events = chunk_events(["a", "b", "c"], x_groq_usage=False, top_level_usage=True, usage=usage)
    server.enqueue(sse_reply(events))
    stream = open_stream(make_client)
    for _ in stream:
        pass
    assert stream.usage is not None
    assert (stream.usage.prompt_tokens, stream.usage.total_tokens) == (5, 8)
    assert stream.usage.total_time == 0.5


def test_include_usage_trailing_chunk(server: ScriptedServer, make_client: Any) -> None:
    usage = {"prompt_tokens": 11, "completion_tokens": 2, "total_tokens": 13}
    events = chunk_events(["x", "y"], x_groq_usage=False, include_usage_chunk=True, usage=usage)
    server.enqueue(sse_reply(events))
    stream = open_stream(make_client, stream_options={"include_usage": True})
    chunks = list(stream)
    assert chunks[-1].choices == []
    assert chunks[-1].usage is not None
    assert stream.text == "xy"
    assert stream.finish_reason == "stop"
    assert stream.usage is not None
    assert (stream.usage.prompt_tokens, stream.usage.total_tokens) == (11, 13)
    assert server.requests[0].json()["stream_options"] == {"include_usage": True}


def test_reasoning_deltas(server: ScriptedServer, make_client: Any) -> None:
    events = chunk_events(["42"], reasoning_pieces=["Let me ", "think. ", "6*7=42"])
    server.enqueue(sse_reply(events))
    stream = open_stream(make_client, reasoning_format="parsed")
    for _ in stream:
        pass
    assert stream.reasoning == "Let me think. 6*7=42"
    assert stream.text == "42"


def test_tool_call_deltas_accumulate_by_index(server: ScriptedServer, make_client: Any) -> None:
    deltas = [
        [
            {
                "index": 0,
                "id": "call_w",
                "type": "function",
                "function": {"name": "get_weather", "arguments": ""},
            }
        ],
        [{"index": 0, "function": {"arguments": '{"city": '}}],
        [
            {"index": 0, "function": {"arguments": '"Paris"}'}},
            {
                "index": 1,
                "id": "call_t",
                "type": "function",
                "function": {"name": "get_time", "arguments": '{"tz": "CET"}'},
            },
        ],
    ]
    events = chunk_events([], tool_call_deltas=deltas, finish_reason="tool_calls")
    server.enqueue(sse_reply(events))
    stream = open_stream(make_client, tools=[{"type": "function", "function": {"name": "f"}}])
    for _ in stream:
        pass
    assert stream.finish_reason == "tool_calls"
    assert stream.text == ""
    calls = stream.tool_calls
    assert [c["id"] for c in calls] == ["call_w", "call_t"]
    assert [c["function"]["name"] for c in calls] == ["get_weather", "get_time"]
    assert json.loads(calls[0]["function"]["arguments"]) == {"city": "Paris"}
    assert json.loads(calls[1]["function"]["arguments"]) == {"tz": "CET"}


def test_comments_crlf_and_multiline_frames(server: ScriptedServer, make_client: Any) -> None:
    events = chunk_events(["one", "two"])
    frames = [": keep-alive\r\n\r\n"]
    for event in events:
        text = json.dumps(event, indent=1)  # a pretty-printed frame spans several data lines
        frames.append("".join(f"data: {line}\r\n" for line in text.split("\n")) + "\r\n")
    frames.append("data: [DONE]\r\n\r\n")
    server.enqueue(sse_reply(frames, done=False))
    stream = open_stream(make_client)
    for _ in stream:
        pass
    assert stream.text == "onetwo"
    assert stream.completed


def test_recorded_sample_stream(server: ScriptedServer, make_client: Any) -> None:
    server.enqueue(
        Reply(
            headers={"content-type": "text/event-stream; charset=utf-8", **ratelimit_headers()},
            chunks=[SAMPLE],
        )
    )
    stream = open_stream(make_client)
    for _ in stream:
        pass
    assert stream.text == SAMPLE_TEXT
    assert stream.usage is not None
    assert stream.usage.completion_tokens == 8


# A sample of split points (every offset is covered on the decoder itself): inside "data:",
# inside the JSON, between \n and \n, inside multi-byte UTF-8 characters, near the end.
_UTF8_AT = SAMPLE.index("—".encode())
SPLIT_OFFSETS = sorted(
    {1, 3, 7, 8, 9, 10, 14, 120, 300, 301, len(SAMPLE) // 2, _UTF8_AT + 1, _UTF8_AT + 2}
    | {SAMPLE.index(b"\n\ndata: {", 100) + k for k in range(4)}
    | {len(SAMPLE) - k for k in (1, 2, 3, 8, 15)}
)


@pytest.mark.parametrize("offset", SPLIT_OFFSETS)
def test_sample_split_in_two_network_pieces(
    server: ScriptedServer, make_client: Any, offset: int
) -> None:
    server.enqueue(
        Reply(
            headers={"content-type": "text/event-stream", **ratelimit_headers()},
            chunks=[SAMPLE[:offset], SAMPLE[offset:]],
            delay=0.002,  # so the two pieces reach the client as two reads
        )
    )
    stream = open_stream(make_client)
    for _ in stream:
        pass
    assert stream.text == SAMPLE_TEXT
    assert stream.completed


def test_stream_cut_into_three_byte_pieces(server: ScriptedServer, make_client: Any) -> None:
    server.enqueue(sse_reply(chunk_events(PIECES), split=3))
    stream = open_stream(make_client)
    for _ in stream:
        pass
    assert stream.text == TEXT
    assert stream.usage is not None


@pytest.mark.parametrize("framing", ["chunked", "close"])
def test_gzip_stream(server: ScriptedServer, make_client: Any, framing: str) -> None:
    server.enqueue(sse_reply(chunk_events(PIECES), gzip=True, framing=framing))
    stream = open_stream(make_client)
    for _ in stream:
        pass
    assert stream.text == TEXT
    assert stream.completed


def test_connection_close_framing(server: ScriptedServer, make_client: Any) -> None:
    server.enqueue(sse_reply(chunk_events(PIECES), framing="close"))
    stream = open_stream(make_client)
    for _ in stream:
        pass
    assert stream.text == TEXT


def test_stream_without_done_after_finish_reason_is_complete(
    server: ScriptedServer, make_client: Any
) -> None:
    # Some OpenAI-compatible servers end the body after the finish chunk without [DONE].
    server.enqueue(sse_reply(chunk_events(PIECES), done=False))
    stream = open_stream(make_client)
    for _ in stream:
        pass
    assert stream.text == TEXT
    assert stream.completed


def mid_stream_error(**fields: Any) -> str:
    error = {
        "message": "Service Unavailable",
        "type": "internal_server_error",
        "code": "service_unavailable",
        "status_code": 503,
        **fields,
    }
    return f"event: error\ndata: {json.dumps({'error': error})}\n\n"


def consume(stream: Stream) -> None:
    for _ in stream:
        pass


def test_event_error_mid_stream(server: ScriptedServer, make_client: Any) -> None:
    events: list[Any] = chunk_events(["Par", "tial"])[:3]
    server.enqueue(sse_reply([*events, mid_stream_error()], done=False))
    stream = open_stream(make_client)
    with pytest.raises(APIStreamError) as info:
        consume(stream)
    error = info.value
    assert error.partial_text == "Partial"
    assert error.message == "Service Unavailable"
    assert error.code == "service_unavailable"
    assert error.type == "internal_server_error"
    assert error.status_code == 503
    assert error.request_id == REQUEST_ID
    assert stream.text == "Partial"
    assert not stream.completed
    assert len(server.requests) == 1


def test_event_error_with_failed_generation(server: ScriptedServer, make_client: Any) -> None:
    error = mid_stream_error(
        message="Failed to generate JSON",
        type="invalid_request_error",
        code="json_validate_failed",
        status_code=400,
        failed_generation='{"name": "ada", "age": ',
    )
    server.enqueue(sse_reply([*chunk_events(["{"])[:2], error], done=False))
    with pytest.raises(APIStreamError) as info:
        consume(open_stream(make_client))
    assert info.value.code == "json_validate_failed"
    assert info.value.failed_generation == '{"name": "ada", "age": '
    assert info.value.partial_text == "{"


def test_data_frame_holding_an_error_key(server: ScriptedServer, make_client: Any) -> None:
    error_frame = {"error": {"message": "overloaded", "type": "server_error", "code": "busy"}}
    server.enqueue(sse_reply([*chunk_events(["so far"])[:2], error_frame], done=False))
    with pytest.raises(APIStreamError) as info:
        consume(open_stream(make_client))
    assert info.value.partial_text == "so far"
    assert info.value.message == "overloaded"
    assert info.value.code == "busy"


def test_error_event_before_any_content(server: ScriptedServer, make_client: Any) -> None:
    server.enqueue(sse_reply([mid_stream_error()], done=False))
    with pytest.raises(APIStreamError) as info:
        consume(open_stream(make_client))
    assert info.value.partial_text == ""
    assert info.value.code == "service_unavailable"


def test_connection_dropped_mid_stream_keeps_partial_text(
    server: ScriptedServer, make_client: Any
) -> None:
    frames = sse_bytes(chunk_events(PIECES))
    sent = sum(len(f) for f in frames[:4])  # role chunk + "Fast" + " models" + " make"
    server.enqueue(sse_reply(chunk_events(PIECES), close_after=sent + 25))
    stream = open_stream(make_client)
    with pytest.raises(APIStreamError) as info:
        consume(stream)
    assert info.value.partial_text == "Fast models make"
    assert stream.text == "Fast models make"
    assert not stream.completed
    # Content reached the user: never retried, even with retries left.
    assert len(server.requests) == 1


@pytest.mark.parametrize("framing", ["chunked", "close"])
def test_missing_done_and_finish_reason_is_an_error(
    server: ScriptedServer, make_client: Any, framing: str
) -> None:
    events = chunk_events(PIECES)[:-1]  # the body ends cleanly but too early
    server.enqueue(sse_reply(events, done=False, framing=framing))
    stream = open_stream(make_client)
    with pytest.raises(APIStreamError) as info:
        consume(stream)
    assert info.value.partial_text == TEXT
    assert len(server.requests) == 1


def test_half_a_frame_at_the_end_is_an_error(server: ScriptedServer, make_client: Any) -> None:
    frames = [*sse_bytes(chunk_events(["a", "b"])[:3], done=False), b'data: {"id": "chatc']
    server.enqueue(sse_reply([f.decode() for f in frames], done=False))
    with pytest.raises(APIStreamError) as info:
        consume(open_stream(make_client))
    assert info.value.partial_text == "ab"


def test_non_json_chunk_is_a_typed_error(server: ScriptedServer, make_client: Any) -> None:
    frames = [*chunk_events(["ok"])[:2], "data: <html>oops</html>\n\n"]
    server.enqueue(sse_reply(frames, done=False))
    with pytest.raises(APIError) as info:
        consume(open_stream(make_client))
    assert getattr(info.value, "partial_text", None) == "ok"


def test_chunk_of_the_wrong_shape_is_a_typed_error(
    server: ScriptedServer, make_client: Any
) -> None:
    frames = [*chunk_events(["ok"])[:2], {"choices": "not a list"}]
    server.enqueue(sse_reply(frames, done=False))
    with pytest.raises(APIError) as info:
        consume(open_stream(make_client))
    assert getattr(info.value, "partial_text", None) == "ok"


def test_stream_request_answered_with_a_json_error(
    server: ScriptedServer, make_client: Any
) -> None:
    from scripted_server import error_reply

    from groq_magic.client import AuthenticationError

    server.enqueue(error_reply(401, "Invalid API Key", code="invalid_api_key"))
    with pytest.raises(AuthenticationError) as info:
        consume(open_stream(make_client))
    assert info.value.code == "invalid_api_key"
    assert len(server.requests) == 1


@pytest.mark.parametrize("content_type", ["text/html", "application/json"])
def test_stream_request_answered_with_a_non_stream_body(
    server: ScriptedServer, make_client: Any, content_type: str
) -> None:
    server.enqueue(Reply(headers={"content-type": content_type}, body=b"<html>proxy</html>"))
    with pytest.raises(APIError):
        consume(open_stream(make_client))


def test_with_block_closes_the_response_early(server: ScriptedServer, make_client: Any) -> None:
    many = [f"token{n} " for n in range(2000)]
    server.enqueue(sse_reply(chunk_events(many), delay=0.002))
    with open_stream(make_client) as stream:
        first = [next(stream), next(stream)]
    assert first[1].choices[0].delta.content == "token0 "
    # The server notices the client hung up: generation stops well before the end.
    assert server.disconnected.wait(10)
    assert not stream.completed
    assert stream.text.startswith("token0 ")
    assert len(stream.text) < len("".join(many))


def test_close_stops_the_stream_and_the_client_still_works(
    server: ScriptedServer, make_client: Any
) -> None:
    from scripted_server import completion_reply

    client = make_client()
    server.enqueue(sse_reply(chunk_events([f"t{n}" for n in range(2000)]), delay=0.002))
    stream = client.chat.completions.create(messages=USER, model="m", stream=True)
    next(stream)
    stream.close()
    assert server.disconnected.wait(10)
    with pytest.raises(StopIteration):
        next(stream)
    server.enqueue(completion_reply("after"))
    completion = client.chat.completions.create(messages=USER, model="m")
    assert completion.choices[0].message.content == "after"


def test_stream_repr_shows_no_secret(server: ScriptedServer, make_client: Any) -> None:
    from keys import assert_no_secret

    server.enqueue(sse_reply(chunk_events(PIECES)))
    stream = open_stream(make_client)
    consume(stream)
    assert_no_secret(repr(stream))
    assert_no_secret(str(stream))


def test_keyboard_interrupt_mid_read_closes_the_response(
    server: ScriptedServer, make_client: Any
) -> None:
    import os
    import signal
    import threading

    # A kernel interrupt arrives while the client is blocked reading the socket.
    server.enqueue(sse_reply(chunk_events([f"w{n} " for n in range(400)]), delay=0.02))
    stream = open_stream(make_client)
    timer = threading.Timer(0.05, os.kill, (os.getpid(), signal.SIGINT))

    def read_until_interrupted() -> None:
        with stream:
            for chunk in stream:
                if chunk.choices[0].delta.content and timer.ident is None:
                    timer.start()

    with pytest.raises(KeyboardInterrupt):
        read_until_interrupted()
    timer.join()
    assert server.disconnected.wait(10)
    assert stream.text.startswith("w0 ")
    assert not stream.completed
