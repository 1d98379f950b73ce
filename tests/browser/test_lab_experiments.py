"""The experiments notebook in JupyterLab: a compare cell's panes and table, the sliders panel.

Run > Run All Cells on ``experiments.ipynb``, then:

- the compare cell (``%%groq -t 0,0.8`` or ``--compare a,b``) shows one pane per run, each
  with an answer and a status line, and the summary table (an HTML table) under them;
- the ``%%groq --ui`` cell renders as ipywidgets (sliders, the answer area); moving the
  temperature slider with the keyboard, as a user does, re-runs the prompt: the answer
  area goes back to "waiting…" and then shows a new answer with its status line, and the
  panel's copy-as-cell text carries the new temperature.

Screenshots: ``build/browser/experiments-*.png``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from .browser_checks import BROWSER_TEST_TIMEOUT
from .browser_lab import LabServer
from .browser_notebooks import STATUS, cell_sources, groq_cells, is_final
from .browser_page import NotebookPage
from .browser_panel import RERUN_TIMEOUT, assert_panel_reran, copy_lines, slider_value

pytestmark = [pytest.mark.browser, pytest.mark.timeout(BROWSER_TEST_TIMEOUT)]

RUN_ALL_TIMEOUT = 480.0
# A compare cell: --compare, or a list value for a sampling flag (-t 0,0.8).
_COMPARE = re.compile(r"--compare\s|(-t|--temperature|--top-p|--max-tokens|--seed)[ =]\S*,")


def _first_cell(path: Path, wanted: Callable[[str], bool], what: str) -> int:
    for index, (kind, source) in enumerate(cell_sources(path)):
        first_line = source.lstrip().split("\n", 1)[0]
        if kind == "code" and first_line.startswith("%%groq") and wanted(first_line):
            return index
    raise AssertionError(f"{path.name} has no {what} cell")


@pytest.fixture(scope="module")
def experiments(
    lab: LabServer, lab_root: Path, browser: object, shots: Path
) -> Iterator[NotebookPage]:
    """experiments.ipynb open in JupyterLab after Run All Cells finished."""
    name = "experiments.ipynb"
    assert (lab_root / name).exists(), "notebooks/experiments.ipynb is missing"
    page = browser.new_page()  # type: ignore[attr-defined]
    notebook = NotebookPage(page, shots, "experiments")
    notebook.open(lab.notebook_url(name, "experiments-module"))
    notebook.run_all()
    last_code = max(i for i in range(notebook.cell_count()) if notebook.prompt(i))
    notebook.wait_for(
        "Run All to reach the last cell",
        lambda: notebook.is_done(last_code) or notebook.error_outputs(),
        RUN_ALL_TIMEOUT,
    )
    lab.remember_processes()
    notebook.screenshot("done")
    yield notebook
    lab.remember_processes()
    page.close()
    lab.shutdown_sessions(name)


def test_every_groq_cell_finishes_without_errors(experiments: NotebookPage, lab_root: Path) -> None:
    """Run All reached the end: no tracebacks, a status line in every %%groq cell."""
    notebook = experiments
    errors = notebook.error_outputs()
    assert not errors, f"cells raised errors in JupyterLab: {[e[-800:] for e in errors]}"
    unfinished = {
        i: notebook.output_text(i)[-300:]
        for i in groq_cells(lab_root / "experiments.ipynb")
        if not is_final(notebook.output_text(i))
    }
    assert not unfinished, f"%%groq cells without a status line: {unfinished}"


def test_compare_cell_shows_panes_and_table(experiments: NotebookPage, lab_root: Path) -> None:
    """Two panes with answers and status lines, then the summary table, in the compare cell."""
    index = _first_cell(
        lab_root / "experiments.ipynb", lambda line: bool(_COMPARE.search(line)), "compare"
    )
    notebook = experiments
    text = notebook.wait_output(
        index, lambda t: len(STATUS.findall(t)) >= 2, "two finished panes in the compare cell", 60
    )
    shot = notebook.cell_screenshot(index, "compare")
    cell = notebook.cell(index)
    panes = cell.locator(".jp-OutputArea-output[data-mime-type='text/markdown']")
    finished = [t for t in panes.all_inner_texts() if is_final(t)]
    assert len(finished) >= 2, (
        f"expected two panes with a status line, saw {len(finished)}; screenshot {shot};"
        f" output: {text[-1500:]}"
    )
    for pane in finished:
        body = STATUS.split(pane)[0]
        assert len(body.strip().splitlines()) >= 2, f"a pane has no answer text: {pane!r}"
    tables = cell.locator(".jp-OutputArea-output table")
    assert tables.count() >= 1, f"no summary table under the panes; screenshot {shot}"
    header = tables.first.inner_text()
    assert "temperature" in header, f"unexpected table: {header[:500]}"
    assert "text" in header, f"unexpected table: {header[:500]}"


def test_moving_a_slider_reruns_the_answer(experiments: NotebookPage, lab_root: Path) -> None:
    """ArrowRight on the temperature slider's handle: the panel's answer runs again."""
    index = _first_cell(lab_root / "experiments.ipynb", lambda line: "--ui" in line, "--ui")
    notebook = experiments
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
    handle.scroll_into_view_if_needed()
    handle.focus()
    notebook.page.keyboard.press("ArrowRight")
    notebook.page.keyboard.press("ArrowRight")

    assert_panel_reran(notebook, index, before_value, before_copy, "pressing the arrow keys")
