"""Driving a JupyterLab notebook page with Playwright (sync API), the way a user does.

Cells are run from the keyboard (select the cell, Shift+Enter) or from the menu
(Run > Run All Cells); outputs are read from the DOM. The only thing read through
JupyterLab's own objects (``window.jupyterapp``, exposed with
``--LabApp.expose_app_in_browser``) is the kernel status, which the DOM shows only as an icon.

Every wait polls with a bound. A failed wait raises :class:`LabTimeout` with the
relevant text from the page and the path of a screenshot taken at that moment, so a
failure in CI says what the browser showed.

Streaming is observed with a ``MutationObserver`` (:func:`watch_cell`): it records the
text of a cell's output area on every change the frontend makes, so the test can assert
that the answer grew on screen before it was complete, without racing fixed sleeps.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from playwright.sync_api import Locator, Page

T = TypeVar("T")

# Cells of the notebook in the visible tab (a hidden tab's cells stay in the DOM).
CELLS = ".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell"
# Kernel startup on a cold, loaded 2-core machine.
KERNEL_TIMEOUT = 120.0


class LabTimeout(AssertionError):
    """A bounded wait on the page ran out (the message holds page text and a screenshot)."""


class NotebookPage:
    """One open notebook in JupyterLab; ``shots`` is where screenshots go."""

    def __init__(self, page: Page, shots: Path, name: str) -> None:
        self.page = page
        self.shots = shots
        self.name = name

    # --- screenshots and failure reports -------------------------------------------

    def screenshot(self, label: str) -> Path:
        """Save a full-page screenshot as ``<shots>/<name>-<label>.png``; return its path."""
        self.shots.mkdir(parents=True, exist_ok=True)
        path = self.shots / f"{self.name}-{label}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def cell_screenshot(self, index: int, label: str) -> Path:
        """Screenshot of one cell (scrolled into view) as ``<shots>/<name>-<label>.png``."""
        self.shots.mkdir(parents=True, exist_ok=True)
        path = self.shots / f"{self.name}-{label}.png"
        cell = self.cell(index)
        cell.scroll_into_view_if_needed()
        cell.screenshot(path=str(path))
        return path

    def fail(self, message: str, index: int | None = None) -> LabTimeout:
        """A :class:`LabTimeout` describing the page now (cell ``index`` or the whole page)."""
        try:
            shot = self.screenshot("failure")
        except Exception as error:  # a dead page must not hide the real failure
            shot = Path(f"(no screenshot: {error})")
        if index is not None:
            shown = f"cell {index} output:\n{self.output_text(index)[-3000:]}"
        else:
            shown = f"page text:\n{self.page_text()[-3000:]}"
        return LabTimeout(f"{message}\nscreenshot: {shot}\n{shown}")

    def page_text(self) -> str:
        """The visible text of the notebook panel (or the whole body)."""
        try:
            return str(self.page.evaluate("() => document.body.innerText"))
        except Exception as error:
            return f"(page text unavailable: {error})"

    # --- waiting ------------------------------------------------------------------

    def wait_for(
        self,
        what: str,
        check: Callable[[], T | None],
        timeout: float,
        index: int | None = None,
        interval: float = 0.25,
    ) -> T:
        """Poll ``check`` until it returns something truthy; raise a described failure."""
        deadline = time.monotonic() + timeout
        while True:
            value = check()
            if value:
                return value
            if time.monotonic() > deadline:
                raise self.fail(f"timed out after {timeout:.0f} s waiting for {what}", index)
            time.sleep(interval)

    def kernel_status(self) -> str | None:
        """The current notebook's kernel status (``idle``, ``busy``, ...), None if unknown."""
        return self.page.evaluate(
            """() => {
                const app = window.jupyterapp;
                const widget = app && app.shell.currentWidget;
                const kernel = widget && widget.sessionContext && widget.sessionContext.session
                    && widget.sessionContext.session.kernel;
                return kernel ? kernel.status : null;
            }"""
        )

    def wait_kernel_idle(self, timeout: float = KERNEL_TIMEOUT) -> None:
        """Wait until the notebook's kernel is started and idle."""
        self.wait_for("the kernel to be idle", lambda: self.kernel_status() == "idle", timeout)

    def open(self, url: str) -> None:
        """Load ``url`` (a ``lab/tree/NAME.ipynb`` address) and wait for cells and kernel."""
        self.page.goto(url, wait_until="domcontentloaded", timeout=KERNEL_TIMEOUT * 1000)
        self.wait_for(
            "the notebook's cells", lambda: self.page.locator(CELLS).count() > 0, KERNEL_TIMEOUT
        )
        self.wait_kernel_idle()

    # --- cells --------------------------------------------------------------------

    def cell(self, index: int) -> Locator:
        """The ``index``-th cell of the notebook (markdown cells count)."""
        return self.page.locator(CELLS).nth(index)

    def cell_count(self) -> int:
        """How many cells the notebook shows."""
        return self.page.locator(CELLS).count()

    def prompt(self, index: int) -> str:
        """The input prompt of a code cell: ``[ ]:``, ``[*]:`` or ``[3]:``."""
        prompt = self.cell(index).locator(".jp-InputArea-prompt")
        return prompt.inner_text().strip() if prompt.count() else ""

    def source(self, index: int) -> str:
        """The text in cell ``index``'s editor (CodeMirror's lines, joined)."""
        lines = self.cell(index).locator(".jp-InputArea-editor .cm-line").all_inner_texts()
        return "\n".join(line.replace("\u200b", "") for line in lines)

    def output_text(self, index: int) -> str:
        """The text of the cell's output area (empty when it has none)."""
        try:
            return str(
                self.cell(index).evaluate(
                    "cell => { const o = cell.querySelector('.jp-OutputArea');"
                    " return o ? o.innerText : ''; }"
                )
            )
        except Exception as error:
            return f"(output unavailable: {error})"

    def error_outputs(self) -> list[str]:
        """The text of every error (traceback) output in the notebook."""
        return [
            str(text)
            for text in self.page.locator(
                ".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.error']"
            ).all_inner_texts()
        ]

    def is_done(self, index: int) -> bool:
        """True when the code cell ran: its prompt holds an execution count."""
        text = self.prompt(index)
        return text.startswith("[") and text[1:2].isdigit()

    def run_cell(self, index: int) -> None:
        """Select cell ``index`` (command mode) and press Shift+Enter, as a user does."""
        cell = self.cell(index)
        cell.scroll_into_view_if_needed()
        cell.locator(".jp-InputArea-prompt").click()
        self.page.keyboard.press("Shift+Enter")
        # The prompt turns to [*] (or straight to [n] for a fast cell).
        self.wait_for(f"cell {index} to start", lambda: self.prompt(index) != "[ ]:", 30, index)

    def run_all(self) -> None:
        """Run > Run All Cells from the menu bar."""
        self.page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
        item = self.page.locator(".lm-Menu-item:visible", has_text="Run All Cells").first
        item.click()

    def wait_cell_done(self, index: int, timeout: float) -> str:
        """Wait for code cell ``index`` to finish; return its output text."""
        self.wait_for(f"cell {index} to finish", lambda: self.is_done(index), timeout, index)
        return self.output_text(index)

    def wait_output(
        self, index: int, predicate: Callable[[str], bool], what: str, timeout: float
    ) -> str:
        """Wait until the output text of cell ``index`` satisfies ``predicate``; return it."""

        def check() -> str | None:
            text = self.output_text(index)
            return text if predicate(text) else None

        return self.wait_for(what, check, timeout, index)

    # --- observing streaming ---------------------------------------------------------

    def watch_cell(self, index: int, key: str) -> None:
        """Record every change of cell ``index``'s output text as ``(ms, text)`` under ``key``."""
        self.cell(index).evaluate(
            """(cell, key) => {
                window.__gmWatch = window.__gmWatch || {};
                const log = window.__gmWatch[key] = [];
                const read = () => {
                    const o = cell.querySelector('.jp-OutputArea');
                    const text = o ? o.textContent : '';
                    if (!log.length || log[log.length - 1][1] !== text) {
                        log.push([performance.now(), text]);
                    }
                };
                new MutationObserver(read).observe(
                    cell, {subtree: true, childList: true, characterData: true});
            }""",
            key,
        )

    def watched(self, key: str) -> list[tuple[float, str]]:
        """What :meth:`watch_cell` recorded under ``key``: ``(ms, text)`` in order."""
        records: Any = self.page.evaluate("key => (window.__gmWatch || {})[key] || []", key)
        return [(float(ms), str(text)) for ms, text in records]
