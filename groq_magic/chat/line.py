"""The ``%%groq`` line for a set of options: the panel's "copy as cell", ``%groq export``.

Derived from the knob table the options were made from (:mod:`groq_magic.knobs`):
every knob with a value is written with its own flag, in the table's order.
Quoting follows what the magic reads: POSIX shell quoting for every value, and
``\\n``, ``\\t``, ``\\\\`` escapes for knobs that take them (``--stop``). A test runs
the line through the magic and compares the request it sends.
"""

from __future__ import annotations

import shlex
from typing import Any

from groq_magic.chat.options import ChatOptions
from groq_magic.knobs import Knob

__all__ = ["cell_line"]


def _escaped(value: str) -> str:
    # The magic reads \n, \t and \\ in such values as escapes, so they are written that way.
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace("\t", "\\t")


def _text(knob: Knob, value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (int, float)):
        return str(value)
    text = str(value)
    # A multi-line value cannot stand on the magic line: escaped where the magic
    # unescapes, else its lines joined (a system prompt).
    text = _escaped(text) if knob.escapes else " ".join(text.split("\n"))
    return shlex.quote(text)


def _words(knob: Knob, value: Any) -> list[str]:
    # Short flags for words (-m, -s, -c), long ones for numbers (--temperature 0.5 reads
    # better than -t 0.5 next to --top-p).
    flag = (knob.short or knob.flag) if knob.kind is str else knob.flag
    if knob.style == "switch":
        return [flag] if value else []
    if knob.style == "negated":
        return [] if value else [flag]
    if knob.style == "append":
        return [w for item in value for w in (flag, _text(knob, item))]
    if knob.csv:
        return [flag, _text(knob, ",".join(value))] if value else []
    return [] if value is None else [flag, _text(knob, value)]


def cell_line(options: ChatOptions) -> str:
    """The ``%%groq`` line whose flags give ``options``."""
    parts = ["%%groq"]
    for name, knob in options.knobs.items():
        parts += _words(knob, getattr(options, name))
    return " ".join(parts)
