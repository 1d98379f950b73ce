"""Building and checking a chat-completion request body before anything is sent.

Only the shape is checked here (types, a non-empty message list, known roles, at
most four stop sequences): ranges differ between Groq and other OpenAI-compatible
servers, so the server has the last word on them. Arguments left as ``None`` are
not sent at all, and fields this module does not know pass through untouched.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from ._exceptions import ArgumentError

__all__ = ["ROLES", "build_chat_body", "encode_body"]

ROLES = frozenset({"system", "developer", "user", "assistant", "tool"})
MAX_STOP_SEQUENCES = 4

_NUMBER_FIELDS = ("temperature", "top_p", "frequency_penalty", "presence_penalty")
_INT_FIELDS = ("max_completion_tokens", "max_tokens", "seed", "n", "top_logprobs")
_STR_FIELDS = ("reasoning_format", "reasoning_effort", "service_tier", "user")
_DICT_FIELDS = ("response_format", "stream_options")


def _message_dict(message: Any, index: int) -> dict[str, Any]:
    if hasattr(message, "model_dump"):
        message = message.model_dump(exclude_none=True)
    if not isinstance(message, Mapping):
        raise ArgumentError(
            f"messages[{index}] must be a dict with 'role' and 'content', "
            f"got {type(message).__name__}"
        )
    role = message.get("role")
    if role not in ROLES:
        raise ArgumentError(
            f"messages[{index}].role must be one of {', '.join(sorted(ROLES))}; got {role!r}"
        )
    content = message.get("content")
    if content is not None and not isinstance(content, str | list):
        raise ArgumentError(
            f"messages[{index}].content must be a string or a list of parts, "
            f"got {type(content).__name__}"
        )
    if content is None and role in ("system", "developer", "user"):
        raise ArgumentError(f"messages[{index}] ({role}) needs 'content'")
    if role == "tool" and not message.get("tool_call_id"):
        raise ArgumentError(f"messages[{index}] (tool) needs 'tool_call_id'")
    return dict(message)


def _check_messages(messages: Any) -> list[dict[str, Any]]:
    if isinstance(messages, str | bytes | Mapping) or not isinstance(messages, Iterable):
        raise ArgumentError(
            "messages must be a list of {'role': ..., 'content': ...} dicts, "
            f"got {type(messages).__name__}"
        )
    checked = [_message_dict(m, i) for i, m in enumerate(messages)]
    if not checked:
        raise ArgumentError("messages must not be empty")
    return checked


def _check_stop(stop: Any) -> str | list[str]:
    if isinstance(stop, str):
        return stop
    if isinstance(stop, list | tuple) and all(isinstance(s, str) for s in stop):
        if len(stop) > MAX_STOP_SEQUENCES:
            raise ArgumentError(
                f"stop takes at most {MAX_STOP_SEQUENCES} sequences, got {len(stop)}"
            )
        return list(stop)
    raise ArgumentError(f"stop must be a string or a list of strings, got {stop!r}")


def build_chat_body(messages: Any, model: Any, params: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON body for ``POST /chat/completions``; raises ArgumentError on a bad argument."""
    if not isinstance(model, str) or not model.strip():
        raise ArgumentError(f"model must be a non-empty string, got {model!r}")
    body: dict[str, Any] = {"messages": _check_messages(messages), "model": model}
    for name, value in params.items():
        if value is None:
            continue
        if name in _NUMBER_FIELDS:
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ArgumentError(f"{name} must be a number, got {value!r}")
        elif name in _INT_FIELDS:
            if isinstance(value, bool) or not isinstance(value, int):
                raise ArgumentError(f"{name} must be an integer, got {value!r}")
        elif name in _STR_FIELDS:
            if not isinstance(value, str):
                raise ArgumentError(f"{name} must be a string, got {value!r}")
        elif name in _DICT_FIELDS:
            if not isinstance(value, Mapping):
                raise ArgumentError(f"{name} must be a dict, got {value!r}")
        elif name == "stop":
            value = _check_stop(value)
        elif name == "stream":
            if not isinstance(value, bool):
                raise ArgumentError(f"stream must be True or False, got {value!r}")
        elif name == "tools":
            if not isinstance(value, list | tuple):
                raise ArgumentError("tools must be a list of tool definitions")
            value = list(value)
        body[name] = value
    return body


def encode_body(body: Any) -> bytes:
    """The body as compact UTF-8 JSON (as httpx encodes ``json=``), with no untyped failure.

    NaN, infinity or a value JSON cannot hold is an :class:`ArgumentError` before anything
    is sent (httpx raised a bare ValueError or TypeError). A lone surrogate (text decoded
    with ``surrogateescape``, or a ``"\ud800"`` escape read from a notebook file) has no
    UTF-8 form, and httpx raised UnicodeEncodeError; it is sent as U+FFFD instead, as a
    decoder would show it.
    """
    try:
        text = json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except (ValueError, TypeError) as exc:
        raise ArgumentError(f"the request cannot be sent as JSON: {exc}") from None
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        fixed = text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
        return fixed.encode("utf-8")
