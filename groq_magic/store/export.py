"""Export a conversation as Markdown or as a notebook of ``%%groq`` cells.

Both take a :class:`~groq_magic.chat.Conversation` (or anything with ``name``,
``system`` and ``turns``, where a turn is an object or a mapping with
``prompt``, ``answer`` and optionally ``model``, ``options``, ``status``...).
Reasoning and tool calls are exported when a turn has them, as an attribute
(``reasoning``, ``tool_calls``, ``executed_tools``), inside a dict attribute
(``extra``, ``metadata``, ``details``) or in its messages (an assistant message's
``reasoning`` / ``tool_calls``, ``tool`` results); each becomes a collapsed
``<details>`` section under the answer.

The notebook is nbformat 4.5 JSON written with the standard library: a
``%load_ext groq_magic`` cell, then one ``%%groq`` cell per turn whose flags
repeat the turn's options and whose output is the answer as Markdown, so it
reads on GitHub as it did in the kernel, and re-runs as the same requests.
A path with another extension, or one that exists (without ``force=True``),
is one :class:`ExportError` line.
"""

from __future__ import annotations

import json
import os
import re
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from groq_magic._files import write_atomically
from groq_magic._keys import redact, redact_value
from groq_magic.chat.errors import OptionsError
from groq_magic.chat.line import cell_line
from groq_magic.chat.options import ChatOptions
from groq_magic.chat.template import find_references
from groq_magic.store._errors import ExportError

__all__ = ["export", "export_markdown", "export_notebook"]

_EXTENSIONS = {".md": "markdown", ".markdown": "markdown", ".ipynb": "notebook"}
_DICT_ATTRS = ("extra", "metadata", "details")
_CELL_ID = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")


def _get(obj: Any, name: str, default: Any = None) -> Any:
    if isinstance(obj, Mapping):
        return obj.get(name, default)
    return getattr(obj, name, default)


def _messages(turn: Any) -> list[Mapping[str, Any]]:
    found = _get(turn, "messages")
    if callable(found):
        found = found()
    return [m for m in found if isinstance(m, Mapping)] if isinstance(found, list) else []


def _reasoning(turn: Any) -> str:
    for source in (turn, *(_get(turn, a) for a in _DICT_ATTRS)):
        value = _get(source, "reasoning") if source is not None else None
        if isinstance(value, str) and value.strip():
            return value
    parts = [
        str(m["reasoning"])
        for m in _messages(turn)
        if m.get("role") == "assistant" and m.get("reasoning")
    ]
    return "\n\n".join(parts)


def _tool_calls(turn: Any) -> list[Any]:
    for source in (turn, *(_get(turn, a) for a in _DICT_ATTRS)):
        if source is None:
            continue
        for name in ("tool_calls", "executed_tools"):
            value = _get(source, name)
            if isinstance(value, list) and value:
                return value
    calls: list[Any] = []
    for message in _messages(turn):
        if message.get("role") == "assistant" and message.get("tool_calls"):
            calls.extend(message["tool_calls"])
        elif message.get("role") == "tool":
            calls.append({"tool_result": message.get("content"), "id": message.get("tool_call_id")})
    return calls


def _details(turn: Any) -> str:
    sections = []
    reasoning = _reasoning(turn)
    if reasoning:
        sections.append(f"<details><summary>Reasoning</summary>\n\n{reasoning}\n\n</details>")
    calls = _tool_calls(turn)
    if calls:
        body = json.dumps(calls, ensure_ascii=False, indent=1, default=str)
        sections.append(
            f"<details><summary>Tool calls ({len(calls)})</summary>\n\n"
            f"```json\n{body}\n```\n\n</details>"
        )
    return "\n\n".join(sections)


def _answer_markdown(turn: Any) -> str:
    answer = str(_get(turn, "answer", "") or "")
    status = _get(turn, "status", "complete")
    if status and status != "complete":
        answer = f"{answer}\n\n*({status})*" if answer else f"*({status})*"
    details = _details(turn)
    return f"{answer}\n\n{details}" if details else answer


def _target(path: str | os.PathLike[str], kind: str | None, force: bool) -> Path:
    target = Path(path).expanduser()
    found = _EXTENSIONS.get(target.suffix.lower())
    if found is None or (kind is not None and found != kind):
        wanted = (
            ".ipynb" if kind == "notebook" else ".md" if kind == "markdown" else ".md or .ipynb"
        )
        raise ExportError(f"cannot export to {str(target)!r}: use a {wanted} file name")
    if target.is_dir():
        raise ExportError(f"cannot export to {str(target)!r}: it is a folder")
    if target.exists() and not force:
        raise ExportError(
            f"{str(target)!r} exists: add --force (force=True in Python) to overwrite it"
        )
    return target


def _write(target: Path, text: str) -> Path:
    # Atomic, as Conversation.save: a crash never leaves half a notebook.
    try:
        return write_atomically(target, text, prefix=".groq-export-")
    except OSError as exc:
        raise ExportError(f"cannot write {str(target)!r}: {exc.strerror or exc}") from None


def _turns(conversation: Any) -> Sequence[Any]:
    turns = _get(conversation, "turns", [])
    return list(turns) if turns is not None else []


def export_markdown(
    conversation: Any, path: str | os.PathLike[str], *, force: bool = False
) -> Path:
    """Write ``conversation`` as a Markdown document to ``path`` (a ``.md`` file)."""
    target = _target(path, "markdown", force)
    name = _get(conversation, "name", "default")
    lines = [
        f"# Chat `{name}`",
        "",
        f"*Exported by groq_magic on {datetime.now().astimezone():%Y-%m-%d %H:%M}.*",
    ]
    system = _get(conversation, "system")
    if system:
        lines += ["", f"**System prompt:** {system}"]
    for i, turn in enumerate(_turns(conversation), start=1):
        model = _get(turn, "model") or ""
        status = _get(turn, "status") or "complete"
        lines += [
            "",
            "---",
            "",
            f"### {i} · {model} · {status}" if model else f"### {i} · {status}",
            "",
            "**Prompt**",
            "",
            str(_get(turn, "prompt", "")),
            "",
            "**Answer**",
            "",
            _answer_markdown(turn),
        ]
    return _write(target, redact("\n".join(lines).rstrip() + "\n"))


def _magic_line(turn: Any, chat: str) -> str:
    """The ``%%groq`` line that asks what ``turn`` asked: the same function as the panel's
    "copy as cell" (:func:`~groq_magic.chat.line.cell_line`), so every knob is written."""
    options = _get(turn, "options") or {}
    model = _get(turn, "model") or options.get("model")
    try:
        asked = ChatOptions.from_snapshot(options).merged(
            model=model, chat=chat if chat != "default" else None
        )
    except OptionsError as exc:
        raise ExportError(f"cannot export a turn whose options are not valid: {exc}") from None
    return cell_line(asked)


def _cell_source(turn: Any, chat: str) -> str:
    prompt = str(_get(turn, "prompt", ""))
    # The stored prompt is already filled in; {name} text in it must stay text on a re-run.
    for ref in set(find_references(prompt)):
        prompt = prompt.replace(f"{{{ref}}}", f"{{{{{ref}}}}}")
    return f"{_magic_line(turn, chat)}\n{prompt}"


def _lines(text: str) -> list[str]:
    return text.splitlines(keepends=True)


class _CellIds:
    """Cell ids for a notebook: a turn's own when it is valid and free, else new ones."""

    def __init__(self) -> None:
        self.used: set[str] = set()

    def __call__(self, wanted: Any = None) -> str:
        if isinstance(wanted, str) and _CELL_ID.match(wanted) and wanted not in self.used:
            self.used.add(wanted)
            return wanted
        new = uuid.uuid4().hex[:8]
        self.used.add(new)
        return new


def _code_cell(
    cell_id: str, source: list[str], count: int | None, outputs: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    return {
        "cell_type": "code",
        "id": cell_id,
        "metadata": {},
        "execution_count": count,
        "outputs": outputs or [],
        "source": source,
    }


def _turn_cell(turn: Any, chat: str, cell_id: str, count: int) -> dict[str, Any]:
    """A turn as a ``%%groq`` cell with its answer as the saved output."""
    answer = str(_get(turn, "answer", "") or "")
    output = {
        "output_type": "execute_result",
        "execution_count": count,
        "metadata": {},
        "data": {
            "text/markdown": _lines(_answer_markdown(turn)),
            "text/plain": _lines(answer),
        },
    }
    return _code_cell(cell_id, _lines(_cell_source(turn, chat)), count, [output])


def export_notebook(
    conversation: Any, path: str | os.PathLike[str], *, force: bool = False
) -> Path:
    """Write ``conversation`` as a notebook (``.ipynb``) of ``%%groq`` cells with their answers."""
    target = _target(path, "notebook", force)
    name = str(_get(conversation, "name", "default"))
    cell_id = _CellIds()
    title = (
        f"# Chat `{name}`\n\n"
        f"Exported by groq_magic on {datetime.now().astimezone():%Y-%m-%d %H:%M}."
    )
    cells: list[dict[str, Any]] = [
        {"cell_type": "markdown", "id": cell_id(), "metadata": {}, "source": _lines(title)},
        _code_cell(cell_id(), ["%load_ext groq_magic"], 1),
    ]
    system = _get(conversation, "system")
    if system:
        line = f"%groq system {' '.join(str(system).split())}"
        cells.append(_code_cell(cell_id(), [line], None))
    for count, turn in enumerate(_turns(conversation), start=2):
        cells.append(_turn_cell(turn, name, cell_id(_get(turn, "cell_id")), count))
    notebook = {
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": {
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
            "language_info": {"name": "python"},
            "groq_magic": {"chat": name},
        },
        "cells": cells,
    }
    # Every text masked of keys, value by value (a key with JSON-escaped characters would
    # slip past a search of the finished file).
    return _write(target, json.dumps(redact_value(notebook), ensure_ascii=False, indent=1) + "\n")


def export(conversation: Any, path: str | os.PathLike[str], *, force: bool = False) -> Path:
    """:func:`export_markdown` or :func:`export_notebook`, chosen by the file's extension."""
    kind = _EXTENSIONS.get(Path(path).suffix.lower())
    if kind == "notebook":
        return export_notebook(conversation, path, force=force)
    if kind == "markdown":
        return export_markdown(conversation, path, force=force)
    raise ExportError(f"cannot export to {str(path)!r}: use a .md or .ipynb file name")
