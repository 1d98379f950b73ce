"""``NotebookSink``: the answer grows as Markdown in one display, which becomes the final output.

Life of the one display (a ``display_data`` output with a transient display_id):

- ``start``: ``display({"text/markdown": "*model · waiting…*", ...}, raw=True,
  display_id=True)`` shows that the request is under way.
- ``delta``: ``handle.update({"text/markdown": answer_so_far}, raw=True)``, throttled by
  :class:`~groq_magic.render.throttle.UpdateThrottle` (at most ~20 a second, and only
  after 15 % growth, so all updates together cost < 8x the final answer's bytes).
  Streaming updates carry Markdown only; ``text/plain`` is added once, at the end.
- ``finish``: always one last update with the whole answer and the status line as a small
  italic footer in the *same* Markdown (``text/markdown``), plus the same text as
  ``text/plain``. An interrupted answer stays, and its footer says ``interrupted``.
- ``fail``: the engine's protocol says "remove any partial display; the caller reports
  the message", so the display is updated to an empty mimebundle (``{}``): frontends
  find no mimetype to render (JupyterLab's OutputArea then puts an empty widget in its
  place; ``{"text/plain": ""}`` would render an empty text block), nbformat accepts it,
  and the magic's one-line ``UsageError`` follows.

Frontends (and nbclient) apply an update to the output that holds the display_id, so
the saved .ipynb contains exactly one ``display_data`` with the answer and its status
line as ordinary ``text/markdown``; the transient display_id is not saved.

Why the live display is kept as the final output, rather than removed so that the
``ChatResult`` shows the answer as ``execute_result``:

- No message removes one output. An empty update leaves an empty ``display_data`` in
  the .ipynb; ``clear_output()`` wipes every output of the cell (warnings, a "using
  the local model" line, ...).
- The answer would depend on the return value being displayed: ``r = %groq ...``, a
  widget callback or plain Python calling ``run_turn`` would leave nothing on screen.
- The status line would either sit above the answer (an earlier output) or have to
  become part of ``ChatResult``'s repr, which ``-o VAR`` and ``display(r)`` also use.

Why one Markdown with a footer rather than a second display for the status: one
output keeps answer and status together and in order in every frontend and in the
saved file, and the final state is a single update.

**Contract for the magic** (so the answer is shown exactly once)::

    sink = choose_sink(shell)
    result = run_turn(options, prompt, conversation, client, sink)
    if getattr(sink, "shows_answer", False):   # True for NotebookSink only
        return already_shown(result, shell)      # Out[n] and _ still hold result
    return result

:func:`already_shown` makes the displayhook of the *current* cell publish nothing for
``result`` (no ``execute_result``), while ``_``, ``Out[n]`` and ``-o VAR`` still hold
it; in any later cell ``result`` (or ``display(result)``) renders normally. After
``fail`` (the engine then raises ``TurnError``) the display is empty: the magic
reports the message, once, as it does today.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any, Protocol, TypeVar

from groq_magic.chat.sink import ToolNote
from groq_magic.render.base import TurnMeta, TurnSummary, status_line
from groq_magic.render.throttle import UpdateThrottle
from groq_magic.render.transcript import Transcript

__all__ = ["DisplayFunction", "DisplayHandle", "NotebookSink", "already_shown"]

T = TypeVar("T")

# A fence line: up to three spaces, then three or more backticks or tildes.
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})(.*)$")
# Characters that would turn the status footer into something else in Markdown
# ("$" starts LaTeX math in JupyterLab; "_" and "*" end the italics early).
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>|~&$#])")


class DisplayHandle(Protocol):
    """What ``IPython.display.display(..., display_id=True)`` returns."""

    def update(self, obj: Any, **kwargs: Any) -> None:
        """Replace the displayed data (``raw=True``: ``obj`` is a mimebundle)."""


class DisplayFunction(Protocol):
    """The signature of ``IPython.display.display`` that the sink uses."""

    def __call__(self, obj: Any, *, raw: bool, display_id: bool) -> DisplayHandle | None:
        """Show ``obj`` (a mimebundle when ``raw``) and return a handle for updates."""


def escape_markdown(text: str) -> str:
    """``text`` with Markdown's special characters backslash-escaped (for the footer)."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)


def unclosed_fence(text: str) -> str | None:
    """The fence (three or more backticks or tildes) that closes a code block left open
    at the end of ``text``, or ``None`` when every block is closed."""
    opener: str | None = None
    for line in text.splitlines():
        match = _FENCE.match(line)
        if not match:
            continue
        fence, rest = match.groups()
        if opener is None:
            # A backtick fence's info string may not contain backticks (CommonMark).
            if not (fence[0] == "`" and "`" in rest):
                opener = fence
        elif fence[0] == opener[0] and len(fence) >= len(opener) and not rest.strip():
            opener = None
    return opener


def with_footer(text: str, footer_markdown: str) -> str:
    """The answer, closed if it ends inside a code block, then a footer paragraph."""
    if not footer_markdown:
        return text
    fence = unclosed_fence(text)
    body = text.rstrip("\n")
    if fence:
        body += "\n" + fence
    return f"{body}\n\n{footer_markdown}" if body else footer_markdown


class NotebookSink:
    """Streams the answer into one Markdown display and leaves it as the final output.

    ``display`` is ``IPython.display.display`` unless given (tests pass a recorder);
    ``clock``, ``min_interval`` and ``growth`` configure the update throttle.
    """

    #: After ``finish`` the display is the answer's final output: see the module
    #: docstring for what the magic does with this.
    shows_answer = True

    def __init__(
        self,
        display: DisplayFunction | None = None,
        clock: Callable[[], float] = time.monotonic,
        *,
        min_interval: float = 0.05,
        growth: float = 0.15,
    ) -> None:
        self._display = display
        self._clock = clock
        self._min_interval = min_interval
        self._growth = growth
        self._handle: DisplayHandle | None = None
        self._meta: TurnMeta | None = None
        self._reset()

    def _reset(self, notes: tuple[str, ...] = ()) -> None:
        self._transcript = Transcript(notes)
        self._throttle = UpdateThrottle(self._min_interval, self._growth, self._clock)

    @property
    def text(self) -> str:
        """The answer received so far."""
        return self._transcript.answer_text

    def _show(self, bundle: dict[str, str]) -> None:
        if self._handle is None:
            display = self._display
            if display is None:
                from IPython.display import display as ipython_display

                display = ipython_display
            self._handle = display(bundle, raw=True, display_id=True)
        else:
            self._handle.update(bundle, raw=True)

    def start(self, meta: TurnMeta) -> None:
        """Show a one-line "waiting" note in a new display; the answer will replace it."""
        self._meta = meta
        self._handle = None
        self._reset(meta.notes)
        note = f"{meta.model} · waiting…" if meta.model else "waiting…"
        waiting = f"*{escape_markdown(note)}*"
        head = self._transcript.head_markdown()
        self._show(
            {"text/markdown": f"{head}\n\n{waiting}" if head else waiting, "text/plain": note}
        )
        self._throttle.record(0)

    def delta(self, text: str) -> None:
        """Add the fragment; resend the answer when the throttle allows."""
        if not text:
            return
        self._transcript.add_answer(text)
        self._maybe_show()

    def reasoning(self, text: str) -> None:
        """Add a fragment of the model's thinking (shown above the answer)."""
        if not text:
            return
        self._transcript.add_thinking(text)
        self._maybe_show()

    def tool(self, note: ToolNote) -> None:
        """Show a tool call's line now (calls are few, and a slow one should show at once)."""
        self._transcript.add_tool(note)
        self._throttle.record(self._transcript.size)
        self._show({"text/markdown": self._transcript.markdown()})

    def _maybe_show(self) -> None:
        # Byte length (not characters) of everything shown, so the byte budget holds
        # for any script, thinking and tool lines included.
        if self._throttle.should_update(self._transcript.size):
            self._show({"text/markdown": self._transcript.markdown()})

    def finish(self, summary: TurnSummary) -> None:
        """Send the final answer with the status line under it (always sent).

        ``summary.text`` is the answer; when it is empty, the streamed text is used.
        """
        text = summary.text or self.text
        if not summary.model and self._meta is not None and self._meta.model:
            summary = replace(summary, model=self._meta.model)
        line = status_line(summary)
        footer = f"*{escape_markdown(line)}*" if line else ""
        plain = f"{text.rstrip()}\n\n{line}" if text.strip() and line else (text or line)
        head = self._transcript.head_plain()
        plain = f"{head}\n\n{plain}" if head else plain
        markdown = with_footer(self._transcript.markdown(text), footer)
        self._show({"text/markdown": markdown, "text/plain": plain})

    def fail(self, message: str) -> None:
        """Empty the display (the "waiting" note or a partial answer); the caller reports
        ``message``."""
        if self._handle is not None:
            # An empty bundle renders as nothing; see the module docstring.
            self._handle.update({}, raw=True)


def already_shown(value: T, shell: Any) -> T:
    """Mark ``value`` so the displayhook of the current cell shows nothing for it.

    Returns ``value``. IPython skips formatting (no ``execute_result``) when an object
    has ``_ipython_display_``; this one-shot hook removes itself on first use and,
    when that use comes from a later cell (``r = %groq ...`` then ``r``), displays
    the value normally. ``_`` and ``Out[n]`` are still set by the displayhook.
    Objects that refuse new attributes are returned unmarked.
    """
    armed_in = getattr(shell, "execution_count", None)

    def _ipython_display_() -> None:
        vars(value).pop("_ipython_display_", None)
        if getattr(shell, "execution_count", None) == armed_in:
            return
        from IPython.display import display

        show: Any = display  # IPython is untyped
        show(value)

    try:
        value._ipython_display_ = _ipython_display_  # type: ignore[attr-defined]
    except (AttributeError, TypeError):
        pass
    return value
