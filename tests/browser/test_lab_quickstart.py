"""The quickstart notebook in JupyterLab, in a real browser, on the embedded local model.

Run > Run All Cells, then: the first answer is seen growing on screen before its status
line arrives (streaming reaches the browser), every ``%%groq`` cell ends with an answer
and a status line, and no cell shows a traceback. Screenshots: ``build/browser/quickstart-*.png``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from browser_lab import LabServer
from browser_notebooks import answer_of, groq_cells, is_final
from browser_page import NotebookPage

pytestmark = pytest.mark.browser

# The first answer also waits for the local model to start.
FIRST_ANSWER_TIMEOUT = 180.0
# All of the quickstart's cells on a loaded 2-core machine.
RUN_ALL_TIMEOUT = 420.0


def assert_streamed(notebook: NotebookPage, key: str, index: int) -> None:
    """The watched cell showed a partial answer, and then a longer, final one."""
    records = notebook.watched(key)
    texts = [text for _, text in records]
    partial = [answer_of(t) for t in texts if answer_of(t) and not is_final(t)]
    final = [t for t in texts if is_final(t)]
    if not partial or not final or len(answer_of(final[-1])) <= len(partial[0]):
        shot = notebook.cell_screenshot(index, "not-streamed")
        raise AssertionError(
            f"cell {index}: the answer did not grow on screen before its status line"
            f" ({len(partial)} partial states, {len(final)} final); screenshot {shot};"
            f" states seen: {[t[-120:] for t in texts]}"
        )


def test_quickstart_runs_and_streams_in_jupyterlab(
    lab: LabServer, lab_root: Path, open_notebook: Callable[..., NotebookPage]
) -> None:
    """Run All on quickstart.ipynb: answers stream in, every %%groq cell completes."""
    name = "quickstart.ipynb"
    assert (lab_root / name).exists(), "notebooks/quickstart.ipynb is missing"
    cells = groq_cells(lab_root / name)
    assert cells, "quickstart.ipynb has no %%groq cells"

    notebook = open_notebook(lab, name)
    notebook.screenshot("opened")
    first = cells[0]
    notebook.watch_cell(first, "first")
    notebook.run_all()

    notebook.wait_output(first, is_final, "the first answer's status line",
                         FIRST_ANSWER_TIMEOUT)
    notebook.cell_screenshot(first, "first-answer")
    assert_streamed(notebook, "first", first)

    last_code = max(i for i in range(notebook.cell_count()) if notebook.prompt(i))
    # A traceback stops Run All: stop waiting then, and report it below.
    notebook.wait_for("the last cell to finish",
                      lambda: notebook.is_done(last_code) or notebook.error_outputs(),
                      RUN_ALL_TIMEOUT)
    notebook.screenshot("done")

    unfinished = {i: notebook.output_text(i)[-300:] for i in cells
                  if not is_final(notebook.output_text(i))}
    assert not unfinished, f"%%groq cells without a final status line: {unfinished}"
    errors = notebook.error_outputs()
    assert not errors, f"cells raised errors in JupyterLab: {[e[-500:] for e in errors]}"
