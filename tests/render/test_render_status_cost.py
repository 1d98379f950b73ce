"""The status line's cost (``%config GroqMagics.show_cost``) and a replayed answer's line."""

from __future__ import annotations

from groq_magic._text import cost_text
from groq_magic.render.base import TurnSummary, status_line

TIMED = {"time_to_first_token": 0.12, "tokens_per_second": 812.0}


def summary(**fields: object) -> TurnSummary:
    base: dict[str, object] = {
        "text": "Blue.",
        "model": "m",
        "prompt_tokens": 45,
        "completion_tokens": 210,
        "finish_reason": "stop",
        **TIMED,
    }
    return TurnSummary(**{**base, **fields})  # type: ignore[arg-type]


def test_the_cost_is_shown_only_when_asked() -> None:
    assert (
        status_line(summary(cost=0.000182))
        == "m · TTFT 0.12 s · 812 tok/s · 45 → 210 tokens · stop"
    )
    shown = status_line(summary(cost=0.000182, show_cost=True))
    assert shown == "m · TTFT 0.12 s · 812 tok/s · 45 → 210 tokens · $0.000182 · stop"


def test_an_unknown_cost_says_so_and_a_free_one_is_zero() -> None:
    assert "· cost unknown ·" in status_line(summary(cost=None, show_cost=True))
    assert "· $0 ·" in status_line(summary(cost=0.0, show_cost=True))


def test_a_replayed_answer_shows_no_timings() -> None:
    line = status_line(summary(cached=True, cost=0.0, show_cost=True))
    assert line == "m · cached · 45 → 210 tokens · $0 · stop"


def test_cost_text() -> None:
    assert [cost_text(v) for v in (None, 0, 0.0000123, 0.0042, 0.5, 12.3456)] == [
        "unknown",
        "$0",
        "$0.000012",
        "$0.004200",
        "$0.5000",
        "$12.3456",
    ]
