"""Writing a text file so that a crash never leaves half of it: standard library only."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

__all__ = ["write_atomically"]


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
