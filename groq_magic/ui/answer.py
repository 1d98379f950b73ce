"""``AnswerSink``: a streamed answer in an ipywidgets ``Output``, set through its ``outputs``.

Setting ``outputs`` directly (rather than ``with output: display(...)``) needs no
capture context, so the callbacks of a widget can stream into it; each update
is one Markdown output, throttled like the notebook sink so the bytes sent stay
linear in the answer's length. The final state is the answer with its status line.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from groq_magic.chat.sink import ToolNote, TurnMeta, TurnSummary
from groq_magic.render import UpdateThrottle, status_line
from groq_magic.render.notebook import escape_markdown, with_footer
from groq_magic.render.transcript import Transcript

__all__ = ["AnswerSink"]


class AnswerSink:
    """Streams an answer into an ``Output`` widget by setting its ``outputs`` (throttled)."""

    def __init__(self, output: Any, clock: Callable[[], float] = time.monotonic) -> None:
        self.output = output
        self.transcript = Transcript()
        self.throttle = UpdateThrottle(clock=clock)
        self.summary: TurnSummary | None = None

    def _show(self, markdown: str, plain: str) -> None:
        self.output.outputs = (
            {
                "output_type": "display_data",
                "data": {"text/markdown": markdown, "text/plain": plain},
                "metadata": {},
            },
        )

    def start(self, meta: TurnMeta) -> None:
        """Replace the previous answer with a waiting note."""
        self.transcript = Transcript(meta.notes)
        note = f"{meta.model} · waiting…"
        self._show(f"*{escape_markdown(note)}*", note)
        self.throttle.record(0)

    def delta(self, text: str) -> None:
        """Add the fragment; show it when the throttle allows."""
        self.transcript.add_answer(text)
        self._maybe_show()

    def reasoning(self, text: str) -> None:
        """Add a fragment of the thinking (shown above the answer)."""
        self.transcript.add_thinking(text)
        self._maybe_show()

    def tool(self, note: ToolNote) -> None:
        """Show a tool call's line at once."""
        self.transcript.add_tool(note)
        self.throttle.record(self.transcript.size)
        self._show(self.transcript.markdown(), self.transcript.head_plain())

    def _maybe_show(self) -> None:
        if self.throttle.should_update(self.transcript.size):
            answer = self.transcript.answer_text
            self._show(self.transcript.markdown(), answer)

    def finish(self, summary: TurnSummary) -> None:
        """The whole answer with its status line."""
        self.summary = summary
        text = summary.text or self.transcript.answer_text
        line = status_line(summary)
        markdown = with_footer(self.transcript.markdown(text), f"*{escape_markdown(line)}*")
        self._show(markdown, f"{text}\n\n{line}")

    def fail(self, message: str) -> None:
        """Clear the answer; the panel shows ``message``."""
        self.output.outputs = ()
