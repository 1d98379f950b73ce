"""A knob is declared once: one entry in the table reaches every view of it.

A copy of the table with one more knob (a made-up ``--presence`` setting Groq's
``presence_penalty``) is given to each builder, and the knob is found everywhere: the
options model (its field, bounds and one-line errors), the wire, the magic's parser and
``%config`` traits, the table columns and rows (compares, sweeps, batches), what pass
rates are grouped by, and the ``%%groq`` line the panel copies and ``%groq export``
writes. Then every knob of the real table round-trips: options -> cell line (as export
writes it) -> the magic's parser -> the same options and the same request.
"""

from __future__ import annotations

import argparse
from typing import Any

import pytest

from groq_magic.chat.errors import OptionsError
from groq_magic.chat.line import cell_line
from groq_magic.chat.options import ChatOptions, options_model
from groq_magic.chat.row import table_columns, table_row
from groq_magic.knobs import KNOBS, Knob, group_names
from groq_magic.magics import config_traits, knob_arguments, options_from_flags, split_line

PRESENCE = Knob(
    "presence", float, "--presence", "Presence penalty, -2 to 2.", ge=-2.0, le=2.0,
    list_flag="--presence", config=True, param="presence_penalty", column=True, groups=True,
)  # fmt: skip


def _parser(table: dict[str, Knob]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(exit_on_error=False)
    for flags, spec in knob_arguments(table):
        parser.add_argument(*flags, **spec)
    return parser


def _parse(table: dict[str, Knob], model: Any, line: str) -> Any:
    parser = _parser(table)
    takes_value = {
        option
        for action in parser._actions
        if action.nargs != 0
        for option in action.option_strings
    }
    argv, rest, _ = split_line(line.removeprefix("%%groq").strip(), takes_value)
    assert rest == ""
    options, grid = options_from_flags(parser.parse_args(argv), model)
    assert grid == {}
    return options


def test_a_knob_added_to_a_copy_of_the_table_is_seen_everywhere() -> None:
    table = {**KNOBS, "presence": PRESENCE}
    model = options_model(table)
    options = model.parse(presence=0.5, model="m", temperature=0.2)
    # The model: its field, bounds, and a one-line error naming the flag.
    assert options.presence == 0.5
    assert model.bounds("presence") == (-2.0, 2.0)
    with pytest.raises(OptionsError, match=r"^--presence must be between -2 and 2 \(got 3\)$"):
        model.parse(presence=3)
    # The wire.
    assert options.to_request_params()["presence_penalty"] == 0.5
    # The parser and the %config traits.
    assert _parse(table, model, "%%groq --presence 0.5 -m m").presence == 0.5
    assert "presence" in config_traits(table)
    assert "presence" not in config_traits(KNOBS)
    # Compare, sweep and batch rows; pass-rate grouping.
    assert "presence" in table_columns(table)
    assert table_row(options, model="m", status="complete")["presence"] == 0.5
    assert "presence" in group_names(table)
    # The panel's "copy as cell" and export: the same line, parsed back.
    line = cell_line(options)
    assert "--presence 0.5" in line
    assert _parse(table, model, line) == options


SAMPLES: dict[str, Any] = {
    "model": "llama-3.1-8b-instant",
    "temperature": 0.7,
    "top_p": 0.9,
    "max_tokens": 200,
    "seed": 42,
    "system": "Answer in French, it's 'polite'.",
    "stop": [", 6", "a\nb", 'say "hi"'],
    "tools": ["get_weather", "search_docs"],
    "tool_choice": "auto",
    "max_steps": 3,
    "mcp": ["files", "web-search"],
    "approve": "always",
    "images": ["chart.png", "https://example.com/a b.png"],
    "reasoning_effort": "low",
    "reasoning_format": "parsed",
    "context": ["df", "In[3]", "Err"],
    "context_limit": 2000,
    "code": True,
    "cache": True,
    "json_mode": True,
    "schema_name": "Recipe",
    "chat": "drafts",
    "history": False,
    "stream": False,
    "out": "answer",
}


def test_every_knob_has_a_sample_here() -> None:
    assert set(SAMPLES) == set(KNOBS), "a new knob needs a sample value in this test"


@pytest.mark.parametrize("name", sorted(KNOBS))
def test_every_knob_round_trips_cell_export_parse(name: str) -> None:
    options = ChatOptions.parse(**{name: SAMPLES[name]})
    line = cell_line(options)
    again = _parse(dict(KNOBS), ChatOptions, line)
    assert getattr(again, name) == getattr(options, name), line
    assert again.to_request_params() == options.to_request_params()


def test_all_knobs_together_round_trip() -> None:
    options = ChatOptions.parse(**SAMPLES)
    again = _parse(dict(KNOBS), ChatOptions, cell_line(options))
    assert again.model_dump() == options.model_dump()
