"""``Progress``: one line of progress for a long sweep or batch, however many runs it has.

    12 / 40 done · 1 failed · 4 running · 3,456 tokens · $0.0123 so far · ~1 min 05 s left

One display for the whole job, never one per run, in the form the frontend can take:

- **a live notebook** (``live=True``, see :func:`groq_magic.render.is_live_kernel`):
  an ipywidgets ``IntProgress`` and an ``HTML`` label side by side, updated at most
  :data:`WIDGET_INTERVAL` apart (every update is a comm message; thousands of runs
  must not mean thousands of messages). Its plain-text fallback, which nbconvert
  and GitHub show, becomes the final line at :meth:`Progress.close`.
- **a terminal** (the stream is a TTY: terminal IPython): a bar redrawn in place
  with ``\\r``, at most :data:`TTY_INTERVAL` apart.
- **anything else** (nbconvert, ``%%capture``, ``python -m groq_magic run``, a log
  file): one plain line each time another :data:`LINE_STEP` of the runs is done,
  so a log stays readable; ``\\r`` there would pile up as one endless line.

Every mode writes a final line at :meth:`Progress.close`. The time left is the
rate of completions so far applied to the runs left ("—" until
:data:`ESTIMATE_AFTER` are done). A cost of None means unknown and stays
unknown: never counted as 0.

Cheap by construction: a call updates a few counters and, unless an update is
due, returns; the state is counters only, so memory does not grow with the runs.
Calls come from the thread that shows things (the main thread, fed by
:func:`groq_magic.sweeps.drive.drive`); this class has no lock.
"""

from __future__ import annotations

import html
import math
import shutil
import sys
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any, TextIO

from groq_magic._text import one_line
from groq_magic.render.notebook import DisplayFunction, DisplayHandle

__all__ = [
    "ESTIMATE_AFTER",
    "LINE_STEP",
    "TTY_INTERVAL",
    "WIDGET_INTERVAL",
    "Progress",
    "format_cost",
    "format_duration",
]

WIDGET_INTERVAL = 0.2
"""Seconds between widget updates (at most 5 a second)."""

TTY_INTERVAL = 0.5
"""Seconds between redraws of the terminal bar (at most 2 a second)."""

LINE_STEP = 0.1
"""Share of the runs between two plain lines (one line every 10 %)."""

ESTIMATE_AFTER = 2
"""Completions needed before the time left is estimated."""

_BAR_WIDTH = 20
_KEEP: Any = object()  # update(cost=...) not given, as opposed to None (unknown)


def format_duration(seconds: float) -> str:
    """``42 s``, ``3 min 05 s``, ``2 h 10 min``: rounded to what a person reads."""
    whole = max(0, round(seconds))
    if whole < 60:
        return f"{whole} s"
    if whole < 3600:
        minutes, secs = divmod(whole, 60)
        return f"{minutes} min {secs:02d} s"
    hours, rest = divmod(whole, 3600)
    return f"{hours} h {rest // 60} min"


def format_cost(dollars: float) -> str:
    """``$0.0123`` below a dollar (small runs cost fractions of a cent), else ``$12.35``."""
    if dollars == 0:
        return "$0"
    return f"${dollars:,.4f}" if dollars < 1 else f"${dollars:,.2f}"


def _is_tty(stream: TextIO) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


class Progress:
    """Progress of ``total`` runs: counters in, one throttled display out (module docstring).

    Feed it with :meth:`started`, :meth:`finished` and :meth:`retrying` as runs
    go, or set absolute figures with :meth:`update`; call :meth:`tick` now and
    then (a redraw when one is due, so the time left moves even while nothing
    finishes) and :meth:`close` at the end (also on ``with`` exit). ``display``
    is ``IPython.display.display`` unless given; ``stream`` is the ``sys.stdout``
    of the moment it is made (so ``%%capture`` and pytest's capture see it);
    ``clock`` is injectable for tests. ``label`` starts the line (``judge: 3 / 8
    done ...``) when one job shows several bars in turn.
    """

    def __init__(
        self,
        total: int,
        *,
        live: bool,
        display: DisplayFunction | None = None,
        clock: Callable[[], float] = time.monotonic,
        stream: TextIO | None = None,
        label: str | None = None,
    ) -> None:
        self.caption = label  # (self._label is the widget)
        self.total = max(0, int(total))
        self.done = 0
        self.failed = 0
        self.running = 0
        self.retries = 0
        self.tokens: int | None = None
        self.cost: float | None = None
        self.unpriced = 0
        self.closed = False
        self._clock = clock
        self._stream = stream if stream is not None else sys.stdout
        self._started_at = clock()
        self._live = live
        self._tty = not live and _is_tty(self._stream)
        # A line wider than the terminal wraps, and \r then redraws only its last row.
        self._columns = shutil.get_terminal_size().columns - 1 if self._tty else 0
        self._interval = WIDGET_INTERVAL if live else TTY_INTERVAL
        self._step = max(1, math.ceil(self.total * LINE_STEP))
        self._next_line = self._step
        self._next_at = -math.inf
        self._shown = ""
        self._width = 0  # of the last terminal line, to blank what a shorter one leaves
        self._bar: Any = None
        self._label: Any = None
        self._bundle: dict[str, Any] = {}
        self._handle: DisplayHandle | None = None
        if live:
            self._open(display)
        if live or self._tty:
            self._draw(self._clock())

    # ---- what callers report -------------------------------------------------------------

    def started(self) -> None:
        """A run was sent."""
        self.running += 1
        self._changed()

    def retrying(self) -> None:
        """A run stopped to wait before another try (it is no longer running)."""
        self.running = max(0, self.running - 1)
        self.retries += 1
        self._changed()

    def finished(
        self, ok: bool = True, tokens: int | None = None, cost: float | None = None
    ) -> None:
        """A run ended: ``ok`` or failed, with its tokens and cost (None: unknown)."""
        self.done += 1
        if not ok:
            self.failed += 1
        if self.running:
            self.running -= 1
        if tokens is not None:
            self.tokens = (self.tokens or 0) + tokens
        if cost is None:
            self.unpriced += 1
        else:
            self.cost = (self.cost or 0.0) + cost
        self._changed()

    def update(
        self,
        *,
        done: int | None = None,
        failed: int | None = None,
        running: int | None = None,
        tokens: int | None = None,
        cost: float | None = _KEEP,
    ) -> None:
        """Set absolute figures (None: unchanged; ``cost=None``: the cost is unknown)."""
        if done is not None:
            self.done = done
        if failed is not None:
            self.failed = failed
        if running is not None:
            self.running = running
        if tokens is not None:
            self.tokens = tokens
        if cost is not _KEEP:
            self.cost, self.unpriced = cost, 0
        self._changed()

    def tick(self) -> None:
        """Redraw if one is due (for the caller's poll loop; a no-op for plain lines)."""
        if (self._live or self._tty) and not self.closed:
            now = self._clock()
            if now >= self._next_at:
                self._draw(now)

    def close(self, note: str | None = None) -> None:
        """Show the final line, ``note`` (e.g. ``interrupted``) appended; once only."""
        if self.closed:
            return
        self.closed = True
        final = self.line(final=True)
        if note:
            final = f"{final} · {note}"
        if self._live:
            self._bar.value = self.done
            self._bar.bar_style = "warning" if self.failed else "success"
            self._label.value = html.escape(final)
            if self._handle is not None:
                self._bundle["text/plain"] = final
                self._handle.update(self._bundle, raw=True)
            return
        if self._tty:
            self._stream.write(f"\r{final.ljust(self._width)}\n")
        else:
            self._stream.write(final + "\n")
        self._stream.flush()

    def __enter__(self) -> Progress:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close("interrupted" if kind is KeyboardInterrupt else None)

    # ---- the line ------------------------------------------------------------------------

    def line(self, *, final: bool = False) -> str:
        """The progress as one line of text (``final``: elapsed time instead of time left)."""
        head = f"{self.caption}: " if self.caption else ""
        parts = [f"{head}{self.done:,} / {self.total:,} done"]
        if self.failed:
            parts.append(f"{self.failed:,} failed")
        if self.running and not final:
            parts.append(f"{self.running:,} running")
        if self.retries:
            parts.append(f"{self.retries:,} retried")
        if self.tokens is not None:
            parts.append(f"{self.tokens:,} tokens")
        parts.append(self._cost_text(final))
        elapsed = self._clock() - self._started_at
        parts.append(f"took {format_duration(elapsed)}" if final else self._time_left(elapsed))
        return " · ".join(parts)

    def _cost_text(self, final: bool) -> str:
        if self.cost is None:
            return "cost unknown"
        text = format_cost(self.cost) + ("" if final else " so far")
        if self.unpriced:
            runs = "run" if self.unpriced == 1 else "runs"
            text += f" (+ {self.unpriced:,} {runs} of unknown cost)"
        return text

    def _time_left(self, elapsed: float) -> str:
        left = self.total - self.done
        if self.done < ESTIMATE_AFTER or left <= 0:
            return "time left —"
        # At least a second: "~0 s left" while runs are still out reads like a bug.
        return f"~{format_duration(max(1.0, elapsed / self.done * left))} left"

    # ---- showing it ----------------------------------------------------------------------

    def _changed(self) -> None:
        # The hot path: most calls end at one of the two comparisons below.
        if self.closed:
            return
        if self._live or self._tty:
            now = self._clock()
            if now >= self._next_at:
                self._draw(now)
        elif self.done >= self._next_line:
            self._next_line = (self.done // self._step + 1) * self._step
            if self.done < self.total:  # the last line is close()'s
                self._stream.write(self.line() + "\n")
                self._stream.flush()

    def _draw(self, now: float) -> None:
        self._next_at = now + self._interval
        text = self.line()
        if text == self._shown:
            return  # e.g. a tick with nothing new: send nothing
        self._shown = text
        if self._live:
            self._bar.value = min(self.done, self._bar.max)
            self._bar.bar_style = "danger" if self.failed else ""
            self._label.value = html.escape(text)
            return
        filled = _BAR_WIDTH * self.done // self.total if self.total else _BAR_WIDTH
        shown = one_line(f"[{'#' * filled}{'-' * (_BAR_WIDTH - filled)}] {text}", self._columns)
        self._stream.write(f"\r{shown.ljust(self._width)}")
        self._stream.flush()
        self._width = len(shown)

    def _open(self, display: DisplayFunction | None) -> None:
        import ipywidgets as widgets

        self._bar = widgets.IntProgress(value=0, min=0, max=max(1, self.total))
        self._label = widgets.HTML()
        box = widgets.HBox([self._bar, self._label])
        if display is None:
            from IPython.display import display as ipython_display

            display = ipython_display
        # The widget view, with a plain-text fallback for frontends without the widget
        # manager (nbconvert's HTML, GitHub); close() puts the final line there.
        self._bundle = dict(box._repr_mimebundle_() or {})
        self._bundle["text/plain"] = f"(progress of {self.total:,} runs)"
        self._handle = display(self._bundle, raw=True, display_id=True)
