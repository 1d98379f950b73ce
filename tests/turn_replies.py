"""Groq-shaped replies for turns that call tools, think, or report server-side tool runs.

Built on :mod:`scripted_server`: a tool call is given as ``(id, name, arguments_text)``,
and these helpers cut it into the deltas a stream carries (``id``, ``type`` and the
name first, then the arguments in pieces, parallel calls interleaved by ``index``) or
put it whole on a non-streamed message.

    tool_stream([("call_1", "get_weather", '{"city": "Oslo"}')], piece=1)   # char by char
    tool_completion([("call_1", "get_weather", '{"city": "Oslo"}')])
    answer_stream("It is 12°C.")            # a final answer after the tool round
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

from scripted_server import MODEL, Reply, chunk_events, completion_reply, sse_reply

__all__ = [
    "Call",
    "answer_stream",
    "call_deltas",
    "message_calls",
    "tool_completion",
    "tool_reply",
    "tool_stream",
]

Call = tuple[str, str, str]
"""``(id, name, arguments_text)``: one call as the model sends it."""


def _pieces(text: str, size: int) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


def call_deltas(calls: Sequence[Call], piece: int = 8) -> list[list[dict[str, Any]]]:
    """The ``delta.tool_calls`` lists of a stream, one list per chunk, calls interleaved.

    Each call opens with its id, type and name (arguments empty), then its
    arguments follow ``piece`` characters at a time; with several calls the pieces
    alternate between them, as parallel calls arrive.
    """
    openers = [
        [{"index": i, "id": cid, "type": "function", "function": {"name": name, "arguments": ""}}]
        for i, (cid, name, _) in enumerate(calls)
    ]
    streams = [
        [[{"index": i, "function": {"arguments": p}}] for p in _pieces(args, piece)]
        for i, (_, _, args) in enumerate(calls)
    ]
    interleaved = [
        delta for group in itertools.zip_longest(*streams) for delta in group if delta is not None
    ]
    return openers + interleaved


def tool_stream(
    calls: Sequence[Call],
    *,
    piece: int = 8,
    text: Sequence[str] = (),
    reasoning: Sequence[str] = (),
    model: str = MODEL,
    **options: Any,
) -> Reply:
    """A streamed answer that asks for ``calls`` (``finish_reason: tool_calls``).

    ``text`` are content pieces sent after the calls (words some models add);
    ``reasoning`` arrives first, as ``delta.reasoning``.
    """
    events = chunk_events(
        list(text),
        model=model,
        reasoning_pieces=list(reasoning),
        tool_call_deltas=call_deltas(calls, piece),
        finish_reason="tool_calls",
    )
    return sse_reply(events, **options)


def message_calls(calls: Sequence[Call]) -> list[dict[str, Any]]:
    """``message.tool_calls`` of a non-streamed answer, exactly as the model sent them."""
    return [
        {"id": cid, "type": "function", "function": {"name": name, "arguments": args}}
        for cid, name, args in calls
    ]


def tool_completion(calls: Sequence[Call], content: str | None = None, **options: Any) -> Reply:
    """A non-streamed answer that asks for ``calls``."""
    return completion_reply(
        content, tool_calls=message_calls(calls), finish_reason="tool_calls", **options
    )


def tool_reply(calls: Sequence[Call], *, stream: bool, piece: int = 8) -> Reply:
    """:func:`tool_stream` or :func:`tool_completion`, as the cell streams or not."""
    return tool_stream(calls, piece=piece) if stream else tool_completion(calls)


def answer_stream(text: str, *, pieces: int = 3, model: str = MODEL, **options: Any) -> Reply:
    """A streamed final answer of ``text`` in about ``pieces`` deltas."""
    size = max(1, -(-len(text) // pieces))
    return sse_reply(chunk_events(_pieces(text, size), model=model), **options)
