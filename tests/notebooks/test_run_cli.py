"""``python -m groq_magic run``, end to end: a real kernel, a scripted Groq on loopback.

The runner is a subprocess, and so is the kernel it starts; both inherit the
environment, so ``GROQ_BASE_URL`` points the notebook's ``%%groq`` cells at the
scripted server of this process. The server sends the answer piece by piece and,
before each piece, waits until the previous one has appeared on the runner's
stdout: if the runner printed the answer only at the end (or buffered its
output), the wait would not be met and the test would say which piece was late.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import nbformat
import pytest
import scripted_server
from keys import FAKE_KEY, assert_no_secret
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook
from scripted_server import ScriptedServer, chunk_events, sse_reply

# Each piece grows the answer by >= 16 bytes and >= 15 %, so the notebook sink's
# throttle (groq_magic.render.throttle) sends an update for every one of them.
PIECES = [
    "Alpha is the first word. ",
    "Bravo is the second word. ",
    "Charlie is the third word. ",
    "Delta is the last word.",
]
ANSWER = "".join(PIECES)
# The delay the scripted reply asks for between pieces; our stand-in for sleep
# recognises it and waits for the terminal instead.
GATE_DELAY = 0.0123
# Enough for a kernel to start and a cell to run on a busy machine; only a guard
# against hanging, never a measure of speed.
PATIENCE = 50.0


class Terminal:
    """Reads a subprocess's stdout in a thread; lets other threads wait for some text."""

    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        self.proc = proc
        self.reads: list[bytes] = []
        self._cond = threading.Condition()
        self._thread = threading.Thread(target=self._pump, daemon=True)
        self._thread.start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        while True:
            data = os.read(fd, 4096)
            with self._cond:
                if data:
                    self.reads.append(data)
                self._cond.notify_all()
            if not data:
                return

    @property
    def text(self) -> str:
        with self._cond:
            return b"".join(self.reads).decode("utf-8", "replace")

    def wait_for(self, needle: str, timeout: float = PATIENCE) -> bool:
        """True once ``needle`` is on the terminal, False if it did not come in time."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while needle not in b"".join(self.reads).decode("utf-8", "replace"):
                left = deadline - time.monotonic()
                if left <= 0 or (self.proc.poll() is not None and not self._thread.is_alive()):
                    return False
                self._cond.wait(min(left, 0.5))
            return True

    def finish(self) -> str:
        self.proc.wait(timeout=PATIENCE)
        self._thread.join(timeout=PATIENCE)
        return self.text


def tiny_notebook(path: Path, *cells: str) -> Path:
    book = new_notebook(cells=[new_markdown_cell("# tiny"), *(new_code_cell(src) for src in cells)])
    book.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    nbformat.write(book, path)
    return path


def start_runner(*args: str | Path) -> Terminal:
    proc = subprocess.Popen(
        [sys.executable, "-m", "groq_magic", "run", *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=os.environ.copy(),
    )
    return Terminal(proc)


@pytest.fixture
def scripted_groq(server: ScriptedServer, monkeypatch: pytest.MonkeyPatch) -> ScriptedServer:
    """The scripted server as the notebook's Groq (the kernel inherits the environment)."""
    monkeypatch.setenv("GROQ_API_KEY", FAKE_KEY)
    monkeypatch.setenv("GROQ_BASE_URL", server.base_url)
    return server


def test_run_streams_the_answer_in_pieces_and_writes_the_notebook(
    scripted_groq: ScriptedServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    notebook = tiny_notebook(
        tmp_path / "tiny.ipynb",
        "%load_ext groq_magic",
        "%%groq\nSay four code words.",
        "print(_groq.text.upper())",
    )
    terminal: Terminal | None = None
    late: list[str] = []
    sent = {"pieces": 0}

    def gate(seconds: float) -> None:
        """Before each frame after the first: wait until what was sent is on stdout."""
        if seconds != GATE_DELAY:
            time.sleep(seconds)
            return
        done = sent["pieces"]
        if done and terminal is not None:
            expected = "".join(PIECES[:done])
            if not terminal.wait_for(expected):
                late.append(expected)
        # Let the sink's throttle (at most ~20 updates a second) pass the next piece.
        time.sleep(0.1)
        sent["pieces"] = min(done + 1, len(PIECES))

    monkeypatch.setattr(
        scripted_server, "time", SimpleNamespace(sleep=gate, monotonic=time.monotonic)
    )
    # Frames: role chunk, four content chunks, the finish chunk, [DONE].
    scripted_groq.enqueue(sse_reply(chunk_events(PIECES), delay=GATE_DELAY))
    out = tmp_path / "out" / "tiny.done.ipynb"
    terminal = start_runner(notebook, "-o", out)
    text = terminal.finish()

    assert terminal.proc.returncode == 0, text
    assert late == [], f"not on stdout before the next piece was sent: {late}\n{text}"
    assert "In [2]: %%groq\n        Say four code words." in text
    assert ANSWER in text
    assert ANSWER.upper() in text  # the print() of the third cell
    assert "· stop" in text  # the status line of the finished answer
    # Several reads of the pipe carried parts of the answer: it was not one late block.
    assert sum(1 for r in terminal.reads if any(p.strip().encode() in r for p in PIECES)) >= 2

    executed = nbformat.read(out, as_version=4)
    cell = executed.cells[2]
    displays = [o for o in cell.outputs if o.output_type == "display_data"]
    assert len(displays) == 1
    assert displays[0].data["text/markdown"].startswith(ANSWER)
    assert executed.cells[3].outputs[0].text == ANSWER.upper() + "\n"
    assert all(c.execution_count for c in executed.cells if c.cell_type == "code")
    assert_no_secret(out.read_text())
    assert_no_secret(text)
    body: Any = scripted_groq.requests[0].json()
    assert body["messages"][-1]["content"].strip() == "Say four code words."


def test_a_failing_cell_stops_the_run_prints_one_line_and_still_writes(
    scripted_groq: ScriptedServer, tmp_path: Path
) -> None:
    notebook = tiny_notebook(
        tmp_path / "bad.ipynb", "print('before')", "1 / 0", "print('never runs')"
    )
    terminal = start_runner(notebook)
    text = terminal.finish()

    assert terminal.proc.returncode == 1, text
    assert "before\n" in text
    assert "ZeroDivisionError: division by zero\n" in text
    assert "Traceback" not in text
    assert "In [3]" not in text  # the run stopped at the failing cell
    assert "failed:" in text
    executed = nbformat.read(tmp_path / "bad.executed.ipynb", as_version=4)
    assert executed.cells[2].outputs[0].output_type == "error"
    assert executed.cells[3].outputs == []


def test_a_magic_error_is_one_line(scripted_groq: ScriptedServer, tmp_path: Path) -> None:
    notebook = tiny_notebook(tmp_path / "usage.ipynb", "%load_ext groq_magic", "%groq use nowhere")
    text = start_runner(notebook).finish()
    assert "UsageError: no chat named 'nowhere'" in text
    assert text.count("UsageError") == 1


def test_missing_notebook_and_no_command(tmp_path: Path) -> None:
    missing = subprocess.run(
        [sys.executable, "-m", "groq_magic", "run", str(tmp_path / "nope.ipynb")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert missing.returncode == 2
    assert "no such notebook" in missing.stderr
    bare = subprocess.run(
        [sys.executable, "-m", "groq_magic"], capture_output=True, text=True, check=False
    )
    assert bare.returncode == 2
    assert "run" in bare.stdout
    helped = subprocess.run(
        [sys.executable, "-m", "groq_magic", "run", "--help"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert helped.returncode == 0
    assert "executed notebook" in helped.stdout


def test_ctrl_c_stops_the_run_writes_what_ran_and_leaves_no_kernel(tmp_path: Path) -> None:
    import psutil

    notebook = tiny_notebook(
        tmp_path / "slow.ipynb", "print('first')", "import time\ntime.sleep(120)", "print('third')"
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "groq_magic", "run", str(notebook)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group, as a terminal's foreground job
    )
    terminal = Terminal(proc)
    assert terminal.wait_for("In [2]: import time"), terminal.text
    kernels = psutil.Process(proc.pid).children(recursive=True)
    assert kernels
    os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C sends to the foreground job
    text = terminal.finish()

    assert proc.returncode == 130, text
    assert "interrupted" in text
    assert "third" not in text.replace("print('third')", "")
    assert "Traceback" not in text
    executed = nbformat.read(tmp_path / "slow.executed.ipynb", as_version=4)
    assert executed.cells[1].outputs[0].text == "first\n"
    _, alive = psutil.wait_procs(kernels, timeout=PATIENCE)
    assert alive == []
