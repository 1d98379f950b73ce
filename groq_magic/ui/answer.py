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

from groq_magic.chat.sink import TurnMeta, TurnSummary
from groq_magic.render import UpdateThrottle, status_line
from groq_magic.render.notebook import escape_markdown, with_footer

__all__ = ["AnswerSink"]


class AnswerSink:
    """Streams an answer into an ``Output`` widget by setting its ``outputs`` (throttled)."""

    def __init__(self, output: Any, clock: Callable[[], float] = time.monotonic) -> None:
        self.output = output
        self.parts: list[str] = []
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
        self.parts = []
        note = f"{meta.model} · waiting…"
        self._show(f"*{escape_markdown(note)}*", note)
        self.throttle.record(0)

    def delta(self, text: str) -> None:
        """Add the fragment; show it when the throttle allows."""
        self.parts.append(text)
        answer = "".join(self.parts)
        if self.throttle.should_update(len(answer.encode("utf-8"))):
            self._show(answer, answer)

    def finish(self, summary: TurnSummary) -> None:
        """The whole answer with its status line."""
        self.summary = summary
        text = summary.text or "".join(self.parts)
        line = status_line(summary)
        self._show(with_footer(text, f"*{escape_markdown(line)}*"), f"{text}\n\n{line}")

    def fail(self, message: str) -> None:
        """Clear the answer; the panel shows ``message``."""
        self.output.outputs = ()
