"""groq_magic: a ``%%groq`` cell magic for Jupyter, and the client it stands on.

``%load_ext groq_magic`` registers the magics. Importing the package is cheap:
the protocol client, the IPython glue and the widgets load when first used, so
the public names below are resolved lazily through ``__getattr__``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from groq_magic._keys import install_log_filter
from groq_magic._lazy import lazy_names

__version__ = "0.1.0"

__all__ = [
    "AsyncGroq",
    "BatchJob",
    "ChatResult",
    "EvalRun",
    "Groq",
    "__version__",
    "batch",
    "batch_job",
    "batch_jobs",
    "describe_tool",
    "diff",
    "evaluate",
    "judge",
    "load_ipython_extension",
    "load_run",
    "runs",
    "sweep",
    "tool",
    "unload_ipython_extension",
]

# Public name -> module that defines it; imported on first attribute access.
_LAZY = {
    "Groq": "groq_magic.client",
    "AsyncGroq": "groq_magic.client",
    "ChatResult": "groq_magic.chat.result",
    "sweep": "groq_magic.sweeps.sweep",
    "batch": "groq_magic.batching",
    "batch_job": "groq_magic.batching",
    "batch_jobs": "groq_magic.batching",
    "BatchJob": "groq_magic.batching",
    "tool": "groq_magic.chat.tools",
    "describe_tool": "groq_magic.chat.tools",
    "evaluate": "groq_magic.evals",
    "judge": "groq_magic.evals",
    "runs": "groq_magic.evals",
    "load_run": "groq_magic.evals",
    "diff": "groq_magic.evals",
    "EvalRun": "groq_magic.evals",
}

if TYPE_CHECKING:
    from groq_magic.batching import BatchJob, batch, batch_job, batch_jobs
    from groq_magic.chat.result import ChatResult
    from groq_magic.chat.tools import describe_tool, tool
    from groq_magic.client import AsyncGroq, Groq
    from groq_magic.evals import EvalRun, diff, evaluate, judge, load_run, runs
    from groq_magic.sweeps.sweep import sweep


# Every module logs to "groq_magic"; its records are masked of keys before any handler.
install_log_filter()


__getattr__ = lazy_names(__name__, _LAZY, globals())


def load_ipython_extension(ipython: Any) -> None:
    """Register ``%%groq`` and ``%groq`` with an IPython shell (``%load_ext groq_magic``)."""
    from groq_magic.magics import load

    load(ipython)


def unload_ipython_extension(ipython: Any) -> None:
    """Undo :func:`load_ipython_extension`: stop the local server, drop the magics."""
    from groq_magic.magics import unload

    unload(ipython)
