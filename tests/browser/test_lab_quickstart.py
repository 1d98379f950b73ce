"""The quickstart notebook in JupyterLab, in a real browser, on the embedded local model.

Run > Run All Cells, then: the first answer is seen growing on screen before its status
line arrives (streaming reaches the browser), every ``%%groq`` cell ends with an answer
and a status line, and no cell shows a traceback. Screenshots: ``build/browser/quickstart-*.png``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from .browser_checks import BROWSER_TEST_TIMEOUT, run_all_and_check
from .browser_lab import LabServer
from .browser_notebooks import groq_cells
from .browser_page import NotebookPage

pytestmark = [pytest.mark.browser, pytest.mark.timeout(BROWSER_TEST_TIMEOUT)]


def test_quickstart_runs_and_streams_in_jupyterlab(
    lab: LabServer, lab_root: Path, open_notebook: Callable[..., NotebookPage]
) -> None:
    """Run All on quickstart.ipynb: answers stream in, every %%groq cell completes."""
    name = "quickstart.ipynb"
    assert (lab_root / name).exists(), "notebooks/quickstart.ipynb is missing"
    notebook = open_notebook(lab, name)
    notebook.screenshot("opened")
    run_all_and_check(notebook, groq_cells(lab_root / name))
