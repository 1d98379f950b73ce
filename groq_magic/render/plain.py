"""``PlainTextSink``: the answer as plain streamed text, then the status line.

For terminal IPython, ``%%capture`` and any frontend without display updates:
each fragment is written and flushed as it arrives, so the terminal shows the
answer growing; the status line follows on its own line.

Contract for the magic: the text written here is *not* the cell's value, so the
magic returns its ``ChatResult`` as usual (the terminal shows its short repr as
``Out[n]``); ``shows_answer`` is False. (Suppressing that repr is not worth it: the
terminal prints the ``Out[n]:`` prompt before it asks the object how to display.)
On ``fail`` nothing is written but a line end: the magic raises the one-line error.
"""

from __future__ import annotations

import sys
from typing import TextIO

from groq_magic.chat.sink import ToolNote
from groq_magic.render.base import TurnMeta, TurnSummary, status_line

__all__ = ["PlainTextSink"]


class PlainTextSink:
    """Writes fragments to a text stream as they come, then the status line.

    ``stream=None`` (the default) means whatever ``sys.stdout`` is at the time of
    each write, so ``%%capture`` and ipykernel's stream redirection see the text.
    """

    shows_answer = False

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream
        self._at_line_start = True
        self._streamed = False
        self._thinking = False

    @property
    def stream(self) -> TextIO:
        """The stream written to."""
        return self._stream if self._stream is not None else sys.stdout

    def _write(self, text: str) -> None:
        if not text:
            return
        out = self.stream
        out.write(text)
        out.flush()
        self._at_line_start = text.endswith("\n")

    def _line(self, text: str) -> None:
        # The status or error goes on a line of its own, after the answer's last line.
        self._write(("" if self._at_line_start else "\n") + text + "\n")

    def start(self, meta: TurnMeta) -> None:
        """Write the notes (an image that was downscaled), if any; then wait for text."""
        self._at_line_start = True
        self._streamed = False
        self._thinking = False
        for note in meta.notes:
            self._line(note)

    def delta(self, text: str) -> None:
        """Write and flush the fragment."""
        if self._thinking:
            # The thinking ends where the answer starts: a blank line between them.
            self._thinking = False
            self._write("\n\n" if not self._at_line_start else "\n")
        self._streamed = True
        self._write(text)

    def reasoning(self, text: str) -> None:
        """Stream the model's thinking, after a "💭 " marker, before the answer."""
        if not text:
            return
        if not self._thinking:
            self._thinking = True
            self._write(("" if self._at_line_start else "\n") + "💭 ")
        self._write(text)

    def tool(self, note: ToolNote) -> None:
        """One line per finished tool call (a terminal cannot replace a running line)."""
        if note.done:
            self._thinking = False
            self._line(note.line)

    def finish(self, summary: TurnSummary) -> None:
        """End the answer's line and write the status line.

        A turn that sent no fragments (a non-streamed request) has its text written here.
        """
        if not self._streamed:
            self._write(summary.text)
        line = status_line(summary)
        if line:
            self._line(line)
        elif not self._at_line_start:
            self._write("\n")

    def fail(self, message: str) -> None:
        """End the current line; the caller reports ``message`` (the engine's protocol).

        Text already written to a terminal cannot be taken back, so a partial answer
        stays; the error the magic raises then starts on a line of its own.
        """
        if not self._at_line_start:
            self._write("\n")
