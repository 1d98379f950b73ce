"""PlainTextSink: fragments as they come, then the status line on its own line."""

from __future__ import annotations

import io
import sys

import pytest

from groq_magic.render.base import TurnMeta, TurnSummary
from groq_magic.render.plain import PlainTextSink

META = TurnMeta(model="m", chat="default", stream=True)


class FlushCountingIO(io.StringIO):
    flushes = 0

    def flush(self) -> None:
        self.flushes += 1
        super().flush()


def test_fragments_are_written_and_flushed_as_they_arrive() -> None:
    out = FlushCountingIO()
    sink = PlainTextSink(out)
    sink.start(META)
    assert out.getvalue() == ""
    sink.delta("1, ")
    assert out.getvalue() == "1, "
    sink.delta("2, 3")
    assert out.getvalue() == "1, 2, 3"
    assert out.flushes == 2
    sink.finish(TurnSummary(text="1, 2, 3", model="m", finish_reason="stop", completion_tokens=5))
    assert out.getvalue() == "1, 2, 3\nm · 5 tokens · stop\n"


def test_answer_ending_in_a_newline_gets_no_blank_line() -> None:
    out = io.StringIO()
    sink = PlainTextSink(out)
    sink.start(META)
    sink.delta("done\n")
    sink.finish(TurnSummary(text="done\n", model="m"))
    assert out.getvalue() == "done\nm\n"


def test_interrupted_answer_stays_and_says_so() -> None:
    out = io.StringIO()
    sink = PlainTextSink(out)
    sink.start(META)
    sink.delta("1, 2")
    sink.finish(TurnSummary(text="1, 2", model="m", status="interrupted"))
    assert out.getvalue() == "1, 2\nm · interrupted\n"


def test_non_streamed_answer_is_written_at_finish() -> None:
    out = io.StringIO()
    sink = PlainTextSink(out)
    sink.start(TurnMeta(model="m", chat="default", stream=False))
    sink.finish(TurnSummary(text="whole answer", model="m"))
    assert out.getvalue() == "whole answer\nm\n"


def test_fail_only_ends_the_line_for_the_callers_error() -> None:
    out = io.StringIO()
    sink = PlainTextSink(out)
    sink.start(META)
    sink.fail("401 invalid_api_key: set GROQ_API_KEY")
    assert out.getvalue() == ""
    sink.start(META)
    sink.delta("partial")
    sink.fail("the answer is not JSON")
    assert out.getvalue() == "partial\n"


def test_default_stream_is_sys_stdout_at_write_time(monkeypatch: pytest.MonkeyPatch) -> None:
    sink = PlainTextSink()
    swapped = io.StringIO()  # what %%capture does after the sink may have been built
    monkeypatch.setattr(sys, "stdout", swapped)
    sink.start(META)
    sink.delta("captured")
    sink.finish(TurnSummary(text="captured", model="m"))
    assert swapped.getvalue() == "captured\nm\n"
