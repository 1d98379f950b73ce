"""A long answer streams into JupyterLab: its text grows between two reads of the page.

The quickstart's answers are short (``max_tokens`` 80); this notebook, written by the test,
asks the local model for up to 200 tokens so the answer takes seconds to arrive and two
plain reads of the DOM, a moment apart, see it grow before the status line appears.
Screenshots: ``build/browser/streaming-*.png``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest

from .browser_checks import BROWSER_TEST_TIMEOUT
from .browser_lab import LabServer
from .browser_notebooks import answer_of, is_final, write_notebook
from .browser_page import NotebookPage

pytestmark = [pytest.mark.browser, pytest.mark.timeout(BROWSER_TEST_TIMEOUT)]

LONG_PROMPT = (
    "%%groq --max-tokens 200 -t 0 --seed 3\n"
    "Write a long story about a dragon who learns to bake bread. Use at least fifteen"
    " sentences and describe every step."
)
ANSWER_TIMEOUT = 180.0  # includes the local model's start


def test_answer_text_grows_between_two_reads(
    lab: LabServer, lab_root: Path, open_notebook: Callable[..., NotebookPage]
) -> None:
    """Read the streaming cell's output twice, a little apart: the second read is longer."""
    write_notebook(lab_root / "streaming.ipynb", ["%load_ext groq_magic", LONG_PROMPT])
    notebook = open_notebook(lab, "streaming.ipynb")
    notebook.run_cell(0)
    notebook.wait_cell_done(0, 60)
    notebook.watch_cell(1, "long")
    notebook.run_cell(1)

    # First read: some answer is on screen and the status line is not there yet.
    first = notebook.wait_output(
        1,
        lambda text: bool(answer_of(text)) or is_final(text),
        "the first words of the answer",
        ANSWER_TIMEOUT,
    )
    shot = notebook.cell_screenshot(1, "partial")
    assert not is_final(first), (
        f"the whole answer appeared at once (no partial answer seen); screenshot {shot};"
        f" output: {first[-500:]}"
    )
    # Second read, a little later: the same answer, longer.
    time.sleep(0.5)
    second = notebook.wait_output(
        1,
        lambda text: len(answer_of(text)) > len(answer_of(first)),
        "the answer to grow after the first read",
        60,
    )
    assert answer_of(second).startswith(answer_of(first)[:20])

    final = notebook.wait_output(1, is_final, "the status line", ANSWER_TIMEOUT)
    notebook.cell_screenshot(1, "final")
    assert len(answer_of(final)) > len(answer_of(second)) or is_final(second)
    partial_states = [t for _, t in notebook.watched("long") if answer_of(t) and not is_final(t)]
    assert len(partial_states) >= 2, f"few streaming updates reached the page: {partial_states}"
