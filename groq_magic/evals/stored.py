"""Stored evaluation runs: ``groq_magic.runs()`` lists them, ``load_run(id)`` brings one back.

Runs live in the exchange store (see :meth:`groq_magic.store.Store.record_run`),
so they outlive the kernel: a new kernel, or a plain Python process, lists and
loads them. Which store: the kernel's (``%config GroqMagics.store``) when the
extension is loaded or ``client`` names a session, else the one the environment
names (``GROQ_MAGIC_STORE``, else the user data folder). An unknown id, or a store
that is off, is one line.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from groq_magic._text import one_line
from groq_magic.evals.dataset import EvalError
from groq_magic.evals.run import EvalRun

__all__ = ["load_run", "run_store", "runs"]

_LISTED = ("id", "name", "created", "template", "models", "rows", "pass_rates")


@contextmanager
def run_store(client: Any = None) -> Iterator[Any]:
    """The exchange store runs are read from: the session's (the extension's, or the
    process's own reading the same settings: :func:`groq_magic.session.find_session`)."""
    from groq_magic.session import find_session

    yield find_session(client).log.store


def _rates_text(rates: dict[str, Any]) -> str:
    shown = [f"{name} {rate:.0%}" for name, rate in rates.items() if isinstance(rate, float | int)]
    return " · ".join(shown)


def runs(n: int = 20, *, client: Any = None) -> Any:
    """The ``n`` newest stored evaluation runs: ``id, name, created, template, models,
    rows, pass_rates`` (a DataFrame, or a list of dicts without pandas)."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise EvalError(f"runs takes how many runs to list, a whole number >= 1 (got {n!r})")
    with run_store(client) as store:
        found = store.runs(n)
    listed = []
    for run in found:
        created = run["created"]
        listed.append(
            {
                **run,
                "created": created.astimezone().strftime("%Y-%m-%d %H:%M:%S") if created else "",
                "template": one_line(run["template"], 60),
                "models": ", ".join(run["models"]),
                "pass_rates": _rates_text(run["pass_rates"]),
            }
        )
    from groq_magic.sweeps.runner import table_from_rows

    return table_from_rows(listed, _LISTED)


def load_run(run_id: int | str, *, client: Any = None) -> EvalRun:
    """The stored run ``run_id`` with its table (as :func:`runs` lists it); one line if
    there is none."""
    try:
        number = int(run_id)
    except (TypeError, ValueError):
        raise EvalError(
            f"a run id is a whole number from groq_magic.runs() (got {run_id!r})"
        ) from None
    with run_store(client) as store:
        fields, rows = store.run(number)
    return EvalRun.from_stored(fields, rows)
