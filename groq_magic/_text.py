"""One rule for turning any message into one line, used by every layer (and one for costs).

Standard library only. Errors, status lines, table cells and history snippets
all collapse whitespace the same way and, when a width is given, cut with an
ellipsis, so no message can break a usage line or a Markdown table row. Costs
read the same in the status line and in every table (:func:`cost_text`).
"""

from __future__ import annotations

__all__ = ["cost_text", "one_line"]


def one_line(text: object, limit: int | None = None) -> str:
    """``text`` with whitespace runs (newlines included) collapsed; cut to ``limit`` chars."""
    flat = " ".join(str(text).split())
    if limit is None or len(flat) <= limit:
        return flat
    return flat[: max(limit - 1, 0)] + "…"


def cost_text(usd: float | None) -> str:
    """A cost as tables and status lines show it: ``$0.0042``, ``$0``, or ``unknown``.

    Unknown is never shown as zero: a model without a known price says so.
    """
    if usd is None:
        return "unknown"
    if usd == 0:
        return "$0"
    return f"${usd:.6f}" if usd < 0.01 else f"${usd:.4f}"
