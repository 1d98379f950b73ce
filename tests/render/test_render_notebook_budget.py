"""NotebookSink against a recording display: update rate, bytes sent, and the final state.

The issue's budget: at most about 20 updates a second, and the bytes sent for one answer
within 20x the answer's final size however fast tokens come. Time is simulated, so
nothing here depends on the speed of the machine.
"""

from __future__ import annotations

import itertools
import random

import pytest
from render_fakes import FakeClock, RecordingDisplay

from groq_magic.render import NotebookSink, TurnMeta, TurnSummary

META = TurnMeta(model="llama-3.3-70b-versatile", chat="default", stream=True)
WORDS = ["the", "model", "streams", "tokens", "quickly", "über", "naïve", "数据", "🙂", "x"]


def make_tokens(count: int, seed: int = 7) -> list[str]:
    """Realistic fragments: words, punctuation, paragraph breaks, a code block, non-ASCII."""
    rng = random.Random(seed)
    tokens = []
    for i in range(count):
        if i == count // 2:
            tokens.append("\n```python\n")
        elif i == count // 2 + 40:
            tokens.append("\n```\n")
        elif rng.random() < 0.03:
            tokens.append("\n\n")
        else:
            tokens.append(" " + rng.choice(WORDS) + rng.choice(["", "", ",", ".", '"']))
    return tokens


def run_stream(tokens: list[str], gap: float) -> tuple[RecordingDisplay, str]:
    clock = FakeClock()
    display = RecordingDisplay(clock)
    sink = NotebookSink(display=display, clock=clock)
    sink.start(META)
    for token in tokens:
        clock.advance(gap)
        sink.delta(token)
    text = "".join(tokens)
    sink.finish(
        TurnSummary(
            text=text,
            model=META.model,
            finish_reason="stop",
            prompt_tokens=45,
            completion_tokens=len(tokens),
            time_to_first_token=0.12,
            total_time=len(tokens) * gap,
            tokens_per_second=812.0,
        )
    )
    return display, text


def max_updates_in_any_second(times: list[float]) -> int:
    return max(sum(1 for t in times if start <= t < start + 1.0) for start in times)


@pytest.mark.parametrize(
    ("name", "gap"),
    [("fast: 5,000 tokens in one second", 1.0 / 5000), ("slow: 50 ms apart", 0.05)],
)
def test_five_thousand_tokens_stay_within_rate_and_byte_budget(name: str, gap: float) -> None:
    display, text = run_stream(make_tokens(5000), gap)
    final_bytes = len(text.encode("utf-8"))

    kinds = [call.kind for call in display.calls]
    assert kinds[0] == "display"
    assert set(kinds[1:]) == {"update"}
    assert max_updates_in_any_second([call.at for call in display.calls]) <= 21, name
    # Throttled updates (all but the first display and the final update) keep 50 ms apart.
    streamed = display.calls[1:-1]
    for before, after in itertools.pairwise(streamed):
        assert after.at - before.at >= 0.05 - 1e-9
    assert display.total_bytes <= 20 * final_bytes, (name, display.total_bytes / final_bytes)

    final = display.last
    assert final["text/markdown"].startswith(text.rstrip("\n"))
    assert final["text/markdown"].endswith(
        "\n\n*llama-3.3-70b-versatile · TTFT 0.12 s · 812 tok/s · 45 → 5000 tokens · stop*"
    )
    assert final["text/plain"].startswith(text.rstrip())


def test_bytes_stay_linear_for_a_long_answer() -> None:
    display, text = run_stream(make_tokens(50_000), 1.0 / 5000)
    assert display.total_bytes <= 20 * len(text.encode("utf-8"))


def test_final_state_is_sent_even_right_after_an_update() -> None:
    clock = FakeClock()
    display = RecordingDisplay(clock)
    sink = NotebookSink(display=display, clock=clock)
    sink.start(META)
    clock.advance(1.0)
    sink.delta("first")  # sent: the first text goes out once the interval has passed
    sink.delta(" and more")  # held back: same instant
    assert display.last == {"text/markdown": "first"}
    sink.finish(TurnSummary(text="first and more", model="m"))
    assert display.last["text/markdown"] == "first and more\n\n*m*"
    assert display.last["text/plain"] == "first and more\n\nm"


def test_held_back_text_is_sent_at_finish_without_waiting() -> None:
    clock = FakeClock()
    display = RecordingDisplay(clock)
    sink = NotebookSink(display=display, clock=clock)
    sink.start(META)
    for token in ["a", "b", "c"]:
        sink.delta(token)  # clock never moves: everything is held back
    assert [call.kind for call in display.calls] == ["display"]
    sink.finish(TurnSummary(text="abc", model="m"))
    assert display.last["text/markdown"].startswith("abc")
    assert len(display.calls) == 2
