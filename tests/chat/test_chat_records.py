"""to_records: every JSON shape becomes rows pandas.DataFrame takes as they are."""

from __future__ import annotations

from typing import Any

import pandas
import pytest

from groq_magic.chat.records import flatten, to_records


def frame(obj: Any) -> pandas.DataFrame:
    return pandas.DataFrame(to_records(obj))


def test_flatten_nested_objects_to_dotted_keys() -> None:
    assert flatten({"a": {"b": {"c": 1}, "d": 2}, "e": [1, {"f": 2}]}) == {
        "a.b.c": 1,
        "a.d": 2,
        "e": [1, {"f": 2}],
    }


def test_flatten_empty_nested_object_is_none() -> None:
    assert flatten({"a": {}, "b": 1}) == {"a": None, "b": 1}


def test_top_level_list_of_objects_becomes_rows() -> None:
    data = [
        {"name": "Ann", "address": {"city": "Oslo", "geo": {"lat": 59.9}}},
        {"name": "Bo", "address": {"city": "Rome"}, "extra": True},
    ]
    assert to_records(data) == [
        {"name": "Ann", "address.city": "Oslo", "address.geo.lat": 59.9},
        {"name": "Bo", "address.city": "Rome", "extra": True},
    ]
    df = frame(data)
    assert list(df.columns) == ["name", "address.city", "address.geo.lat", "extra"]
    assert df.shape == (2, 4)
    assert df["address.city"].tolist() == ["Oslo", "Rome"]


def test_top_level_list_of_scalars() -> None:
    assert to_records([1, "two", None]) == [{"value": 1}, {"value": "two"}, {"value": None}]
    assert list(frame([1, 2]).columns) == ["value"]


def test_list_of_lists_rows_hold_the_inner_list() -> None:
    assert to_records([[1, 2], [3]]) == [{"value": [1, 2]}, {"value": [3]}]


def test_wrapper_object_with_one_list_of_objects() -> None:
    data = {"people": [{"name": "Ann", "age": 3}, {"name": "Bo", "age": 4}]}
    assert to_records(data) == [{"name": "Ann", "age": 3}, {"name": "Bo", "age": 4}]
    df = frame(data)
    assert list(df.columns) == ["name", "age"]
    assert df["age"].sum() == 7


def test_single_list_field_other_fields_are_repeated_context() -> None:
    data = {
        "country": "NO",
        "meta": {"source": "llm"},
        "cities": [{"name": "Oslo"}, {"name": "Bergen"}],
    }
    assert to_records(data) == [
        {"name": "Oslo", "country": "NO", "meta.source": "llm"},
        {"name": "Bergen", "country": "NO", "meta.source": "llm"},
    ]
    assert list(frame(data).columns) == ["name", "country", "meta.source"]


def test_collision_with_context_prefixes_item_key() -> None:
    data = {"name": "list of cities", "cities": [{"name": "Oslo", "pop": 1}]}
    assert to_records(data) == [{"cities.name": "Oslo", "pop": 1, "name": "list of cities"}]


def test_list_nested_under_objects_counts_as_the_single_list() -> None:
    data = {"data": {"items": [{"id": 1}, {"id": 2}]}, "total": 2}
    assert to_records(data) == [{"id": 1, "total": 2}, {"id": 2, "total": 2}]


def test_single_list_of_scalars_inside_an_object() -> None:
    data = {"topic": "colors", "colors": ["red", "blue"]}
    assert to_records(data) == [
        {"colors": "red", "topic": "colors"},
        {"colors": "blue", "topic": "colors"},
    ]
    assert frame(data)["colors"].tolist() == ["red", "blue"]


def test_two_list_fields_stay_one_row() -> None:
    data = {"a": [1, 2], "b": ["x"], "c": 3}
    assert to_records(data) == [{"a": [1, 2], "b": ["x"], "c": 3}]
    df = frame(data)
    assert df.shape == (1, 3)
    assert df.loc[0, "a"] == [1, 2]


def test_object_without_lists_is_one_row() -> None:
    data = {"name": "Ann", "address": {"city": "Oslo"}}
    assert to_records(data) == [{"name": "Ann", "address.city": "Oslo"}]
    assert list(frame(data).columns) == ["name", "address.city"]


@pytest.mark.parametrize("data", [[], {"items": []}, {"n": 0, "items": []}, None])
def test_empty_shapes_give_no_rows(data: Any) -> None:
    assert to_records(data) == []
    assert frame(data).empty


def test_empty_object_is_one_empty_row() -> None:
    assert to_records({}) == [{}]


@pytest.mark.parametrize("value", [1, 2.5, "text", True])
def test_scalar_is_one_value_row(value: Any) -> None:
    assert to_records(value) == [{"value": value}]
    assert frame(value)["value"].tolist() == [value]


def test_items_in_exploded_list_that_are_not_objects_use_the_field_name() -> None:
    data = {"xs": [{"a": 1}, 2]}
    assert to_records(data) == [{"a": 1}, {"xs": 2}]


def test_input_is_not_mutated() -> None:
    data = {"items": [{"a": {"b": 1}}], "k": {"v": 1}}
    snapshot = repr(data)
    to_records(data)
    assert repr(data) == snapshot


def test_rows_have_no_dict_values() -> None:
    data = [{"a": {"b": {"c": {}}}, "d": {"e": 1}}]
    for row in to_records(data):
        assert not any(isinstance(v, dict) for v in row.values())
