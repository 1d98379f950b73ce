"""Structured output: response_format from a pydantic class or a schema dict, and validators."""

from __future__ import annotations

import sys
from typing import Any

import pytest
from pydantic import BaseModel

from groq_magic.chat.errors import SchemaError, SchemaValidationError
from groq_magic.chat.schema import (
    STRICT_SCHEMA_MODELS,
    make_strict,
    schema_response_format,
    supports_strict,
)


class Address(BaseModel):
    city: str
    zip: str | None = None


class Person(BaseModel):
    """A person."""

    name: str
    age: int
    address: Address


PERSON_DICT: dict[str, Any] = {
    "title": "Person record",
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "age": {"type": "integer"},
        "tags": {"type": "array", "items": {"type": "string"}},
    },
    "required": ["name"],
}


def test_strict_models_are_the_documented_ones() -> None:
    assert frozenset({"openai/gpt-oss-20b", "openai/gpt-oss-120b"}) == STRICT_SCHEMA_MODELS
    assert supports_strict("openai/gpt-oss-20b")
    assert not supports_strict("llama-3.3-70b-versatile")
    assert not supports_strict(None)


def test_pydantic_class_best_effort_on_other_models() -> None:
    fmt, validate = schema_response_format(Person, model="llama-3.3-70b-versatile")
    assert fmt["type"] == "json_schema"
    body = fmt["json_schema"]
    assert body["name"] == "Person"
    assert body["strict"] is False
    assert body["description"] == "A person."
    assert body["schema"] == Person.model_json_schema()
    person = validate({"name": "Ann", "age": 3, "address": {"city": "Oslo"}})
    assert isinstance(person, Person)
    assert person.address.city == "Oslo"


def test_pydantic_class_strict_on_gpt_oss_makes_every_property_required() -> None:
    fmt, _ = schema_response_format(Person, model="openai/gpt-oss-120b")
    body = fmt["json_schema"]
    assert body["strict"] is True
    schema = body["schema"]
    assert schema["additionalProperties"] is False
    assert schema["required"] == ["name", "age", "address"]
    nested = schema["$defs"]["Address"]
    assert nested["required"] == ["city", "zip"]
    assert nested["additionalProperties"] is False


def test_strict_can_be_forced_either_way() -> None:
    on, _ = schema_response_format(PERSON_DICT, strict=True)
    off, _ = schema_response_format(PERSON_DICT, strict=False, model="openai/gpt-oss-20b")
    assert on["json_schema"]["strict"] is True
    assert on["json_schema"]["schema"]["required"] == ["name", "age", "tags"]
    assert off["json_schema"]["strict"] is False
    assert off["json_schema"]["schema"]["required"] == ["name"]


def test_strict_copy_leaves_the_callers_schema_alone() -> None:
    before = repr(PERSON_DICT)
    schema_response_format(PERSON_DICT, strict=True)
    assert repr(PERSON_DICT) == before


def test_make_strict_recurses_into_items_and_combinators() -> None:
    schema = {
        "type": "array",
        "items": {"type": "object", "properties": {"a": {"type": "integer"}}},
        "anyOf": [{"properties": {"b": {"type": "string"}}}],
    }
    strict = make_strict(schema)
    assert strict["items"]["required"] == ["a"]
    assert strict["items"]["additionalProperties"] is False
    assert strict["anyOf"][0]["required"] == ["b"]
    assert "required" not in schema["items"]


def test_dict_name_from_title_sanitised_and_overridable() -> None:
    fmt, _ = schema_response_format(PERSON_DICT)
    assert fmt["json_schema"]["name"] == "Person_record"
    fmt2, _ = schema_response_format(PERSON_DICT, name="x" * 100)
    assert fmt2["json_schema"]["name"] == "x" * 64
    fmt3, _ = schema_response_format({"type": "object"})
    assert fmt3["json_schema"]["name"] == "response"


@pytest.mark.parametrize(
    "bad", [42, "Person", Person(name="a", age=1, address=Address(city="c")), int]
)
def test_not_a_schema_is_one_line_error(bad: object) -> None:
    with pytest.raises(SchemaError, match="pydantic model class or a JSON-schema dict"):
        schema_response_format(bad)


def test_pydantic_validator_error_is_one_line() -> None:
    _, validate = schema_response_format(Person)
    with pytest.raises(SchemaValidationError) as info:
        validate({"name": "Ann", "age": "old", "address": {"city": "Oslo"}})
    assert "Person" in str(info.value)
    assert "age" in str(info.value)
    assert "\n" not in str(info.value)


def test_dict_validator_with_jsonschema() -> None:
    # jsonschema comes with nbformat (a test dependency): this path must run, not skip.
    import jsonschema

    assert jsonschema.validate is not None
    _, validate = schema_response_format(PERSON_DICT)
    good = {"name": "Ann", "tags": ["x"]}
    assert validate(good) == good
    with pytest.raises(SchemaValidationError, match="tags"):
        validate({"name": "Ann", "tags": [1]})
    with pytest.raises(SchemaValidationError, match="name"):
        validate({"age": 3})


@pytest.fixture
def no_jsonschema(monkeypatch: pytest.MonkeyPatch) -> None:
    # None in sys.modules makes `import jsonschema` raise ImportError.
    monkeypatch.setitem(sys.modules, "jsonschema", None)


@pytest.mark.usefixtures("no_jsonschema")
@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ({"age": 3}, "missing required property 'name'"),
        ({"name": 5}, "name: expected string, got int"),
        ({"name": "a", "age": True}, "age: expected integer, got bool"),
        ({"name": "a", "age": 1.5}, "age: expected integer, got float"),
        ({"name": "a", "tags": ["ok", 2]}, "tags[1]: expected string, got int"),
        (["not", "object"], "expected object, got list"),
    ],
)
def test_basic_checks_without_jsonschema(value: Any, problem: str) -> None:
    _, validate = schema_response_format(PERSON_DICT)
    with pytest.raises(SchemaValidationError) as info:
        validate(value)
    assert problem in str(info.value)


@pytest.mark.usefixtures("no_jsonschema")
def test_basic_checks_accept_valid_and_check_enum_and_extra() -> None:
    schema = {
        "type": "object",
        "properties": {"kind": {"enum": ["a", "b"]}, "n": {"type": ["integer", "null"]}},
        "additionalProperties": False,
    }
    _, validate = schema_response_format(schema)
    assert validate({"kind": "a", "n": None}) == {"kind": "a", "n": None}
    assert validate({"n": 2.0}) == {"n": 2.0}
    with pytest.raises(SchemaValidationError, match="not one of"):
        validate({"kind": "c"})
    with pytest.raises(SchemaValidationError, match="unexpected property 'zzz'"):
        validate({"zzz": 1})
