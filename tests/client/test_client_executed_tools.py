"""``executed_tools``: the server-side tools Groq's compound systems report, parsed leniently."""

from __future__ import annotations

import json

from groq_magic.client import (
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionMessage,
    ChoiceDelta,
    ExecutedTool,
)

SEARCH = {
    "index": 0,
    "type": "search",
    "arguments": '{"query": "groq lpu"}',
    "output": "Title: Groq\nURL: https://groq.com",
    "search_results": {"results": [{"title": "Groq", "url": "https://groq.com", "score": 0.9}]},
    "future_field": {"kept": True},
}


def test_message_executed_tools_are_models_with_unknown_fields_kept() -> None:
    body = {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "model": "groq/compound",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "Fast.", "executed_tools": [SEARCH]},
                "finish_reason": "stop",
            }
        ],
    }
    completion = ChatCompletion.model_validate_json(json.dumps(body))
    [tool] = completion.choices[0].message.executed_tools
    assert isinstance(tool, ExecutedTool)
    assert (tool.index, tool.type) == (0, "search")
    assert json.loads(tool.arguments) == {"query": "groq lpu"}
    assert tool.search_results["results"][0]["url"] == "https://groq.com"
    assert tool.model_extra == {"future_field": {"kept": True}}


def test_absent_or_null_executed_tools_are_an_empty_list() -> None:
    assert ChatCompletionMessage.model_validate({"content": "hi"}).executed_tools == []
    assert ChatCompletionMessage.model_validate({"executed_tools": None}).executed_tools == []
    assert ChoiceDelta.model_validate({"executed_tools": None}).executed_tools == []


def test_a_chunk_with_executed_tools_of_unexpected_shapes_still_parses() -> None:
    # The fields are young: an object where a string was documented must not fail the chunk.
    odd = {"index": 1, "type": "python", "arguments": {"code": "1+1"}, "output": {"text": "2"}}
    chunk = {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "choices": [{"index": 0, "delta": {"executed_tools": [odd, {"index": 0}]}}],
    }
    parsed = ChatCompletionChunk.model_validate_json(json.dumps(chunk))
    first, second = parsed.choices[0].delta.executed_tools
    assert first.arguments == {"code": "1+1"}
    assert first.output == {"text": "2"}
    assert (second.index, second.type, second.output) == (0, None, None)
