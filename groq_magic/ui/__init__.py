"""Widgets over the same engine as ``%%groq``: the sliders panel and the compare grid.

The magic calls two hooks, both imported lazily so ``import groq_magic`` stays cheap:

- :func:`run_compare` (``%%groq --compare a,b``, ``-t 0,0.7``, ``--repeat N``):
  every combination concurrently, each in its own pane; returns the summary table.
- :func:`show_panel` (``%%groq --ui``, ``%groq ui``): the answer area with
  sliders and controls that re-run the prompt.

What runs many turns without a widget (``groq_magic.sweep``, the grid, the async
runner) lives below, in :mod:`groq_magic.sweeps`, with the background loop in
:mod:`groq_magic.background`; the progress bar is :mod:`groq_magic.render.progress`.
Modules here: ``panes`` (compare display), ``compare``; for the sliders ``panel``
(imported only by :func:`show_panel`), ``panel_state`` (what its controls hold, no
widgets), ``panel_view`` (its ipywidgets), ``answer`` (its streaming sink) and
``schedule`` (the debounce).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from groq_magic._lazy import lazy_names

if TYPE_CHECKING:
    from groq_magic.ui.compare import run_compare
    from groq_magic.ui.panel import show_panel

__all__ = ["run_compare", "show_panel"]

# Each hook's module (and ipywidgets with it) is imported when the magic first asks.
_LAZY = {"run_compare": "groq_magic.ui.compare", "show_panel": "groq_magic.ui.panel"}

__getattr__ = lazy_names(__name__, _LAZY, globals())
