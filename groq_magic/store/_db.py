"""The exchange store: one SQLite file, written once when each exchange ends.

Where it lives: an explicit path, else ``$GROQ_MAGIC_STORE``, else
``exchanges.sqlite`` in the user's data folder (``platformdirs``). The value
``none`` (or ``off``) turns it off. The file opens on first use, so loading the
extension costs nothing here.

Failure policy, the reason this module exists in this shape: the store is a
record, never a reason for a chat to fail. Automatic calls (:meth:`Store.record`,
:meth:`Store.lookup`, the history edits, :meth:`Store.record_batch`) never raise:
the first failure (another process holding the lock past the busy timeout, a
read-only file or folder, a full disk, a file that is not a database) calls
``on_warning`` with one line and turns the store off for the rest of the
session; exchanges that could not be written stay in :attr:`Store.unsaved`.
Commands a user asked for (``log``, ``cache_info``, ``usage_summary``...)
raise one :class:`StoreError` line instead, and turn the store off the same way.

Concurrency: WAL journal (readers never wait for the writer), a busy timeout
for writers, and one short ``BEGIN IMMEDIATE`` transaction per exchange, so two
kernels writing the same file queue for a fraction of a millisecond each. The
WAL is copied into the file by a background thread once writing pauses for a
second (SQLite's own checkpoint would fsync inside some cell's commit, 5-25 ms;
it is kept only as a backstop for long runs of writes).
"""

from __future__ import annotations

import os
import sqlite3
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from groq_magic._text import one_line
from groq_magic.store._cache import cache_key, url_host
from groq_magic.store._errors import StoreError
from groq_magic.store._exchange import Exchange, dumps
from groq_magic.store._queries import log_rows, notebook_filter, restore_steps, usage_rows
from groq_magic.store._rows import (
    INSERT_DATA,
    INSERT_EXCHANGE,
    SELECT_FULL,
    CleanMemo,
    exchange_from_row,
    exchange_rows,
    loads,
    when,
)
from groq_magic.store._schema import NewerSchemaError, ensure_schema, has_fts
from groq_magic.store.prices import PriceTable, load_prices

__all__ = [
    "DEFAULT_FILENAME",
    "ENV_VAR",
    "CacheInfo",
    "Store",
    "check_path",
    "default_path",
    "open_store",
    "resolve_path",
]

ENV_VAR = "GROQ_MAGIC_STORE"
"""Environment variable naming the store file; ``none`` turns the store off."""

DEFAULT_FILENAME = "exchanges.sqlite"
OFF_VALUES = frozenset({"none", "off"})
MAX_UNSAVED = 1000
CHECKPOINT_IDLE = 1.0
"""Seconds without a write before the WAL is checkpointed in the background."""
BACKSTOP_PAGES = 4000
WAL_SIZE_LIMIT = 16 * 1024 * 1024

Warn = Callable[[str], None]


def _stderr(line: str) -> None:
    print(line, file=sys.stderr)


def default_path() -> Path:
    """``exchanges.sqlite`` in ``platformdirs.user_data_dir("groq_magic")``."""
    import platformdirs

    return Path(platformdirs.user_data_dir("groq_magic")) / DEFAULT_FILENAME


def resolve_path(path: str | os.PathLike[str] | None = None) -> Path | None:
    """The store file to use: ``path``, else ``$GROQ_MAGIC_STORE``, else :func:`default_path`.

    None means the store is off (``none`` or ``off``, given either way).
    """
    value: str | os.PathLike[str] | None = path
    if value is None:
        value = os.environ.get(ENV_VAR) or None
    if value is None:
        return default_path()
    if str(value).strip().lower() in OFF_VALUES:
        return None
    return Path(value).expanduser()


def check_path(path: str | os.PathLike[str] | None) -> Path | None:
    """The store file ``path`` names (None: off), or one StoreError line if it cannot be one.

    For a setting a user just typed (``%config GroqMagics.store``): a folder, or a
    file or folder that cannot be written, is refused now rather than at the first cell.
    Nothing is created.
    """
    target = resolve_path(path)
    if target is None:
        return None
    if target.is_dir():
        raise StoreError(
            f"the store path {target} is a folder: give a file, e.g. {target / DEFAULT_FILENAME}"
        )
    if target.exists():
        if not os.access(target, os.R_OK | os.W_OK):
            raise StoreError(f"the store file {target} cannot be written (check its permissions)")
        return target
    folder = target.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir():
        raise StoreError(f"cannot create the store file {target}: {folder} is not a folder")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise StoreError(f"cannot create the store file {target}: {folder} is not writable")
    return target


def open_store(
    path: str | os.PathLike[str] | None = None,
    *,
    on_warning: Warn | None = None,
    prices: PriceTable | Mapping[str, Any] | str | os.PathLike[str] | None = None,
    busy_timeout: float = 5.0,
) -> Store:
    """The kernel's store (see :func:`resolve_path`); an off store when it is turned off.

    Never raises for the file itself: problems surface on first use, as one
    ``on_warning`` line (default: stderr). A bad ``prices`` override raises
    :class:`~groq_magic.store.PriceFileError` now, since the user just gave it.
    """
    table = prices if isinstance(prices, PriceTable) else load_prices(prices)
    target = resolve_path(path)
    if target is None:
        return Store.off(f"{ENV_VAR}=none", on_warning=on_warning, prices=table)
    return Store(target, on_warning=on_warning, prices=table, busy_timeout=busy_timeout)


@dataclass(frozen=True)
class CacheInfo:
    """What ``%groq cache`` shows: how much is stored, where, and how old."""

    path: Path
    entries: int
    exchanges: int
    size_bytes: int
    oldest: datetime | None
    newest: datetime | None

    def as_rows(self) -> list[dict[str, Any]]:
        """One ``{"what", "value"}`` row per figure, for a table."""

        def when(moment: datetime | None) -> str:
            return "" if moment is None else moment.astimezone().strftime("%Y-%m-%d %H:%M")

        return [
            {"what": "file", "value": str(self.path)},
            {"what": "cached answers", "value": self.entries},
            {"what": "exchanges", "value": self.exchanges},
            {"what": "size on disk", "value": f"{self.size_bytes / 1e6:.1f} MB"},
            {"what": "oldest", "value": when(self.oldest)},
            {"what": "newest", "value": when(self.newest)},
        ]


class _Unusable(StoreError):
    """The store's file or folder cannot be used (as opposed to a user's bad argument)."""


def _describe(exc: BaseException, path: Path, timeout: float) -> str:
    """One line saying what went wrong with the file, in the user's terms."""
    if isinstance(exc, StoreError):
        return str(exc)
    if isinstance(exc, NewerSchemaError):
        return (
            f"{path} was written by a newer groq_magic (schema {exc.args[0]}): upgrade, "
            f"or set {ENV_VAR} to another file"
        )
    message = one_line(exc)
    low = message.lower()
    if "not a database" in low or "malformed" in low or "corrupt" in low:
        return (
            f"{path} is not a usable SQLite database ({message}): move it away, "
            f"or set {ENV_VAR} to another file"
        )
    if "readonly" in low or "read-only" in low:
        return f"{path} is read-only ({message})"
    if "locked" in low or "busy" in low:
        return f"{path} stayed locked by another process for over {timeout:g} s"
    if "full" in low:
        return f"the disk holding {path} is full ({message})"
    if "unable to open" in low:
        return f"cannot open {path} ({message}): is its folder writable?"
    return f"{path}: {message}"


class Store:
    """A kernel's handle on the exchange store (see the module docstring for the policy).

    Thread-safe within a process; several processes may share the file.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        on_warning: Warn | None = None,
        prices: PriceTable | None = None,
        busy_timeout: float = 5.0,
        session: str | None = None,
    ) -> None:
        self.path = Path(path).expanduser()
        self.prices = prices if prices is not None else load_prices()
        self.session = session or uuid.uuid4().hex[:12]
        self.unsaved: list[Exchange] = []
        self._warn: Warn = on_warning or _stderr
        self._timeout = busy_timeout
        self._conn: sqlite3.Connection | None = None
        self._fts = False
        self._reason: str | None = None
        self._lock = threading.RLock()
        self._memo = CleanMemo()
        self._last_write = 0.0
        self._dirty = threading.Event()
        self._checkpointer: threading.Thread | None = None
        self._stopping = threading.Event()

    @classmethod
    def off(
        cls, reason: str, *, on_warning: Warn | None = None, prices: PriceTable | None = None
    ) -> Store:
        """A store that records nothing; commands say ``reason`` in their one line."""
        store = cls(os.devnull, on_warning=on_warning, prices=prices)
        store._reason = f"the exchange store is off ({reason})"
        return store

    def __repr__(self) -> str:
        state = "on" if self.enabled else f"off: {self._reason}"
        return f"<Store {str(self.path)!r} {state}>"

    # ---- state ------------------------------------------------------------------------

    @property
    def enabled(self) -> bool:
        """False once the store is off (turned off, or after its first failure)."""
        return self._reason is None

    @property
    def reason(self) -> str | None:
        """Why the store is off, or None while it is on."""
        return self._reason

    def _connection(self) -> sqlite3.Connection:
        if self._reason is not None:
            raise StoreError(self._reason)
        if self._conn is None:
            self._conn = self._open()
        return self._conn

    def _open(self) -> sqlite3.Connection:
        path = self.path
        if path.is_dir():
            raise _Unusable(
                f"the store path {path} is a folder: give a file, e.g. {path / DEFAULT_FILENAME}"
            )
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise _Unusable(
                f"cannot create the store's folder {path.parent}: {exc.strerror or exc}"
            ) from None
        conn = sqlite3.connect(
            str(path), timeout=self._timeout, isolation_level=None, check_same_thread=False
        )
        try:
            conn.row_factory = sqlite3.Row
            conn.execute(f"PRAGMA busy_timeout = {int(self._timeout * 1000)}")
            conn.execute("PRAGMA journal_mode = WAL")
            # WAL + NORMAL: a commit does not wait for fsync; a power cut can lose the
            # last exchanges but never corrupts the file. Right for a record of chats.
            conn.execute("PRAGMA synchronous = NORMAL")
            # SQLite's own checkpoint runs inside the commit that crosses its threshold and
            # fsyncs there: 5-25 ms on that cell, every few dozen exchanges. It stays only
            # as a backstop for long runs of writes; a quiet moment does it instead.
            conn.execute(f"PRAGMA wal_autocheckpoint = {BACKSTOP_PAGES}")
            conn.execute(f"PRAGMA journal_size_limit = {WAL_SIZE_LIMIT}")
            ensure_schema(conn, now=time.time())
            self._fts = has_fts(conn)
        except BaseException:
            conn.close()
            raise
        return conn

    def open(self) -> Store:
        """Open the file now (it otherwise opens on first use); one StoreError line if it cannot."""
        with self._explicit():
            self._connection()
        return self

    def close(self) -> None:
        """Close the file; the store reopens it if used again."""
        with self._lock:
            self._stop_checkpointer()
            if self._conn is not None:
                self._conn.close()  # the last connection to close checkpoints the WAL itself
                self._conn = None

    def _stop_checkpointer(self) -> None:
        thread, self._checkpointer = self._checkpointer, None
        if thread is not None:
            self._stopping.set()
            self._dirty.set()
            thread.join(timeout=self._timeout)
            self._stopping.clear()

    def _turn_off(self, exc: BaseException) -> str:
        line = _describe(exc, self.path, self._timeout)
        first = self._reason is None
        self._reason = f"the exchange store is off for this session: {line}"
        if self._conn is not None:
            try:
                self._conn.close()
            except sqlite3.Error:
                pass
            self._conn = None
        if first:
            self._warn(f"groq_magic: {line}; exchanges are no longer saved in this session")
        return line

    @contextmanager
    def _explicit(self) -> Iterator[None]:
        """For commands a user asked for: any failure is one StoreError line."""
        with self._lock:
            if self._reason is not None:
                raise StoreError(self._reason)
            try:
                yield
            except _Unusable as exc:
                self._turn_off(exc)
                raise
            except (sqlite3.Error, NewerSchemaError, OSError) as exc:
                line = self._turn_off(exc)
                raise StoreError(line) from None

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        conn = self._connection()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                try:
                    conn.execute("ROLLBACK")
                except sqlite3.Error:
                    pass
            raise

    # ---- writing ------------------------------------------------------------------------

    def record(self, exchange: Exchange) -> int | None:
        """Write ``exchange``; its new id, or None when the store is (or just turned) off.

        Never raises: a failure is one ``on_warning`` line, and the exchange is
        kept in :attr:`unsaved`.
        """
        with self._lock:  # the memo in exchange_rows is not thread-safe on its own
            if self._reason is not None:
                self._keep(exchange)
                return None
            try:
                exchange_row, data_row = exchange_rows(exchange, self.session, self._memo)
            except (TypeError, ValueError, RecursionError) as exc:
                self._warn(f"groq_magic: an exchange could not be saved ({one_line(exc, 200)})")
                self._keep(exchange)
                return None
            try:
                with self._write() as conn:
                    rowid = conn.execute(INSERT_EXCHANGE, exchange_row).lastrowid
                    conn.execute(INSERT_DATA, (rowid, *data_row))
            except (sqlite3.Error, StoreError, NewerSchemaError, OSError) as exc:
                self._turn_off(exc)
                self._keep(exchange)
                return None
        exchange.id = rowid
        self._checkpoint_soon()
        return rowid

    def _checkpoint_soon(self) -> None:
        self._last_write = time.monotonic()
        if self._checkpointer is None:
            self._checkpointer = threading.Thread(
                target=self._checkpoint_when_idle, name="groq-store-checkpoint", daemon=True
            )
            self._checkpointer.start()
        self._dirty.set()

    def _checkpoint_when_idle(self) -> None:
        # Waits for a pause in the writing (a kernel between cells), then copies the WAL
        # into the file with its own connection. PASSIVE takes no write lock, so a cell
        # that starts meanwhile (here or in another kernel) is not held up.
        while self._reason is None:
            self._dirty.wait()
            idle = time.monotonic() - self._last_write
            if self._stopping.wait(max(CHECKPOINT_IDLE - idle, 0)):
                return
            if time.monotonic() - self._last_write < CHECKPOINT_IDLE:
                continue
            self._dirty.clear()
            try:
                # mode=rw: never create the file again if it was moved away meanwhile.
                uri = f"{self.path.resolve().as_uri()}?mode=rw"
                conn = sqlite3.connect(uri, uri=True, timeout=self._timeout)
                try:
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                finally:
                    conn.close()
            except sqlite3.Error:
                pass  # nothing is lost: the next pause, or SQLite's backstop, catches up

    def _keep(self, exchange: Exchange) -> None:
        self.unsaved.append(exchange)
        del self.unsaved[:-MAX_UNSAVED]

    def _quiet_write(self, sql: str, params: tuple[Any, ...]) -> bool:
        if self._reason is not None:
            return False
        with self._lock:
            try:
                with self._write() as conn:
                    conn.execute(sql, params)
            except (sqlite3.Error, StoreError, NewerSchemaError, OSError) as exc:
                self._turn_off(exc)
                return False
        return True

    def record_undo(self, chat: str, turn_id: str, *, notebook: str | None = None) -> bool:
        """Note that ``%groq undo`` removed turn ``turn_id`` from ``chat`` (never raises)."""
        return self._quiet_write(
            "INSERT INTO history_edits (created, chat, notebook, kind, turn_id)"
            " VALUES (?, ?, ?, 'undo', ?)",
            (time.time(), chat, notebook, turn_id),
        )

    def record_keep(self, chat: str, turn_id: str, *, replaces: str | None = None) -> bool:
        """Note that turn ``turn_id``, stored when it ran outside history (a panel run),
        entered ``chat`` now, replacing ``replaces`` (never raises).

        Its row moves to now in the restore timeline, where the live chat put it.
        """
        return self._quiet_write(
            "UPDATE exchanges SET in_history = 1, chat = ?, replaces = ?, created = ?"
            " WHERE turn_id = ?",
            (chat, replaces, time.time(), turn_id),
        )

    def record_reset(self, chat: str, *, notebook: str | None = None) -> bool:
        """Note that ``chat`` was reset (or dropped): a restore starts after this (never raises)."""
        return self._quiet_write(
            "INSERT INTO history_edits (created, chat, notebook, kind) VALUES (?, ?, ?, 'reset')",
            (time.time(), chat, notebook),
        )

    def record_batch(self, job_id: str, base_url: str | None, metadata: Mapping[str, Any]) -> bool:
        """Remember a Batch API job (a second call with the same id updates it; never raises)."""
        return self._quiet_write(
            "INSERT INTO batches (job_id, created, host, metadata) VALUES (?, ?, ?, ?)"
            " ON CONFLICT(job_id) DO UPDATE SET host = excluded.host,"
            " metadata = excluded.metadata",
            (job_id, time.time(), url_host(base_url), dumps(dict(metadata))),
        )

    # ---- the replay cache -----------------------------------------------------------------

    def lookup(self, key: str) -> Exchange | None:
        """The newest complete exchange stored under ``key`` (see :func:`cache_key`), or None.

        Failed, interrupted and incomplete answers are never returned. Never raises.
        """
        if self._reason is not None:
            return None
        with self._lock:
            try:
                row = (
                    self._connection()
                    .execute(
                        f"{SELECT_FULL} WHERE e.cache_key = ? AND e.status = 'complete'"
                        " ORDER BY e.id DESC LIMIT 1",
                        (key,),
                    )
                    .fetchone()
                )
            except (sqlite3.Error, StoreError, NewerSchemaError, OSError) as exc:
                self._turn_off(exc)
                return None
        return None if row is None else exchange_from_row(row)

    def replay(self, request_body: Mapping[str, Any], base_url: str) -> Exchange | None:
        """:meth:`lookup` for the key of ``request_body`` sent to ``base_url``."""
        return self.lookup(cache_key(request_body, base_url))

    def cache_info(self) -> CacheInfo:
        """How many answers could be replayed, the file's size, the oldest and newest exchange."""
        with self._explicit():
            conn = self._connection()
            entries = conn.execute(
                "SELECT COUNT(*) FROM exchanges WHERE status = 'complete' AND cache_key IS NOT NULL"
            ).fetchone()[0]
            total, oldest, newest = conn.execute(
                "SELECT COUNT(*), MIN(created), MAX(created) FROM exchanges"
            ).fetchone()
        size = sum(
            p.stat().st_size
            for p in (self.path, Path(f"{self.path}-wal"), Path(f"{self.path}-shm"))
            if p.exists()
        )
        return CacheInfo(self.path, entries, total, size, when(oldest), when(newest))

    def cache_clear(self, older_than: timedelta | None = None) -> int:
        """Delete stored exchanges (all, or those older than ``older_than``); how many went.

        The log and the replay cache are the same records, so this forgets both;
        Batch jobs are kept. The space goes back to the disk.
        """
        cutoff = time.time() - older_than.total_seconds() if older_than is not None else None
        where, params = ("WHERE created < ?", (cutoff,)) if cutoff is not None else ("", ())
        with self._explicit():
            with self._write() as conn:
                conn.execute(
                    f"DELETE FROM exchange_data WHERE id IN (SELECT id FROM exchanges {where})",
                    params,
                )
                gone = conn.execute(f"DELETE FROM exchanges {where}", params).rowcount
                conn.execute(f"DELETE FROM history_edits {where}", params)
            conn = self._connection()
            conn.execute("PRAGMA incremental_vacuum").fetchall()
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return int(gone)

    # ---- reading --------------------------------------------------------------------------

    def chats(self, notebook: str | None = None) -> list[str]:
        """The chat names that have stored exchanges, sorted (of one notebook when named;
        ``NO_NOTEBOOK``: those whose notebook was not known)."""
        clause, params = notebook_filter(notebook)
        where = f" WHERE {clause}" if clause else ""
        with self._explicit():
            rows = (
                self._connection()
                .execute(f"SELECT DISTINCT chat FROM exchanges{where}", params)
                .fetchall()
            )
        return sorted(r[0] for r in rows)

    def log(
        self, limit: int = 20, chat: str | None = None, search: str | None = None
    ) -> list[dict[str, Any]]:
        """Past exchanges, newest first: ``id, time, chat, model, prompt, status, tokens, cost``.

        ``chat`` keeps one chat; ``search`` keeps exchanges whose prompt or answer
        has every word of it (as word prefixes, with FTS5; as one substring without).
        ``cost`` is None where the model's price is unknown.
        """
        with self._explicit():
            return log_rows(
                self._connection(),
                fts=self._fts,
                limit=limit,
                chat=chat,
                search=search,
                prices=self.prices,
            )

    def get(self, exchange_id: int) -> Exchange:
        """One stored exchange by id (as ``log`` lists it); one StoreError line if there is none."""
        with self._explicit():
            row = self._connection().execute(f"{SELECT_FULL} WHERE e.id = ?", (exchange_id,))
            found = row.fetchone()
        if found is None:
            raise StoreError(f"no stored exchange with id {exchange_id}")
        return exchange_from_row(found)

    def turns_for_restore(
        self, chat: str | None = None, notebook: str | None = None
    ) -> dict[str, list[dict[str, Any]]]:
        """Per chat, the steps that rebuild it, oldest first (since its last reset).

        Each step is a turn (``kind="turn"``: ``turn_id, replaces, cell_id, prompt,
        user_message, answer, model, options, usage, timings, finish_reason, status,
        created, messages, system, reasoning, tool_calls``) or an undo
        (``kind="undo"``, ``turn_id``). Only turns that entered their conversation
        are listed; re-runs of a cell appear as separate turns, and
        :func:`conversations_from_turns` replaces them as the live conversation did.
        ``notebook`` keeps one notebook's exchanges (``NO_NOTEBOOK``: those stored
        without one). An unknown chat is one StoreError line.
        """
        with self._explicit():
            return restore_steps(self._connection(), chat=chat, notebook=notebook)

    def usage_summary(self, today: bool = False, chat: str | None = None) -> list[dict[str, Any]]:
        """Tokens and cost per model: ``model, exchanges, prompt_tokens, completion_tokens,
        cached_tokens, total_tokens, cost``.

        ``today`` keeps exchanges since local midnight. ``cost`` is None when the
        model's price is unknown (never 0); exchanges without token counts (failed
        requests) add nothing to it.
        """
        with self._explicit():
            return usage_rows(self._connection(), today=today, chat=chat, prices=self.prices)

    def recent_batches(self, n: int = 10) -> list[dict[str, Any]]:
        """The ``n`` newest Batch jobs: ``job_id, created, host, metadata``."""
        with self._explicit():
            rows = (
                self._connection()
                .execute(
                    "SELECT job_id, created, host, metadata FROM batches"
                    " ORDER BY created DESC, rowid DESC LIMIT ?",
                    (max(int(n), 0),),
                )
                .fetchall()
            )
        return [
            {
                "job_id": r["job_id"],
                "created": when(r["created"]),
                "host": r["host"],
                "metadata": loads(r["metadata"]) or {},
            }
            for r in rows
        ]
