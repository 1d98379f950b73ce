"""The store's read queries, as functions of an open connection.

:class:`~groq_magic.store.Store` wraps each in its failure policy; here is only
what is asked of SQLite and how the rows become what a command shows. Every
query that ``log`` or ``usage_summary`` runs reads the narrow ``exchanges``
table through an index, so 100,000 stored exchanges list in milliseconds.
"""

from __future__ import annotations

import functools
import re
import sqlite3
from datetime import datetime
from typing import Any

from groq_magic.chat.caching import cache_saving
from groq_magic.store._errors import StoreError
from groq_magic.store._rows import SELECT_FOR_RESTORE, exchange_from_row, turn_step, usage_of, when
from groq_magic.store.prices import PriceTable, cost

__all__ = ["NO_NOTEBOOK", "log_rows", "notebook_filter", "restore_steps", "usage_rows"]

NO_NOTEBOOK = ""
"""The ``notebook`` to ask for to keep only exchanges whose notebook was not known
(a terminal, nbclient); ``None`` keeps every notebook's."""

_WORD = re.compile(r"\w+")
_TOKEN_SUMS = ("prompt_tokens", "completion_tokens", "cached_tokens", "total_tokens")


def _fts_query(search: str) -> str | None:
    # Every word must appear, each as a word prefix ("pand" finds "pandas"); quoting
    # keeps FTS5 syntax (AND, NEAR, -, ^) in a user's search from being interpreted.
    words = _WORD.findall(search)
    return " ".join(f'"{w}"*' for w in words) if words else None


def _like(search: str) -> str:
    escaped = search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _log_row(row: sqlite3.Row, prices: PriceTable) -> dict[str, Any]:
    usage = usage_of(row)
    tokens = row["total_tokens"]
    if tokens is None and usage:
        tokens = (row["prompt_tokens"] or 0) + (row["completion_tokens"] or 0)
    moment = when(row["created"])
    replayed = bool(row["replayed"])
    return {
        "id": row["id"],
        "time": moment.astimezone().strftime("%Y-%m-%d %H:%M") if moment else "",
        "chat": row["chat"],
        "model": row["model"] or "",
        "prompt": row["snippet"],
        "status": "replayed" if replayed else row["status"],
        "tokens": tokens,
        "cost": 0.0
        if replayed
        else cost(row["model"], usage, batch=bool(row["batch"]), prices=prices),
    }


def log_rows(
    conn: sqlite3.Connection,
    *,
    fts: bool,
    limit: int,
    chat: str | None,
    search: str | None,
    prices: PriceTable,
) -> list[dict[str, Any]]:
    """See :meth:`Store.log`."""
    clauses: list[str] = []
    params: list[Any] = []
    source, order = "exchanges e", "e.id"
    query = _fts_query(search) if search and fts else None
    if query is not None:
        # Driven by the index, newest match first, so LIMIT stops the walk early; an
        # "id IN (all matches)" form costs a pass over every match of a common word.
        source = "exchange_fts f JOIN exchanges e ON e.id = f.rowid"
        order = "f.rowid"
        clauses.append("exchange_fts MATCH ?")
        params.append(query)
    elif search:
        # Walking ids newest first lets LIMIT stop the scan at the first matches.
        source = "exchanges e JOIN exchange_data d ON d.id = e.id"
        clauses.append("(d.prompt LIKE ? ESCAPE '\\' OR d.answer LIKE ? ESCAPE '\\')")
        params += [_like(search), _like(search)]
    if chat is not None:
        clauses.append("e.chat = ?")
        params.append(chat)
    where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
    rows = conn.execute(
        "SELECT e.id, e.created, e.chat, e.model, e.snippet, e.status, e.batch, e.replayed,"
        " e.prompt_tokens, e.completion_tokens, e.cached_tokens, e.total_tokens"
        f" FROM {source}{where} ORDER BY {order} DESC LIMIT ?",
        (*params, max(int(limit), 0)),
    ).fetchall()
    return [_log_row(row, prices) for row in rows]


def notebook_filter(notebook: str | None) -> tuple[str, list[Any]]:
    """The SQL condition (and its parameters) keeping one notebook's rows (see NO_NOTEBOOK)."""
    if notebook is None:
        return "", []
    if notebook == NO_NOTEBOOK:
        return "notebook IS NULL", []
    return "notebook = ?", [notebook]


def _missing_chat(conn: sqlite3.Connection, chat: str, notebook: str | None) -> StoreError:
    names = [
        r[0] for r in conn.execute("SELECT DISTINCT chat FROM exchanges ORDER BY chat LIMIT 20")
    ]
    where = f" in {notebook}" if notebook else ""
    return StoreError(
        f"no stored chat named {chat!r}{where} (stored chats: {', '.join(names) or 'none'})"
    )


def restore_steps(
    conn: sqlite3.Connection, *, chat: str | None, notebook: str | None
) -> dict[str, list[dict[str, Any]]]:
    """See :meth:`Store.turns_for_restore`."""
    filters: list[str] = []
    params: list[Any] = []
    if chat is not None:
        filters.append("chat = ?")
        params.append(chat)
    clause, values = notebook_filter(notebook)
    if clause:
        filters.append(clause)
        params += values
    extra = "".join(f" AND e.{f}" for f in filters)
    rows = conn.execute(
        f"{SELECT_FOR_RESTORE} WHERE e.in_history = 1{extra} ORDER BY e.id", params
    ).fetchall()
    edit_where = f" WHERE {' AND '.join(filters)}" if filters else ""
    edits = conn.execute(
        f"SELECT created, chat, kind, turn_id FROM history_edits{edit_where} ORDER BY id", params
    ).fetchall()
    if chat is not None and not rows:
        exists = conn.execute("SELECT 1 FROM exchanges WHERE chat = ? LIMIT 1", (chat,))
        if exists.fetchone() is None:
            raise _missing_chat(conn, chat, notebook)
    # Exchanges and edits interleave by time; at equal times the exchange came first.
    timeline: dict[str, list[tuple[float, int, dict[str, Any]]]] = {}
    for row in rows:
        ex = exchange_from_row(row)
        timeline.setdefault(ex.chat, []).append((row["created"], 0, turn_step(ex)))
    for created, name, kind, turn_id in edits:
        timeline.setdefault(name, []).append((created, 1, {"kind": kind, "turn_id": turn_id}))
    out: dict[str, list[dict[str, Any]]] = {}
    for name, items in timeline.items():
        items.sort(key=lambda item: (item[0], item[1]))
        ordered = [step for _, _, step in items]
        resets = [i for i, step in enumerate(ordered) if step["kind"] == "reset"]
        out[name] = ordered[resets[-1] + 1 :] if resets else ordered
    if chat is not None:
        out.setdefault(chat, [])
    return out


def usage_rows(
    conn: sqlite3.Connection, *, today: bool, chat: str | None, prices: PriceTable
) -> list[dict[str, Any]]:
    """See :meth:`Store.usage_summary`."""
    clauses: list[str] = []
    params: list[Any] = []
    if today:
        midnight = datetime.now().astimezone().replace(hour=0, minute=0, second=0, microsecond=0)
        clauses.append("created >= ?")
        params.append(midnight.timestamp())
    if chat is not None:
        clauses.append("chat = ?")
        params.append(chat)
    clauses.append("replayed = 0")  # a replay sent nothing: the original counts once
    where = f" WHERE {' AND '.join(clauses)}"
    sums = ", ".join(f"SUM({name}) AS {name}" for name in _TOKEN_SUMS)
    rows = conn.execute(
        f"SELECT model, batch, COUNT(*) AS n, {sums} FROM exchanges{where}"
        " GROUP BY model, batch ORDER BY model",
        params,
    ).fetchall()
    summary: dict[str, dict[str, Any]] = {}
    for row in rows:
        model = row["model"] or ""
        entry = summary.setdefault(
            model,
            {
                "model": model,
                "exchanges": 0,
                **dict.fromkeys(_TOKEN_SUMS, 0),
                "cost": 0.0,
                "saved": 0.0,
            },
        )
        entry["exchanges"] += row["n"]
        for name in _TOKEN_SUMS:
            entry[name] += row[name] or 0
        usage = usage_of(row)
        if not usage:
            continue  # no token counts (failed requests): nothing to price
        batch = bool(row["batch"])
        part = cost(row["model"], usage, batch=batch, prices=prices)
        entry["cost"] = None if part is None or entry["cost"] is None else entry["cost"] + part
        # What Groq's prompt cache saved: the same usage priced with nothing cached.
        price = functools.partial(cost, row["model"], batch=batch, prices=prices)
        saving = cache_saving(price, usage)
        if saving is None and row["cached_tokens"]:
            entry["saved"] = None  # cached tokens of a model whose price is unknown
        elif saving is not None and entry["saved"] is not None:
            entry["saved"] += saving
    return list(summary.values())
