"""``%%groq --compare a,b -t 0,0.7 --repeat N``: every combination at once, each in its pane.

:func:`run_compare` is what the magic calls. Everything that can be wrong with
the input (an empty list, a value out of range, too many runs, a missing
template name, an empty prompt, a bad ``--schema``) raises one
:class:`~groq_magic.chat.ChatError` line before anything is sent. Then the runs
go to the background loop (:mod:`groq_magic.ui.runner`) and stream into their
panes (:mod:`groq_magic.ui.panes`); the summary table is returned.

A run that fails (say an unknown model: the server's 404) is reported in its
own pane and its row (``status="error"``); the others are unaffected. History
is never changed: each run talks to a throwaway copy of the chat.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from groq_magic.chat.options import ChatOptions
from groq_magic.knobs import GRID_FIELDS
from groq_magic.render import is_live_kernel
from groq_magic.render.notebook import DisplayFunction
from groq_magic.ui.drive import drive
from groq_magic.ui.grid import expand_grid
from groq_magic.ui.panes import PaneBoard, pane_title
from groq_magic.ui.runner import (
    DEFAULT_CONCURRENCY,
    GridRunner,
    RunRecord,
    RunSpec,
    SharedBackoff,
    concurrency_for,
    summary_table,
)

if TYPE_CHECKING:
    from groq_magic.client import AsyncGroq
    from groq_magic.session import GroqSession

__all__ = ["interrupted_note", "run_compare", "varying_fields"]


def varying_fields(grid: Mapping[str, Sequence[Any]], repeat: int) -> list[str]:
    """The option names that tell the runs apart (for pane headers)."""
    names = [n for n in GRID_FIELDS if n in grid and n != "model"]
    if repeat > 1 and "seed" not in names:
        names.append("seed")
    return names


def interrupted_note(records: Sequence[RunRecord]) -> str:
    """The one line shown after an interrupt."""
    stopped = sum(r.status == "interrupted" for r in records)
    return (
        f"⏹ interrupted: {stopped} of {len(records)} runs stopped early;"
        " their partial answers are kept in the table"
    )


def run_compare(
    session: GroqSession,
    options: ChatOptions,
    grid: dict[str, list[Any]],
    template: str,
    namespace: Mapping[str, Any],
    *,
    repeat: int,
    shell: Any,
    concurrency: int = DEFAULT_CONCURRENCY,
    backoff: SharedBackoff | None = None,
    display: DisplayFunction | None = None,
    client: AsyncGroq | None = None,
) -> Any:
    """Run every combination of ``grid`` (x ``repeat``) concurrently; return the summary table.

    ``grid`` holds the list-valued flags (``{"model": [...], "temperature": [...]}``);
    ``options`` the single-valued ones. Every run is prepared on the one road
    (:meth:`GroqSession.prepare`: defaults, template, key check, schema), all before
    anything is sent. The table is a pandas DataFrame (a list of dicts without
    pandas) with one row per run. ``concurrency``, ``backoff``, ``display`` and
    ``client`` are for tests and tuning.
    """
    conversation = session.conversation(options.chat)
    preps = [
        session.prepare(run, template, namespace, conversation=conversation)
        for run in expand_grid(options, grid, repeat)
    ]
    if client is None:
        client = session.backend.async_client()
    varying = varying_fields(grid, repeat)
    board = PaneBoard(
        [pane_title(p.options, p.model, varying or ["-"]) for p in preps],
        live=is_live_kernel(shell),
        display=display,
    )
    runner = GridRunner(
        [RunSpec(i, prep) for i, prep in enumerate(preps)],
        client,
        concurrency=concurrency_for(session.backend, concurrency),
        backoff=backoff or SharedBackoff(),
    )
    board.open()
    records, interrupted = drive(runner, on_event=board.handle, tick=board.flush)
    board.close(interrupted_note(records) if interrupted else None)
    return summary_table(records)
