"""JSON mode, --schema (pydantic class and dict) into records, and prompt templating."""

from __future__ import annotations

import json
from typing import Any

import pytest
from magic_helpers import sent, stream
from pydantic import BaseModel
from scripted_server import completion_reply, error_reply


class Address(BaseModel):
    """Nested object."""

    city: str
    zip: str


class Person(BaseModel):
    """A person with a nested address."""

    name: str
    age: int
    address: Address


class People(BaseModel):
    """One list-valued field: becomes rows."""

    source: str
    people: list[Person]


def answer_json(groq: Any, line: str, value: Any, *, prompt: str = "Give JSON.") -> Any:
    """Stream ``value`` as JSON in a few pieces as the answer to ``%%groq LINE``."""
    text = json.dumps(value)
    pieces = [text[i : i + 7] for i in range(0, len(text), 7)]
    groq.server.enqueue(stream(pieces))
    run = groq.run(f"%%groq {line}\n{prompt}", cell_id="json-cell")
    assert run.error is None, run.err
    return groq.ns["_groq"]


PERSON = {"name": "Ada", "age": 36, "address": {"city": "London", "zip": "N1"}}


# -- --json ---------------------------------------------------------------------------------


def test_json_mode_nested_object_becomes_one_flat_record(groq: Any) -> None:
    result = answer_json(groq, "--json", PERSON)
    assert sent(groq.server)["response_format"] == {"type": "json_object"}
    assert result.json == PERSON
    assert result.parsed == PERSON
    assert result.records == [
        {"name": "Ada", "age": 36, "address.city": "London", "address.zip": "N1"}
    ]


def test_json_mode_list_of_objects_becomes_rows(groq: Any) -> None:
    value = {"people": [PERSON, {**PERSON, "name": "Alan", "age": 41}]}
    result = answer_json(groq, "--json", value)
    records = result.records
    assert [r["people.name"] if "people.name" in r else r["name"] for r in records] == [
        "Ada",
        "Alan",
    ]
    assert len(records) == 2
    assert all("address.city" in r or "people.address.city" in r for r in records)


def test_json_mode_top_level_list_and_scalars(groq: Any) -> None:
    assert answer_json(groq, "--json", [{"a": 1}, {"a": 2}]).records == [{"a": 1}, {"a": 2}]
    assert answer_json(groq, "--json", 42).records == [{"value": 42}]
    assert answer_json(groq, "--json", "text").records == [{"value": "text"}]
    assert answer_json(groq, "--json", [1, 2]).records == [{"value": 1}, {"value": 2}]


def test_json_mode_records_go_to_pandas_as_they_are(groq: Any) -> None:
    pandas = pytest.importorskip("pandas")  # in the dev venv; this never skips there
    result = answer_json(groq, "--json -o table", {"rows": [{"x": 1}, {"x": 2}]})
    frame = pandas.DataFrame(groq.ns["table"].records)
    assert list(frame.shape) == [2, 1]
    assert result.df.equals(frame)


def test_json_mode_with_no_stream(groq: Any) -> None:
    groq.server.enqueue(completion_reply(json.dumps(PERSON)))
    run = groq.run("%%groq --json --no-stream\nGive JSON.", cell_id="ns")
    assert run.error is None, run.err
    assert groq.ns["_groq"].json == PERSON


def test_invalid_json_under_json_mode_is_one_line_with_the_generation(groq: Any) -> None:
    groq.server.enqueue(stream(["keep"]))
    assert groq.run("%%groq\nearlier", cell_id="j0").error is None
    before = groq.history_json()
    groq.server.enqueue(stream(['{"name": ', '"Ada", oops']))
    run = groq.run("%%groq --json\nGive JSON.", cell_id="j1")
    line = run.usage_error
    assert "JSON" in line
    # The plain sink streamed the generation already; it is on screen exactly once.
    assert run.out.count('{"name": "Ada", oops') == 1
    assert groq.history_json() == before


def test_json_validate_failed_shows_the_failed_generation(groq: Any) -> None:
    before = groq.history_json()
    groq.server.enqueue(
        error_reply(
            400,
            "Failed to generate JSON. Please adjust your prompt.",
            code="json_validate_failed",
            failed_generation='{"name": "Ada", "age": "thirty"',
        )
    )
    run = groq.run("%%groq --json\nGive JSON.", cell_id="jv")
    line = run.usage_error
    assert "400" in line
    assert "json_validate_failed" in line
    assert "failed generation" in line  # the hint points at it
    assert '{"name": "Ada", "age": "thirty"' in run.out
    assert groq.history_json() == before


# -- --schema -------------------------------------------------------------------------------


def test_schema_pydantic_class_nested(groq: Any) -> None:
    groq.ns["Person"] = Person
    result = answer_json(groq, "--schema Person", PERSON)
    response_format = sent(groq.server)["response_format"]
    assert response_format["type"] == "json_schema"
    assert response_format["json_schema"]["name"] == "Person"
    assert "address" in json.dumps(response_format["json_schema"]["schema"])
    assert isinstance(result.parsed, Person)
    assert result.parsed.address.city == "London"
    assert result.records == [
        {"name": "Ada", "age": 36, "address.city": "London", "address.zip": "N1"}
    ]


def test_schema_pydantic_class_with_a_list_becomes_rows(groq: Any) -> None:
    groq.ns["People"] = People
    value = {"source": "census", "people": [PERSON, {**PERSON, "name": "Alan", "age": 41}]}
    result = answer_json(groq, "--schema People", value)
    assert isinstance(result.parsed, People)
    assert [p.name for p in result.parsed.people] == ["Ada", "Alan"]
    records = result.records
    assert len(records) == 2
    assert all(r["source"] == "census" for r in records)
    names = [r.get("name", r.get("people.name")) for r in records]
    assert names == ["Ada", "Alan"]


def test_schema_dict_scalar_and_list(groq: Any) -> None:
    groq.ns["count_schema"] = {"title": "Count", "type": "integer"}
    result = answer_json(groq, "--schema count_schema", 7)
    fmt = sent(groq.server)["response_format"]
    assert fmt["json_schema"]["name"] == "count_schema"  # the --schema name wins
    assert fmt["json_schema"]["schema"]["type"] == "integer"
    assert result.parsed == 7
    assert result.records == [{"value": 7}]
    groq.ns["list_schema"] = {"type": "array", "items": {"type": "object"}}
    result = answer_json(groq, "--schema list_schema", [{"k": 1}, {"k": 2}])
    assert result.records == [{"k": 1}, {"k": 2}]


def test_schema_dict_nested_object(groq: Any) -> None:
    groq.ns["person_schema"] = Person.model_json_schema()
    result = answer_json(groq, "--schema person_schema", PERSON)
    assert result.parsed == PERSON
    assert result.records[0]["address.zip"] == "N1"


def test_schema_mismatch_is_one_line_with_the_generation(groq: Any) -> None:
    groq.ns["Person"] = Person
    before = groq.history_json()
    groq.server.enqueue(stream(['{"name": "Ada", "age": "old"}']))
    run = groq.run("%%groq --schema Person\nGive JSON.", cell_id="sm")
    line = run.usage_error
    assert "age" in line
    assert '"age": "old"' in run.out
    assert groq.history_json() == before


def test_schema_and_json_together_uses_the_schema(groq: Any) -> None:
    groq.ns["Person"] = Person
    answer_json(groq, "--json --schema Person", PERSON)
    assert sent(groq.server)["response_format"]["type"] == "json_schema"


# -- templating -----------------------------------------------------------------------------


def rendered(groq: Any, body: str) -> str:
    groq.server.enqueue(stream(["ok"]))
    run = groq.run(f"%%groq\n{body}", cell_id="tpl")
    assert run.error is None, run.err
    content: str = sent(groq.server)["messages"][-1]["content"]
    return content.rstrip("\n")


def test_template_fills_names_attributes_and_items(groq: Any) -> None:
    class Doc:
        title = "Report"

    groq.ns.update(topic="tides", doc=Doc(), items=["first", "second"], cfg={"k": "v"})
    text = rendered(groq, 'About {topic}: {doc.title}, {items[1]}, {cfg["k"]}.')
    assert text == "About tides: Report, second, v."


def test_template_leaves_json_braces_alone(groq: Any) -> None:
    groq.ns["n"] = 3
    body = 'Return {"name": "x", "tags": ["a"]} with {n} rows and {"nested": {"k": 1}}.'
    assert rendered(groq, body) == (
        'Return {"name": "x", "tags": ["a"]} with 3 rows and {"nested": {"k": 1}}.'
    )


def test_template_leaves_code_braces_alone(groq: Any) -> None:
    groq.ns["lang"] = "Python"
    body = (
        "Explain this {lang}:\n"
        "```python\n"
        "squares = {x: x * x for x in range(3)}\n"
        "print(f'{squares!r:>10}')\n"
        "empty = { }\n"
        "```\n"
        "and this C: int main() { return 0; } and {1,2}."
    )
    expected = body.replace("{lang}", "Python")
    assert rendered(groq, body) == expected


def test_template_double_braces_escape(groq: Any) -> None:
    groq.ns["topic"] = "x"
    assert rendered(groq, "{{topic}} is literal, {topic} is not") == "{topic} is literal, x is not"


def test_template_in_the_line_form(groq: Any) -> None:
    groq.ns["city"] = "Lyon"
    groq.server.enqueue(stream(["ok"]))
    run = groq.run('%groq What\'s the weather in {city}? Answer as {"temp": 0}', cell_id="lf")
    assert run.error is None, run.err
    assert sent(groq.server)["messages"][-1]["content"] == (
        'What\'s the weather in Lyon? Answer as {"temp": 0}'
    )
