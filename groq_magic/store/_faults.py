"""What went wrong with the store's file, in one line, and whether it can pass.

A *passing* fault leaves the file as it was and goes away on its own or by a user's
hand: another process holding the write lock past the busy timeout, a full disk, a
read-only file (made writable again), an I/O error. Writes wait for it (see
``_backlog``). A *lasting* fault will not pass while the kernel runs: a file that is
not a database or is corrupt, a database from a newer groq_magic, a folder where the
file should be, a folder that cannot be created or opened. The store turns off.
"""

from __future__ import annotations

import errno
import os
import sqlite3
from pathlib import Path

from groq_magic._text import one_line
from groq_magic.store._errors import StoreError
from groq_magic.store._schema import NewerSchemaError

__all__ = [
    "ENV_VAR",
    "FAULTS",
    "FileId",
    "describe",
    "file_identity",
    "is_lock",
    "is_passing",
    "match_companions",
]

FAULTS = (sqlite3.Error, StoreError, NewerSchemaError, OSError)
"""What a write or read of the store file can raise (each is handled, never shown raw)."""

FileId = tuple[int, int]
"""``(st_dev, st_ino)``: which file a path names, so a file moved or replaced is noticed."""

ENV_VAR = "GROQ_MAGIC_STORE"
"""Environment variable naming the store file; ``none`` turns the store off."""

# Primary SQLite result codes (the low byte of the extended code) of faults that pass:
# SQLITE_BUSY, SQLITE_LOCKED, SQLITE_READONLY, SQLITE_IOERR, SQLITE_FULL. Numbers, as
# the sqlite3 module names them only from Python 3.11 (3.10 reads the message instead).
_PASSING_CODES = frozenset({5, 6, 8, 10, 13})
_PASSING_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS})
_PASSING_WORDS = ("locked", "busy", "readonly", "read-only", "full", "disk i/o")


def is_passing(exc: BaseException) -> bool:
    """True when ``exc`` is a fault that can pass (writes wait), False when it lasts."""
    if isinstance(exc, sqlite3.Error):
        code = getattr(exc, "sqlite_errorcode", None)
        if isinstance(code, int):
            return code & 0xFF in _PASSING_CODES
        low = str(exc).lower()
        return any(word in low for word in _PASSING_WORDS)
    if isinstance(exc, OSError) and not isinstance(exc, StoreError):
        return exc.errno in _PASSING_ERRNOS
    return False


def is_lock(exc: BaseException) -> bool:
    """True for a lock held by another connection (the open connection stays usable)."""
    if not isinstance(exc, sqlite3.Error):
        return False
    code = getattr(exc, "sqlite_errorcode", None)
    if isinstance(code, int):
        return code & 0xFF in (5, 6)
    return "locked" in str(exc).lower()


def file_identity(path: str) -> FileId | None:
    """``(st_dev, st_ino)`` of the file at ``path``, None when there is none (one ``stat``)."""
    try:
        found = os.stat(path)
    except OSError:
        return None
    return (found.st_dev, found.st_ino)


def match_companions(path: str) -> None:
    """Give the ``-wal`` and ``-shm`` files the store file's mode when the file can be
    written and they cannot (and are ours to change).

    SQLite makes them with the file's own mode, and a read-only connection cannot
    remove them: a store opened while read-only leaves them read-only, so making the
    file writable again would not be enough. This does what SQLite would do now.
    """
    if not os.access(path, os.W_OK):
        return
    try:
        mode = os.stat(path).st_mode & 0o777
    except OSError:
        return
    for suffix in ("-wal", "-shm"):
        companion = path + suffix
        try:
            found = os.stat(companion)
            if found.st_uid == os.geteuid() and not os.access(companion, os.W_OK):
                os.chmod(companion, mode)
        except OSError:
            continue  # none there, or not ours: SQLite says what it must


def describe(exc: BaseException, path: Path, timeout: float) -> str:
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
