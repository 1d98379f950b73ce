"""Tidying pydantic's JSON schema of a tool's arguments into what a model reads best.

pydantic puts every model and Enum under ``$defs`` and points at it with ``$ref``.
Not every model follows references well, and a tool's schema is read by the model,
not by a validator, so references are inlined; only definitions that are recursive
(a ``Tree`` whose children are ``Tree``s), which cannot be inlined, stay in ``$defs``.
The titles pydantic derives from field names (``"city"`` -> ``"City"``) are dropped:
they cost tokens and say nothing.
"""

from __future__ import annotations

import copy
from typing import Any

__all__ = ["tidy_parameters"]

_REF_PREFIX = "#/$defs/"
_ROOT_ORDER = ("type", "description", "properties", "required", "additionalProperties")


def tidy_parameters(schema: dict[str, Any]) -> dict[str, Any]:
    """The ``parameters`` object: references inlined where possible, noise titles dropped."""
    body = {k: v for k, v in schema.items() if k not in ("$defs", "title")}
    defs: dict[str, Any] = schema.get("$defs") or {}
    recursive = _recursive_defs(defs)
    body = _inline(body, defs, recursive)
    kept = {name: _inline(defs[name], defs, recursive) for name in defs if name in recursive}
    _drop_field_titles(body)
    for value in kept.values():
        _drop_field_titles(value)
    ordered = {k: body[k] for k in _ROOT_ORDER if k in body}
    ordered.update((k, v) for k, v in body.items() if k not in ordered)
    ordered.setdefault("type", "object")
    ordered.setdefault("properties", {})
    if kept:
        ordered["$defs"] = kept
    return ordered


def _ref_name(node: Any) -> str | None:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith(_REF_PREFIX):
            return ref[len(_REF_PREFIX) :]
    return None


def _refs_in(node: Any, found: set[str]) -> set[str]:
    name = _ref_name(node)
    if name is not None:
        found.add(name)
    if isinstance(node, dict):
        for value in node.values():
            _refs_in(value, found)
    elif isinstance(node, list):
        for value in node:
            _refs_in(value, found)
    return found


def _recursive_defs(defs: dict[str, Any]) -> set[str]:
    """The definitions that can reach themselves through references."""
    edges = {name: _refs_in(body, set()) for name, body in defs.items()}
    recursive: set[str] = set()
    for start in defs:
        seen: set[str] = set()
        todo = list(edges.get(start, ()))
        while todo:
            name = todo.pop()
            if name == start:
                recursive.add(start)
                break
            if name not in seen:
                seen.add(name)
                todo.extend(edges.get(name, ()))
    return recursive


def _inline(node: Any, defs: dict[str, Any], keep: set[str]) -> Any:
    name = _ref_name(node)
    if name is not None and name in defs and name not in keep:
        siblings = {k: v for k, v in node.items() if k != "$ref"}
        # The field's own description and default win over the definition's.
        merged = {**copy.deepcopy(defs[name]), **siblings}
        return _inline(merged, defs, keep)
    if isinstance(node, dict):
        return {k: _inline(v, defs, keep) for k, v in node.items()}
    if isinstance(node, list):
        return [_inline(v, defs, keep) for v in node]
    return node


def _squash(text: str) -> str:
    return "".join(ch for ch in text.lower() if ch.isalnum())


def _drop_field_titles(node: Any) -> None:
    if isinstance(node, list):
        for value in node:
            _drop_field_titles(value)
        return
    if not isinstance(node, dict):
        return
    properties = node.get("properties")
    if isinstance(properties, dict):
        for key, sub in properties.items():
            title = sub.get("title") if isinstance(sub, dict) else None
            if isinstance(title, str) and _squash(title) == _squash(key):
                del sub["title"]
    for value in node.values():
        _drop_field_titles(value)
