"""The price table: the shipped file, overrides, and the arithmetic of ``cost``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from groq_magic.local import LOCAL_MODEL_NAME
from groq_magic.store import PriceFileError, cost, default_prices, load_prices

CURRENT_MODELS = (
    "llama-3.1-8b-instant",
    "llama-3.3-70b-versatile",
    "meta-llama/llama-4-scout-17b-16e-instruct",
    "meta-llama/llama-4-maverick-17b-128e-instruct",
    "openai/gpt-oss-20b",
    "openai/gpt-oss-120b",
    "qwen/qwen3-32b",
    "moonshotai/kimi-k2-instruct-0905",
    "groq/compound",
    "groq/compound-mini",
)
USAGE = {"prompt_tokens": 1_000_000, "completion_tokens": 1_000_000, "total_tokens": 2_000_000}


def test_the_shipped_table_says_where_it_comes_from() -> None:
    table = default_prices()
    assert table.source == "https://groq.com/pricing/"
    assert table.date
    assert table.date[:2] == "20"
    assert table.batch_discount == 0.5
    for model in CURRENT_MODELS:
        assert table.get(model) is not None, model


def test_a_million_each_costs_input_plus_output() -> None:
    assert cost("llama-3.3-70b-versatile", USAGE) == pytest.approx(0.59 + 0.79)
    assert cost("LLAMA-3.1-8B-INSTANT", USAGE) == pytest.approx(0.05 + 0.08)


def test_unknown_is_none_never_zero() -> None:
    assert cost("no-such-model", USAGE) is None
    assert cost(None, USAGE) is None
    assert cost("groq/compound", USAGE) is None  # bills the models and tools it used
    assert cost("llama-3.3-70b-versatile", {}) is None  # no token counts


def test_the_local_model_is_free() -> None:
    assert cost(LOCAL_MODEL_NAME, USAGE) == 0.0
    assert cost("my-local", USAGE, free_models={"my-local"}) == 0.0
    assert cost(LOCAL_MODEL_NAME, USAGE, free_models=()) is None


def test_cached_tokens_are_charged_at_the_cached_rate() -> None:
    usage = {**USAGE, "prompt_tokens_details": {"cached_tokens": 400_000}}
    assert cost("openai/gpt-oss-120b", usage) == pytest.approx(0.6 * 0.15 + 0.4 * 0.075 + 0.6)
    # No cached rate listed: cached tokens cost the input rate, never less than we know.
    assert cost("llama-3.3-70b-versatile", usage) == pytest.approx(0.59 + 0.79)


def test_cached_tokens_from_a_pydantic_usage() -> None:
    from groq_magic.client import CompletionUsage

    usage = CompletionUsage.model_validate(
        {**USAGE, "prompt_tokens_details": {"cached_tokens": 1_000_000}}
    )
    assert cost("openai/gpt-oss-20b", usage) == pytest.approx(0.0375 + 0.3)


def test_batch_halves_the_cost() -> None:
    full = cost("qwen/qwen3-32b", USAGE)
    assert full is not None
    assert cost("qwen/qwen3-32b", USAGE, batch=True) == pytest.approx(full / 2)


def test_an_override_dict(tmp_path: Path) -> None:
    table = load_prices(
        {"llama-3.3-70b-versatile": {"input": 1, "output": 2}, "mine": {"input": 3, "output": 4}}
    )
    assert cost("llama-3.3-70b-versatile", USAGE, prices=table) == pytest.approx(3)
    assert cost("mine", USAGE, prices=table) == pytest.approx(7)
    assert cost("qwen/qwen3-32b", USAGE, prices=table) == pytest.approx(0.29 + 0.59)
    full = load_prices({"models": {"mine": {"input": 1, "output": 1}}, "batch_discount": 0.25})
    assert cost("mine", USAGE, batch=True, prices=full) == pytest.approx(1.5)


def test_an_override_file(tmp_path: Path) -> None:
    path = tmp_path / "prices.json"
    path.write_text(
        json.dumps({"models": {"mine": {"input": 1, "output": 1, "cached_input": 0.5}}})
    )
    assert cost("mine", USAGE, prices=load_prices(path)) == pytest.approx(2)
    assert cost("mine", USAGE, prices=load_prices(str(path))) == pytest.approx(2)


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ("{not json", "is not JSON"),
        ("[1, 2]", "must be a JSON object"),
        ('{"models": []}', "'models' must map model ids"),
        ('{"m": 3}', "model 'm' needs an object"),
        ('{"m": {"input": "cheap", "output": 1}}', "'input' must be USD per million tokens"),
        ('{"m": {"input": -1, "output": 1}}', "must not be negative"),
        ('{"m": {"input": 1, "output": true}}', "'output' must be USD"),
        ('{"m": {"inptu": 1}}', "unknown field 'inptu'"),
        ('{"models": {}, "batch_discount": 2}', "'batch_discount' must be between 0 and 1"),
        ("\udcff", "is not UTF-8 text"),
    ],
)
def test_an_invalid_price_file_is_one_line(tmp_path: Path, content: str, fragment: str) -> None:
    path = tmp_path / "prices.json"
    path.write_bytes(content.encode("utf-8", "surrogateescape"))
    with pytest.raises(PriceFileError) as info:
        load_prices(path)
    message = str(info.value)
    assert fragment in message
    assert "\n" not in message
    assert str(path) in message


def test_a_missing_price_file_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(PriceFileError, match=r"cannot read price file .*No such file") as info:
        load_prices(tmp_path / "missing.json")
    assert "\n" not in str(info.value)


def test_an_invalid_override_dict_is_one_line() -> None:
    bad: dict[str, Any] = {"m": {"input": float("nan"), "output": 1}}
    with pytest.raises(PriceFileError, match="price override: model 'm'"):
        load_prices(bad)


def test_the_price_file_ships_in_the_wheel() -> None:
    # hatch packages groq_magic/ wholesale ([tool.hatch.build.targets.wheel] packages),
    # so the data file goes wherever the package goes; here it is read as package data.
    from importlib import resources

    text = resources.files("groq_magic.store").joinpath("prices.json").read_text("utf-8")
    assert json.loads(text)["source"] == "https://groq.com/pricing/"
