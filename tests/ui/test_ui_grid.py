"""expand_grid: every combination, validated through ChatOptions, limits before any request."""

from __future__ import annotations

import pytest

from groq_magic.chat import ChatOptions, OptionsError
from groq_magic.sweeps.grid import MAX_RUNS, expand_grid, grid_size


def test_product_of_lists_in_field_order() -> None:
    base = ChatOptions.parse(max_tokens=5)
    runs = expand_grid(base, {"temperature": [0.0, 0.7], "model": ["a", "b"]})
    assert [(r.model, r.temperature, r.max_tokens) for r in runs] == [
        ("a", 0.0, 5),
        ("a", 0.7, 5),
        ("b", 0.0, 5),
        ("b", 0.7, 5),
    ]


def test_repeat_assigns_distinct_seeds_from_zero_or_the_base_seed() -> None:
    runs = expand_grid(ChatOptions(), {"model": ["a"]}, repeat=3)
    assert [r.seed for r in runs] == [0, 1, 2]
    runs = expand_grid(ChatOptions.parse(seed=40), {"temperature": [0.0, 1.0]}, repeat=2)
    assert [(r.temperature, r.seed) for r in runs] == [(0.0, 40), (0.0, 41), (1.0, 40), (1.0, 41)]


def test_repeat_without_grid_is_a_grid_of_repeats() -> None:
    assert [r.seed for r in expand_grid(ChatOptions(model="m"), {}, repeat=2)] == [0, 1]


def test_empty_list_is_one_clear_line() -> None:
    with pytest.raises(OptionsError, match=r"^--temperature needs at least one value"):
        expand_grid(ChatOptions(), {"temperature": []})
    with pytest.raises(OptionsError, match=r"^--compare needs at least one value"):
        expand_grid(ChatOptions(), {"model": []})


def test_out_of_range_value_uses_the_options_model_bounds() -> None:
    lo, hi = ChatOptions.bounds("temperature")
    with pytest.raises(OptionsError) as info:
        expand_grid(ChatOptions(), {"temperature": [0.5, hi + 1]})
    assert str(info.value) == f"--temperature must be between {lo:g} and {hi:g} (got {hi + 1!r})"
    with pytest.raises(OptionsError, match=r"^--top-p must be between 0 and 1"):
        expand_grid(ChatOptions(), {"top_p": [1.5]})


def test_grid_over_the_limit_names_its_shape() -> None:
    grid = {"model": ["a", "b"], "temperature": [0.0, 0.5, 1.0, 1.5]}
    assert grid_size(grid, repeat=8) == MAX_RUNS
    assert len(expand_grid(ChatOptions(), grid, repeat=8)) == MAX_RUNS
    with pytest.raises(OptionsError) as info:
        expand_grid(ChatOptions(), grid, repeat=9)
    assert str(info.value) == (
        "the grid has 72 runs (2 compare x 4 temperature x repeat 9); the limit is 64:"
        " use fewer values (groq_magic.sweep runs a grid of any size, without panes)"
    )


def test_prompts_count_towards_the_limit() -> None:
    with pytest.raises(OptionsError, match=r"^the grid has 66 runs \(33 prompts x 2 temperature"):
        expand_grid(ChatOptions(), {"temperature": [0.0, 1.0]}, prompts=33)


@pytest.mark.parametrize(
    ("grid", "repeat", "message"),
    [
        ({"system": ["a", "b"]}, 1, "--system cannot take a list of values"),
        ({"temperature": 0.5}, 1, "--temperature must be a list of values"),
        ({"seed": [1, 2]}, 2, "--repeat gives each repetition its own seed"),
        ({}, 0, "--repeat must be a whole number >= 1 (got 0)"),
    ],
)
def test_other_bad_shapes(grid: dict, repeat: int, message: str) -> None:
    with pytest.raises(OptionsError) as info:
        expand_grid(ChatOptions(), grid, repeat)
    assert str(info.value).startswith(message)
    assert "\n" not in str(info.value)
