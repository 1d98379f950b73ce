"""``--code`` and ``%groq fix`` in JupyterLab: the model's code appears in a new cell below.

The answers come from the tests' scripted loopback server (``%config GroqMagics.base_url``),
so the code to look for is known exactly: a ``%%groq --code -x sales`` cell must leave its
own source as typed and get a new cell right under it holding the answer's code, not run;
after a failing cell, ``%groq fix`` must do the same with the corrected cell. The kernel
imports groq_magic from this checkout (the first cell puts it first on ``sys.path``: the
Lab's environment drops ``PYTHONPATH``). Screenshots: ``build/browser/context-code-*.png``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from scripted_server import ScriptedServer, chunk_events, sse_reply

from .browser_checks import BROWSER_TEST_TIMEOUT
from .browser_lab import LabServer
from .browser_notebooks import REPO, write_notebook
from .browser_page import NotebookPage

pytestmark = [pytest.mark.browser, pytest.mark.timeout(BROWSER_TEST_TIMEOUT)]

CODE = "print(sales.groupby('region')['units'].sum())"
FIXED = "total = sales['units'].sum()"
CELL_TIMEOUT = 90.0


def answer(text: str) -> object:
    return sse_reply(chunk_events([text[: len(text) // 2], text[len(text) // 2 :]]))


def test_code_and_fix_put_their_code_in_a_new_cell_below(
    lab: LabServer,
    lab_root: Path,
    open_notebook: Callable[..., NotebookPage],
    server: ScriptedServer,
) -> None:
    """Run the cells one by one, as a user does; new cells appear under the asking cells."""
    server.enqueue(
        answer(f"Group and sum:\n```python\n{CODE}\n```"),
        answer(f"The column is `units`, not `unit`.\n```python\n{FIXED}\n```"),
    )
    sources = [
        f"import sys\nsys.path.insert(0, {str(REPO)!r})\n%load_ext groq_magic\n"
        f"%config GroqMagics.base_url = {server.base_url!r}",
        "import pandas as pd\n"
        "sales = pd.DataFrame({'region': ['north', 'south'], 'units': [3, 5]})",
        "%%groq --code -x sales\nPrint the total units per region.",
        "total = sales['unit'].sum()",
        "%groq fix",
    ]
    write_notebook(lab_root / "context_code.ipynb", sources)
    notebook = open_notebook(lab, "context_code.ipynb")
    for index in (0, 1):
        notebook.run_cell(index)
        notebook.wait_cell_done(index, CELL_TIMEOUT)

    notebook.run_cell(2)
    out = notebook.wait_cell_done(2, CELL_TIMEOUT)
    assert "the code is in a new cell below" in out, out
    notebook.wait_for("a new cell below the %%groq cell", lambda: notebook.cell_count() == 6, 30)
    notebook.cell_screenshot(3, "new-cell")
    assert notebook.source(2) == sources[2]  # the asking cell is left as typed
    assert notebook.source(3) == CODE
    assert notebook.prompt(3) == "[ ]:"  # never run
    assert notebook.source(4) == sources[3]
    sent = json.loads(server.requests[-1].body)["messages"][-1]["content"]
    assert '<context name="sales" kind="DataFrame">' in sent

    notebook.run_cell(4)  # the failing cell, now fifth
    assert "KeyError: 'unit'" in notebook.wait_cell_done(4, CELL_TIMEOUT)
    notebook.run_cell(5)
    notebook.wait_cell_done(5, CELL_TIMEOUT)
    # Shift+Enter on the last cell also adds an empty cell at the end (JupyterLab's own).
    notebook.wait_for(
        "the corrected cell below %groq fix",
        lambda: notebook.cell_count() >= 7 and notebook.source(6) == FIXED,
        30,
    )
    notebook.cell_screenshot(6, "fixed-cell")
    assert notebook.source(5) == sources[4]
    assert notebook.prompt(6) == "[ ]:"
    sent = json.loads(server.requests[-1].body)["messages"][-1]["content"]
    assert "KeyError: 'unit'" in sent
