"""The tool calls a model asked for, assembled from stream deltas or read from a message.

In a stream, each call arrives as deltas keyed by ``index``: ``id``, ``type`` and
``function.name`` first, then ``function.arguments`` in pieces, and parallel calls
interleave. :class:`ToolCallAccumulator` keeps one slot per call and joins the
pieces once, at the end. It also absorbs what OpenAI-compatible servers do
differently: a repeated ``id`` or ``name`` on every delta, several calls reported
under one index (each with its own id), no id at all, or arguments sent as an
object instead of a JSON string.

A piece can end in the middle of a character: a JSON ``\\ud83d`` escape in one
delta and ``\\ude00`` in the next decode to two halves of a surrogate pair. The
joined text is repaired once, so the function sees the character the model meant.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "ToolCall",
    "ToolCallAccumulator",
    "calls_from_message",
    "field_of",
    "repair_surrogates",
]


_ABSENT: Any = object()


@dataclass(frozen=True)
class ToolCall:
    """One complete call the model asked for: ``arguments_json`` is the model's text."""

    id: str
    name: str
    arguments_json: str
    type: str = "function"

    def as_message_part(self) -> dict[str, Any]:
        """The entry of the assistant message's ``tool_calls``, as the model sent it."""
        return {
            "id": self.id,
            "type": self.type,
            "function": {"name": self.name, "arguments": self.arguments_json},
        }


@dataclass
class _Slot:
    id: str | None = None
    type: str | None = None
    name: str = ""
    pieces: list[str] = field(default_factory=list)


def field_of(obj: Any, key: str) -> Any:
    """A field of a pydantic delta model, a dict or another mapping (None when absent)."""
    # Cheapest checks first: this runs several times per streamed delta, and an
    # isinstance() against the Mapping ABC costs more than the two below together.
    if type(obj) is dict:
        return obj.get(key)
    value = getattr(obj, key, _ABSENT)
    if value is not _ABSENT:
        return value
    return obj.get(key) if isinstance(obj, Mapping) else None


def _as_text(arguments: Any) -> str:
    if arguments is None:
        return ""
    if isinstance(arguments, str):
        return arguments
    # Some servers send the arguments as an object; the protocol wants its JSON text.
    return json.dumps(arguments, ensure_ascii=False)


def repair_surrogates(text: str) -> str:
    """Join split surrogate pairs into their character; a lone half becomes U+FFFD."""
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return text


class ToolCallAccumulator:
    """Collects ``tool_calls`` deltas of a stream; :attr:`calls` gives the complete calls."""

    def __init__(self) -> None:
        self._slots: list[_Slot] = []
        self._by_index: dict[int, _Slot] = {}

    def add(self, deltas: Iterable[Any] | None) -> None:
        """Take one chunk's ``delta.tool_calls`` (pydantic models or dicts; None is nothing)."""
        if not deltas:
            return
        for delta in deltas:
            self._add_one(delta)

    def _add_one(self, delta: Any) -> None:
        index = field_of(delta, "index")
        index = index if isinstance(index, int) else len(self._slots)
        call_id = field_of(delta, "id")
        slot = self._by_index.get(index)
        if slot is None or (call_id and slot.id and call_id != slot.id):
            # A new id under a busy index is a new call (servers that number every call 0).
            slot = _Slot()
            self._slots.append(slot)
            self._by_index[index] = slot
        if call_id:
            slot.id = call_id
        kind = field_of(delta, "type")
        if kind:
            slot.type = kind
        function = field_of(delta, "function")
        if function is None:
            return
        name = field_of(function, "name")
        # The name comes whole in one delta; some servers repeat it on every delta.
        if name and name != slot.name:
            slot.name += name
        arguments = field_of(function, "arguments")
        if arguments:
            slot.pieces.append(_as_text(arguments))

    def __bool__(self) -> bool:
        return bool(self._slots)

    def __len__(self) -> int:
        return len(self._slots)

    @property
    def calls(self) -> list[ToolCall]:
        """The calls in the order they began; a missing id becomes ``call_<n>``."""
        return [
            ToolCall(
                id=slot.id or f"call_{n}",
                name=slot.name,
                arguments_json=repair_surrogates("".join(slot.pieces)),
                type=slot.type or "function",
            )
            for n, slot in enumerate(self._slots)
        ]


def calls_from_message(message: Any) -> list[ToolCall]:
    """The calls of a non-streamed message: a model, a dict, or a list of tool calls.

    Also takes ``Stream.tool_calls`` (the client's own merged dicts).
    """
    entries = message if isinstance(message, list) else field_of(message, "tool_calls")
    calls = []
    for n, entry in enumerate(entries or ()):
        function = field_of(entry, "function")
        calls.append(
            ToolCall(
                id=field_of(entry, "id") or f"call_{n}",
                name=field_of(function, "name") or "",
                arguments_json=repair_surrogates(_as_text(field_of(function, "arguments"))),
                type=field_of(entry, "type") or "function",
            )
        )
    return calls
