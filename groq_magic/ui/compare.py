"""``%%groq --compare a,b -t 0,0.7 --repeat N``: every combination at once, each in its pane.

:func:`run_compare` is what the magic calls. Everything that can be wrong with
the input (an empty list, a value out of range, too many runs, a missing
template name, an empty prompt, a bad ``--schema``) raises one
:class:`~groq_magic.chat.ChatError` line before anything is sent. Then the runs
go to the background loop (:mod:`groq_magic.sweeps.runner`) and stream into their
panes (:mod:`groq_magic.ui.panes`); the summary table is returned.

A run that fails (say an unknown model: the server's 404) is reported in its
own pane and its row (``status="error"``); the others are unaffected. History
is never changed: each run talks to a throwaway copy of the chat.

The runs are paced by the kernel's rate-limit pacer (the one sweeps share, see
:mod:`groq_magic.pacing`). The first runs (as many as the compare's
concurrency) take eager permits and go together; the rest and every retry are
paced like a sweep's. All wait for what the server's headers and 429s have told
(a spent tokens-per-minute budget, a learned requests-per-minute limit, a spent
daily limit, which fails the runs at once with one line). The embedded local
model is not paced.

``--check NAME`` (repeatable) checks every answer (:mod:`groq_magic.checks`; a
name that is no built-in is a function in the notebook): each check is a
column of the table, and the pass rates per model and parameter set are printed
under the panes and kept as ``table.attrs["checks"]``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from groq_magic.chat.options import ChatOptions
from groq_magic.checks import Check, resolve_checks
from groq_magic.knobs import GRID_FIELDS
from groq_magic.render import is_live_kernel
from groq_magic.render.notebook import DisplayFunction
from groq_magic.sweeps.drive import drive
from groq_magic.sweeps.grid import expand_grid
from groq_magic.sweeps.runner import (
    DEFAULT_CONCURRENCY,
    TABLE_COLUMNS,
    GridRunner,
    RunRecord,
    RunSpec,
    SharedBackoff,
    choose_pacer,
    concurrency_for,
    summary_table,
)
from groq_magic.sweeps.sweep import with_check_summary
from groq_magic.ui.panes import PaneBoard, pane_title

if TYPE_CHECKING:
    from groq_magic.chat.prepare import PreparedTurn
    from groq_magic.client import AsyncGroq
    from groq_magic.pacing import RateLimitPacer
    from groq_magic.session import GroqSession

__all__ = ["check_lines", "checks_from_names", "interrupted_note", "run_compare", "varying_fields"]

# Check names that are built-ins even when the notebook has a variable of that name.
_BUILTIN_CHECKS = frozenset({"json", "schema"})


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


def checks_from_names(
    entries: Sequence[object] | None, namespace: Mapping[str, Any]
) -> list[Check]:
    """``--check`` values as checks: a built-in, else a function of that name in the namespace.

    One :class:`~groq_magic.checks.CheckError` line for anything else, before
    anything is sent.
    """
    items: list[object] = []
    for entry in entries or ():
        found = None
        if isinstance(entry, str) and entry.isidentifier() and entry not in _BUILTIN_CHECKS:
            found = namespace.get(entry)
        items.append(found if callable(found) else entry)
    return resolve_checks(items, reserved=(*TABLE_COLUMNS, "prompt"))


def check_lines(summary: Any, checks: Sequence[Check]) -> list[str]:
    """The pass-rate summary as lines: ``alpha · temperature 0.0: json 100% · ... (4 runs)``."""
    to_dict = getattr(summary, "to_dict", None)
    rows = to_dict("records") if callable(to_dict) else list(summary)
    names = {c.name for c in checks} | {f"{c.name}_mean" for c in checks}
    lines = ["checks (pass rate):"]
    for row in rows:
        head = [f"{k} {v}" for k, v in row.items() if k not in names and k not in _COUNTS]
        rates = [f"{c.name} {_percent(row.get(c.name))}" for c in checks]
        runs = f"{row['count']} runs" + (
            f", {row['unchecked']} unchecked" if row["unchecked"] else ""
        )
        lines.append(f"  {' · '.join(head) or 'all runs'}: {' · '.join(rates)} ({runs})")
    return lines


_COUNTS = frozenset({"count", "unchecked", "all_passed"})


def _percent(rate: object) -> str:
    if not isinstance(rate, float | int) or rate != rate:  # None, or NaN from a DataFrame
        return "-"
    return f"{rate:.0%}"


def _prepared(
    session: GroqSession,
    options: ChatOptions,
    grid: dict[str, list[Any]],
    template: str,
    namespace: Mapping[str, Any],
    repeat: int,
) -> list[PreparedTurn]:
    """Every run of the grid prepared on the one road, before anything is sent."""
    conversation = session.conversation(options.chat)
    seed = session.defaults().options.get("seed")
    return [
        session.prepare(run, template, namespace, conversation=conversation)
        for run in expand_grid(options, grid, repeat, base_seed=seed)
    ]


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
    checks: Sequence[object] | None = None,
    pacer: RateLimitPacer | bool | None = None,
) -> Any:
    """Run every combination of ``grid`` (x ``repeat``) concurrently; return the summary table.

    ``grid`` holds the list-valued flags (``{"model": [...], "temperature": [...]}``);
    ``options`` the single-valued ones. Every run is prepared on the one road
    (:meth:`GroqSession.prepare`: defaults, template, key check, schema), all before
    anything is sent. The table is a pandas DataFrame (a list of dicts without
    pandas) with one row per run. ``checks`` are ``--check`` values (see
    :func:`checks_from_names`). ``pacer`` is as for a sweep
    (:func:`~groq_magic.sweeps.runner.choose_pacer`; None: the kernel's). ``concurrency``,
    ``backoff``, ``display`` and ``client`` are for tests and tuning.
    """
    resolved = checks_from_names(checks, namespace)
    preps = _prepared(session, options, grid, template, namespace, repeat)
    if client is None:
        client = session.backend.async_client()
    varying = varying_fields(grid, repeat)
    board = PaneBoard(
        [pane_title(p.options, p.model, varying or ["-"]) for p in preps],
        live=is_live_kernel(shell),
        display=display,
    )
    runner = GridRunner(
        [RunSpec.of(i, prep) for i, prep in enumerate(preps)],
        client,
        concurrency=concurrency_for(session.backend, concurrency),
        backoff=backoff or SharedBackoff(),
        checks=resolved,
        pacer=choose_pacer(pacer, session, client),
        eager=True,
    )
    board.open()
    records, interrupted = drive(runner, on_event=board.handle, tick=board.flush)
    board.close(interrupted_note(records) if interrupted else None)
    table = with_check_summary(summary_table(records, checks=resolved), resolved)
    if resolved:
        from groq_magic.checks import check_summary

        print("\n".join(check_lines(check_summary(table, resolved), resolved)))
    return table
