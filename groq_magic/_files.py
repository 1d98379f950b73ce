"""Local files, read and written so that no file can hang, flood or half-write: stdlib only.

Every file a user names (a chat to load, an image, a price table, a ``.env``) is read
through :func:`read_bounded`: only regular files (a device such as ``/dev/zero`` or a
FIFO would read forever or block), and never more than a cap checked twice, by ``stat``
before reading and by reading at most ``cap + 1`` bytes (a file that grows meanwhile).
Each refusal is one :class:`FileReadError` line naming the file and the cap.
"""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

__all__ = [
    "MIB",
    "FileReadError",
    "read_bounded",
    "read_text_bounded",
    "size_text",
    "write_atomically",
]

MIB = 1024 * 1024


class FileReadError(OSError):
    """A file that cannot be read within the rules above; ``str()`` is one line."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


def size_text(count: int) -> str:
    """A byte count as people read it: ``200 MB``, ``512 KB``, ``90 bytes``."""
    if count >= MIB:
        return f"{count / MIB:,.0f} MB"
    if count >= 1024:
        return f"{count / 1024:,.0f} KB"
    return f"{count:,} bytes"


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def read_head(path: str | os.PathLike[str], count: int, *, what: str = "file") -> tuple[bytes, int]:
    """The first ``count`` bytes of the regular file ``path`` and its size.

    The same refusals as :func:`read_bounded` (a folder, device, FIFO or socket is one
    :class:`FileReadError` line), but a longer file is not an error: its head is read.
    """
    fd, shown = _open_regular(path, what)
    try:
        size = os.fstat(fd).st_size
        return _read_at_most(fd, shown, what, count), size
    finally:
        os.close(fd)


def _open_regular(path: str | os.PathLike[str], what: str) -> tuple[int, str]:
    """A descriptor of the regular file ``path`` (opened non-blocking), and its shown name."""
    target = Path(path).expanduser()
    shown = str(target)
    try:
        before = os.stat(target)
    except OSError as exc:
        raise FileReadError(f"cannot read {what} {shown!r}: {exc.strerror or exc}") from None
    if not stat.S_ISREG(before.st_mode):
        raise FileReadError(f"{what} {shown!r} is {_kind(before.st_mode)}, not a file")
    try:
        fd = os.open(target, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise FileReadError(f"cannot read {what} {shown!r}: {exc.strerror or exc}") from None
    opened = os.fstat(fd)
    if not stat.S_ISREG(opened.st_mode):  # replaced between the stat and the open
        os.close(fd)
        raise FileReadError(f"{what} {shown!r} is {_kind(opened.st_mode)}, not a file")
    return fd, shown


def _read_at_most(fd: int, shown: str, what: str, count: int) -> bytes:
    chunks: list[bytes] = []
    left = count
    try:
        while left > 0:
            chunk = os.read(fd, min(left, MIB))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
    except OSError as exc:
        raise FileReadError(f"cannot read {what} {shown!r}: {exc.strerror or exc}") from None
    return b"".join(chunks)


def read_bounded(path: str | os.PathLike[str], cap: int, *, what: str = "file") -> bytes:
    """The bytes of the regular file ``path``, at most ``cap`` of them.

    Raises :class:`FileReadError` (one line naming ``what``, the path and the cap) for
    a missing or unreadable file, a folder, device, FIFO or socket, or a file over
    ``cap`` bytes. The file is opened non-blocking, so a FIFO swapped in after the
    check cannot hang the read either.
    """
    fd, shown = _open_regular(path, what)
    try:
        size = os.fstat(fd).st_size
        if size > cap:
            raise FileReadError(_too_big(what, shown, size, cap))
        data = _read_at_most(fd, shown, what, cap + 1)
    finally:
        os.close(fd)
    if len(data) > cap:
        raise FileReadError(_too_big(what, shown, len(data), cap, grew=True))
    return data


def read_text_bounded(path: str | os.PathLike[str], cap: int, *, what: str = "file") -> str:
    """:func:`read_bounded` decoded as UTF-8; text that is not UTF-8 is one line too."""
    data = read_bounded(path, cap, what=what)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        shown = str(Path(path).expanduser())
        raise FileReadError(
            f"{what} {shown!r} is not UTF-8 text (byte {exc.start}: {exc.reason})"
        ) from None


def _too_big(what: str, shown: str, size: int, cap: int, *, grew: bool = False) -> str:
    how = "grew past" if grew else f"is {size_text(size)}, over"
    return f"{what} {shown!r} {how} the {size_text(cap)} this reads at most"


def write_atomically(target: Path, text: str, *, prefix: str = ".groq-") -> Path:
    """Write ``text`` to ``target`` through a temporary file renamed into place.

    Creates the parent folder. Raises ``OSError`` (the caller turns it into its one
    line); the temporary file is removed whatever happens.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=prefix, dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target
