"""The store across real kernels: Restart & Run All from the cache, restore after a restart.

Kernels are this interpreter's ipykernel (so they import this checkout), started by
nbclient or jupyter_client with ``GROQ_BASE_URL`` on a loopback scripted server that
counts requests, the fake key, and ``GROQ_MAGIC_STORE`` in the test's ``tmp_path``.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest
from keys import FAKE_KEY
from nbclient import NotebookClient
from scripted_server import ScriptedServer, chunk_events, sse_reply

CHAT = "/v1/chat/completions"
ANSWER = '{"colour": "blue", "fruit": "apple"}'

CELLS = [
    "%load_ext groq_magic",
    "%%groq --cache\nName a colour.",
    "%%groq --cache -t 0.3\nAnd a fruit?",
    "%%groq --cache --json\nBoth, as JSON.",
    "_groq.json",
    "%groq history",
]


def _kernel_manager_class() -> type:
    from jupyter_client.manager import KernelManager

    class ThisInterpreter(KernelManager):  # type: ignore[misc]
        def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
            return [sys.executable, "-m", "ipykernel_launcher", "-f", self.connection_file]

    return ThisInterpreter


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[ScriptedServer]:
    """The scripted server, and the kernel environment pointing at it."""
    with ScriptedServer() as scripted:
        monkeypatch.setenv("GROQ_BASE_URL", scripted.base_url)
        monkeypatch.setenv("GROQ_API_KEY", FAKE_KEY)
        yield scripted


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "store.sqlite"
    monkeypatch.setenv("GROQ_MAGIC_STORE", str(path))
    return path


def chats(server: ScriptedServer) -> int:
    return sum(1 for r in server.requests if r.path.endswith(CHAT))


def run_all(notebook: Any, work: Path) -> Any:
    """Restart & Run All: a new kernel runs every cell of a fresh copy of ``notebook``."""
    copy = nbformat.from_dict(json.loads(json.dumps(notebook)))
    client = NotebookClient(
        copy, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(work)}}
    )
    client.kernel_manager_class = _kernel_manager_class()
    client.execute()
    return copy


def outputs(notebook: Any) -> list[Any]:
    return [cell.get("outputs", []) for cell in notebook.cells]


def answers(notebook: Any) -> list[str]:
    """Each ``%%groq`` cell's saved answer, without its status line."""
    found = []
    for cell in notebook.cells:
        if cell.source.startswith("%%groq"):
            (shown,) = [o for o in cell.outputs if o.output_type == "display_data"]
            found.append(re.sub(r"\n\n\*[^\n]*\*$", "", shown.data["text/markdown"]))
    return found


def test_restart_and_run_all_sends_nothing_the_second_time(
    server: ScriptedServer, db: Path, tmp_path: Path
) -> None:
    server.route("POST", CHAT, sse_reply(chunk_events([ANSWER[:10], ANSWER[10:]])))
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(source) for source in CELLS]
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}

    first = run_all(notebook, tmp_path)
    assert chats(server) == 3
    second = run_all(notebook, tmp_path)
    assert chats(server) == 3, "a notebook whose answers are all cached sent a request"
    third = run_all(notebook, tmp_path)
    assert chats(server) == 3

    assert answers(first) == answers(second) == [ANSWER] * 3
    assert outputs(second) == outputs(third)  # the saved notebook is the same every time
    # The first run shows how each answer streamed; the replays say "cached" instead.
    assert outputs(first)[4] == outputs(second)[4]  # _groq.json
    assert outputs(first)[5] == outputs(second)[5]  # %groq history
    status = second.cells[1].outputs[0].data["text/markdown"].rsplit("\n\n", 1)[1]
    assert status == "*llama-3.3-70b-versatile · cached · 18 → 2 tokens · stop*"
    for cell in second.cells:
        assert all(o.output_type != "error" for o in cell.get("outputs", [])), cell


def _execute(kc: Any, code: str, cell_id: str | None = None) -> list[dict[str, Any]]:
    """Run ``code`` as a frontend does (``cellId`` in the request's metadata); its outputs."""
    content = {
        "code": code,
        "silent": False,
        "store_history": True,
        "user_expressions": {},
        "allow_stdin": False,
        "stop_on_error": True,
    }
    msg = kc.session.msg(
        "execute_request", content, metadata={"cellId": cell_id} if cell_id else {}
    )
    kc.shell_channel.send(msg)
    ident = msg["header"]["msg_id"]
    got: list[dict[str, Any]] = []
    while True:
        reply = kc.get_iopub_msg(timeout=60)
        if reply["parent_header"].get("msg_id") != ident:
            continue
        kind = reply["msg_type"]
        if kind == "status" and reply["content"]["execution_state"] == "idle":
            break
        if kind in ("stream", "display_data", "execute_result", "error"):
            got.append(reply)
    errors = [m["content"] for m in got if m["msg_type"] == "error"]
    assert not errors, errors
    return got


def _text(outputs: list[dict[str, Any]]) -> str:
    parts = []
    for m in outputs:
        content = m["content"]
        parts.append(content.get("text") or content.get("data", {}).get("text/plain", ""))
    return "\n".join(parts)


TURNS = (
    "print([(t.cell_id, t.prompt, t.answer) for t in"
    " get_ipython()._groq_magics.session.store.current.turns])"
)


def test_restore_after_a_real_kernel_restart(
    server: ScriptedServer, db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JPY_SESSION_NAME", "/home/me/restore.ipynb")
    for answer in ("One.", "Two.", "Uno."):
        server.enqueue(sse_reply(chunk_events([answer])))
    km = _kernel_manager_class()()
    km.start_kernel()
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=60)
        _execute(kc, "%load_ext groq_magic")
        _execute(kc, "%%groq\nFirst?", "cell-a")
        _execute(kc, "%%groq\nSecond?", "cell-b")
        before = _text(_execute(kc, TURNS))
        assert before.strip() == str([("cell-a", "First?", "One."), ("cell-b", "Second?", "Two.")])

        km.restart_kernel()
        kc.wait_for_ready(timeout=60)
        _execute(kc, "%load_ext groq_magic")
        assert _text(_execute(kc, TURNS)).strip() == "[]"
        restored = _text(_execute(kc, "%groq restore"))
        assert "restored 'default' (2 turns)" in restored
        assert _text(_execute(kc, TURNS)).strip() == before.strip()

        _execute(kc, "%%groq\nFirst, again?", "cell-a")  # the same cell, re-run
        after = _text(_execute(kc, TURNS)).strip()
        assert after == str([("cell-a", "First, again?", "Uno."), ("cell-b", "Second?", "Two.")])
        # It was sent as cell-a saw the chat the first time: nothing before it.
        sent = [r.json() for r in server.requests if r.path.endswith(CHAT)][-1]
        assert sent["messages"] == [{"role": "user", "content": "First, again?"}]
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
