"""What a tool's return value becomes in the ``tool`` message the model reads.

A string goes as it is; anything else as compact JSON: pydantic models through
``model_dump(mode="json")``, dataclasses as dicts, a DataFrame as its records
(``to_dict(orient="records")``), a Series or anything else with ``to_dict`` as that
dict, numpy values through ``tolist``/``item``, and whatever is left through
``str``. pandas is never imported here: objects are recognised by what they offer.
NaN and infinity, which JSON cannot hold, become ``null``.

The text is clipped to :data:`MAX_RESULT_CHARS` with a note saying how long it was,
because a whole DataFrame would eat the model's context and the rate limit.

A tool that returns images (an MCP server's screenshot, say) returns a
:class:`ResultWithImages`: its text goes in the ``tool`` message, each image as a
``[image N: ...]`` line there, and the images themselves follow as image parts in a
user message when the model reads images (see :func:`image_followup` in
:mod:`groq_magic.chat.tools.remote`): a ``tool`` message takes text only.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass
from typing import Any

__all__ = [
    "MAX_RESULT_CHARS",
    "ResultWithImages",
    "ToolImage",
    "clip",
    "jsonable",
    "result_content",
    "to_json",
]

MAX_RESULT_CHARS = 16_000
"""The most characters of one tool result sent to the model."""


def result_content(value: Any, limit: int = MAX_RESULT_CHARS) -> str:
    """The string the model receives for a tool's return value, clipped to ``limit``."""
    if isinstance(value, ResultWithImages):
        return clip(value.tool_text(), limit)
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


@dataclass(frozen=True)
class ToolImage:
    """An image a tool returned: its MIME type and base64 data (as MCP carries it)."""

    mime_type: str
    data: str  # base64

    @property
    def size(self) -> int:
        """The image's size in bytes (decoded)."""
        return len(self.data) * 3 // 4 - self.data[-2:].count("=")

    @property
    def data_url(self) -> str:
        """``data:image/png;base64,...``: how an image part carries it."""
        return f"data:{self.mime_type};base64,{self.data}"

    def label(self, number: int) -> str:
        """``image 1: image/png, 12.3 KB``."""
        return f"image {number}: {self.mime_type}, {self.size / 1000:.1f} KB"

    def _repr_png_(self) -> bytes | None:
        import base64

        return base64.b64decode(self.data) if self.mime_type == "image/png" else None

    def _repr_jpeg_(self) -> bytes | None:
        import base64

        return base64.b64decode(self.data) if self.mime_type == "image/jpeg" else None


@dataclass(frozen=True)
class ResultWithImages:
    """A tool's result holding images: ``text`` (its words, possibly empty) and ``images``."""

    text: str
    images: tuple[ToolImage, ...]

    def tool_text(self) -> str:
        """The ``tool`` message: the text, then one line per image."""
        lines = [self.text] if self.text else []
        for n, image in enumerate(self.images, 1):
            lines.append(f"[{image.label(n)}]")
        return "\n".join(lines)
