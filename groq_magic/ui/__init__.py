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

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from groq_magic.chat.options import ChatOptions
    from groq_magic.session import GroqSession

__all__ = ["run_compare", "show_panel"]


def run_compare(
    session: GroqSession,
    options: ChatOptions,
    grid: dict[str, list[Any]],
    prompt: str,
    namespace: Mapping[str, Any],
    *,
    repeat: int,
    shell: Any,
    checks: list[str] | None = None,
) -> Any:
    """Run every combination of ``grid`` concurrently, each in its pane; return the summary table.

    See :func:`groq_magic.ui.compare.run_compare`. Bad input raises
    :class:`~groq_magic.chat.errors.OptionsError` before anything is sent.
    """
    from groq_magic.ui.compare import run_compare as _run_compare

    return _run_compare(
        session,
        options,
        grid,
        prompt,
        namespace,
        repeat=repeat,
        shell=shell,
        checks=checks,
    )


def show_panel(
    session: GroqSession,
    options: ChatOptions,
    prompt: str | None,
    namespace: Mapping[str, Any],
    *,
    shell: Any,
) -> Any:
    """Show the sliders panel for ``prompt`` (None: the current chat's last prompt).

    See :func:`groq_magic.ui.panel.show_panel`.
    """
    from groq_magic.ui.panel import show_panel as _show_panel

    return _show_panel(
        session,
        options,
        prompt,
        namespace,
        shell=shell,
    )
