"""The exchange store: one SQLite file, written once when each exchange ends.

Where it lives: an explicit path, else ``$GROQ_MAGIC_STORE``, else
``exchanges.sqlite`` in the user's data folder (``platformdirs``). The value
``none`` (or ``off``) turns it off. The file opens on first use, so loading the
extension costs nothing here.

Failure policy, the reason this module exists in this shape: the store is a
record, never a reason for a chat to fail, and it loses nothing without saying so.
Automatic calls (:meth:`Store.record`, :meth:`Store.lookup`, the history edits,
:meth:`Store.record_batch`) never raise. What goes wrong is one ``on_warning``
line, of one of three kinds (``_faults``):

- a fault that passes (another process holding the lock past the busy timeout, a
  full disk, a read-only file, an I/O error): the writes wait in memory, in order
  (``_backlog``: at most 1000, the oldest dropped past that, said in one line), and
  are made at the next write, the next store command, :meth:`Store.close` and at
  exit; a line says when they are saved. ``%groq cache info`` counts what waits;
- the file deleted, renamed away or replaced while the kernel runs: noticed before
  the next use (the path's ``(st_dev, st_ino)`` against the open file's, one
  ``stat``); this session's exchanges and edits are read back from the open file
  (``_carry``) and written, with the rest, to the file now at the path (made anew,
  schema and all, when there is none);
- a fault that lasts (not a database, a newer schema, a folder, a folder that cannot
  be made): the store turns off for the session.

Commands a user asked for (``log``, ``cache_info``, ``usage_summary``...) first make
what waits, then raise one :class:`StoreError` line if they cannot be done (and turn
the store off the same way for a lasting fault).

Concurrency: WAL journal (readers never wait for the writer), a busy timeout
for writers, and one short ``BEGIN IMMEDIATE`` transaction per exchange, so two
kernels writing the same file queue for a fraction of a millisecond each. While
writes wait for a lock, each new attempt waits :data:`RETRY_WAIT` only, so a cell is
not held up for the whole busy timeout again. The WAL is copied into the file by a
background thread once writing pauses for a second (SQLite's own checkpoint would
fsync inside some cell's commit, 5-25 ms; it is kept only as a backstop for long
runs of writes).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from groq_magic._text import one_line
from groq_magic.store import _backlog
from groq_magic.store._backlog import Backlog, CarriedExchange, Edit, Waiting
from groq_magic.store._cache import cache_key, url_host
from groq_magic.store._carry import INSERT_BATCH, INSERT_EDIT, carried_writes
from groq_magic.store._errors import StoreError
from groq_magic.store._exchange import Exchange, dumps
from groq_magic.store._faults import (
    ENV_VAR,
    FAULTS,
    FileId,
    describe,
    file_identity,
    is_lock,
    is_passing,
    match_companions,
)
from groq_magic.store._queries import log_rows, notebook_filter, restore_steps, usage_rows
from groq_magic.store._rows import (
    SELECT_FULL,
    CleanMemo,
    exchange_from_row,
    exchange_rows,
    insert_exchange,
    loads,
    when,
)
from groq_magic.store._runs import insert_run, list_runs, read_run
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

DEFAULT_FILENAME = "exchanges.sqlite"
OFF_VALUES = frozenset({"none", "off"})
MAX_UNSAVED = _backlog.LIMIT
"""Writes kept in memory while the file cannot be written (see ``_backlog``)."""
RETRY_WAIT = 0.05
"""Seconds a write waits for the lock while earlier writes already wait for it."""
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
    """What ``%groq cache`` shows: how much is stored, where, how old, and what waits.

    ``entries`` and ``exchanges`` are None when the file could not be read just now
    (``unreadable`` says why). ``waiting`` writes could not be made yet (``waiting_why``
    says why); ``dropped`` were dropped past the bound on what waits.
    """

    path: Path
    entries: int | None
    exchanges: int | None
    size_bytes: int
    oldest: datetime | None
    newest: datetime | None
    waiting: int = 0
    waiting_why: str | None = None
    dropped: int = 0
    unreadable: str | None = None

    def as_rows(self) -> list[dict[str, Any]]:
        """One ``{"what", "value"}`` row per figure, for a table."""

        def when(moment: datetime | None) -> str:
            return "" if moment is None else moment.astimezone().strftime("%Y-%m-%d %H:%M")

        def count(value: int | None) -> int | str:
            return "unknown" if value is None else value

        waiting: int | str = self.waiting
        if self.waiting_why:
            waiting = f"{self.waiting}: {self.waiting_why}"
        if self.dropped:
            waiting = f"{waiting} ({self.dropped} more were dropped, past {MAX_UNSAVED})"
        rows: list[dict[str, Any]] = [
            {"what": "file", "value": str(self.path)},
            {"what": "cached answers", "value": count(self.entries)},
            {"what": "exchanges", "value": count(self.exchanges)},
            {"what": "waiting to be written", "value": waiting},
            {"what": "size on disk", "value": f"{self.size_bytes / 1e6:.1f} MB"},
            {"what": "oldest", "value": when(self.oldest)},
            {"what": "newest", "value": when(self.newest)},
        ]
        if self.unreadable:
            rows.insert(1, {"what": "cannot read it now", "value": self.unreadable})
        return rows


class _Unusable(StoreError):
    """The store's file or folder cannot be used (as opposed to a user's bad argument)."""


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
        self._warn: Warn = on_warning or _stderr
        self._timeout = busy_timeout
        self._conn: sqlite3.Connection | None = None
        self._conn_wait = busy_timeout
        self._fts = False
        self._reason: str | None = None
        self._lock = threading.RLock()
        self._memo = CleanMemo()
        self._last_write = 0.0
        self._dirty = threading.Event()
        self._checkpointer: threading.Thread | None = None
        self._stopping = threading.Event()
        # What the writes wait for, and what they are; see _backlog.
        self._backlog = Backlog(MAX_UNSAVED)
        self._fault: str | None = None
        self._dropping = False
        self._dropped_before = 0
        # Which file is open, and what this session wrote to it (carried to a new file
        # if this one is deleted or replaced: see _carry).
        self._path_text = str(self.path)
        self._identity: FileId | None = None
        self._moved: str | None = None
        self._edit_ids: list[int] = []
        self._batch_ids: list[str] = []
        self._pid = os.getpid()  # a forked child must not make its parent's writes at exit

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
        """False once the store is off (turned off, or after a fault that lasts)."""
        return self._reason is None

    @property
    def reason(self) -> str | None:
        """Why the store is off, or None while it is on."""
        return self._reason

    @property
    def unsaved(self) -> list[Exchange]:
        """Exchanges not written yet (waiting for the file, or lost when it turned off)."""
        return self._backlog.exchanges()

    @property
    def waiting(self) -> int:
        """How many writes (exchanges and history edits) wait for the file."""
        return len(self._backlog)

    def _connection(self, wait: float | None = None) -> sqlite3.Connection:
        """The open connection (opened now if need be), its busy timeout ``wait`` seconds.

        A file at the path that is not the open one (deleted, renamed away, replaced)
        is noticed here, one ``stat``: see :meth:`_leave_moved_file`.
        """
        if self._reason is not None:
            raise StoreError(self._reason)
        wanted = self._timeout if wait is None else wait
        if self._conn is not None and file_identity(self._path_text) != self._identity:
            self._leave_moved_file()
        if self._conn is None:
            self._conn = self._open(wanted)
            self._conn_wait = wanted
            if self._moved is not None:
                line, self._moved = self._moved, None
                self._warn(line)
        elif wanted != self._conn_wait:
            self._conn.execute(f"PRAGMA busy_timeout = {int(wanted * 1000)}")
            self._conn_wait = wanted
        return self._conn

    def _open(self, wait: float) -> sqlite3.Connection:
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
        if self._fault is not None:
            match_companions(self._path_text)  # a read-only file made writable again
        conn = sqlite3.connect(
            str(path), timeout=wait, isolation_level=None, check_same_thread=False
        )
        try:
            conn.row_factory = sqlite3.Row
            conn.execute(f"PRAGMA busy_timeout = {int(wait * 1000)}")
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
        self._identity = file_identity(self._path_text)
        return conn

    def _leave_moved_file(self) -> None:
        """The path names another file than the open one, or none: read back what this
        session wrote to the open one (to write it again first), and close it."""
        old, self._conn = self._conn, None
        assert old is not None
        gone = file_identity(self._path_text) is None
        lost = ""
        try:
            carried = carried_writes(old, self.session, self._edit_ids, self._batch_ids)
        except sqlite3.Error as exc:
            carried = []
            lost = f" (this session's earlier ones could not be read back: {one_line(exc, 100)})"
        with contextlib.suppress(sqlite3.Error):
            # A file renamed away keeps everything it holds: its WAL goes into it now.
            old.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
        with contextlib.suppress(sqlite3.Error):
            old.close()
        if gone:
            # The old file's WAL and shared memory, left behind by name: a new file must
            # not meet them (another kernel still using them keeps its own open copies).
            for suffix in ("-wal", "-shm"):
                with contextlib.suppress(OSError):
                    os.remove(self._path_text + suffix)
        self._edit_ids, self._batch_ids = [], []
        self._backlog.carry(carried)
        count = sum(isinstance(item, CarriedExchange) for item in carried)
        again = f", this session's {count} earlier ones again" if count else ""
        what = "deleted or moved away" if gone else "replaced by another file"
        where = "a new one is made there" if gone else "the file now there is used"
        self._moved = (
            f"groq_magic: the store file {self.path} was {what} while this kernel ran;"
            f" {where}, and exchanges are saved to it{again}{lost}"
        )

    def open(self) -> Store:
        """Open the file now (it otherwise opens on first use); one StoreError line if it cannot."""
        with self._explicit():
            self._connection()
        return self

    def close(self) -> None:
        """Make what waits (waiting up to the busy timeout), then close the file; the store
        reopens it if used again. Writes that still cannot be made wait for the exit."""
        with self._lock:
            if self._reason is None and self._backlog:
                self._flush(quick=False)
            self._stop_checkpointer()
            self._close_connection()

    def flush_at_exit(self) -> None:
        """At interpreter exit: make what waits, or say in one line what is lost."""
        if os.getpid() != self._pid:
            return
        if not self._lock.acquire(timeout=self._timeout + 1):
            return  # another thread is inside the store at exit: leave it be
        try:
            if self._reason is None and self._backlog:
                self._flush(quick=False)
            if self._backlog:
                with contextlib.suppress(Exception):
                    self._warn(
                        f"groq_magic: {self._backlog.summary()} could not be written to"
                        f" {self.path} before exit ({self._fault or self._reason}): they are lost"
                    )
        finally:
            self._lock.release()

    def _close_connection(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(sqlite3.Error):
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
        line = describe(exc, self.path, self._timeout)
        first = self._reason is None
        self._reason = f"the exchange store is off for this session: {line}"
        self._close_connection()
        _backlog.release(self)
        if first:
            waited = self._fault is not None and self._backlog
            lost = f" (not saved either: {self._backlog.summary()} that waited)" if waited else ""
            self._warn(f"groq_magic: {line}; exchanges are no longer saved in this session{lost}")
        return line

    def _struck(self, exc: BaseException) -> None:
        """A write failed: writes wait for a fault that passes; one that lasts turns it off."""
        if not is_passing(exc):
            self._turn_off(exc)
            return
        if not is_lock(exc):
            self._close_connection()  # e.g. opened read-only: the next attempt opens it again
        first = self._fault is None
        self._fault = describe(exc, self.path, self._timeout)
        _backlog.hold(self)
        if first:
            self._dropped_before = self._backlog.dropped
            self._warn(
                f"groq_magic: {self._fault}; exchanges wait in memory and are written once it"
                " can be written again (%groq cache info counts them)"
            )

    @contextmanager
    def _explicit(self) -> Iterator[None]:
        """For commands a user asked for: what waits is made first; any failure is one
        StoreError line (the store turns off only for a fault that lasts)."""
        with self._lock:
            if self._reason is not None:
                raise StoreError(self._reason)
            try:
                self._catch_up()
                yield
            except _Unusable as exc:
                self._turn_off(exc)
                raise
            except (sqlite3.Error, NewerSchemaError, OSError) as exc:
                if self._reason is None and is_passing(exc):
                    if not is_lock(exc):
                        self._close_connection()
                    raise StoreError(describe(exc, self.path, self._timeout)) from None
                raise StoreError(self._turn_off(exc)) from None

    def _catch_up(self) -> None:
        """Notice a moved file, and make what waits, before a command reads the store."""
        if self._conn is not None and not self._backlog:
            self._connection()  # a moved file's writes are carried, to be made just below
        if self._backlog:
            self._flush(quick=True)
        if self._reason is not None:
            raise StoreError(self._reason)

    @contextmanager
    def _transaction(self, conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
            raise

    # ---- writing ------------------------------------------------------------------------

    def record(self, exchange: Exchange) -> int | None:
        """Write ``exchange``; its new id, or None when it was not written now.

        Never raises. When the file cannot take it, it waits (in :attr:`unsaved`) and
        is written with the next write that can be; when the store is off, it is not
        kept (the line that turned it off said so).
        """
        exchange.id = None
        return exchange.id if self._submit(exchange) else None

    def _submit(self, item: Waiting) -> bool:
        """Write ``item`` after whatever waits; True when nothing waits any more."""
        with self._lock:  # the memo in exchange_rows is not thread-safe on its own
            if self._reason is not None:
                return False
            if self._backlog.add(item) and not self._dropping:
                self._dropping = True
                self._warn(
                    f"groq_magic: {MAX_UNSAVED} writes wait for {self.path}; from now on the"
                    " oldest is dropped for each new one (%groq cache info counts them)"
                )
            return self._flush(quick=self._fault is not None)

    def _flush(self, *, quick: bool) -> bool:
        """Make the waiting writes, oldest first, one short transaction each.

        Stops at the first that fails (see :meth:`_struck`); True when none is left.
        ``quick``: wait :data:`RETRY_WAIT` for the lock, not the whole busy timeout.
        """
        wait = RETRY_WAIT if quick else self._timeout
        what = self._backlog.summary() if self._fault is not None else ""
        wrote = False
        while self._backlog:
            try:
                conn = self._connection(wait)  # may put a moved file's writes first
            except FAULTS as exc:
                self._struck(exc)
                return False
            item = self._backlog.first()
            try:
                rows = (
                    exchange_rows(item, self.session, self._memo)
                    if isinstance(item, Exchange)
                    else None
                )
            except (TypeError, ValueError, RecursionError) as exc:
                self._warn(f"groq_magic: an exchange could not be saved ({one_line(exc, 200)})")
                self._backlog.done()
                continue
            try:
                with self._transaction(conn):
                    rowid = self._make(conn, item, rows)
            except FAULTS as exc:
                self._struck(exc)
                return False
            if isinstance(item, Exchange):
                item.id = rowid
            self._backlog.done()
            wrote = True
        if self._fault is not None:
            lost = self._backlog.dropped - self._dropped_before
            dropped = f" ({lost} dropped while it could not be)" if lost else ""
            self._warn(f"groq_magic: {self.path} can be written again: {what} saved{dropped}")
            self._fault, self._dropping = None, False
        _backlog.release(self)
        if wrote:
            self._checkpoint_soon()
        return True

    def _make(
        self, conn: sqlite3.Connection, item: Waiting, rows: tuple[Any, Any] | None
    ) -> int | None:
        """One waiting write, inside a transaction; an exchange's new id."""
        if rows is not None:
            return insert_exchange(conn, *rows)
        if isinstance(item, CarriedExchange):
            return insert_exchange(conn, item.exchange_row, item.data_row, once=True)
        assert isinstance(item, Edit)
        cursor = conn.execute(item.sql, item.params)
        if item.kind in ("undo", "reset") and cursor.rowcount and cursor.lastrowid:
            self._edit_ids.append(cursor.lastrowid)
        elif item.kind == "batch" and item.params[0] not in self._batch_ids:
            self._batch_ids.append(str(item.params[0]))
        return None

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

    def record_undo(self, chat: str, turn_id: str, *, notebook: str | None = None) -> bool:
        """Note that ``%groq undo`` removed turn ``turn_id`` from ``chat`` (never raises).

        False when it could not be written now (it waits, as an exchange does).
        """
        params = (time.time(), chat, notebook, "undo", turn_id)
        return self._submit(Edit("undo", INSERT_EDIT, params))

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

    def _quiet_write(self, sql: str, params: tuple[Any, ...]) -> bool:
        """One statement, written as every write is (waits when it must; never raises)."""
        return self._submit(Edit("write", sql, params))

    def record_reset(self, chat: str, *, notebook: str | None = None) -> bool:
        """Note that ``chat`` was reset (or dropped): a restore starts after this (never raises)."""
        params = (time.time(), chat, notebook, "reset", None)
        return self._submit(Edit("reset", INSERT_EDIT, params))

    def record_batch(self, job_id: str, base_url: str | None, metadata: Mapping[str, Any]) -> bool:
        """Remember a Batch API job (a second call with the same id updates it; never raises)."""
        params = (job_id, time.time(), url_host(base_url), dumps(dict(metadata)))
        return self._submit(Edit("batch", INSERT_BATCH, params))

    def record_run(self, run: Mapping[str, Any], rows: Iterable[Sequence[Any]]) -> int | None:
        """Write an evaluation run and its table rows (each a sequence of values) in one
        transaction, after whatever waits; its id, or None when it was not written.

        Never raises. A run does not wait in memory as an exchange does (its rows are the
        caller's, still at hand): when the file cannot take it now, one line says so and
        the run is not stored; a fault that lasts turns the store off as any write does.
        """
        with self._lock:
            if self._reason is not None or (self._backlog and not self._flush(quick=True)):
                return None
            try:
                conn = self._connection()
                with self._transaction(conn):
                    run_id = insert_run(conn, run, rows)
            except (TypeError, ValueError, RecursionError) as exc:
                self._warn(f"groq_magic: a run could not be saved ({one_line(exc, 200)})")
                return None
            except FAULTS as exc:
                if is_passing(exc):
                    line = describe(exc, self.path, self._timeout)
                    self._warn(f"groq_magic: the evaluation run was not stored: {line}")
                else:
                    self._turn_off(exc)
                return None
        self._checkpoint_soon()
        return run_id

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
            except FAULTS as exc:
                if is_passing(exc):  # a miss: the request is sent, the answer still recorded
                    if not is_lock(exc):
                        self._close_connection()
                else:
                    self._turn_off(exc)
                return None
        return None if row is None else exchange_from_row(row)

    def replay(self, request_body: Mapping[str, Any], base_url: str) -> Exchange | None:
        """:meth:`lookup` for the key of ``request_body`` sent to ``base_url``."""
        return self.lookup(cache_key(request_body, base_url))

    def cache_info(self) -> CacheInfo:
        """How many answers could be replayed, the file's size, the oldest and newest
        exchange, and how many writes wait for the file (and why).

        When the file cannot be read just now (a fault that passes), the counts are
        unknown and the rest is still given; a store that is off is one StoreError line.
        """
        entries = total = oldest = newest = None
        unreadable = None
        try:
            with self._explicit():
                conn = self._connection()
                entries = conn.execute(
                    "SELECT COUNT(*) FROM exchanges"
                    " WHERE status = 'complete' AND cache_key IS NOT NULL"
                ).fetchone()[0]
                total, oldest, newest = conn.execute(
                    "SELECT COUNT(*), MIN(created), MAX(created) FROM exchanges"
                ).fetchone()
        except StoreError as exc:
            if not self.enabled:
                raise
            unreadable = str(exc)
        size = 0
        for suffix in ("", "-wal", "-shm"):
            with contextlib.suppress(OSError):
                size += os.stat(self._path_text + suffix).st_size
        return CacheInfo(
            self.path,
            entries,
            total,
            size,
            when(oldest),
            when(newest),
            waiting=len(self._backlog),
            waiting_why=self._fault,
            dropped=self._backlog.dropped,
            unreadable=unreadable,
        )

    def cache_clear(self, older_than: timedelta | None = None) -> int:
        """Delete stored exchanges (all, or those older than ``older_than``); how many went.

        The log and the replay cache are the same records, so this forgets both;
        Batch jobs are kept. The space goes back to the disk.
        """
        cutoff = time.time() - older_than.total_seconds() if older_than is not None else None
        where, params = ("WHERE created < ?", (cutoff,)) if cutoff is not None else ("", ())
        with self._explicit():
            with self._transaction(self._connection()) as conn:
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
        cached_tokens, total_tokens, cost, saved``.

        ``today`` keeps exchanges since local midnight. ``cost`` is None when the
        model's price is unknown (never 0); exchanges without token counts (failed
        requests) add nothing to it. ``saved`` is what Groq's prompt cache saved
        (None when cached tokens of a model without a known price were among them).
        """
        with self._explicit():
            return usage_rows(self._connection(), today=today, chat=chat, prices=self.prices)

    def batch_metadata(self, job_id: str) -> dict[str, Any] | None:
        """What was kept with Batch job ``job_id`` (its rows, models, table), or None."""
        with self._explicit():
            row = (
                self._connection()
                .execute("SELECT metadata FROM batches WHERE job_id = ?", (job_id,))
                .fetchone()
            )
        if row is None:
            return None
        found = loads(row["metadata"])
        return found if isinstance(found, dict) else None

    def runs(self, limit: int = 20) -> list[dict[str, Any]]:
        """The ``limit`` newest evaluation runs: ``id, created, name, template, models, rows,
        pass_rates`` (no table rows are read)."""
        with self._explicit():
            return list_runs(self._connection(), int(limit))

    def run(self, run_id: int) -> tuple[dict[str, Any], list[list[Any]]]:
        """One evaluation run (its listing fields and ``metadata``) and its table rows;
        one StoreError line if there is none."""
        with self._explicit():
            found = read_run(self._connection(), run_id)
        if found is None:
            raise StoreError(
                f"no stored evaluation run with id {run_id} (groq_magic.runs() lists them)"
            )
        return found

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
