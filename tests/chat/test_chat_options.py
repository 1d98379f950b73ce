"""ChatOptions: bounds in one place, one-line errors naming the flag, Groq request names."""

from __future__ import annotations

from typing import Any

import pytest

from groq_magic.chat.errors import OptionsError
from groq_magic.chat.options import (
    FLAGS,
    ChatOptions,
    is_secret_key,
    strip_secrets,
)


def test_defaults_send_nothing() -> None:
    opts = ChatOptions()
    assert opts.stream is True
    assert opts.history is True
    assert opts.json_mode is False
    assert opts.stop == []
    assert opts.to_request_params() == {}


@pytest.mark.parametrize(
    ("field", "expected"),
    [("temperature", (0.0, 2.0)), ("top_p", (0.0, 1.0)), ("max_tokens", (1, 131072))],
)
def test_bounds_come_from_the_model(field: str, expected: tuple[float, float]) -> None:
    assert ChatOptions.bounds(field) == expected


def test_bounds_match_validation_exactly() -> None:
    lo, hi = ChatOptions.bounds("temperature")
    assert ChatOptions.parse(temperature=lo).temperature == lo
    assert ChatOptions.parse(temperature=hi).temperature == hi
    with pytest.raises(OptionsError):
        ChatOptions.parse(temperature=hi + 0.001)
    with pytest.raises(OptionsError):
        ChatOptions.parse(temperature=lo - 0.001)


@pytest.mark.parametrize("field", ["seed", "model", "stop", "nonexistent"])
def test_bounds_of_unbounded_or_unknown_field_is_keyerror(field: str) -> None:
    with pytest.raises(KeyError):
        ChatOptions.bounds(field)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"temperature": 3.5}, "--temperature must be between 0 and 2 (got 3.5)"),
        ({"temperature": -0.1}, "--temperature must be between 0 and 2 (got -0.1)"),
        ({"temperature": "hot"}, "--temperature must be a number (got 'hot')"),
        ({"temperature": float("nan")}, "--temperature must be between 0 and 2 (got nan)"),
        ({"top_p": 1.5}, "--top-p must be between 0 and 1 (got 1.5)"),
        ({"max_tokens": 0}, "--max-tokens must be between 1 and 131072 (got 0)"),
        ({"max_tokens": 200000}, "--max-tokens must be between 1 and 131072 (got 200000)"),
        ({"max_tokens": "ten"}, "--max-tokens must be a whole number (got 'ten')"),
        ({"seed": "abc"}, "--seed must be a whole number (got 'abc')"),
        ({"stop": ["a", "b", "c", "d", "e"]}, "--stop takes at most 4 sequences (got 5)"),
        ({"stop": ["a", ""]}, "--stop sequences must not be empty"),
        ({"out": "not a name"}, "--out must be a Python variable name (got 'not a name')"),
        ({"schema_name": "1x"}, "--schema must be a Python variable name (got '1x')"),
        ({"model": ""}, "--model must not be empty"),
        ({"chat": ""}, "--chat must not be empty"),
        ({"bogus": 1}, "unknown option 'bogus'"),
        ({"extra": {"api_key": "k"}}, "extra must not carry credentials (got field 'api_key')"),
    ],
)
def test_errors_are_one_line_naming_the_flag(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(OptionsError) as info:
        ChatOptions.parse(**kwargs)
    assert str(info.value) == message
    assert "\n" not in str(info.value)
    assert isinstance(info.value, ValueError)


def test_error_carries_the_option() -> None:
    with pytest.raises(OptionsError) as info:
        ChatOptions.parse(top_p=2)
    assert info.value.option == "--top-p"


def test_every_field_has_a_flag() -> None:
    assert set(FLAGS) == set(ChatOptions.model_fields)


def test_strings_from_the_command_line_are_coerced() -> None:
    opts = ChatOptions.parse(temperature="0.5", top_p="0.9", max_tokens="100", seed="7")
    assert (opts.temperature, opts.top_p, opts.max_tokens, opts.seed) == (0.5, 0.9, 100, 7)


def test_single_stop_string_is_one_sequence_not_characters() -> None:
    assert ChatOptions.parse(stop=", 6").stop == [", 6"]
    assert ChatOptions.parse(stop=None).stop == []


def test_max_stop_is_four() -> None:
    assert len(ChatOptions.parse(stop=["a", "b", "c", "d"]).stop) == 4


def test_assignment_is_validated() -> None:
    opts = ChatOptions()
    with pytest.raises(ValueError, match="temperature"):
        opts.temperature = 9


def test_request_params_use_groq_names_and_only_what_was_set() -> None:
    opts = ChatOptions.parse(
        model="m", temperature=0.5, top_p=0.9, max_tokens=64, stop=["x"], seed=3, system="s"
    )
    assert opts.to_request_params() == {
        "temperature": 0.5,
        "top_p": 0.9,
        "max_completion_tokens": 64,
        "stop": "x",
        "seed": 3,
    }


def test_zero_values_are_sent() -> None:
    # 0 is a real setting, not "unset".
    params = ChatOptions.parse(temperature=0, top_p=0, seed=0).to_request_params()
    assert params == {"temperature": 0.0, "top_p": 0.0, "seed": 0}


def test_several_stops_are_a_list() -> None:
    assert ChatOptions.parse(stop=["a", "b"]).to_request_params() == {"stop": ["a", "b"]}


def test_json_mode_response_format() -> None:
    params = ChatOptions.parse(json_mode=True).to_request_params()
    assert params == {"response_format": {"type": "json_object"}}


def test_schema_response_format_wins_over_json_mode() -> None:
    opts = ChatOptions.parse(json_mode=True, schema_name="Person")
    fmt = {"type": "json_schema", "json_schema": {"name": "Person", "schema": {}}}
    assert opts.to_request_params(fmt)["response_format"] == fmt
    assert opts.wants_json
    assert ChatOptions.parse(schema_name="P").wants_json
    assert not ChatOptions().wants_json


def test_extra_fields_of_the_table_pass_through() -> None:
    opts = ChatOptions.parse(temperature=1.0, extra={"frequency_penalty": 0.5, "user": "me"})
    assert opts.to_request_params() == {
        "frequency_penalty": 0.5,
        "user": "me",
        "temperature": 1.0,
    }


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"temperature": 0.1}, "extra field 'temperature' is set by --temperature, not by extra"),
        ({"model": "other"}, "extra field 'model' is set by --model, not by extra"),
        ({"stream": False}, "extra field 'stream' is set by --no-stream, not by extra"),
        ({"n": 64}, "extra field 'n' is set by groq_magic (one answer per request), not by extra"),
        ({"tools": []}, "extra field 'tools' is set by --tools, not by extra"),
        ({"nope": 1}, "extra field 'nope' is not a request field it takes (it takes: "),
        ({"frequency_penalty": "high"}, "extra field 'frequency_penalty' must be int/float"),
        ({"logprobs": 1}, "extra field 'logprobs' must be bool (got 1)"),
    ],
)
def test_extra_fields_outside_the_table_are_one_line(extra: dict[str, Any], message: str) -> None:
    with pytest.raises(OptionsError) as info:
        ChatOptions.parse(extra=extra)
    assert str(info.value).startswith(message), str(info.value)
    assert "\n" not in str(info.value)


def test_snapshot_round_trip() -> None:
    opts = ChatOptions.parse(model="m", temperature=0.2, stop=["a", "b"], json_mode=True, out="r")
    again = ChatOptions.from_snapshot(opts.snapshot())
    assert again == opts


def test_from_snapshot_ignores_unknown_keys() -> None:
    assert ChatOptions.from_snapshot({"temperature": 1, "gone_field": 2}).temperature == 1


def test_merged_applies_changes_and_validates() -> None:
    base = ChatOptions.parse(model="m", temperature=0.3)
    changed = base.merged(temperature=1.5, top_p=None)
    assert (changed.model, changed.temperature, changed.top_p) == ("m", 1.5, None)
    assert base.temperature == 0.3
    with pytest.raises(OptionsError, match="--temperature"):
        base.merged(temperature=5)


def test_there_is_no_key_field() -> None:
    assert not any("key" in name for name in ChatOptions.model_fields)


@pytest.mark.parametrize("name", ["api_key", "API-KEY", "Authorization", "x_secret", "groq_token"])
def test_secret_names(name: str) -> None:
    assert is_secret_key(name)


@pytest.mark.parametrize(
    "name", ["max_tokens", "total_tokens", "prompt_tokens", "completion_tokens", "keyword", "model"]
)
def test_not_secret_names(name: str) -> None:
    assert not is_secret_key(name)


def test_key_shaped_values_are_redacted_anywhere() -> None:
    data = {"note": "gsk_abcdefghijklmnop", "h": ["Bearer abc"], "ok": "gsk_", "n": 3}
    assert strip_secrets(data) == {"note": "[redacted]", "h": ["[redacted]"], "ok": "gsk_", "n": 3}
    with pytest.raises(OptionsError, match="looks like an API key"):
        ChatOptions.parse(extra={"user": "gsk_abcdefghijklmnop"})


def test_schemas_are_not_mistaken_for_credentials() -> None:
    body = {
        "response_format": {
            "type": "json_schema",
            "json_schema": {"name": "Login", "schema": {"properties": {"password": {}}}},
        }
    }
    assert strip_secrets(body) == body


def test_strip_secrets_is_deep_and_copies() -> None:
    data = {"a": 1, "api_key": "gsk_x", "nested": [{"Authorization": "Bearer y", "b": 2}]}
    cleaned = strip_secrets(data)
    assert cleaned == {"a": 1, "nested": [{"b": 2}]}
    assert data["api_key"] == "gsk_x"


@pytest.mark.parametrize(
    ("name", "secret"),
    [
        ("api_key", True),
        ("Authorization", True),
        ("token", True),
        ("access_token", True),
        ("refresh_token", True),
        ("client_secret", True),
        ("time_to_first_token", False),
        ("max_tokens", False),
        ("cached_tokens", False),
        ("tokens_per_second", False),
    ],
)
def test_which_names_hold_credentials(name: str, secret: bool) -> None:
    """A table row's time_to_first_token was dropped as a credential when scrubbed."""
    assert is_secret_key(name) is secret
