"""Regressions for bugs the fault suite and the fuzzer found, one test per bug."""

from __future__ import annotations

import json
from typing import Any

import pytest
from scripted_server import Reply, ScriptedServer, chunk_events, ratelimit_headers, sse_reply

from groq_magic.client import (
    APIStatusError,
    APIStreamError,
    BadRequestError,
    InternalServerError,
)

USER = [{"role": "user", "content": "hi"}]

# Error objects whose fields have the wrong types: numbers, lists, objects, booleans.
ODD_ERRORS: list[dict[str, Any]] = [
    {"message": 5},
    {"message": ["a", "b"], "code": 1.5},
    {"message": "ok", "type": {"nested": True}, "param": 0, "status_code": "503"},
    {"message": None, "failed_generation": {"x": 1}, "status_code": True},
]


@pytest.mark.parametrize("error", ODD_ERRORS)
def test_error_body_with_odd_field_types_is_a_typed_error(
    server: ScriptedServer, make_client: Any, error: dict[str, Any]
) -> None:
    """A 400 whose error object holds numbers where strings belong: BadRequestError, not
    pydantic's ValidationError escaping the client."""
    server.enqueue(Reply(status=400, json={"error": error}))
    with pytest.raises(BadRequestError) as info:
        make_client().chat.completions.create(messages=USER, model="m")
    assert info.value.status_code == 400
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("error", ODD_ERRORS)
def test_error_event_with_odd_field_types_is_a_stream_error(
    server: ScriptedServer, make_client: Any, error: dict[str, Any]
) -> None:
    """``event: error`` with odd field types ends the stream with APIStreamError, text kept."""
    frames: list[Any] = [*chunk_events(["Hel", "lo"])[:-1]]
    frames.append("event: error\ndata: " + json.dumps({"error": error}) + "\n\n")
    server.enqueue(sse_reply(frames, done=False))
    stream = make_client().chat.completions.create(messages=USER, model="m", stream=True)
    with pytest.raises(APIStreamError) as info:
        stream.until_done()
    assert info.value.partial_text == "Hello"


@pytest.mark.parametrize("error", ODD_ERRORS)
def test_embedded_error_with_odd_field_types_is_a_status_error(
    server: ScriptedServer, make_client: Any, error: dict[str, Any]
) -> None:
    """A 200 body holding ``{"error": {...}}`` with odd types: a typed status error."""
    headers = {"content-type": "application/json", **ratelimit_headers()}
    server.enqueue(Reply(headers=headers, json={"error": error}))
    with pytest.raises(APIStatusError) as info:
        make_client().chat.completions.create(messages=USER, model="m")
    assert isinstance(info.value, InternalServerError) or info.value.status_code is not None


@pytest.mark.parametrize("key", ["local", "ollama", "EMPTY"])
def test_a_placeholder_key_does_not_corrupt_answers(server: ScriptedServer, key: str) -> None:
    """With the embedded model's key "local" (or Ollama's "ollama"), a non-streamed answer
    mentioning the word came back with it replaced by "[redacted]"."""
    from scripted_server import completion_reply

    from groq_magic.client import Groq

    text = f"I am a {key} model, running on {key.lower()} hardware."
    server.enqueue(completion_reply(text))
    with Groq(api_key=key, base_url=server.base_url) as client:
        answer = client.chat.completions.create(messages=USER, model="m").text
    assert answer == text


def test_a_lone_surrogate_in_a_prompt_is_sent_as_a_replacement_character(
    server: ScriptedServer, make_client: Any
) -> None:
    """A prompt holding a lone surrogate (as ``json.loads('"\\ud800"')`` gives, or text
    decoded with surrogateescape) made httpx raise UnicodeEncodeError: a traceback."""
    from scripted_server import completion_reply

    server.enqueue(completion_reply("fine"))
    prompt = "junk \ud800 and a pair \U0001f600 " + json.loads('"\\udcff"')
    answer = make_client().chat.completions.create(
        messages=[{"role": "user", "content": prompt}], model="m"
    )
    assert answer.text == "fine"
    sent = server.requests[0].json()["messages"][0]["content"]
    assert sent == "junk \ufffd and a pair \U0001f600 \ufffd"


@pytest.mark.parametrize("value", [float("nan"), float("inf"), object()])
def test_a_value_json_cannot_carry_is_an_argument_error(
    server: ScriptedServer, make_client: Any, value: object
) -> None:
    """NaN, infinity or an object in the body raised a bare ValueError / TypeError."""
    from groq_magic.client import ArgumentError

    with pytest.raises(ArgumentError):
        make_client().chat.completions.create(
            messages=USER, model="m", temperature=0.5, extra_body={"x": value}
        )
    assert server.requests == []


def test_an_error_frame_before_any_text_is_one_line_without_a_false_hint(
    server: ScriptedServer, make_client: Any
) -> None:
    """``event: error`` (503) before the first token: a failed turn whose line does not
    claim a partial answer was kept, nor that the request was retried."""
    import fault_server as faults

    from groq_magic.chat import ChatOptions, Conversation
    from groq_magic.chat.engine import TurnError, run_turn
    from groq_magic.chat.prepare import prepare_turn
    from groq_magic.chat.sink import NullSink

    server.enqueue(faults.error_event(0))
    conversation = Conversation(name="default")
    prep = prepare_turn(ChatOptions.parse(), "hi", None, conversation)
    with pytest.raises(TurnError) as info:
        run_turn(prep, make_client(), NullSink())
    line = str(info.value)
    assert faults.ERROR_MESSAGE in line
    assert "partial answer" not in line
    assert "retried" not in line
    assert len(conversation) == 0
