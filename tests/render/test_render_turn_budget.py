"""The display budget with thinking and tool lines: NotebookSink fed as the engine feeds it.

The same rule as ``test_render_notebook_budget.py`` (at most about 20 updates a second,
and all the bytes sent within 20x the final output), for a turn that thinks, calls
tools, thinks again and answers. Time is simulated: nothing depends on the machine.
"""

from __future__ import annotations

import itertools

import pytest
from render_fakes import FakeClock, RecordingDisplay, payload_bytes
from test_render_notebook_budget import make_tokens, max_updates_in_any_second

from groq_magic.chat.sink import ToolNote
from groq_magic.render import NotebookSink, TurnMeta, TurnSummary

META = TurnMeta(model="openai/gpt-oss-120b", chat="default", stream=True, notes=("a note",))
BUDGET = 20  # the multiple of the final output that all updates together may cost


def tool_notes(step: int, calls: int) -> list[tuple[ToolNote, ToolNote]]:
    """(running, done) notes of one tool round, shaped like the engine's."""
    notes = []
    for n in range(calls):
        key = f"call_{step}_{n}"
        running = f'🔧 lookup({{"city": "City{n}"}}) …'
        done_line = f'🔧 lookup(city="City{n}") → "12°C, rain" · 0.02 s'
        markdown = (
            f"<details><summary>{done_line}</summary>\n\nArguments:\n\n```json\n"
            f'{{\n  "city": "City{n}"\n}}\n```\n\nResult:\n\n```text\n12°C, rain\n```\n\n'
            "</details>\n"
        )
        notes.append(
            (ToolNote(key, running, running, done=False), ToolNote(key, done_line, markdown))
        )
    return notes


def run_turn_display(
    thinking: int, answer: int, gap: float, rounds: int = 2, calls: int = 3
) -> tuple[RecordingDisplay, NotebookSink]:
    """Thinking, then ``rounds`` tool rounds each followed by more thinking, then the answer."""
    clock = FakeClock()
    display = RecordingDisplay(clock)
    sink = NotebookSink(display=display, clock=clock)
    sink.start(META)
    thoughts = iter(make_tokens(thinking * (rounds + 1), seed=3))
    for step in range(rounds + 1):
        for token in itertools.islice(thoughts, thinking):
            clock.advance(gap)
            sink.reasoning(token)
        if step == rounds:
            break
        notes = tool_notes(step, calls)
        for running, _ in notes:
            sink.tool(running)
        for _, done in notes:
            clock.advance(0.02)
            sink.tool(done)
    tokens = make_tokens(answer)
    for token in tokens:
        clock.advance(gap)
        sink.delta(token)
    sink.finish(
        TurnSummary(
            text="".join(tokens),
            model=META.model,
            finish_reason="stop",
            prompt_tokens=45,
            completion_tokens=thinking * (rounds + 1) + answer,
            reasoning_tokens=thinking * (rounds + 1),
            tool_calls=rounds * calls,
            time_to_first_token=0.12,
            total_time=(thinking * (rounds + 1) + answer) * gap,
            tokens_per_second=812.0,
        )
    )
    return display, sink


@pytest.mark.parametrize(
    ("thinking", "answer", "gap"),
    [
        (2000, 5000, 1.0 / 5000),  # fast: thousands of tokens a second
        (2000, 5000, 0.05),  # slow: 50 ms apart
        (4000, 200, 1.0 / 2000),  # mostly thinking, a short answer
        (20, 3000, 1.0 / 5000),  # a short thought
    ],
    ids=["fast", "slow", "long-thought", "short-thought"],
)
def test_thinking_and_tool_lines_stay_within_the_byte_budget(
    thinking: int, answer: int, gap: float
) -> None:
    display, _ = run_turn_display(thinking, answer, gap)
    final = display.last
    final_bytes = payload_bytes(final)
    assert display.total_bytes <= BUDGET * final_bytes, display.total_bytes / final_bytes
    kinds = [call.kind for call in display.calls]
    assert kinds[0] == "display"
    assert set(kinds[1:]) == {"update"}
    # Tool lines go out at once (a slow call should show), but they are few: the rate
    # holds with them counted.
    assert max_updates_in_any_second([call.at for call in display.calls]) <= 21 + 2 * 3
    markdown = final["text/markdown"]
    assert markdown.startswith("*a note*\n\n<details><summary>🔧 lookup(")
    assert markdown.count("<details><summary>🔧") == 6
    assert "…" not in markdown.split("💭")[0]  # every running line was replaced
    assert "<details><summary>💭 thought (" in markdown
    assert "<details open>" not in markdown
    assert markdown.endswith(f"({3 * thinking} reasoning) · 6 tool calls · stop*")


def test_the_thinking_grows_then_collapses_in_the_updates() -> None:
    display, _ = run_turn_display(300, 300, 0.06, rounds=0)
    shown = [call.bundle.get("text/markdown", "") for call in display.calls]
    open_ = [i for i, md in enumerate(shown) if "<details open><summary>💭 thinking…" in md]
    closed = [i for i, md in enumerate(shown) if "<details><summary>💭 thought (" in md]
    assert open_
    assert closed
    assert max(open_) < min(closed)
    # While it is open the thinking only grows: each update holds the one before.
    bodies = [shown[i].split("</summary>", 1)[1].split("</details>")[0].strip() for i in open_]
    for before, after in itertools.pairwise(bodies):
        assert after.startswith(before)
