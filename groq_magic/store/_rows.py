"""Between :class:`Exchange` objects and the rows of ``exchanges`` / ``exchange_data``.

Writing goes through :func:`exchange_rows`, the one place that decides what a
column holds, so every stored text is scrubbed of credentials on the way in
(see :mod:`groq_magic.store._exchange`).
"""

from __future__ import annotations

import json
import sqlite3
from collections import OrderedDict
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

from groq_magic._text import one_line
from groq_magic.chat.options import strip_secrets
from groq_magic.store._cache import IGNORED_FIELDS, key_from_text, keyed_text, url_host
from groq_magic.store._exchange import Exchange, dumps, safe_json, scrub_text
from groq_magic.store.prices import cached_tokens

__all__ = [
    "INSERT_DATA",
    "INSERT_EXCHANGE",
    "SELECT_FOR_RESTORE",
    "SELECT_FULL",
    "SELECT_SESSION_ROWS",
    "CleanMemo",
    "exchange_from_row",
    "exchange_rows",
    "insert_exchange",
    "loads",
    "split_session_row",
    "turn_step",
    "usage_of",
    "when",
]

SNIPPET = 80
"""Characters of the prompt kept in the narrow table, for ``log``."""

_EX_COLUMNS = (
    "created, chat, model, status, finish_reason, host, cell_id, notebook, session, turn_id,"
    " replaces, in_history, batch, cache_key, snippet, prompt_tokens, completion_tokens,"
    " cached_tokens, total_tokens, replayed"
)
_DATA_COLUMNS = (
    "prompt, answer, reasoning, error, request, tool_calls, usage, timings, options,"
    " user_message, messages, system, request_id"
)


def _marks(columns: str) -> str:
    return ", ".join("?" for _ in columns.split(","))


INSERT_EXCHANGE = f"INSERT INTO exchanges ({_EX_COLUMNS}) VALUES ({_marks(_EX_COLUMNS)})"
INSERT_DATA = f"INSERT INTO exchange_data (id, {_DATA_COLUMNS}) VALUES (?, {_marks(_DATA_COLUMNS)})"
# A row carried to a new file, unless that file has it already (one session's exchange
# is known by its session, time and chat: a file moved into place may be a copy).
_INSERT_EXCHANGE_ONCE = (
    f"INSERT INTO exchanges ({_EX_COLUMNS}) SELECT {_marks(_EX_COLUMNS)}"
    " WHERE NOT EXISTS (SELECT 1 FROM exchanges WHERE session = ? AND created = ? AND chat = ?)"
)
_EX_NAMES = [c.strip() for c in _EX_COLUMNS.split(",")]
_EX_WIDTH = len(_EX_NAMES)
_SESSION = _EX_NAMES.index("session")
_BOTH = (
    ", ".join("e." + name for name in _EX_NAMES)
    + ", "
    + ", ".join("d." + c.strip() for c in _DATA_COLUMNS.split(","))
    + " FROM exchanges e JOIN exchange_data d ON d.id = e.id"
)
SELECT_SESSION_ROWS = f"SELECT {_BOTH} WHERE e.session = ? ORDER BY e.id"
"""One session's exchanges, as the two rows :func:`exchange_rows` made (without ids)."""

SELECT_FULL = f"SELECT e.id, {_BOTH}"
"""Every column of both tables; add ``WHERE`` / ``ORDER BY`` after it."""

SELECT_FOR_RESTORE = SELECT_FULL.replace(
    "d.request,", "CASE WHEN d.user_message IS NULL THEN d.request END AS request,"
)
""":data:`SELECT_FULL` that reads the request body only where a restore needs it.

The body holds the whole window, so it is most of each row; a turn needs it
only to find its user message when none was stored.
"""


def when(created: float | None) -> datetime | None:
    """A stored Unix time as an aware UTC datetime (None stays None)."""
    return None if created is None else datetime.fromtimestamp(created, timezone.utc)


def loads(text: str | None) -> Any:
    """A stored JSON column (None stays None)."""
    return None if text is None else json.loads(text)


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


class CleanMemo:
    """``strip_secrets`` of each message dict, remembered while windows keep sending it.

    A conversation's windows share their earlier messages by reference (a
    recorded turn builds its messages once), so the N-th turn of a chat would
    otherwise clean all N earlier messages again. A hit needs the same dict
    holding the same content object; the memo keeps the dicts alive, so an id is
    never reused while it is remembered.
    """

    def __init__(self, size: int = 4096) -> None:
        self._size = size
        self._items: OrderedDict[int, tuple[Mapping[str, Any], object, Any]] = OrderedDict()

    def clean(self, message: Any) -> Any:
        """``strip_secrets(message)``, from the memo when this dict was cleaned before."""
        if not isinstance(message, dict):
            return strip_secrets(message)
        hit = self._items.get(id(message))
        if hit is not None and hit[0] is message and hit[1] is message.get("content"):
            self._items.move_to_end(id(message))
            return hit[2]
        cleaned = strip_secrets(message)
        self._items[id(message)] = (message, message.get("content"), cleaned)
        if len(self._items) > self._size:
            self._items.popitem(last=False)
        return cleaned


def _clean_request(request: Mapping[str, Any], memo: CleanMemo | None) -> dict[str, Any]:
    messages = request.get("messages")
    if memo is None or not isinstance(messages, list):
        cleaned: dict[str, Any] = strip_secrets(request)
        return cleaned
    rest: dict[str, Any] = strip_secrets({k: v for k, v in request.items() if k != "messages"})
    rest["messages"] = [memo.clean(m) for m in messages]
    return rest


def _request_json(request: dict[str, Any], keyed: str) -> str:
    # The key's canonical text is the stored text whenever it has every field as sent
    # (no stream flags, no whole-number float rewritten): one serialization, not two.
    same = not IGNORED_FIELDS & request.keys() and not any(
        isinstance(v, float) and v.is_integer() for v in request.values()
    )
    if same:
        return safe_json(request, keyed)
    return safe_json(request, json.dumps(request, ensure_ascii=False, separators=(",", ":")))


def exchange_rows(
    ex: Exchange, session: str, memo: CleanMemo | None = None
) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
    """The ``exchanges`` row and the ``exchange_data`` row (without id) for ``ex``."""
    request = _clean_request(ex.request, memo)
    keyed = keyed_text(request)
    # A replay is not a request: no cache key (the original is what a replay finds)
    # and no tokens in the narrow row (usage totals count the original once).
    key = key_from_text(keyed, ex.base_url) if ex.base_url and not ex.replayed else None
    usage = ex.usage or {}
    counted = {} if ex.replayed else usage
    prompt = scrub_text(ex.prompt_text)
    exchange_row = (
        ex.created.timestamp(),
        ex.chat,
        ex.model,
        ex.status,
        ex.finish_reason,
        ex.host or url_host(ex.base_url),
        ex.cell_id,
        ex.notebook,
        session,
        ex.turn_id,
        ex.replaces,
        int(ex.in_history),
        int(ex.batch),
        key,
        one_line(prompt, SNIPPET),
        _int(counted.get("prompt_tokens")),
        _int(counted.get("completion_tokens")),
        cached_tokens(counted) or None,
        _int(counted.get("total_tokens")),
        int(ex.replayed),
    )
    data_row = (
        prompt,
        scrub_text(ex.answer),
        None if ex.reasoning is None else scrub_text(ex.reasoning),
        None if ex.error is None else scrub_text(ex.error),
        _request_json(request, keyed),
        dumps(ex.tool_calls) if ex.tool_calls else None,
        dumps(usage),
        dumps(ex.timings),
        dumps(ex.options) if ex.options else None,
        dumps(ex.user_message) if ex.user_message else None,
        dumps(ex.messages) if ex.messages else None,
        None if ex.system is None else scrub_text(ex.system),
        ex.request_id,
    )
    return exchange_row, data_row


def split_session_row(row: sqlite3.Row) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
    """A :data:`SELECT_SESSION_ROWS` row as (``exchanges`` row, ``exchange_data`` row)."""
    values = tuple(row)
    return values[:_EX_WIDTH], values[_EX_WIDTH:]


def insert_exchange(
    conn: sqlite3.Connection,
    exchange_row: tuple[Any, ...],
    data_row: tuple[Any, ...],
    *,
    once: bool = False,
) -> int | None:
    """Write an exchange's two rows; its id (None: ``once`` and the file had it already)."""
    if once:
        key = (exchange_row[_SESSION], exchange_row[0], exchange_row[1])
        cursor = conn.execute(_INSERT_EXCHANGE_ONCE, (*exchange_row, *key))
        if not cursor.rowcount:
            return None
    else:
        cursor = conn.execute(INSERT_EXCHANGE, exchange_row)
    rowid = cursor.lastrowid
    conn.execute(INSERT_DATA, (rowid, *data_row))
    return rowid


def exchange_from_row(row: sqlite3.Row) -> Exchange:
    """An :class:`Exchange` from a :data:`SELECT_FULL` row."""
    return Exchange(
        id=row["id"],
        created=when(row["created"]) or datetime.now(timezone.utc),
        chat=row["chat"],
        model=row["model"],
        status=row["status"],
        finish_reason=row["finish_reason"],
        host=row["host"],
        cell_id=row["cell_id"],
        notebook=row["notebook"],
        turn_id=row["turn_id"],
        replaces=row["replaces"],
        history=bool(row["in_history"]),
        batch=bool(row["batch"]),
        cache_key=row["cache_key"],
        replayed=bool(row["replayed"]),
        prompt=row["prompt"],
        answer=row["answer"],
        reasoning=row["reasoning"],
        error=row["error"],
        request=loads(row["request"]) or {},
        tool_calls=loads(row["tool_calls"]) or [],
        usage=loads(row["usage"]) or {},
        timings=loads(row["timings"]) or {},
        options=loads(row["options"]) or {},
        user_message=loads(row["user_message"]),
        messages=loads(row["messages"]),
        system=row["system"],
        request_id=row["request_id"],
    )


def usage_of(row: sqlite3.Row) -> dict[str, Any]:
    """A ``usage`` dict from a row's token columns (empty when it has none)."""
    usage: dict[str, Any] = {}
    for name in ("prompt_tokens", "completion_tokens", "total_tokens"):
        if row[name] is not None:
            usage[name] = row[name]
    if row["cached_tokens"]:
        usage["prompt_tokens_details"] = {"cached_tokens": row["cached_tokens"]}
    return usage


def turn_step(ex: Exchange) -> dict[str, Any]:
    """A ``kind="turn"`` step of :meth:`Store.turns_for_restore` for ``ex``."""
    return {
        "kind": "turn",
        "exchange_id": ex.id,
        "turn_id": ex.turn_id,
        "replaces": ex.replaces,
        "cell_id": ex.cell_id,
        "prompt": ex.prompt_text,
        "user_message": ex.stored_user_message(),
        "answer": ex.answer,
        "model": ex.model,
        "options": ex.options,
        "usage": ex.usage,
        "timings": ex.timings,
        "finish_reason": ex.finish_reason,
        "status": ex.status,
        "created": ex.created,
        "messages": ex.messages,
        "system": ex.system,
        "reasoning": ex.reasoning,
        "tool_calls": ex.tool_calls,
    }
