"""The experiments notebook in Jupyter Notebook 7, in a real browser, on the embedded local model.

The issue promises that the widgets work in JupyterLab, Notebook 7 and VS Code. Notebook 7
(the ``notebook`` package) is a different frontend from JupyterLab's, built from its
components: its own pages (``/tree``, ``/notebooks/NAME.ipynb``), shell and menus, and it
loads the ipywidgets manager as a prebuilt extension of its own. So the same checks as
``test_lab_experiments`` are run against it, through its own server and pages:

- Run > Run All Cells (Notebook 7's menu bar) on ``experiments.ipynb``: the first
  ``%%groq`` answer is seen growing and then ends with its status line, every ``%%groq``
  cell finishes with a status line, and no cell shows a traceback;
- the compare cell shows its two panes (answer + status line each) and the summary table;
- the ``%%groq --ui`` panel renders as widgets, and dragging its temperature slider's handle
  with the mouse re-runs the answer (the kernel saw the new value).

Not the keyboard, as in JupyterLab: in Notebook 7.6 (JupyterLab 4.6 components) a widget
slider's handle loses focus to the notebook's active cell, and ArrowRight then moves nothing
(seen with a click on the handle and with ``focus()``, checked by hand on this page).

The server is stopped at the end of this module, and the process-table check of
``start_lab`` applies to it: no kernel or local model server may outlive it.
Screenshots: ``build/browser/notebook7-*.png``.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from .browser_checks import BROWSER_TEST_TIMEOUT, FIRST_ANSWER_TIMEOUT
from .browser_lab import LabServer
from .browser_notebooks import copy_notebooks, groq_cells, is_final
from .browser_page import NotebookPage
from .browser_panel import RERUN_TIMEOUT, assert_panel_reran, copy_lines, slider_value

# The lab checks take the open notebook and the folder it came from, so they run unchanged
# on a Notebook 7 page (imported under names pytest does not collect a second time here).
from .test_lab_experiments import _first_cell
from .test_lab_experiments import (
    test_compare_cell_shows_panes_and_table as check_compare_cell,
)

pytestmark = [pytest.mark.browser, pytest.mark.timeout(BROWSER_TEST_TIMEOUT)]

NAME = "experiments.ipynb"
RUN_ALL_TIMEOUT = 480.0


@pytest.fixture(scope="module")
def notebook7_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder of its own with clean copies of the notebooks.

    Not ``lab_root``: JupyterLab's autosave may have written its outputs into that copy of
    ``experiments.ipynb``, and they would pass for Notebook 7's.
    """
    root = tmp_path_factory.mktemp("notebook7-root")
    copy_notebooks(root)
    assert (root / NAME).exists(), f"notebooks/{NAME} is missing"
    return root


@pytest.fixture(scope="module")
def notebook7(start_lab: Callable[..., LabServer], notebook7_root: Path) -> Iterator[LabServer]:
    """Notebook 7 (``jupyter notebook``) from the dev environment, stopped after this module.

    Stopped here rather than with the other servers so it does not hold a kernel and a
    model server's memory through the rest of the browser tests.
    """
    server = start_lab(sys.executable, notebook7_root, app="notebook")
    yield server
    leftovers = server.stop()
    assert not leftovers, f"processes outlived Notebook 7's shutdown: {leftovers}"


@pytest.fixture(scope="module")
def experiments7(
    notebook7: LabServer, notebook7_root: Path, browser: object, shots: Path
) -> Iterator[NotebookPage]:
    """experiments.ipynb open in Notebook 7 after Run > Run All Cells reached the last cell;
    the first ``%%groq`` cell's output was watched from the start (key ``"first"``)."""
    page = browser.new_page()  # type: ignore[attr-defined]
    notebook = NotebookPage(page, shots, "notebook7")
    try:
        notebook.open(notebook7.notebook_url(NAME, ""))
        notebook7.remember_processes()
        notebook.screenshot("opened")
        notebook.watch_cell(groq_cells(notebook7_root / NAME)[0], "first")
        notebook.run_all()
        last_code = max(i for i in range(notebook.cell_count()) if notebook.prompt(i))
        # A traceback stops Run All: stop waiting then; the first test reports it.
        notebook.wait_for(
            "Run All to reach the last cell",
            lambda: notebook.is_done(last_code) or notebook.error_outputs(),
            RUN_ALL_TIMEOUT,
        )
        notebook7.remember_processes()
        notebook.screenshot("done")
        yield notebook
    finally:
        notebook7.remember_processes()
        page.close()
        notebook7.shutdown_sessions(NAME)


def test_every_groq_cell_answers_in_notebook7(
    experiments7: NotebookPage, notebook7_root: Path
) -> None:
    """The first answer streams in and gets its status line; every %%groq cell finishes;
    no tracebacks."""
    notebook = experiments7
    cells = groq_cells(notebook7_root / NAME)
    notebook.wait_output(cells[0], is_final, "the first answer's status line", FIRST_ANSWER_TIMEOUT)
    notebook.cell_screenshot(cells[0], "first-answer")
    # The first %%groq cell is a compare: its first pane shows "streaming…" under the
    # growing answer until that pane's status line replaces it.
    states = [text for _, text in notebook.watched("first")]
    before_final = states[: next((n for n, t in enumerate(states) if is_final(t)), len(states))]
    streaming = [t for t in before_final if "streaming…" in t]
    assert len(streaming) >= 2, (
        f"the first answer did not change on screen while streaming ({len(streaming)} states"
        f" before its status line); states seen: {[t[-120:] for t in states]}"
    )
    errors = notebook.error_outputs()
    assert not errors, f"cells raised errors in Notebook 7: {[e[-800:] for e in errors]}"
    unfinished = {
        i: notebook.output_text(i)[-300:] for i in cells if not is_final(notebook.output_text(i))
    }
    assert not unfinished, f"%%groq cells without a status line in Notebook 7: {unfinished}"


def test_compare_cell_shows_panes_and_table_in_notebook7(
    experiments7: NotebookPage, notebook7_root: Path
) -> None:
    """Two finished panes and the summary table in the compare cell (as in JupyterLab)."""
    check_compare_cell(experiments7, notebook7_root)


def test_moving_a_slider_reruns_the_answer_in_notebook7(
    experiments7: NotebookPage, notebook7_root: Path
) -> None:
    """The --ui panel's widgets render; dragging the temperature slider re-runs the answer."""
    index = _first_cell(notebook7_root / NAME, lambda line: "--ui" in line, "--ui")
    notebook = experiments7
    cell = notebook.cell(index)
    notebook.wait_for(
        "the panel's sliders", lambda: cell.locator(".widget-slider").count() >= 3, 60, index
    )
    notebook.wait_output(index, is_final, "the panel's first answer", RERUN_TIMEOUT)
    notebook.cell_screenshot(index, "panel-before")
    before_value = slider_value(notebook, index, "temperature")
    before_copy = copy_lines(notebook, index)

    notebook.watch_cell(index, "panel")
    slider = cell.locator(
        ".widget-slider",
        has=notebook.page.locator(".widget-label", has_text=re.compile(r"^temperature$")),
    )
    handle = slider.locator(".noUi-handle").first
    # Mid-page: Notebook 7's fixed header covers the top rows that Playwright's
    # scroll-into-view may leave the handle in, and would take the mouse events.
    handle.evaluate("h => h.scrollIntoView({block: 'center'})")
    box = handle.bounding_box()
    assert box, "the temperature slider's handle has no box on the page"
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    notebook.page.mouse.move(x, y)
    notebook.page.mouse.down()
    notebook.page.mouse.move(x + 30, y, steps=5)
    notebook.page.mouse.up()

    assert_panel_reran(notebook, index, before_value, before_copy, "dragging the handle")
