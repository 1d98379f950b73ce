"""Groq's prompt cache, made visible: how many prompt tokens it served, and what that saved.

Groq caches repeated prompt prefixes by itself and reports the tokens it served from
the cache in ``usage.prompt_tokens_details.cached_tokens``; they are billed at the
model's cached rate (where it has one) and do not count against rate limits. A
turn's status line and ``%groq usage`` show them, and the money they saved: the
cost of the same usage with nothing cached, minus the cost as billed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["cache_saving", "cached_prompt_tokens", "without_cache"]


def _mapping(value: Any) -> Mapping[str, Any]:
    if isinstance(value, Mapping):
        return value
    dump = getattr(value, "model_dump", None)
    dumped = dump() if callable(dump) else None
    return dumped if isinstance(dumped, Mapping) else {}


def cached_prompt_tokens(usage: Any) -> int:
    """``usage.prompt_tokens_details.cached_tokens`` (a dict or a pydantic usage), or 0."""
    details = _mapping(_mapping(usage).get("prompt_tokens_details"))
    value = details.get("cached_tokens")
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def without_cache(usage: Any) -> dict[str, Any]:
    """``usage`` as if nothing had come from the cache (what it would have cost)."""
    data = dict(_mapping(usage))
    details = dict(_mapping(data.get("prompt_tokens_details")))
    details.pop("cached_tokens", None)
    data["prompt_tokens_details"] = details
    return data


def cache_saving(
    cost: Callable[[Mapping[str, Any]], float | None], usage: Mapping[str, Any]
) -> float | None:
    """USD the cache saved on ``usage``, priced by ``cost``; None when nothing was cached
    or the price is unknown (0.0 when the model has no cheaper cached rate)."""
    if not cached_prompt_tokens(usage):
        return None
    billed, full = cost(usage), cost(without_cache(usage))
    if billed is None or full is None:
        return None
    return max(full - billed, 0.0)
