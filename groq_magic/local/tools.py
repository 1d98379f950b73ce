"""Tool calls on the embedded model: what llama.cpp's server can do, bridged to Groq's shape.

Measured with the bundled SmolLM2-135M (llama-cpp-python 0.3):

- The server's own function-calling chat format (``chatml-function-calling``)
  HTML-escapes every message it renders (``"`` becomes ``&#34;``), which spoils
  plain chats and every later tool round, and with ``tool_choice: "auto"`` the
  tiny model answers with nothing. So the server keeps the model's own template.
- What works, reliably and for real, is the server's grammar-constrained JSON
  (``response_format: {"type": "json_object", "schema": ...}``): given a tool's
  parameter schema, the model writes arguments that always fit it.

So, for the local model only:

1. A request that *forces* a tool (``--tool-choice NAME``, or ``required`` with one
   tool) is sent as "write this function's arguments" under the tool's schema; the
   JSON the model writes comes back as a Groq tool call (streamed or not). The
   arguments are the model's own, however small the model.
2. Any other request with tools is sent without them: the model cannot choose to
   call a tool, so it answers in words (the README says so).
3. Earlier tool rounds in the messages become text the template knows: each
   result as a user message naming the call it answers (the call itself is left
   out: a tiny model would repeat it instead of answering).

The arguments get a budget of their own (:data:`ARGUMENT_TOKENS`: the cell's
``--max-tokens`` is for the answer, and cut-off arguments are no JSON at all), and each
free-text string in the schema a ``maxLength`` (:data:`ARGUMENT_CHARS`), so the grammar
closes it in time: the tiny model otherwise rambles inside a string until the tokens
run out. llama.cpp's grammar (0.3.16) lets raw newlines into a JSON string, which
strict JSON refuses, so the arguments are read leniently and written back as JSON.
"""

from __future__ import annotations

import copy
import json
import uuid
from typing import Any

__all__ = [
    "ARGUMENT_CHARS",
    "ARGUMENT_TOKENS",
    "forced_tool",
    "tool_call_request",
    "tool_call_response",
    "without_tools",
]

ARGUMENT_TOKENS = 256
"""The tokens the embedded model may spend writing a forced call's arguments."""

ARGUMENT_CHARS = 200
"""The longest free-text string argument the embedded model may write."""

_TOOL_FIELDS = ("tools", "tool_choice", "parallel_tool_calls")


def forced_tool(body: dict[str, Any]) -> dict[str, Any] | None:
    """The function definition a request forces the model to call, or None."""
    tools: list[dict[str, Any]] = []
    for entry in body.get("tools") or []:
        function = entry.get("function") if isinstance(entry, dict) else None
        if isinstance(function, dict):
            tools.append(function)
    choice = body.get("tool_choice")
    if isinstance(choice, dict):
        name = (choice.get("function") or {}).get("name")
        return next((t for t in tools if t.get("name") == name), None)
    if choice == "required" and len(tools) == 1:
        return tools[0]
    return None


def _as_text(messages: list[Any]) -> list[dict[str, Any]]:
    """Tool rounds as plain chat messages the model's own template renders."""
    names: dict[str, str] = {}
    out: list[dict[str, Any]] = []
    for message in messages:
        if not isinstance(message, dict):
            continue
        calls = [c for c in message.get("tool_calls") or [] if isinstance(c, dict)]
        if calls:
            # The call itself is not shown to the model (a tiny model would repeat it);
            # its result, next, says what was called.
            for call in calls:
                function = call.get("function") or {}
                names[str(call.get("id"))] = (
                    f"{function.get('name')}({function.get('arguments', '')})"
                )
            if message.get("content"):
                out.append({"role": "assistant", "content": message["content"]})
        elif message.get("role") == "tool":
            called = names.get(str(message.get("tool_call_id")), "the function")
            text = f"The function {called} returned: {message.get('content')}"
            out.append({"role": "user", "content": text})
        else:
            out.append(message)
    return out


def without_tools(body: dict[str, Any]) -> dict[str, Any]:
    """``body`` as the plain model takes it: no tool fields, tool rounds as text."""
    if not any(field in body for field in _TOOL_FIELDS) and not any(
        isinstance(m, dict) and (m.get("role") == "tool" or m.get("tool_calls"))
        for m in body.get("messages") or []
    ):
        return body
    out = {k: v for k, v in body.items() if k not in _TOOL_FIELDS}
    out["messages"] = _as_text(list(body.get("messages") or []))
    return out


def tool_call_request(body: dict[str, Any], tool: dict[str, Any]) -> dict[str, Any]:
    """The request that makes the model write ``tool``'s arguments, constrained by its schema."""
    out = without_tools(body)
    for field in ("stream", "stream_options", "max_completion_tokens", "max_tokens"):
        out.pop(field, None)
    out["max_tokens"] = ARGUMENT_TOKENS
    schema = _bounded(tool.get("parameters") or {"type": "object"})
    what = f"{tool.get('name')}: {tool.get('description') or ''}".strip()
    instruction = (
        f"Call the function {what}\nReply with the function's arguments as one JSON object."
    )
    out["messages"] = [{"role": "system", "content": instruction}, *out["messages"]]
    out["response_format"] = {"type": "json_object", "schema": schema}
    return out


def tool_call_response(
    answer: dict[str, Any], tool: dict[str, Any], *, stream: bool
) -> tuple[str, bytes]:
    """Groq's answer for the call: ``(content type, body)``, an SSE stream when ``stream``."""
    choices = answer.get("choices") or [{}]
    written = str(((choices[0] or {}).get("message") or {}).get("content") or "{}").strip()
    arguments = _as_json(written)
    call = {
        "id": f"call_{uuid.uuid4().hex[:12]}",
        "type": "function",
        "function": {"name": tool.get("name"), "arguments": arguments},
    }
    base = {k: answer.get(k) for k in ("id", "created", "model")}
    usage = answer.get("usage")
    if not stream:
        message = {"role": "assistant", "content": None, "tool_calls": [call]}
        body = {
            **base,
            "object": "chat.completion",
            "choices": [{"index": 0, "message": message, "finish_reason": "tool_calls"}],
            "usage": usage,
        }
        return "application/json", json.dumps(body).encode()

    def frame(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> bytes:
        chunk = {
            **base,
            "object": "chat.completion.chunk",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            **extra,
        }
        return f"data: {json.dumps(chunk)}\n\n".encode()

    frames = [
        frame({"role": "assistant", "content": None}),
        frame({"tool_calls": [{"index": 0, **call}]}),
        frame({}, "tool_calls", x_groq={"usage": usage}, usage=usage),
        b"data: [DONE]\n\n",
    ]
    return "text/event-stream", b"".join(frames)


def _bounded(schema: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``schema`` whose free-text strings have a ``maxLength`` (see the module doc)."""
    out = copy.deepcopy(schema)
    stack: list[Any] = [out]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            free = not any(k in node for k in ("maxLength", "enum", "const", "format", "pattern"))
            if node.get("type") == "string" and free:
                node["maxLength"] = ARGUMENT_CHARS
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return out


def _as_json(written: str) -> str:
    """The model's arguments as strict JSON (a raw newline in a string escaped); as written
    when they are no JSON at all (the engine then says so in one line)."""
    try:
        value = json.loads(written, strict=False)
    except (ValueError, RecursionError):
        return written
    return json.dumps(value, ensure_ascii=False)
