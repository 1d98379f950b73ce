"""What a turn's display holds besides the answer: notes, tool lines, and the thinking.

:class:`Transcript` keeps the pieces of one turn and renders them as one Markdown
document, in reading order:

1. notes (an image that was downscaled), one italic line each;
2. one collapsible line per tool call (``<details>``: the summary line, then the
   arguments and the result), replaced in place when the call finishes;
3. the model's thinking: open while it streams, collapsed (with its length) once
   the answer starts;
4. the answer.

The final output is ordinary Markdown (``<details>`` is HTML that JupyterLab,
Notebook, VS Code and GitHub all render), saved in the ``.ipynb`` like the answer.
``size`` is the byte length of everything, which the display throttle measures so
the bytes sent stay near linear in what is finally shown, tools and thinking included.
"""

from __future__ import annotations

from groq_magic.chat.sink import ToolNote

__all__ = ["Transcript"]


def _guard(text: str) -> str:
    # Thinking is shown inside <details>; its own "</details>" must not close ours.
    return text.replace("</details>", "&lt;/details>")


class Transcript:
    """The notes, tool lines, thinking and answer of one turn (see the module docstring)."""

    def __init__(self, notes: tuple[str, ...] = ()) -> None:
        self.notes = list(notes)
        self.tools: dict[str, ToolNote] = {}
        self.thinking: list[str] = []
        self.answer: list[str] = []
        self._extra_bytes = sum(len(n.encode()) for n in self.notes)
        self._answer_bytes = 0
        self._thinking_bytes = 0

    @property
    def size(self) -> int:
        """Bytes of everything shown (what the throttle's growth rule measures)."""
        return self._extra_bytes + self._thinking_bytes + self._answer_bytes

    @property
    def answer_text(self) -> str:
        """The answer so far."""
        return "".join(self.answer)

    def add_answer(self, text: str) -> None:
        """A fragment of the answer."""
        self.answer.append(text)
        self._answer_bytes += len(text.encode("utf-8"))

    def add_thinking(self, text: str) -> None:
        """A fragment of the thinking."""
        self.thinking.append(text)
        self._thinking_bytes += len(text.encode("utf-8"))

    def add_tool(self, note: ToolNote) -> None:
        """A tool line: new, or replacing the running line of the same call."""
        old = self.tools.get(note.key)
        if old is not None:
            self._extra_bytes -= len(old.markdown.encode())
        self.tools[note.key] = note
        self._extra_bytes += len(note.markdown.encode())

    def head_markdown(self) -> str:
        """Notes, tool lines and thinking, as Markdown to put above the answer."""
        blocks = [f"*{note}*" for note in self.notes]
        blocks += [note.markdown for note in self.tools.values()]
        if self.thinking:
            text = _guard("".join(self.thinking).strip())
            if self.answer:
                words = len(text.split())
                blocks.append(
                    f"<details><summary>💭 thought ({words} words)</summary>\n\n{text}\n\n"
                    "</details>"
                )
            else:
                blocks.append(
                    f"<details open><summary>💭 thinking…</summary>\n\n{text}\n\n</details>"
                )
        return "\n\n".join(blocks)

    def head_plain(self) -> str:
        """Notes and tool lines as plain text (what frontends without Markdown show)."""
        lines = [*self.notes, *(note.line for note in self.tools.values())]
        return "\n".join(lines)

    def markdown(self, answer: str | None = None) -> str:
        """Everything as one Markdown document (``answer`` overrides the streamed one)."""
        head = self.head_markdown()
        body = self.answer_text if answer is None else answer
        return f"{head}\n\n{body}" if head and body else head or body
