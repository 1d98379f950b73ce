"""Evaluation runs in the store: one narrow ``runs`` row each, its table in ``run_rows``.

What ``groq_magic.evaluate`` keeps so ``groq_magic.runs()``, ``load_run(id)`` and
``diff(a, b)`` work in a later kernel. The store knows nothing of evaluations
beyond this shape: a run is a mapping of its listing fields (``name``,
``template``, ``models``, ``pass_rates``) plus free ``metadata``, and its rows
are JSON arrays written in order (the values in the order of the run's columns,
which its metadata names: no column name repeated per row, and none taken for a
credential's by its name). Values go through the same scrubbing as exchanges
(:func:`~groq_magic.store._exchange.dumps`), so a key-shaped string in an answer
is stored as ``[redacted]``.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from groq_magic.store._exchange import dumps
from groq_magic.store._rows import loads, when

__all__ = ["insert_run", "list_runs", "read_run"]

_INSERT_RUN = (
    "INSERT INTO runs (created, name, template, models, rows, pass_rates, metadata)"
    " VALUES (?, ?, ?, ?, ?, ?, ?)"
)
_INSERT_ROW = "INSERT INTO run_rows (run_id, position, data) VALUES (?, ?, ?)"
_LISTING = "id, created, name, template, models, rows, pass_rates"


def insert_run(
    conn: sqlite3.Connection, run: Mapping[str, Any], rows: Iterable[Sequence[Any]]
) -> int:
    """Write ``run`` and its ``rows`` (inside the caller's transaction); the new run id."""
    cursor = conn.execute(
        _INSERT_RUN,
        (
            float(run.get("created") or time.time()),
            str(run.get("name") or ""),
            str(run.get("template") or ""),
            dumps(list(run.get("models") or [])),
            int(run.get("rows") or 0),
            dumps(dict(run.get("pass_rates") or {})),
            dumps(dict(run.get("metadata") or {})),
        ),
    )
    run_id = int(cursor.lastrowid or 0)
    # A generator: the rows are serialised one at a time, never all at once.
    conn.executemany(_INSERT_ROW, ((run_id, i, dumps(list(row))) for i, row in enumerate(rows)))
    return run_id


def _listing(row: sqlite3.Row) -> dict[str, Any]:
    return {
        "id": row["id"],
        "created": when(row["created"]),
        "name": row["name"],
        "template": row["template"],
        "models": loads(row["models"]) or [],
        "rows": row["rows"],
        "pass_rates": loads(row["pass_rates"]) or {},
    }


def list_runs(conn: sqlite3.Connection, limit: int) -> list[dict[str, Any]]:
    """The ``limit`` newest runs, newest first (their listing fields, no rows)."""
    found = conn.execute(
        f"SELECT {_LISTING} FROM runs ORDER BY created DESC, id DESC LIMIT ?", (max(limit, 0),)
    ).fetchall()
    return [_listing(row) for row in found]


def read_run(
    conn: sqlite3.Connection, run_id: int
) -> tuple[dict[str, Any], list[list[Any]]] | None:
    """Run ``run_id`` (listing fields and ``metadata``) and its rows in order; None if unknown."""
    found = conn.execute(
        f"SELECT {_LISTING}, metadata FROM runs WHERE id = ?", (run_id,)
    ).fetchone()
    if found is None:
        return None
    run = _listing(found)
    run["metadata"] = loads(found["metadata"]) or {}
    cursor = conn.execute("SELECT data FROM run_rows WHERE run_id = ? ORDER BY position", (run_id,))
    # Read while the cursor walks: one row's JSON text at a time, not the whole table's.
    return run, [loads(data) for (data,) in cursor]
