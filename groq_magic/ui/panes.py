"""One pane per compare run: the answer as it streams, under a header, over a status line.

Why display handles rather than an ipywidgets grid of ``Output`` widgets: a
display handle per pane (``display(..., display_id=True)`` then
``handle.update``) needs no widget manager, so it renders the same in
JupyterLab, Notebook 7, VS Code and nbclient, and the final panes are saved in
the .ipynb as ordinary Markdown outputs, readable on GitHub without widget
state. Panes are stacked in run order, each with its own header and status line.

Every update is made by the main thread (:meth:`PaneBoard.handle` and
:meth:`PaneBoard.flush` are called by :func:`groq_magic.sweeps.drive.drive`), so
outputs land in the cell that ran the compare. Streaming updates are throttled
per pane by :class:`~groq_magic.render.UpdateThrottle` (bytes sent stay linear
in the answer); ends, errors and retries are always sent at once.

Without a live kernel (terminal IPython, ``%%capture``, nbconvert) nothing is
shown while the runs stream; :meth:`PaneBoard.close` prints every pane as plain
text (header, answer, status line).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TextIO

from groq_magic.chat.options import ChatOptions
from groq_magic.chat.sink import ToolNote, TurnMeta, TurnSummary
from groq_magic.knobs import GRID_FIELDS
from groq_magic.render import UpdateThrottle, status_line
from groq_magic.render.notebook import DisplayFunction, DisplayHandle, escape_markdown, with_footer

__all__ = ["Pane", "PaneBoard", "pane_title"]

# The knobs a grid can vary, but the model, which leads the title anyway.
_SHOWN_FIELDS = tuple(name for name in GRID_FIELDS if name != "model")


def pane_title(options: ChatOptions, default_model: str, varying: Sequence[str] = ()) -> str:
    """``model · temperature 0.7 · seed 2``: the model, then the values that tell runs apart."""
    parts = [options.model or default_model]
    for name in _SHOWN_FIELDS:
        value = getattr(options, name)
        if value is not None and (name in varying or not varying):
            parts.append(f"{name} {value}")
    return " · ".join(parts)


@dataclass
class Pane:
    """What one pane shows: header, answer so far, footer (status, error or progress)."""

    title: str
    parts: list[str] = field(default_factory=list)
    tools: dict[str, str] = field(default_factory=dict)  # call id -> its one line
    footer: str = "waiting…"
    handle: DisplayHandle | None = None
    throttle: UpdateThrottle = field(default_factory=UpdateThrottle)
    dirty: bool = False
    done: bool = False

    @property
    def text(self) -> str:
        """The answer so far."""
        return "".join(self.parts)

    def markdown(self) -> str:
        """The pane as Markdown: bold header, answer, italic footer."""
        head = f"**{escape_markdown(self.title)}**"
        if self.tools:
            head += "\n\n" + "  \n".join(escape_markdown(line) for line in self.tools.values())
        footer = f"*{escape_markdown(self.footer)}*" if self.footer else ""
        body = with_footer(self.text, footer)
        return f"{head}\n\n{body}" if body else head

    def plain(self) -> str:
        """The pane as plain text."""
        lines = [f"── {self.title}", *self.tools.values()]
        if self.text.strip():
            lines.append(self.text.rstrip())
        if self.footer:
            lines.append(self.footer)
        return "\n".join(lines)

    def bundle(self) -> dict[str, str]:
        """The mimebundle for a display update."""
        return {"text/markdown": self.markdown(), "text/plain": self.plain()}


class PaneBoard:
    """The panes of one compare; fed events by the main thread (see the module docstring).

    ``live`` selects display handles (a notebook) or plain text at the end;
    ``display`` is ``IPython.display.display`` unless given (tests pass a recorder).
    """

    def __init__(
        self,
        titles: Sequence[str],
        *,
        live: bool,
        display: DisplayFunction | None = None,
        stream: TextIO | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.live = live
        self.panes = [Pane(t, throttle=UpdateThrottle(clock=clock)) for t in titles]
        self._display = display
        self._stream = stream

    def open(self) -> None:
        """Show every pane (in a notebook), each saying it is waiting."""
        if not self.live:
            return
        display = self._display
        if display is None:
            from IPython.display import display as ipython_display

            display = ipython_display
        for pane in self.panes:
            pane.handle = display(pane.bundle(), raw=True, display_id=True)
            pane.throttle.record(0)

    def handle(self, index: int, kind: str, payload: Any) -> None:
        """Apply one runner event to its pane (``start``, ``delta``, ``finish``...)."""
        if kind == "done":
            return  # the run's record; its finish or fail event already showed it
        pane = self.panes[index]
        if kind == "delta":
            pane.parts.append(str(payload))
            pane.dirty = True
            return
        if kind == "reasoning":
            if not pane.parts:
                pane.footer = "thinking…"
                pane.dirty = True
            return
        if kind == "tool" and isinstance(payload, ToolNote):
            pane.tools[payload.key] = payload.line
        elif kind == "start":
            model = payload.model if isinstance(payload, TurnMeta) else ""
            pane.parts, pane.footer = [], f"{model} · streaming…" if model else "streaming…"
            pane.tools = {}
        elif kind == "finish" and isinstance(payload, TurnSummary):
            pane.footer, pane.done = status_line(payload), True
            if payload.text:
                pane.parts = [payload.text]
        elif kind == "fail":
            pane.parts, pane.footer = [], f"error: {payload}"
        elif kind == "retry":
            delay, attempt, reason = payload
            pane.parts, pane.footer = [], f"{reason}: retry {attempt} in {delay:.1f} s"
        elif kind == "cancelled":
            pane.footer, pane.done = "interrupted", True
        self._send(pane)

    def _send(self, pane: Pane) -> None:
        pane.dirty = False
        if pane.handle is not None:
            pane.handle.update(pane.bundle(), raw=True)
            pane.throttle.record(len(pane.text.encode("utf-8")))

    def flush(self) -> None:
        """Send the streaming panes whose throttle allows an update now."""
        for pane in self.panes:
            if pane.dirty and pane.throttle.should_update(len(pane.text.encode("utf-8"))):
                pane.dirty = False
                if pane.handle is not None:
                    pane.handle.update(pane.bundle(), raw=True)

    def close(self, note: str | None = None) -> None:
        """Send what is pending (notebook) or print every pane (plain), then ``note`` if any."""
        if self.live:
            for pane in self.panes:
                if pane.dirty:
                    self._send(pane)
            if note:
                print(note)
            return
        out = self._stream if self._stream is not None else sys.stdout
        out.write("\n\n".join(p.plain() for p in self.panes) + "\n")
        if note:
            out.write(note + "\n")
        out.flush()
