"""This session's writes, read back from a store file that was deleted or replaced.

A file deleted (or renamed away, or replaced by another) while a kernel runs stays
readable through the connection that has it open. Before that connection is closed,
what this session wrote there (its exchanges, its undo and reset edits, its Batch
jobs) is read back as writes to make again, so the file now at the path holds every
turn of the chats this kernel has in memory, and a restore elsewhere loses none. Each
is written only if the new file lacks it (a file moved into place may be a copy).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence

from groq_magic.store._backlog import CarriedExchange, Edit, Waiting
from groq_magic.store._rows import SELECT_SESSION_ROWS, split_session_row

__all__ = ["INSERT_BATCH", "INSERT_EDIT", "carried_writes"]

INSERT_EDIT = (
    "INSERT INTO history_edits (created, chat, notebook, kind, turn_id) VALUES (?, ?, ?, ?, ?)"
)
_INSERT_EDIT_ONCE = (
    "INSERT INTO history_edits (created, chat, notebook, kind, turn_id) SELECT ?, ?, ?, ?, ?"
    " WHERE NOT EXISTS (SELECT 1 FROM history_edits"
    " WHERE created = ? AND chat = ? AND kind = ? AND turn_id IS ?)"
)
INSERT_BATCH = (
    "INSERT INTO batches (job_id, created, host, metadata) VALUES (?, ?, ?, ?)"
    " ON CONFLICT(job_id) DO UPDATE SET host = excluded.host, metadata = excluded.metadata"
)
_INSERT_BATCH_ONCE = (
    "INSERT INTO batches (job_id, created, host, metadata) VALUES (?, ?, ?, ?)"
    " ON CONFLICT(job_id) DO NOTHING"
)
_CHUNK = 500  # ids per IN (...) list, well under SQLite's limit on parameters


def _chunks(values: Sequence[object]) -> Iterable[Sequence[object]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]


def carried_writes(
    conn: sqlite3.Connection,
    session: str,
    edit_ids: Sequence[int],
    batch_ids: Sequence[str],
) -> list[Waiting]:
    """What ``session`` wrote through ``conn``, as writes to make again, in their order.

    ``edit_ids`` are the ``history_edits`` rows it wrote, ``batch_ids`` its Batch jobs
    (the exchanges are found by their ``session`` column).
    """
    carried: list[Waiting] = [
        CarriedExchange(*split_session_row(row))
        for row in conn.execute(SELECT_SESSION_ROWS, (session,))
    ]
    edits: list[tuple[object, ...]] = []
    for part in _chunks(sorted(edit_ids)):
        marks = ", ".join("?" for _ in part)
        edits += conn.execute(
            "SELECT created, chat, notebook, kind, turn_id FROM history_edits"
            f" WHERE id IN ({marks}) ORDER BY id",
            tuple(part),
        ).fetchall()
    for created, chat, notebook, kind, turn_id in edits:
        params = (created, chat, notebook, kind, turn_id, created, chat, kind, turn_id)
        carried.append(Edit(str(kind), _INSERT_EDIT_ONCE, params))
    for part in _chunks(list(batch_ids)):
        marks = ", ".join("?" for _ in part)
        for row in conn.execute(
            f"SELECT job_id, created, host, metadata FROM batches WHERE job_id IN ({marks})",
            tuple(part),
        ):
            carried.append(Edit("batch", _INSERT_BATCH_ONCE, tuple(row)))
    return carried
