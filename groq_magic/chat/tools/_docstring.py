"""A docstring's summary and per-parameter descriptions, for a tool's JSON schema.

Three conventions are read, because notebook functions are written in all of them:
Google (``Args:`` with ``name (type): text``), numpy (``Parameters`` underlined with
dashes, ``name : type`` then indented text) and reST (``:param name: text``). The
summary is every paragraph before the first section; sections the model does not
need (Returns, Raises, Examples...) are dropped.
"""

from __future__ import annotations

import inspect
import re
from dataclasses import dataclass, field

__all__ = ["ParsedDoc", "parse_docstring"]

_GOOGLE_PARAMS = {
    "args",
    "arguments",
    "parameters",
    "params",
    "keyword args",
    "keyword arguments",
    "other parameters",
}
_GOOGLE_OTHER = {
    "returns",
    "return",
    "yields",
    "yield",
    "raises",
    "raise",
    "examples",
    "example",
    "notes",
    "note",
    "see also",
    "attributes",
    "warnings",
    "warning",
    "references",
    "todo",
}
_GOOGLE_HEADER = re.compile(r"^([A-Za-z][A-Za-z ]*):\s*$")
_NUMPY_RULE = re.compile(r"^\s*-{3,}\s*$")
_REST_FIELD = re.compile(r"^:(\w+)(?:\s+([^:]*?))?:\s*(.*)$")
_GOOGLE_ENTRY = re.compile(r"^\*{0,2}(\w+)\s*(?:\([^)]*\))?\s*:\s*(.*)$")
_NUMPY_ENTRY = re.compile(r"^\*{0,2}(\w+)\s*(?::.*)?$")


@dataclass
class ParsedDoc:
    """The description (summary paragraphs) and ``{parameter: description}``."""

    summary: str = ""
    params: dict[str, str] = field(default_factory=dict)


def parse_docstring(doc: str | None) -> ParsedDoc:
    """Split a docstring into its summary and its parameters' descriptions."""
    if not doc:
        return ParsedDoc()
    lines = inspect.cleandoc(doc).splitlines()
    parsed = ParsedDoc()
    summary: list[str] = []
    in_summary = True
    i = 0
    while i < len(lines):
        kind = _section_kind(lines, i)
        if kind is None:
            if in_summary:
                summary.append(lines[i])
            i += 1
        else:
            # Prose after a section (an example's explanation, say) is not the summary.
            in_summary = False
            i = _read_section(lines, i, kind, parsed)
    parsed.summary = _paragraphs(summary)
    return parsed


def _section_kind(lines: list[str], i: int) -> str | None:
    """The kind of section line ``i`` starts (``google-params``, ``numpy-other``...), or None."""
    line = lines[i]
    stripped = line.strip()
    header = _GOOGLE_HEADER.match(stripped)
    if header and not line.startswith((" ", "\t")):
        name = header.group(1).lower()
        if name in _GOOGLE_PARAMS:
            return "google-params"
        if name in _GOOGLE_OTHER:
            return "other"
    if i + 1 < len(lines) and stripped and _NUMPY_RULE.match(lines[i + 1]):
        return "numpy-params" if stripped.lower() in _GOOGLE_PARAMS else "numpy-other"
    if _REST_FIELD.match(stripped):
        return "rest"
    return None


def _read_section(lines: list[str], i: int, kind: str, parsed: ParsedDoc) -> int:
    """Read the section starting at line ``i``; return the index after it."""
    if kind == "rest":
        return _read_rest(lines, i, parsed)
    if kind in ("numpy-params", "numpy-other"):
        return _read_numpy(lines, i + 2, parsed.params if kind == "numpy-params" else None)
    return _read_google(lines, i + 1, parsed.params if kind == "google-params" else None)


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _add(params: dict[str, str] | None, name: str | None, text: list[str]) -> None:
    if params is not None and name and name not in params:
        params[name] = " ".join(" ".join(text).split())


def _read_google(lines: list[str], i: int, params: dict[str, str] | None) -> int:
    entry_indent: int | None = None
    name: str | None = None
    text: list[str] = []
    while i < len(lines):
        line = lines[i]
        if line.strip() and _indent(line) == 0:
            break  # the next section or prose at the left margin
        if not line.strip():
            i += 1
            continue
        if entry_indent is None:
            entry_indent = _indent(line)
        match = _GOOGLE_ENTRY.match(line.strip()) if _indent(line) <= entry_indent else None
        if match:
            _add(params, name, text)
            name, text = match.group(1), [match.group(2)]
        else:
            text.append(line.strip())
        i += 1
    _add(params, name, text)
    return i


def _read_numpy(lines: list[str], i: int, params: dict[str, str] | None) -> int:
    name: str | None = None
    text: list[str] = []
    while i < len(lines):
        line = lines[i]
        if i + 1 < len(lines) and line.strip() and _NUMPY_RULE.match(lines[i + 1]):
            break  # the next numpy section
        if not line.strip():
            i += 1
            continue
        if _indent(line) == 0:
            match = _NUMPY_ENTRY.match(line.strip())
            if not match:
                break
            _add(params, name, text)
            name, text = match.group(1), []
        else:
            text.append(line.strip())
        i += 1
    _add(params, name, text)
    return i


def _read_rest(lines: list[str], i: int, parsed: ParsedDoc) -> int:
    while i < len(lines):
        match = _REST_FIELD.match(lines[i].strip())
        if not match:
            if lines[i].strip() and _indent(lines[i]) == 0:
                break
            i += 1
            continue
        role, spec, first = match.groups()
        text = [first]
        i += 1
        while i < len(lines) and lines[i].strip() and _indent(lines[i]) > 0:
            text.append(lines[i].strip())
            i += 1
        if role in ("param", "parameter", "arg", "argument", "key", "keyword") and spec:
            _add(parsed.params, spec.split()[-1], text)
    return i


def _paragraphs(lines: list[str]) -> str:
    """Prose lines to paragraphs: lines joined with spaces, paragraphs with a blank line."""
    paragraphs: list[str] = []
    current: list[str] = []
    for line in [*lines, ""]:
        if line.strip():
            current.append(line.strip())
        elif current:
            paragraphs.append(" ".join(current))
            current = []
    return "\n\n".join(paragraphs)
