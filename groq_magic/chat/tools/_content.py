"""What a tool's return value becomes in the ``tool`` message the model reads.

A string goes as it is; anything else as compact JSON: pydantic models through
``model_dump(mode="json")``, dataclasses as dicts, a DataFrame as its records
(``to_dict(orient="records")``), a Series or anything else with ``to_dict`` as that
dict, numpy values through ``tolist``/``item``, and whatever is left through
``str``. pandas is never imported here: objects are recognised by what they offer.
NaN and infinity, which JSON cannot hold, become ``null``.

The text is clipped to :data:`MAX_RESULT_CHARS` with a note saying how long it was,
because a whole DataFrame would eat the model's context and the rate limit.
"""

from __future__ import annotations

import dataclasses
import json
import math
from typing import Any

__all__ = ["MAX_RESULT_CHARS", "clip", "jsonable", "result_content", "to_json"]

MAX_RESULT_CHARS = 16_000
"""The most characters of one tool result sent to the model."""


def result_content(value: Any, limit: int = MAX_RESULT_CHARS) -> str:
    """The string the model receives for a tool's return value, clipped to ``limit``."""
    if isinstance(value, str):
        return clip(value, limit)
    return clip(to_json(value), limit)


def to_json(value: Any) -> str:
    """Compact JSON of any value (the module doc says how objects become JSON)."""
    try:
        return _dumps(value)
    except ValueError:
        pass  # NaN or infinity somewhere (a DataFrame's missing values), or a cycle
    try:
        return _dumps(_finite(jsonable_deep(value)))
    except (ValueError, TypeError, RecursionError):
        return str(value)


def _dumps(value: Any) -> str:
    return json.dumps(
        value, ensure_ascii=False, separators=(",", ":"), allow_nan=False, default=jsonable
    )


def clip(text: str, limit: int = MAX_RESULT_CHARS) -> str:
    """``text``, or its first ``limit`` characters and a note of the full length."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}…[clipped: {len(text):,} characters in all]"


def jsonable(value: Any) -> Any:
    """One level of an object JSON cannot take, made into something it can (``json`` default)."""
    if isinstance(value, type):
        return value.__name__
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        return dump(mode="json")
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    to_dict = getattr(value, "to_dict", None)
    if callable(to_dict):
        # A DataFrame has columns and reads best as rows; a Series as {index: value}.
        return to_dict(orient="records") if hasattr(value, "columns") else to_dict()
    if isinstance(value, set | frozenset):
        return sorted(value, key=repr)
    for method in ("tolist", "item"):  # numpy arrays and scalars
        convert = getattr(value, method, None)
        if callable(convert):
            try:
                return convert()
            except (TypeError, ValueError):
                pass
    return str(value)


def jsonable_deep(value: Any) -> Any:
    """``value`` with every object :func:`jsonable` knows converted, all the way down."""
    if isinstance(value, dict):
        return {str(k): jsonable_deep(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable_deep(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return jsonable_deep(jsonable(value))


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value
