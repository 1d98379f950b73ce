"""Separate ``<think>...</think>`` reasoning from the answer as content streams in.

With ``reasoning_format="parsed"`` Groq sends the thinking on its own
(``delta.reasoning``). With ``reasoning_format="raw"``, and on local models that
think out loud (qwen3, SmolLM3, DeepSeek-R1 distills), it arrives inline in the
content as ``<think>...</think>``. :class:`ThinkSplitter` turns that content
stream into two, so the engine can show reasoning apart from the answer and keep
only the answer in history (earlier turns' reasoning is never sent back).

Decisions:

- Every ``<think>...</think>`` block is reasoning, wherever it appears; the tags
  are exact and case-sensitive (``<Think>`` and ``<thinking>`` are ordinary text).
- A tag may be split at any chunk boundary (``"<th" + "ink>"``), so a fragment
  ending in a proper prefix of the tag being looked for (``"<"``, ``"</thi"``) is
  held back until the next fragment says what it is. Nothing else is ever held:
  an answer without think blocks streams with no added latency.
- Whitespace the answer starts with is held until the answer has other text;
  if a ``<think>`` comes first it is dropped (it is the padding before the
  block), otherwise it is released unchanged, so text without think blocks
  comes out exactly as it went in.
- Whitespace right after ``</think>`` is trimmed from the answer (models put
  ``"\\n\\n"`` there). Reasoning text is passed on as it is.
- A stream that ends inside a block (``max_tokens``, an interrupt) keeps what
  arrived as reasoning; :meth:`ThinkSplitter.flush` returns any held-back
  partial tag as what it turned out to be: reasoning inside a block, answer
  outside one.
- Not handled: models whose chat template opens ``<think>`` in the prompt, so
  the content holds only the closing tag. Telling that apart from an answer
  would mean holding the whole answer back.
"""

from __future__ import annotations

__all__ = ["CLOSE_TAG", "OPEN_TAG", "ThinkSplitter", "split_reasoning"]

OPEN_TAG = "<think>"
"""Opens an inline reasoning block."""

CLOSE_TAG = "</think>"
"""Closes an inline reasoning block."""


def _partial_tag(text: str, tag: str) -> int:
    """Length of the longest proper prefix of ``tag`` that ``text`` ends with."""
    for size in range(min(len(tag) - 1, len(text)), 0, -1):
        if text.endswith(tag[:size]):
            return size
    return 0


class ThinkSplitter:
    """Split streamed content into ``(reasoning_delta, answer_delta)`` pairs.

    Feed each content fragment to :meth:`feed` as it arrives, then call
    :meth:`flush` once when the stream ends. :attr:`reasoning` and
    :attr:`answer` hold everything returned so far.
    """

    def __init__(self) -> None:
        self._pending = ""  # a possible partial tag, not yet assigned to either side
        self._inside = False
        self._lead = ""  # whitespace the answer started with, held until it has text
        self._answer_started = False
        self._trim = False  # drop whitespace after a closing tag
        self._reasoning: list[str] = []
        self._answer: list[str] = []

    @property
    def reasoning(self) -> str:
        """All reasoning returned so far."""
        return "".join(self._reasoning)

    @property
    def answer(self) -> str:
        """All answer text returned so far."""
        return "".join(self._answer)

    def feed(self, fragment: str) -> tuple[str, str]:
        """Take the next content fragment; return the reasoning and answer text it completes."""
        text = self._pending + fragment
        self._pending = ""
        reasoning: list[str] = []
        answer: list[str] = []
        while text:
            tag = CLOSE_TAG if self._inside else OPEN_TAG
            at = text.find(tag)
            if at < 0:
                held = _partial_tag(text, tag)
                self._pending = text[len(text) - held :]
                self._route(text[: len(text) - held], reasoning, answer, tag_follows=False)
                break
            self._route(text[:at], reasoning, answer, tag_follows=True)
            self._inside = not self._inside
            self._trim = not self._inside
            text = text[at + len(tag) :]
        return self._record("".join(reasoning), "".join(answer))

    def flush(self) -> tuple[str, str]:
        """The stream ended: return what was held back (a partial tag, leading whitespace)."""
        reasoning, answer = "", ""
        if self._inside:
            reasoning = self._pending
        else:
            # Leading whitespace still held means the answer is only whitespace: release it.
            answer = self._answer_text(self._pending)
            answer, self._lead = self._lead + answer, ""
        self._pending = ""
        return self._record(reasoning, answer)

    def _route(
        self, text: str, reasoning: list[str], answer: list[str], *, tag_follows: bool
    ) -> None:
        """Send ``text`` to the side the stream is on; ``tag_follows`` when a tag ends it."""
        if self._inside:
            reasoning.append(text)
        else:
            answer.append(self._answer_text(text, opens_block=tag_follows))

    def _answer_text(self, text: str, *, opens_block: bool = False) -> str:
        """Apply the whitespace rules to answer text."""
        if self._trim:
            text = text.lstrip()
            self._trim = not text
        if self._answer_started:
            return text
        self._lead += text
        if self._lead.isspace() or not self._lead:
            if opens_block:
                self._lead = ""  # only padding before the think block
            return ""
        out, self._lead = self._lead, ""
        self._answer_started = True
        return out

    def _record(self, reasoning: str, answer: str) -> tuple[str, str]:
        if reasoning:
            self._reasoning.append(reasoning)
        if answer:
            self._answer.append(answer)
        return reasoning, answer


def split_reasoning(text: str) -> tuple[str, str]:
    """``(reasoning, answer)`` of a whole (non-streamed) content string."""
    splitter = ThinkSplitter()
    splitter.feed(text)
    splitter.flush()
    return splitter.reasoning, splitter.answer
