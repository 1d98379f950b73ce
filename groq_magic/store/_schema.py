"""The store's tables, and the version table that future migrations will read.

Layout, and why:

- ``exchanges`` is narrow (who, when, which model, status, token counts, a
  prompt snippet): ``log`` and ``usage_summary`` scan only it, so listing the
  newest 20 of 100,000 rows never reads a request body. ``exchanges_usage``
  covers ``usage_summary`` (grouped by model without a sort, no table reads).
- ``exchange_data`` holds the wide part (prompt, answer, request JSON,
  reasoning, tool calls...) under the same id, read only for one exchange at a
  time (cache lookup, restore).
- ``exchange_fts`` is an FTS5 index over prompt and answer when this SQLite has
  FTS5 (external content: the text is not stored twice); without FTS5, search
  falls back to ``LIKE`` over the same columns.
- ``history_edits`` records undo and reset, so a restored chat ends as the live
  one did.
- ``batches`` keeps Batch API jobs (issue 12).
- ``runs`` (version 3) lists evaluation runs (``groq_magic.evaluate``): narrow, so
  ``groq_magic.runs()`` reads no row of any table; ``run_rows`` holds each run's
  table, one JSON row per line, read only when one run is loaded.
- Exchanges are listed by id, which is the order they were written; they are
  written when they end, so that is the order they ended.
- ``replayed`` (version 2) marks a ``--cache`` replay: a turn of its chat like any
  other (restore brings it back, undo removes it), but not a request: no tokens in
  the narrow row (usage and cost count the original once) and no cache key (the
  original stays what a replay finds).

A schema change adds a function to ``MIGRATIONS`` (old version -> SQL) and bumps
``SCHEMA_VERSION``; a database from a newer groq_magic is refused, not guessed at.
"""

from __future__ import annotations

import sqlite3

__all__ = ["SCHEMA_VERSION", "ensure_schema", "has_fts"]

SCHEMA_VERSION = 3

_TABLES = """
CREATE TABLE IF NOT EXISTS schema_version (
    version INTEGER NOT NULL,
    applied REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS exchanges (
    id INTEGER PRIMARY KEY,
    created REAL NOT NULL,
    chat TEXT NOT NULL,
    model TEXT,
    status TEXT NOT NULL,
    finish_reason TEXT,
    host TEXT,
    cell_id TEXT,
    notebook TEXT,
    session TEXT,
    turn_id TEXT,
    replaces TEXT,
    in_history INTEGER NOT NULL DEFAULT 1,
    batch INTEGER NOT NULL DEFAULT 0,
    cache_key TEXT,
    snippet TEXT NOT NULL DEFAULT '',
    prompt_tokens INTEGER,
    completion_tokens INTEGER,
    cached_tokens INTEGER,
    total_tokens INTEGER,
    replayed INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS exchanges_chat ON exchanges(chat);
CREATE INDEX IF NOT EXISTS exchanges_created ON exchanges(created);
CREATE INDEX IF NOT EXISTS exchanges_cache ON exchanges(cache_key) WHERE status = 'complete';
CREATE INDEX IF NOT EXISTS exchanges_usage ON exchanges(
    model, batch, replayed, created, prompt_tokens, completion_tokens, cached_tokens, total_tokens
);
CREATE TABLE IF NOT EXISTS exchange_data (
    id INTEGER PRIMARY KEY,
    prompt TEXT NOT NULL DEFAULT '',
    answer TEXT NOT NULL DEFAULT '',
    reasoning TEXT,
    error TEXT,
    request TEXT NOT NULL,
    tool_calls TEXT,
    usage TEXT,
    timings TEXT,
    options TEXT,
    user_message TEXT,
    messages TEXT,
    system TEXT,
    request_id TEXT
);
CREATE TABLE IF NOT EXISTS history_edits (
    id INTEGER PRIMARY KEY,
    created REAL NOT NULL,
    chat TEXT NOT NULL,
    notebook TEXT,
    kind TEXT NOT NULL,
    turn_id TEXT
);
CREATE INDEX IF NOT EXISTS history_edits_chat ON history_edits(chat);
CREATE TABLE IF NOT EXISTS batches (
    job_id TEXT PRIMARY KEY,
    created REAL NOT NULL,
    host TEXT,
    metadata TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS batches_created ON batches(created);
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY,
    created REAL NOT NULL,
    name TEXT NOT NULL,
    template TEXT NOT NULL,
    models TEXT NOT NULL DEFAULT '[]',
    rows INTEGER NOT NULL,
    pass_rates TEXT NOT NULL DEFAULT '{}',
    metadata TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS runs_created ON runs(created);
CREATE TABLE IF NOT EXISTS run_rows (
    run_id INTEGER NOT NULL,
    position INTEGER NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (run_id, position)
) WITHOUT ROWID;
"""

_FTS = """
CREATE VIRTUAL TABLE IF NOT EXISTS exchange_fts USING fts5(
    prompt, answer, content='exchange_data', content_rowid='id'
);
CREATE TRIGGER IF NOT EXISTS exchange_data_ai AFTER INSERT ON exchange_data BEGIN
    INSERT INTO exchange_fts(rowid, prompt, answer) VALUES (new.id, new.prompt, new.answer);
END;
CREATE TRIGGER IF NOT EXISTS exchange_data_ad AFTER DELETE ON exchange_data BEGIN
    INSERT INTO exchange_fts(exchange_fts, rowid, prompt, answer)
        VALUES ('delete', old.id, old.prompt, old.answer);
END;
"""

# old version -> SQL that brings it to the next one. _TABLES runs first, on an old file
# too: a new index there may not name a column added here (an index it already has is
# left alone by IF NOT EXISTS, and a migration may drop and remake it).
MIGRATIONS: dict[int, str] = {
    1: """
ALTER TABLE exchanges ADD COLUMN replayed INTEGER NOT NULL DEFAULT 0;
DROP INDEX IF EXISTS exchanges_usage;
CREATE INDEX exchanges_usage ON exchanges(
    model, batch, replayed, created, prompt_tokens, completion_tokens, cached_tokens, total_tokens
);
""",
    # The runs tables are new tables only: _TABLES (run first) creates them on an old file.
    2: "",
}


class NewerSchemaError(Exception):
    """The database was written by a newer groq_magic (its schema version is higher)."""


def has_fts(conn: sqlite3.Connection) -> bool:
    """True when the database has the FTS5 index (this SQLite had FTS5 when it was made)."""
    row = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'exchange_fts'"
    ).fetchone()
    return row is not None


def _fts_available(conn: sqlite3.Connection) -> bool:
    try:
        conn.execute("CREATE VIRTUAL TABLE temp.fts_probe USING fts5(x)")
    except sqlite3.OperationalError:
        return False
    conn.execute("DROP TABLE temp.fts_probe")
    return True


def _is_current(conn: sqlite3.Connection) -> bool:
    """True when the tables are this version's already: a read, no write lock taken."""
    try:
        row = conn.execute("SELECT MAX(version) FROM schema_version").fetchone()
    except sqlite3.OperationalError as exc:
        if "no such table" in str(exc):
            return False
        raise
    version = row[0] if row else None
    if version is not None and version > SCHEMA_VERSION:
        raise NewerSchemaError(version)
    return version == SCHEMA_VERSION


def ensure_schema(conn: sqlite3.Connection, *, now: float) -> None:
    """Create or migrate the tables in one write transaction (safe with two processes).

    A file whose tables are current is only read: opening it needs no write lock, so a
    kernel can open (and read) a store another process holds locked, or a read-only one.
    """
    if _is_current(conn):
        return
    # Only takes effect on a database with no tables yet; lets cache_clear give space back.
    conn.execute("PRAGMA auto_vacuum = INCREMENTAL")
    conn.execute("BEGIN IMMEDIATE")
    try:
        for statement in _statements(_TABLES):
            conn.execute(statement)
        row = conn.execute("SELECT MAX(version) FROM schema_version").fetchone()
        version = row[0] if row and row[0] is not None else None
        if version is None:
            if _fts_available(conn):
                for statement in _statements(_FTS):
                    conn.execute(statement)
            conn.execute("INSERT INTO schema_version VALUES (?, ?)", (SCHEMA_VERSION, now))
        elif version > SCHEMA_VERSION:
            raise NewerSchemaError(version)
        else:
            while version < SCHEMA_VERSION:
                for statement in _statements(MIGRATIONS[version]):
                    conn.execute(statement)
                version += 1
                conn.execute("INSERT INTO schema_version VALUES (?, ?)", (version, now))
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def _statements(script: str) -> list[str]:
    # executescript() would COMMIT first; splitting keeps everything in our transaction.
    # Triggers contain ';' inside BEGIN...END, so split on complete statements only.
    out: list[str] = []
    current = ""
    for line in script.strip().splitlines(keepends=True):
        current += line
        if sqlite3.complete_statement(current):
            out.append(current.strip())
            current = ""
    return out
