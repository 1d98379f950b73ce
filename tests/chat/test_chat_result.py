"""ChatResult: JSON views, schema parsing, records/df, timings, reprs, no secrets."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any

import pandas
import pytest
from pydantic import BaseModel

from groq_magic.chat.errors import JSONResultError, SchemaValidationError
from groq_magic.chat.result import ChatResult, Timings
from groq_magic.chat.schema import schema_response_format

FAKE_KEY = "gsk_result_FAKEKEY_987"


class City(BaseModel):
    name: str
    population: int


@dataclass
class ClientTimingsLike:
    time_to_first_token: float | None
    total: float | None


class UsageModel(BaseModel):
    prompt_tokens: int = 5
    completion_tokens: int = 40
    total_tokens: int = 45


def test_text_and_metadata() -> None:
    result = ChatResult(
        "Hello",
        model="m",
        usage={"total_tokens": 3},
        finish_reason="stop",
        request={"model": "m", "messages": []},
    )
    assert result.text == "Hello"
    assert str(result) == "Hello"
    assert result.model == "m"
    assert result.status == "complete"
    assert result.ok
    assert result.error is None
    assert result.finish_reason == "stop"
    assert result.request == {"model": "m", "messages": []}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"a": 1}', {"a": 1}),
        ("  [1, 2]\n", [1, 2]),
        ('```json\n{"a": [1, 2]}\n```', {"a": [1, 2]}),
        ('```\n{"a": 1}\n```', {"a": 1}),
        ('Here you go:\n```json\n{"a": 1}\n```\nDone.', {"a": 1}),
        ('```json\n{"a": 1}', {"a": 1}),
        ("42", 42),
        ("null", None),
        (
            '{"reason": "line one\nline\ttwo", "score": 1}',
            {"reason": "line one\nline\ttwo", "score": 1},
        ),
    ],
)
def test_json_parses_and_tolerates_fences(text: str, expected: Any) -> None:
    assert ChatResult(text).json == expected


def test_json_error_is_one_line_with_first_200_chars() -> None:
    text = "Sure! Here is\nthe data " + "x" * 300
    with pytest.raises(JSONResultError) as info:
        _ = ChatResult(text).json
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith("the answer is not JSON:")
    assert repr(text[:200]) in message
    assert "x" * 201 not in message
    assert isinstance(info.value, ValueError)


def test_json_error_mentions_a_cut_short_answer() -> None:
    with pytest.raises(JSONResultError, match="cut short: length"):
        _ = ChatResult('{"a": [1, 2', finish_reason="length").json
    with pytest.raises(JSONResultError, match="cut short: interrupted"):
        _ = ChatResult('{"a"', status="interrupted").json
    with pytest.raises(JSONResultError, match="the answer is empty"):
        _ = ChatResult("").json


def test_json_is_cached() -> None:
    result = ChatResult('{"a": 1}')
    assert result.json is result.json


def test_parsed_with_pydantic_model() -> None:
    _, validator = schema_response_format(City)
    result = ChatResult('{"name": "Oslo", "population": 700000}', validator=validator)
    city = result.parsed
    assert isinstance(city, City)
    assert city.population == 700000
    assert result.parsed is city


def test_parsed_with_dict_schema() -> None:
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}
    _, validator = schema_response_format(schema)
    assert ChatResult('{"n": 3}', validator=validator).parsed == {"n": 3}
    with pytest.raises(SchemaValidationError):
        _ = ChatResult('{"n": "three"}', validator=validator).parsed


def test_parsed_without_schema_is_the_json() -> None:
    assert ChatResult("[1]", json_mode=True).parsed == [1]


def test_parsed_schema_mismatch_is_one_line() -> None:
    _, validator = schema_response_format(City)
    with pytest.raises(SchemaValidationError) as info:
        _ = ChatResult('{"name": "Oslo"}', validator=validator).parsed
    assert "population" in str(info.value)
    assert "\n" not in str(info.value)


def test_records_and_df() -> None:
    text = (
        '```json\n{"cities": [{"name": "Oslo", "geo": {"lat": 59.9}},'
        ' {"name": "Rome", "geo": {"lat": 41.9}}]}\n```'
    )
    result = ChatResult(text)
    assert result.records == [
        {"name": "Oslo", "geo.lat": 59.9},
        {"name": "Rome", "geo.lat": 41.9},
    ]
    df = result.df
    assert isinstance(df, pandas.DataFrame)
    assert list(df.columns) == ["name", "geo.lat"]
    assert df["geo.lat"].tolist() == [59.9, 41.9]


def test_df_without_pandas_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(ImportError) as info:
        _ = ChatResult("[1]").df
    assert str(info.value) == "ChatResult.df needs pandas: pip install groq-magic[pandas]"


def test_timings_from_dict_and_derived_speed() -> None:
    result = ChatResult("x", timings={"ttft": 0.2, "total": 1.2}, usage={"completion_tokens": 50})
    assert result.timings.ttft == 0.2
    assert result.timings.total == 1.2
    assert result.timings.tokens_per_second == pytest.approx(50.0)
    assert result.timings.as_dict() == {
        "ttft": 0.2,
        "total": 1.2,
        "tokens_per_second": pytest.approx(50.0),
    }


def test_timings_from_client_timings_object_and_usage_model() -> None:
    result = ChatResult("x", timings=ClientTimingsLike(0.5, 2.5), usage=UsageModel())
    assert result.timings.ttft == 0.5
    assert result.timings.tokens_per_second == pytest.approx(20.0)
    assert result.usage_dict["total_tokens"] == 45
    assert isinstance(result.usage, UsageModel)


def test_timings_missing_pieces() -> None:
    assert ChatResult("x").timings == Timings()
    assert ChatResult("x", timings={"total": 2.0}).timings.tokens_per_second is None
    explicit = ChatResult("x", timings={"tokens_per_second": 9.0}).timings
    assert explicit.tokens_per_second == 9.0
    same = Timings(ttft=1.0)
    assert Timings.from_any(same) is same


def test_request_never_keeps_credentials() -> None:
    request = {
        "model": "m",
        "messages": [{"role": "user", "content": "hi"}],
        "api_key": FAKE_KEY,
        "headers": {"Authorization": f"Bearer {FAKE_KEY}"},
    }
    result = ChatResult("hi", request=request)
    assert FAKE_KEY not in repr(result.request)
    assert result.request["model"] == "m"
    assert result.request["headers"] == {}
    assert "api_key" in request  # the caller's dict is left alone
    assert FAKE_KEY not in repr(result)


def test_repr_markdown_is_the_answer() -> None:
    assert ChatResult("# Title\n\n*x*")._repr_markdown_() == "# Title\n\n*x*"
    assert ChatResult("", status="error", error="boom")._repr_markdown_() == "**error:** boom"
    assert ChatResult("")._repr_markdown_() is None


def test_repr_is_one_short_line() -> None:
    result = ChatResult(
        "line\n" * 50,
        model="m",
        usage={"total_tokens": 12},
        finish_reason="stop",
        status="interrupted",
    )
    text = repr(result)
    assert "\n" not in text
    assert text.startswith("<ChatResult model='m' status=interrupted tokens=12 finish=stop")
    assert len(text) < 160
    assert "error=" in repr(ChatResult("", status="error", error="bad\nthing"))
    assert "\n" not in repr(ChatResult("", status="error", error="bad\nthing"))
