"""Reading the sliders panel in a page, and the check that moving a slider re-ran it.

Shared by the JupyterLab and Notebook 7 tests, which move the slider differently
(keyboard in JupyterLab, a mouse drag in Notebook 7) but expect the same result.
"""

from __future__ import annotations

import re

from .browser_notebooks import is_final
from .browser_page import NotebookPage

RERUN_TIMEOUT = 120.0

TEMPERATURE_FLAG = re.compile(r"(-t|--temperature) [0-9.]+")


def slider_value(notebook: NotebookPage, index: int, label: str) -> str:
    """The readout of the slider labelled ``label`` in cell ``index`` ('' if absent)."""
    return str(
        notebook.cell(index).evaluate(
            """(cell, label) => {
            for (const s of cell.querySelectorAll('.widget-slider')) {
                const l = s.querySelector('.widget-label');
                if (l && l.textContent.trim() === label) {
                    const r = s.querySelector('.widget-readout');
                    return r ? (r.value !== undefined && r.value !== '' ? r.value
                                                                        : r.textContent) : '';
                }
            }
            return '';
        }""",
            label,
        )
    )


def textarea_values(notebook: NotebookPage, index: int) -> list[str]:
    """The values of every text area in cell ``index`` (the panel's copy-as-cell among them)."""
    values = notebook.cell(index).evaluate(
        "cell => Array.from(cell.querySelectorAll('textarea')).map(t => t.value)"
    )
    return [str(v) for v in values]


def copy_lines(notebook: NotebookPage, index: int) -> list[str]:
    """The panel's copy-as-cell texts (those that start with ``%%groq``)."""
    return [v for v in textarea_values(notebook, index) if v.startswith("%%groq")]


def assert_panel_reran(
    notebook: NotebookPage, index: int, before_value: str, before_copy: list[str], how: str
) -> str:
    """After the temperature slider was moved (``how``): its readout changed, the panel
    re-ran ("waiting…" then a final status line) and copy-as-cell carries the new value.
    Returns the new readout."""
    after_value = notebook.wait_for(
        f"the temperature readout to change after {how}",
        lambda: (v := slider_value(notebook, index, "temperature")) != before_value and v,
        30,
        index,
    )

    def rerun_finished() -> bool:
        states = [t for _, t in notebook.watched("panel")]
        waiting = [i for i, t in enumerate(states) if "waiting…" in t]
        return bool(waiting) and any(is_final(t) for t in states[waiting[0] :])

    notebook.wait_for(
        "the panel to re-run after the slider moved", rerun_finished, RERUN_TIMEOUT, index
    )
    notebook.wait_output(index, is_final, "the re-run's status line", RERUN_TIMEOUT)
    notebook.cell_screenshot(index, "panel-after")
    # The kernel saw the new value: the copy-as-cell line changed its temperature.
    copy = notebook.wait_for(
        "the copy-as-cell text to carry the new temperature",
        lambda: [
            v
            for v in copy_lines(notebook, index)
            if TEMPERATURE_FLAG.search(v) and v not in before_copy
        ],
        30,
        index,
    )
    assert copy, (before_copy, after_value)
    return str(after_value)
