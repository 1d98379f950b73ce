"""One rule for turning any message into one line, used by every layer.

Standard library only. Errors, status lines, table cells and history snippets
all collapse whitespace the same way and, when a width is given, cut with an
ellipsis, so no message can break a usage line or a Markdown table row.
"""

from __future__ import annotations

__all__ = ["one_line"]


def one_line(text: object, limit: int | None = None) -> str:
    """``text`` with whitespace runs (newlines included) collapsed; cut to ``limit`` chars."""
    flat = " ".join(str(text).split())
    if limit is None or len(flat) <= limit:
        return flat
    return flat[: max(limit - 1, 0)] + "…"
