"""status_line: every part when known, none when unknown, and how unfinished turns read."""

from __future__ import annotations

from groq_magic.render.base import TurnSummary, status_line


def test_all_parts_known() -> None:
    summary = TurnSummary(
        text="1, 2, 3",
        model="llama-3.3-70b-versatile",
        finish_reason="stop",
        prompt_tokens=45,
        completion_tokens=210,
        time_to_first_token=0.1234,
        total_time=0.5,
        tokens_per_second=812.4,
    )
    assert status_line(summary) == (
        "llama-3.3-70b-versatile · TTFT 0.12 s · 812 tok/s · 45 → 210 tokens · stop"
    )


def test_unknown_parts_are_left_out() -> None:
    assert status_line(TurnSummary(text="hi", model="m")) == "m"
    assert status_line(TurnSummary(text="hi", model="")) == ""
    summary = TurnSummary(text="hi", model="m", completion_tokens=7, finish_reason="length")
    assert status_line(summary) == "m · 7 tokens · length"
    assert status_line(TurnSummary(text="", model="m", prompt_tokens=9)) == "m · 9 prompt tokens"


def test_slow_and_long_figures_keep_useful_precision() -> None:
    summary = TurnSummary(text="", model="m", time_to_first_token=12.345, tokens_per_second=4.26)
    assert status_line(summary) == "m · TTFT 12.3 s · 4.3 tok/s"


def test_interrupted_is_marked() -> None:
    summary = TurnSummary(text="1, 2", model="m", status="interrupted", completion_tokens=3)
    assert status_line(summary) == "m · 3 tokens · interrupted"


def test_incomplete_carries_its_error_on_one_line() -> None:
    summary = TurnSummary(
        text="1, 2",
        model="m",
        status="incomplete",
        error="the connection dropped\n  before [DONE]",
    )
    line = status_line(summary)
    assert line == "m · incomplete: the connection dropped before [DONE]"
    assert "\n" not in line
