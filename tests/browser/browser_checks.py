"""Checks shared by the JupyterLab tests: run a whole notebook and verify its answers."""

from __future__ import annotations

from .browser_notebooks import answer_of, is_final
from .browser_page import NotebookPage

# pytest-timeout for one browser test (the ini's 600 s is per test): the first one also
# installs chromium with apt-get when it is missing and starts JupyterLab.
BROWSER_TEST_TIMEOUT = 2400

# The first answer also waits for the local model to start.
FIRST_ANSWER_TIMEOUT = 180.0
# A whole tour notebook on a loaded 2-core machine.
RUN_ALL_TIMEOUT = 420.0


def assert_streamed(notebook: NotebookPage, key: str, index: int) -> None:
    """The watched cell showed a partial answer, and then a longer, final one."""
    texts = [text for _, text in notebook.watched(key)]
    partial = [answer_of(t) for t in texts if answer_of(t) and not is_final(t)]
    final = [t for t in texts if is_final(t)]
    if not partial or not final or len(answer_of(final[-1])) <= len(partial[0]):
        shot = notebook.cell_screenshot(index, "not-streamed")
        raise AssertionError(
            f"cell {index}: the answer did not grow on screen before its status line"
            f" ({len(partial)} partial states, {len(final)} final); screenshot {shot};"
            f" states seen: {[t[-120:] for t in texts]}"
        )


def run_all_and_check(notebook: NotebookPage, groq_cells: list[int]) -> None:
    """Run > Run All Cells; the first answer streams; every ``%%groq`` cell completes.

    Screenshots: ``<name>-first-answer.png`` (the first ``%%groq`` cell) and
    ``<name>-done.png`` (the page when the last cell finished).
    """
    assert groq_cells, f"{notebook.name} has no %%groq cells"
    first = groq_cells[0]
    notebook.watch_cell(first, "first")
    notebook.run_all()

    notebook.wait_output(first, is_final, "the first answer's status line", FIRST_ANSWER_TIMEOUT)
    notebook.cell_screenshot(first, "first-answer")
    assert_streamed(notebook, "first", first)

    last_code = max(i for i in range(notebook.cell_count()) if notebook.prompt(i))
    # A traceback stops Run All: stop waiting then, and report it below.
    notebook.wait_for(
        "the last cell to finish",
        lambda: notebook.is_done(last_code) or notebook.error_outputs(),
        RUN_ALL_TIMEOUT,
    )
    notebook.screenshot("done")
    notebook.cell_screenshot(groq_cells[-1], "last-answer")

    errors = notebook.error_outputs()
    assert not errors, f"cells raised errors in JupyterLab: {[e[-800:] for e in errors]}"
    unfinished = {
        i: notebook.output_text(i)[-300:]
        for i in groq_cells
        if not is_final(notebook.output_text(i))
    }
    assert not unfinished, f"%%groq cells without a final status line: {unfinished}"
