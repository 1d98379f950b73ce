"""Notebooks for the browser tests: clean copies of the real ones, and small generated ones.

:func:`copy_notebooks` copies ``notebooks/*.ipynb`` (not the ``*.executed.ipynb`` that
``python -m groq_magic run`` writes) with every output and execution count removed, so
whatever the browser shows was produced by the run under test, not saved with the file.

:func:`write_notebook` writes a notebook made of the given code cells; the tests use it for
cells the real notebooks do not have (a long streamed answer) or do not have yet.

The answer checks (:data:`STATUS`, :func:`is_final`, :func:`answer_of`) read the text a
``%%groq`` cell shows: a "waiting…" note, then the growing answer, then the answer over the
status line (``model · TTFT 0.4 s · 60 tok/s · 42 → 200 tokens · length``).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS = REPO / "notebooks"

# The status line's end: the token counts (and speed when streamed), then the finish reason.
STATUS = re.compile(r"(tok/s|tokens) · (stop|length|tool_calls|content_filter)")
# The one line the first local-model cell prints before its answer.
_NOTICE = re.compile(r"^No GROQ_API_KEY set.*$", re.MULTILINE)

KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}


def is_final(text: str) -> bool:
    """True when ``text`` (a cell's output) ends with a ``%%groq`` status line."""
    return bool(STATUS.search(text))


def answer_of(text: str) -> str:
    """The answer part of a ``%%groq`` output while it streams ("" while still waiting)."""
    text = _NOTICE.sub("", text).strip()
    return "" if "waiting…" in text else text


def clean(notebook: dict) -> dict:
    """``notebook`` with no outputs or execution counts (and a python3 kernelspec)."""
    for cell in notebook.get("cells", []):
        if cell.get("cell_type") == "code":
            cell["outputs"] = []
            cell["execution_count"] = None
    notebook.setdefault("metadata", {}).setdefault("kernelspec", KERNELSPEC)
    return notebook


def copy_notebooks(target: Path) -> list[str]:
    """Copy the repo's notebooks, cleaned, into ``target``; return their file names."""
    target.mkdir(parents=True, exist_ok=True)
    names = []
    for source in sorted(NOTEBOOKS.glob("*.ipynb")):
        if source.name.endswith(".executed.ipynb"):
            continue
        notebook = clean(json.loads(source.read_text(encoding="utf-8")))
        (target / source.name).write_text(json.dumps(notebook, indent=1), encoding="utf-8")
        names.append(source.name)
    return names


def code_cell(source: str) -> dict:
    """An nbformat 4 code cell."""
    return {
        "cell_type": "code",
        "execution_count": None,
        "id": None,
        "metadata": {},
        "outputs": [],
        "source": source,
    }


def write_notebook(path: Path, sources: list[str]) -> Path:
    """Write a notebook whose cells are code cells with ``sources``; return ``path``."""
    cells = [code_cell(source) for source in sources]
    for number, cell in enumerate(cells):
        cell["id"] = f"cell-{number}"
    notebook = {
        "cells": cells,
        "metadata": {"kernelspec": KERNELSPEC, "language_info": {"name": "python"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(notebook, indent=1), encoding="utf-8")
    return path


def cell_sources(path: Path) -> list[tuple[str, str]]:
    """``(cell_type, source)`` of every cell of the notebook at ``path``, in order."""
    notebook = json.loads(path.read_text(encoding="utf-8"))
    result = []
    for cell in notebook["cells"]:
        source = cell["source"]
        result.append((cell["cell_type"], "".join(source) if isinstance(source, list) else source))
    return result


def groq_cells(path: Path) -> list[int]:
    """Indexes (among all cells) of the ``%%groq`` cells that ask the model for an answer."""
    return [
        index
        for index, (kind, source) in enumerate(cell_sources(path))
        if kind == "code" and source.lstrip().startswith("%%groq")
    ]
