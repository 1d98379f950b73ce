"""The ``%%groq`` line for a set of options: the panel's "copy as cell" text.

Quoting follows what the magic reads: POSIX shell quoting for every value, and
``\\n``, ``\\t``, ``\\\\`` escapes inside ``--stop`` (the magic unescapes those).
A test runs the line through the magic and compares the request it sends.
"""

from __future__ import annotations

import shlex

from groq_magic.chat.options import FLAGS, ChatOptions

__all__ = ["cell_line"]


def _quote(value: str) -> str:
    # The magic reads \n, \t and \\ in --stop as escapes, so they are written that way.
    return shlex.quote(value.replace("\\", "\\\\").replace("\n", "\\n").replace("\t", "\\t"))


def _number(value: float | int) -> str:
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


def cell_line(options: ChatOptions) -> str:
    """The ``%%groq`` line whose flags give ``options`` (those a panel can change, plus chat)."""
    parts = ["%%groq"]
    if options.model:
        parts += ["-m", shlex.quote(options.model)]
    for name in ("temperature", "top_p", "max_tokens", "seed"):
        value = getattr(options, name)
        if value is not None:
            parts += [FLAGS[name], _number(value)]
    if options.system:
        parts += ["-s", shlex.quote(" ".join(options.system.split("\n")))]
    for stop in options.stop:
        parts += ["--stop", _quote(stop)]
    if options.json_mode:
        parts.append("--json")
    if options.schema_name:
        parts += ["--schema", options.schema_name]
    if options.chat:
        parts += ["-c", shlex.quote(options.chat)]
    if not options.history:
        parts.append("--no-history")
    if not options.stream:
        parts.append("--no-stream")
    return " ".join(parts)
