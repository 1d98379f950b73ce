"""One rule for turning any message into one line, used by every layer (and one for costs).

Standard library only. Errors, status lines, table cells and history snippets
all collapse whitespace the same way and, when a width is given, cut with an
ellipsis, so no message can break a usage line or a Markdown table row. Costs
read the same in the status line and in every table (:func:`cost_text`).
"""

from __future__ import annotations

import unicodedata

__all__ = ["cost_text", "one_line", "printable"]


def one_line(text: object, limit: int | None = None) -> str:
    """``text`` with whitespace runs (newlines included) collapsed; cut to ``limit`` chars."""
    flat = " ".join(str(text).split())
    if limit is None or len(flat) <= limit:
        return flat
    return flat[: max(limit - 1, 0)] + "…"


def _escape(char: str) -> str:
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: object, limit: int | None = None) -> str:
    """:func:`one_line`, with control and format characters shown as escapes.

    For names and texts that came from a file or a server (a chat name with an ANSI
    escape or a right-to-left override): shown as ``\x1b[31m``, they cannot recolour a
    terminal, hide text or break a table.
    """
    flat = one_line(text, limit)
    if flat.isprintable():
        return flat
    return "".join(
        _escape(c) if unicodedata.category(c) in ("Cc", "Cf", "Co", "Cs") else c for c in flat
    )


def cost_text(usd: float | None) -> str:
    """A cost as tables and status lines show it: ``$0.0042``, ``$0``, or ``unknown``.

    Unknown is never shown as zero: a model without a known price says so.
    """
    if usd is None:
        return "unknown"
    if usd == 0:
        return "$0"
    return f"${usd:.6f}" if usd < 0.01 else f"${usd:.4f}"
