"""JSON-schema structured output: the ``response_format`` for ``--schema`` and its validator.

:func:`schema_response_format` accepts a pydantic model class or a JSON-schema
dict and returns the request's ``response_format`` plus a validator that turns
the parsed answer into the schema's value. Strict (constrained) decoding is only
documented for :data:`STRICT_SCHEMA_MODELS`; other models get ``strict: false``
(best effort) unless the caller forces it. A strict schema needs every property
in ``required`` and ``additionalProperties: false``, so strict mode sends a
strict-ready deep copy and never mutates the caller's schema.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Mapping
from typing import Any

from pydantic import BaseModel
from pydantic import ValidationError as PydanticValidationError

from groq_magic._text import one_line
from groq_magic.chat.errors import SchemaError, SchemaValidationError

__all__ = [
    "STRICT_SCHEMA_MODELS",
    "SchemaValidator",
    "make_strict",
    "schema_response_format",
    "supports_strict",
]

STRICT_SCHEMA_MODELS = frozenset({"openai/gpt-oss-20b", "openai/gpt-oss-120b"})
"""Models Groq documents as supporting strict JSON-schema decoding."""

SchemaValidator = Callable[[Any], Any]
"""Takes the parsed JSON answer, returns the schema's value or raises SchemaValidationError."""

_NAME_OK = re.compile(r"[^A-Za-z0-9_-]+")


def supports_strict(model: str | None) -> bool:
    """True for the models documented to honour ``strict: true``."""
    return model in STRICT_SCHEMA_MODELS


def schema_response_format(
    schema_obj: object,
    name: str | None = None,
    strict: bool | None = None,
    model: str | None = None,
) -> tuple[dict[str, Any], SchemaValidator]:
    """``(response_format, validator)`` for a pydantic model class or a JSON-schema dict.

    ``strict=None`` means "strict exactly when ``model`` supports it". The schema
    name defaults to the class name or the schema's ``title`` (else ``"response"``),
    trimmed to Groq's 64 characters of ``[A-Za-z0-9_-]``.
    """
    if isinstance(schema_obj, type) and issubclass(schema_obj, BaseModel):
        schema = schema_obj.model_json_schema()
        default_name = schema_obj.__name__
        validator: SchemaValidator = _pydantic_validator(schema_obj)
        description = schema.get("description")
    elif isinstance(schema_obj, Mapping):
        schema = copy.deepcopy(dict(schema_obj))
        default_name = str(schema.get("title") or "response")
        validator = _dict_validator(copy.deepcopy(schema))
        description = schema.get("description")
    else:
        kind = type(schema_obj).__name__
        raise SchemaError(
            f"--schema must name a pydantic model class or a JSON-schema dict (got {kind})"
        )
    use_strict = supports_strict(model) if strict is None else bool(strict)
    if use_strict:
        schema = make_strict(schema)
    clean = _NAME_OK.sub("_", name or default_name).strip("_")[:64] or "response"
    body: dict[str, Any] = {"name": clean, "schema": schema, "strict": use_strict}
    if isinstance(description, str) and description:
        body["description"] = description
    return {"type": "json_schema", "json_schema": body}, validator


def make_strict(schema: Mapping[str, Any]) -> dict[str, Any]:
    """A deep copy where every object lists all its properties as required and forbids others."""
    out = copy.deepcopy(dict(schema))
    _strict_in_place(out)
    return out


def _strict_in_place(node: Any) -> None:
    if isinstance(node, list):
        for item in node:
            _strict_in_place(item)
        return
    if not isinstance(node, dict):
        return
    props = node.get("properties")
    if node.get("type") == "object" or isinstance(props, dict):
        if isinstance(props, dict):
            node["required"] = list(props)
        node["additionalProperties"] = False
    for key in ("properties", "$defs", "definitions", "patternProperties"):
        sub = node.get(key)
        if isinstance(sub, dict):
            for value in sub.values():
                _strict_in_place(value)
    for key in ("items", "prefixItems", "anyOf", "oneOf", "allOf", "not"):
        if key in node:
            _strict_in_place(node[key])


# ---- validators ---------------------------------------------------------------------


def _pydantic_validator(model_cls: type[BaseModel]) -> SchemaValidator:
    def validate(value: Any) -> Any:
        try:
            return model_cls.model_validate(value)
        except PydanticValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first.get("loc", ())) or "(root)"
            raise SchemaValidationError(
                f"answer does not match {model_cls.__name__}: {where}: {first.get('msg')}"
                f" ({exc.error_count()} error(s))"
            ) from None

    return validate


def _dict_validator(schema: dict[str, Any]) -> SchemaValidator:
    """Validate with ``jsonschema`` when it is installed, else with basic type checks.

    The fallback checks ``type``, ``enum``, ``required``, ``properties``,
    ``additionalProperties: false`` and ``items``; it ignores ``$ref`` and
    combinators. Either way a valid answer is returned unchanged (a dict/list).
    """

    def validate(value: Any) -> Any:
        try:
            import jsonschema
        except ImportError:
            problem = _basic_check(value, schema, "(root)")
            if problem:
                raise SchemaValidationError(
                    f"answer does not match the schema: {problem}"
                ) from None
            return value
        try:
            jsonschema.validate(value, schema)
        except jsonschema.ValidationError as exc:
            where = ".".join(str(p) for p in exc.absolute_path) or "(root)"
            raise SchemaValidationError(
                f"answer does not match the schema: {where}: {one_line(exc.message, 200)}"
            ) from None
        return value

    return validate


_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,),
    "array": (list,),
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "null": (type(None),),
}


def _type_ok(value: Any, name: str) -> bool:
    types = _TYPES.get(name)
    if types is None:
        return True  # an unknown type name: do not guess
    if isinstance(value, bool) and name in {"integer", "number"}:
        return False  # JSON true is not a number, though bool subclasses int
    if name == "integer" and isinstance(value, float):
        return value.is_integer()
    return isinstance(value, types)


def _basic_check(value: Any, schema: Any, where: str) -> str | None:
    """The first problem found as ``path: reason``, or None."""
    if not isinstance(schema, dict):
        return None
    kind = schema.get("type")
    if kind is not None:
        names = kind if isinstance(kind, list) else [kind]
        if not any(_type_ok(value, str(n)) for n in names):
            return f"{where}: expected {'/'.join(map(str, names))}, got {type(value).__name__}"
    if "enum" in schema and value not in schema["enum"]:
        return f"{where}: {value!r} is not one of {schema['enum']!r}"
    if isinstance(value, dict):
        for key in schema.get("required", []):
            if key not in value:
                return f"{where}: missing required property {key!r}"
        props = schema.get("properties", {})
        if schema.get("additionalProperties") is False:
            extra = [k for k in value if k not in props]
            if extra:
                return f"{where}: unexpected property {extra[0]!r}"
        for key, sub in props.items():
            if key in value:
                problem = _basic_check(
                    value[key], sub, key if where == "(root)" else f"{where}.{key}"
                )
                if problem:
                    return problem
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        for i, item in enumerate(value):
            problem = _basic_check(item, schema["items"], f"{where}[{i}]")
            if problem:
                return problem
    return None
