"""Turn parsed JSON into flat rows that ``pandas.DataFrame(rows)`` takes as they are.

Shapes and what they become:

- a list -> one row per item (objects flattened; a scalar or list item -> ``{"value": item}``);
- an object with exactly one list-valued field (after flattening, so a list
  nested in sub-objects counts) -> one row per element of that list. Objects in
  the list are flattened with their own keys; scalars go under the field's
  dotted name. The object's other fields are repeated on every row (they are
  the context of the table); an item key that collides with one of them is
  prefixed with the list's dotted name. An empty list gives no rows;
- any other object -> a single row; nested objects become dotted columns
  (``{"a": {"b": 1}}`` -> ``{"a.b": 1}``), an empty nested object becomes
  ``None``, and lists stay as cell values;
- ``None`` -> no rows; any other scalar -> ``[{"value": x}]``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["flatten", "to_records"]


def flatten(obj: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested mappings to one level with dotted keys; lists and scalars are kept as values."""
    flat: dict[str, Any] = {}
    for key, value in obj.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            if value:
                flat.update(flatten(value, prefix=f"{name}."))
            else:
                flat[name] = None
        else:
            flat[name] = value
    return flat


def _row(item: Any, scalar_key: str = "value") -> dict[str, Any]:
    if isinstance(item, Mapping):
        return flatten(item)
    return {scalar_key: item}


def to_records(obj: Any) -> list[dict[str, Any]]:
    """Rows of flat dicts for ``obj`` (see the module docstring for each shape)."""
    if obj is None:
        return []
    if isinstance(obj, (list, tuple)):
        return [_row(item) for item in obj]
    if not isinstance(obj, Mapping):
        return [{"value": obj}]
    flat = flatten(obj)
    list_keys = [k for k, v in flat.items() if isinstance(v, list)]
    if len(list_keys) != 1:
        return [flat]
    list_key = list_keys[0]
    context = {k: v for k, v in flat.items() if k != list_key}
    rows: list[dict[str, Any]] = []
    for item in flat[list_key]:
        own = _row(item, scalar_key=list_key)
        row = {(f"{list_key}.{k}" if k in context else k): v for k, v in own.items()}
        row.update(context)
        rows.append(row)
    return rows
