"""One exchange as the store keeps it, and the scrubbing every stored text goes through.

An :class:`Exchange` is plain data (no IPython, no network): the request body
sent, what came back, and where it belongs (chat, cell, notebook). Before
anything is written, :func:`dumps` removes credentials twice over: the body goes
through :func:`~groq_magic.chat.options.strip_secrets` (credential-named fields
dropped, whole-value keys redacted), then every string has the keys in force,
key-shaped parts and ``Bearer`` credentials replaced by ``[redacted]``
(:func:`groq_magic._keys.redact`), wherever they sit in the text. Redacting costs a few characters
of a prompt that held a key; storing the key would cost the key.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from groq_magic._keys import redact, redact_value
from groq_magic.chat.options import strip_secrets
from groq_magic.chat.result import as_dict

if TYPE_CHECKING:
    from groq_magic.chat.conversation import Turn
    from groq_magic.chat.result import ChatResult

__all__ = [
    "Exchange",
    "dumps",
    "join_tool_calls",
    "prompt_of",
    "safe_json",
    "scrub_text",
    "split_tool_calls",
]


def scrub_text(text: str) -> str:
    """``text`` with keys in force, key-shaped words and ``Bearer`` credentials masked."""
    return redact(text)


def _json(value: Any, *, sort_keys: bool = False) -> str:
    return json.dumps(
        value, ensure_ascii=False, separators=(",", ":"), default=str, sort_keys=sort_keys
    )


def safe_json(value: Any, text: str) -> str:
    """``text`` (the JSON of ``value``, already through strip_secrets), redacted if it must be."""
    if redact(text) == text:
        return text
    # Rare: only text that holds a key (or something shaped like one) pays for the walk.
    redacted = _json(redact_value(value))
    # Last net for objects serialized through str(): the walk cannot see inside them.
    return redact(redacted)


def dumps(value: Any) -> str:
    """Compact JSON of ``value`` with no credential in it; non-JSON leaves become strings."""
    clean = strip_secrets(value)
    return safe_json(clean, _json(clean))


def _part_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        pieces = []
        for part in content:
            if isinstance(part, Mapping):
                if part.get("type") == "text":
                    pieces.append(str(part.get("text", "")))
                elif part.get("type") == "image_url":
                    pieces.append("[image]")
        return " ".join(p for p in pieces if p)
    return "" if content is None else str(content)


def prompt_of(request: Mapping[str, Any]) -> str:
    """The text of the last user message of a request body (image parts show as ``[image]``)."""
    messages = request.get("messages")
    if isinstance(messages, list):
        for message in reversed(messages):
            if isinstance(message, Mapping) and message.get("role") == "user":
                return _part_text(message.get("content"))
    return ""


def _last_user_message(request: Mapping[str, Any]) -> dict[str, Any] | None:
    messages = request.get("messages")
    if isinstance(messages, list):
        for message in reversed(messages):
            if isinstance(message, Mapping) and message.get("role") == "user":
                return dict(message)
    return None


def _now() -> datetime:
    return datetime.now(timezone.utc)


SERVER_SIDE = "server_side"
"""The mark on a stored tool call that Groq ran itself (``executed_tools``)."""


def join_tool_calls(local: Any, server: Any) -> list[dict[str, Any]]:
    """One list of tool calls to store: the notebook's, then the server's, marked."""
    calls = [as_dict(c) for c in local] if isinstance(local, list) else []
    if isinstance(server, list):
        calls += [{**as_dict(c), SERVER_SIDE: True} for c in server]
    return calls


def split_tool_calls(
    calls: list[dict[str, Any]],
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Stored tool calls back as (``tool_calls``, ``executed_tools``), the mark removed."""
    local = [dict(c) for c in calls if not c.get(SERVER_SIDE)]
    server = [{k: v for k, v in c.items() if k != SERVER_SIDE} for c in calls if c.get(SERVER_SIDE)]
    return local, server


@dataclass
class Exchange:
    """One request and its outcome, as written to (and read back from) the store.

    ``base_url`` is the full server URL: it makes the cache key, and only its host
    is stored. ``status`` is ``complete``, ``interrupted``, ``incomplete`` (the result
    statuses) or ``error`` (nothing usable). ``history`` is False for a
    ``--no-history`` cell (its turn never entered the conversation). ``messages``
    holds the turn's own messages when it made more than a prompt and an answer
    (tool calls and tool results); ``user_message`` is the user message as sent
    (with image parts). ``turn_id`` and ``replaces`` are the conversation's turn
    ids, so a restored chat keeps retry and re-run semantics. ``replayed``: the
    answer came from the store (``--cache``), nothing was sent.
    """

    request: dict[str, Any]
    answer: str = ""
    status: str = "complete"
    model: str | None = None
    base_url: str | None = None
    chat: str = "default"
    prompt: str | None = None
    reasoning: str | None = None
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    usage: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, Any] = field(default_factory=dict)
    finish_reason: str | None = None
    error: str | None = None
    cell_id: str | None = None
    notebook: str | None = None
    turn_id: str | None = None
    replaces: str | None = None
    system: str | None = None
    options: dict[str, Any] = field(default_factory=dict)
    user_message: dict[str, Any] | None = None
    messages: list[dict[str, Any]] | None = None
    history: bool = True
    batch: bool = False
    replayed: bool = False
    request_id: str | None = None
    created: datetime = field(default_factory=_now)
    id: int | None = None
    host: str | None = None
    cache_key: str | None = None

    @property
    def prompt_text(self) -> str:
        """``prompt``, or the last user message of the request when none was given."""
        return self.prompt if self.prompt is not None else prompt_of(self.request)

    @property
    def in_history(self) -> bool:
        """True when this exchange entered its conversation (what the engine records)."""
        if not self.history or self.status == "error":
            return False
        return self.status == "complete" or bool(self.answer) or bool(self.messages)

    @classmethod
    def from_result(
        cls,
        result: ChatResult,
        *,
        base_url: str | None,
        chat: str = "default",
        cell_id: str | None = None,
        notebook: str | None = None,
        turn: Turn | None = None,
        replaces: str | None = None,
        system: str | None = None,
        history: bool = True,
        batch: bool = False,
    ) -> Exchange:
        """Build the exchange for a finished :class:`~groq_magic.chat.ChatResult`.

        ``turn`` is the :class:`~groq_magic.chat.Turn` the engine recorded for it,
        when there is one: its id, options, prompt, user message and tool rounds
        (``Turn.exchange``, kept as :attr:`messages`) are kept so a restored chat
        behaves like the live one. Tool calls and Groq's server-side tool runs
        share :attr:`tool_calls`, the latter marked ``"server_side": true``
        (:func:`split_tool_calls` parts them again).
        """
        turn = turn if turn is not None else getattr(result, "turn", None)
        source: Any = turn if turn is not None else result
        tool_calls = join_tool_calls(
            getattr(source, "tool_calls", None), getattr(source, "executed_tools", None)
        )
        extra_messages = getattr(turn, "exchange", None) or getattr(result, "messages", None)
        return cls(
            request=dict(result.request),
            answer=result.text,
            status=result.status,
            model=result.model,
            base_url=base_url,
            chat=chat,
            prompt=turn.prompt if turn is not None else None,
            reasoning=result.reasoning or getattr(turn, "reasoning", None),
            tool_calls=tool_calls,
            usage=result.usage_dict,
            timings=result.timings.as_dict(),
            finish_reason=result.finish_reason,
            error=result.error,
            cell_id=turn.cell_id if turn is not None and turn.cell_id else cell_id,
            notebook=notebook,
            turn_id=turn.id if turn is not None else None,
            replaces=replaces,
            system=system,
            options=dict(turn.options) if turn is not None else {},
            user_message=dict(turn.user_message) if turn is not None else None,
            messages=list(extra_messages) if isinstance(extra_messages, list) else None,
            history=history,
            batch=batch,
            replayed=bool(getattr(result, "cached", False)),
            request_id=result.request_id,
            created=turn.created_at if turn is not None else _now(),
        )

    def stored_user_message(self) -> dict[str, Any]:
        """The user message to restore: as given, else the request's last user message."""
        if self.user_message:
            return self.user_message
        return _last_user_message(self.request) or {"role": "user", "content": self.prompt_text}
