"""Sinks that show an answer as it streams: plain text or a live notebook display.

``choose_sink(shell)`` picks one for the running frontend. This package imports
neither IPython nor ipykernel at import time (only the engine's sink protocol,
:mod:`groq_magic.chat.sink`); IPython's display module is imported by
:class:`NotebookSink` when it first shows something.
"""

from __future__ import annotations

from typing import Any

from groq_magic.render.base import (
    NullSink,
    StreamSink,
    TurnMeta,
    TurnStatus,
    TurnSummary,
    status_line,
)
from groq_magic.render.notebook import NotebookSink, already_shown
from groq_magic.render.plain import PlainTextSink
from groq_magic.render.throttle import UpdateThrottle

__all__ = [
    "NotebookSink",
    "NullSink",
    "PlainTextSink",
    "StreamSink",
    "TurnMeta",
    "TurnStatus",
    "TurnSummary",
    "UpdateThrottle",
    "already_shown",
    "choose_sink",
    "in_live_kernel",
    "is_live_kernel",
    "status_line",
]


def _class_names(obj: object) -> set[str]:
    return {cls.__name__ for cls in type(obj).__mro__}


def is_live_kernel(shell: Any) -> bool:
    """True in a Jupyter kernel whose display messages reach a frontend.

    The shell is recognised by class name (``ZMQInteractiveShell`` or a subclass),
    so this never imports ipykernel. Under ``%%capture`` the shell's
    ``display_pub`` is a ``CapturingDisplayPublisher``, which would keep every
    update as a separate output: not live.
    """
    if shell is None or "ZMQInteractiveShell" not in _class_names(shell):
        return False
    publisher = getattr(shell, "display_pub", None)
    return publisher is not None and "CapturingDisplayPublisher" not in _class_names(publisher)


def in_live_kernel() -> bool:
    """True when the code runs in a live notebook kernel (IPython looked up, not required)."""
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython is a dependency
        return False
    return is_live_kernel(get_ipython())


def choose_sink(shell: Any) -> StreamSink:
    """A :class:`NotebookSink` in a live Jupyter kernel, else a :class:`PlainTextSink`."""
    return NotebookSink() if is_live_kernel(shell) else PlainTextSink()
