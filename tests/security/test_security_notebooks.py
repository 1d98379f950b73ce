"""The shipped notebooks, executed with a recognisable fake key, leak it nowhere.

Each ``notebooks/*.ipynb`` is executed by nbclient in a real kernel whose environment
holds ``GROQ_API_KEY=FAKE_KEY`` and ``GROQ_BASE_URL`` pointing at a loopback
:class:`CannedServer` (no request leaves 127.0.0.1). Extra cells turn on DEBUG logging
first and, at the end, save the history and show ``%groq history``, ``%groq config``
and the reprs of the backend, its client and the last result. Then every output of
every cell, the saved .ipynb, every file the run wrote and the kernel's own stdout and
stderr (where the DEBUG logs go) are scanned for the key. The key must have reached the
server's Authorization header, so the test fails for the right reason if it fails.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import nbformat
import pytest
from canned_server import CannedServer
from keys import FAKE_KEY, assert_no_secret
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted(
    p for p in (ROOT / "notebooks").glob("*.ipynb") if not p.name.endswith(".executed.ipynb")
)

FIRST = "import logging\nlogging.basicConfig(level=logging.DEBUG)"
LAST = [
    "%groq save saved_history.json",
    "%groq history",
    "%groq config",
    "m = get_ipython()._groq_magics\n"
    "print(repr(m.session.backend), repr(m.session.backend.client()), repr(m.session))\n"
    "print(repr(m.session.store.current.to_json()))",
    "_groq",
    "print(repr(_groq), str(_groq))",
]


def _outputs_text(nb: Any) -> str:
    return "\n".join(json.dumps(cell.get("outputs", [])) for cell in nb.cells)


@pytest.fixture
def canned() -> Any:
    with CannedServer() as server:
        yield server


def test_there_are_notebooks_to_scan() -> None:
    assert NOTEBOOKS, "no notebooks/*.ipynb found"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_run_leaks_no_key(
    path: Path, canned: CannedServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GROQ_API_KEY", FAKE_KEY)
    monkeypatch.setenv("GROQ_BASE_URL", canned.base_url)
    work = tmp_path / "run"
    work.mkdir()
    shutil.copy(path, work / path.name)
    for helper in path.parent.glob("mcp_*.py"):  # an MCP server a tour starts
        shutil.copy(helper, work)
    nb = nbformat.read(work / path.name, as_version=4)
    nb.cells.insert(0, nbformat.v4.new_code_cell(FIRST))
    nb.cells.extend(nbformat.v4.new_code_cell(source) for source in LAST)

    kernel_out = tmp_path / "kernel.stdout"
    kernel_err = tmp_path / "kernel.stderr"
    with kernel_out.open("wb") as out, kernel_err.open("wb") as err:
        client = NotebookClient(
            nb,
            timeout=180,
            kernel_name="python3",
            allow_errors=True,
            resources={"metadata": {"path": str(work)}},
        )
        # Forwarded to the kernel's Popen: the kernel process's own stdout/stderr.
        client.execute(stdout=out, stderr=err)
    saved = work / ("executed_" + path.name)
    nbformat.write(nb, saved)

    # The key did reach the server, in the Authorization header only.
    chats = [r for r in canned.requests if r.path.endswith("/chat/completions")]
    assert chats, "the notebook sent no chat request"
    assert all(r.headers.get("authorization") == f"Bearer {FAKE_KEY}" for r in chats)
    for request in canned.requests:
        assert FAKE_KEY not in request.body.decode("utf-8", "replace")

    # The extra cells ran and wrote a history file.
    assert (work / "saved_history.json").exists()
    outputs = _outputs_text(nb)
    assert "groq_magic configuration" in outputs

    scanned = {
        "cell outputs": outputs,
        "kernel stdout": kernel_out.read_text("utf-8", "replace"),
        "kernel stderr": kernel_err.read_text("utf-8", "replace"),
    }
    for file in sorted(work.rglob("*")):
        if file.is_file():
            scanned[str(file.relative_to(work))] = file.read_text("utf-8", "replace")
    assert "HTTP Request" in scanned["kernel stderr"] + outputs, "DEBUG logging was not captured"
    for where, text in scanned.items():
        try:
            assert_no_secret(text)
        except AssertionError as exc:
            raise AssertionError(f"the key leaked into {where}: {exc}") from None
