"""NotebookSink: what the one display shows at start, while streaming, at the end."""

from __future__ import annotations

from render_fakes import FakeClock, RecordingDisplay

from groq_magic.render import NotebookSink, TurnMeta, TurnSummary
from groq_magic.render.notebook import escape_markdown, unclosed_fence, with_footer

META = TurnMeta(model="openai/gpt-oss-20b", chat="default", stream=True)


def make_sink() -> tuple[NotebookSink, RecordingDisplay, FakeClock]:
    clock = FakeClock()
    display = RecordingDisplay(clock)
    return NotebookSink(display=display, clock=clock), display, clock


def test_start_shows_a_waiting_note_in_one_new_display() -> None:
    sink, display, _ = make_sink()
    sink.start(META)
    assert [call.kind for call in display.calls] == ["display"]
    assert display.last == {
        "text/markdown": "*openai/gpt-oss-20b · waiting…*",
        "text/plain": "openai/gpt-oss-20b · waiting…",
    }


def test_streaming_updates_carry_the_answer_as_markdown_only() -> None:
    sink, display, clock = make_sink()
    sink.start(META)
    clock.advance(0.1)
    sink.delta("# Title\n")
    assert display.calls[-1].kind == "update"
    assert display.last == {"text/markdown": "# Title\n"}


def test_finish_puts_the_status_line_under_the_answer() -> None:
    sink, display, clock = make_sink()
    sink.start(META)
    clock.advance(0.1)
    sink.delta("Hello *world*")
    sink.finish(TurnSummary(text="Hello *world*", model="openai/gpt-oss-20b", finish_reason="stop"))
    assert display.last == {
        "text/markdown": "Hello *world*\n\n*openai/gpt-oss-20b · stop*",
        "text/plain": "Hello *world*\n\nopenai/gpt-oss-20b · stop",
    }
    assert sink.shows_answer is True


def test_interrupted_answer_stays_visible_and_says_interrupted() -> None:
    sink, display, clock = make_sink()
    sink.start(META)
    clock.advance(0.1)
    sink.delta("1, 2, 3")
    sink.finish(TurnSummary(text="1, 2, 3", model="m", status="interrupted"))
    assert display.last["text/markdown"] == "1, 2, 3\n\n*m · interrupted*"
    assert display.last["text/plain"] == "1, 2, 3\n\nm · interrupted"


def test_interrupted_inside_a_code_block_closes_it_before_the_footer() -> None:
    sink, display, clock = make_sink()
    sink.start(META)
    clock.advance(0.1)
    partial = "Here:\n\n````python\nprint('```')\n"
    sink.delta(partial)
    sink.finish(TurnSummary(text=partial, model="m", status="interrupted"))
    assert display.last["text/markdown"] == (
        "Here:\n\n````python\nprint('```')\n````\n\n*m · interrupted*"
    )


def test_empty_summary_text_falls_back_to_the_streamed_text() -> None:
    sink, display, clock = make_sink()
    sink.start(META)
    clock.advance(0.1)
    sink.delta("partial")
    sink.finish(TurnSummary(text="", model="m", status="interrupted"))
    assert display.last["text/markdown"].startswith("partial\n\n")


def test_nothing_streamed_leaves_only_the_status_with_the_model_from_start() -> None:
    sink, display, _ = make_sink()
    sink.start(META)
    sink.finish(TurnSummary(text="", model="", status="interrupted"))
    assert display.last == {
        "text/markdown": "*openai/gpt-oss-20b · interrupted*",
        "text/plain": "openai/gpt-oss-20b · interrupted",
    }


def test_fail_empties_the_display_for_the_callers_error() -> None:
    sink, display, clock = make_sink()
    sink.start(META)
    clock.advance(0.1)
    sink.delta('{"a": ')
    sink.fail("the answer is not JSON")
    assert display.calls[-1].kind == "update"
    assert display.last == {}


def test_fail_before_start_shows_nothing() -> None:
    sink, display, _ = make_sink()
    sink.fail("401 invalid_api_key")
    assert display.calls == []


def test_a_second_turn_gets_a_new_display() -> None:
    sink, display, clock = make_sink()
    for answer in ["one", "two"]:
        sink.start(META)
        clock.advance(0.1)
        sink.delta(answer)
        sink.finish(TurnSummary(text=answer, model="m"))
    assert [call.kind for call in display.calls].count("display") == 2
    assert display.last["text/markdown"] == "two\n\n*m*"


def test_footer_escapes_markdown_and_math() -> None:
    assert escape_markdown("a_b *c* $x$ <i> [l](u)") == ("a\\_b \\*c\\* \\$x\\$ \\<i\\> \\[l\\](u)")


def test_unclosed_fence_follows_commonmark_openers_and_closers() -> None:
    assert unclosed_fence("no code") is None
    assert unclosed_fence("```\ncode\n```\n") is None
    assert unclosed_fence("```py\ncode") == "```"
    assert unclosed_fence("~~~~\n```\n") == "~~~~"
    assert unclosed_fence("````\n```\n") == "````"  # a shorter fence does not close it
    assert unclosed_fence("```\n```` \n") is None  # a longer one does
    assert unclosed_fence("``` a`b\n") is None  # backticks in the info string: not a fence
    assert unclosed_fence("    ```\n") is None  # indented four: code, not a fence


def test_with_footer_separates_the_footer_by_one_blank_line() -> None:
    assert with_footer("text\n\n\n", "*s*") == "text\n\n*s*"
    assert with_footer("", "*s*") == "*s*"
    assert with_footer("text", "") == "text"
