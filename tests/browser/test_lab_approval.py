"""Approve / Deny in JupyterLab: a ``%%groq --mcp`` cell's tool call waits for a click.

The notebook (written by the test) points the kernel at a scripted server in this
process playing a model that calls ``note`` of the MCP test server
(``tests/mcp_server.py``: it writes a file), so a click's effect is on disk:

- Run All: the ask cell shows the call with Approve and Deny buttons and waits; the
  cell after it (already sent by Run All) has not run yet. A click on **Approve**: the
  file is written, the buttons become one "✔ approved" line, the model gets the tool's
  result and answers, and then the next cell runs.
- Running the second ask cell and clicking **Deny**: no file, "✖ denied", and the model
  gets the refusal as the call's result; the turn still ends with an answer.

Screenshots: ``build/browser/approval-*.png``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from keys import FAKE_KEY
from scripted_server import ScriptedServer
from turn_replies import answer_stream, tool_stream

from groq_magic.chat.tools.approval import DENIED

from .browser_checks import BROWSER_TEST_TIMEOUT
from .browser_lab import LabServer
from .browser_notebooks import REPO, write_notebook
from .browser_page import NotebookPage

pytestmark = [pytest.mark.browser, pytest.mark.timeout(BROWSER_TEST_TIMEOUT)]

SERVER = REPO / "tests" / "mcp_server.py"
BUTTONS_TIMEOUT = 120.0  # the kernel's first MCP start imports the SDK twice (both sides)


def answered(text: str) -> bool:
    """The turn's status line is there (``... · 1 tool call · stop``)."""
    return " · stop" in text


@pytest.fixture
def model() -> Iterator[ScriptedServer]:
    with ScriptedServer() as server:
        yield server


def _cells(base_url: str) -> list[str]:
    ask = "%%groq --mcp t\nWrite the note."
    return [
        "import os, sys\n"
        # This checkout's groq_magic (and its MCP modules), whatever the venv has installed.
        f"sys.path.insert(0, {str(REPO)!r})\n"
        f"os.environ['GROQ_API_KEY'] = {FAKE_KEY!r}\n"
        f"os.environ['GROQ_BASE_URL'] = {base_url!r}",
        "%load_ext groq_magic",
        "%config GroqMagics.mcp_servers = {'t': {'command': sys.executable, 'args': ["
        f"{str(SERVER)!r}]}}}}",
        ask,
        "print('the next cell ran')",
        ask,
    ]


def _note_call(call_id: str, path: Path) -> str:
    return json.dumps({"path": str(path), "text": f"note {call_id}"})


def test_approve_and_deny_buttons(
    lab: LabServer,
    lab_root: Path,
    open_notebook: Callable[..., NotebookPage],
    model: ScriptedServer,
    tmp_path: Path,
) -> None:
    approved, denied = tmp_path / "approved.txt", tmp_path / "denied.txt"
    model.enqueue(
        tool_stream([("call_ok", "note", _note_call("call_ok", approved))]),
        answer_stream("Noted."),
        tool_stream([("call_no", "note", _note_call("call_no", denied))]),
        answer_stream("Not noted."),
    )
    write_notebook(lab_root / "approval.ipynb", _cells(model.base_url))
    notebook = open_notebook(lab, "approval.ipynb")
    ask_ok, after, ask_no = 3, 4, 5

    notebook.run_all()
    cell = notebook.cell(ask_ok)
    notebook.wait_for(
        "the Approve and Deny buttons",
        lambda: cell.locator(".groq-magic-approval button").count() == 2,
        BUTTONS_TIMEOUT,
        ask_ok,
    )
    question = notebook.output_text(ask_ok)
    shot = notebook.cell_screenshot(ask_ok, "waiting")
    assert f'Run note(path="{approved}"' in question, f"screenshot {shot}: {question[-500:]}"
    assert "on mcp server 't'?" in question
    assert not approved.exists()
    assert not notebook.is_done(after), "the next cell ran while the call waited for a yes"

    cell.locator(".groq-magic-approval button", has_text="Approve").click()
    text = notebook.wait_output(ask_ok, answered, "the answer after Approve", 60)
    notebook.cell_screenshot(ask_ok, "approved")
    assert "✔ approved: note(" in text
    assert approved.read_text() == "note call_ok"
    assert "Noted." in text
    assert cell.locator(".groq-magic-approval").count() == 0  # the buttons are gone
    assert "the next cell ran" in notebook.wait_cell_done(after, 60)
    sent = [r.json() for r in model.requests if r.path.endswith("/chat/completions")]
    assert sent[1]["messages"][-1] == {
        "role": "tool",
        "tool_call_id": "call_ok",
        "content": "wrote 12 characters",
    }

    # Run All sent the second ask cell too: it runs now, and waits for its own answer.
    deny_cell = notebook.cell(ask_no)
    notebook.wait_for(
        "the second call's buttons",
        lambda: deny_cell.locator(".groq-magic-approval button").count() == 2,
        60,
        ask_no,
    )
    deny_cell.locator(".groq-magic-approval button", has_text="Deny").click()
    text = notebook.wait_output(ask_no, answered, "the answer after Deny", 60)
    notebook.cell_screenshot(ask_no, "denied")
    assert "✖ denied: note(" in text
    assert "Not noted." in text
    assert not denied.exists()
    sent = [r.json() for r in model.requests if r.path.endswith("/chat/completions")]
    assert sent[3]["messages"][-1] == {"role": "tool", "tool_call_id": "call_no", "content": DENIED}
    assert notebook.error_outputs() == []
