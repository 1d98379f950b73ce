"""``python -m groq_magic run NOTEBOOK``: execute a notebook and stream it to the terminal.

The main job of the project: run ``notebooks/quickstart.ipynb`` top to bottom in a
kernel of *this* Python environment (so the extension and the local model it has
installed are the ones used), against Groq when ``GROQ_API_KEY`` is set and the
embedded local model otherwise, while the terminal shows the session as it goes:

- each code cell's source, prefixed ``In [n]:`` like IPython;
- printed text (stream outputs) as it arrives;
- answers as they stream: the notebook sink shows an answer as one display that
  it updates with the *whole* Markdown each time (``display_data`` then
  ``update_display_data`` with the same display id), so only the new suffix of
  each display's text is printed;
- other results (tables, DataFrames) as their plain-text form;
- an error as one line (``UsageError: ...``), never a traceback.

The executed notebook, with every output, is written next to the input as
``NAME.executed.ipynb`` (or to ``-o OUT``), also when a cell fails. The exit code
is 0 when every cell ran, 1 when one failed (execution stops there, as in
"Run All"), 2 for a bad argument and 130 on Ctrl-C. Ctrl-C stops the whole run:
the kernel runs in its own session (jupyter_client's choice), so it does not see
the signal; it is shut down, and the notebook is written as far as it ran.

Needs ``nbclient``, ``nbformat`` and ``ipykernel`` (the ``demo`` extra).
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
import time
from pathlib import Path
from typing import Any, TextIO

from groq_magic._text import one_line

__all__ = [
    "CURRENT_ENV_KERNEL",
    "TerminalEcho",
    "add_arguments",
    "default_output",
    "main",
    "run_notebook",
]

CURRENT_ENV_KERNEL = "groq-magic-current-env"
"""Kernel name that means "ipykernel on this interpreter", whatever kernelspecs say."""

_PLAIN = "text/plain"
_MARKDOWN = "text/markdown"


def default_output(path: Path) -> Path:
    """``notebooks/quickstart.ipynb`` -> ``notebooks/quickstart.executed.ipynb``."""
    return path.with_name(f"{path.stem}.executed.ipynb")


def _bundle_text(data: dict[str, Any], *, prefer_markdown: bool = False) -> str:
    """The text of a mimebundle: plain text (or Markdown first when asked), else ``""``."""
    order = (_MARKDOWN, _PLAIN) if prefer_markdown else (_PLAIN, _MARKDOWN)
    for mime in order:
        value = data.get(mime)
        if value is not None:
            return "".join(value) if isinstance(value, list) else str(value)
    return ""


def _common_prefix(a: str, b: str) -> str:
    """The longest string both ``a`` and ``b`` start with."""
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return a[:n]


class TerminalEcho:
    """Turns a kernel's iopub messages into terminal text, written to ``out`` as they come.

    Feed it every message with :meth:`message`; it keeps, per display id, the text
    already printed, so a display re-sent whole on every update prints only its
    new suffix. Plain text is preferred for a display's first and final forms;
    the streamed updates of an answer carry Markdown only, which is the raw
    answer text, so the suffix logic works on either.
    """

    def __init__(self, out: TextIO, *, color: bool = False) -> None:
        self.out = out
        self.color = color
        self._shown: dict[str, str] = {}
        self._at_line_start = True
        self._last_display: str | None = None
        self.errors: list[str] = []

    # -- writing -------------------------------------------------------------------

    def write(self, text: str) -> None:
        """Write and flush ``text`` (so a pipe sees each piece as it arrives)."""
        if not text:
            return
        self.out.write(text)
        self.out.flush()
        self._at_line_start = text.endswith("\n")

    def newline(self) -> None:
        """End the current line unless it is already ended."""
        if not self._at_line_start:
            self.write("\n")

    def _style(self, text: str, code: str) -> str:
        return f"\x1b[{code}m{text}\x1b[0m" if self.color else text

    # -- messages --------------------------------------------------------------------

    def cell_input(self, count: int | None, source: str) -> None:
        """``In [n]: first line`` and the rest of the source aligned under it."""
        self.newline()
        prompt = f"In [{count if count is not None else ' '}]: "
        lines = source.rstrip().splitlines() or [""]
        pad = " " * len(prompt)
        body = "\n".join([lines[0], *(pad + line for line in lines[1:])])
        self.write("\n" + self._style(prompt, "1;32") + body + "\n")

    def message(self, msg: dict[str, Any]) -> None:
        """Echo one iopub message (anything that is not output is ignored)."""
        kind = msg.get("msg_type") or msg.get("header", {}).get("msg_type")
        content = msg.get("content") or {}
        if kind in ("stream", "error"):
            self._last_display = ""  # something other than a live display was printed
        if kind == "execute_input":
            self.cell_input(content.get("execution_count"), content.get("code", ""))
        elif kind == "stream":
            self.write(content.get("text", ""))
        elif kind in ("display_data", "update_display_data", "execute_result"):
            transient = content.get("transient") or {}
            display_id = transient.get("display_id")
            data = content.get("data") or {}
            if display_id:
                self.display(display_id, data, update=kind == "update_display_data")
            else:
                self._last_display = ""
                self.newline()
                text = _bundle_text(data)
                self.write(text + ("\n" if text and not text.endswith("\n") else ""))
        elif kind == "error":
            line = f"{content.get('ename', 'Error')}: {one_line(content.get('evalue', ''), 300)}"
            self.errors.append(line)
            self.newline()
            self.write(self._style(line, "31") + "\n")

    def display(self, display_id: str, data: dict[str, Any], *, update: bool) -> None:
        """Print what is new in this display's text since it was last printed."""
        # Streaming updates carry Markdown only (the raw answer so far); the first
        # ("waiting…") and final forms also have text/plain, the friendlier form.
        text = _bundle_text(data)
        if not text:
            return  # an emptied display (a failed turn): the error follows
        shown = self._shown.get(display_id)
        if self._last_display not in (None, display_id):
            self.newline()  # another display was printed since: do not continue its line
        self._last_display = display_id
        if shown is None or not update:
            self.newline()
            self.write(text)
        else:
            common = _common_prefix(shown, text)
            if shown[len(common) :].strip():
                # Something printed was replaced (the "waiting…" note by the answer):
                # the new text starts on its own line, from where the two differ.
                self.newline()
                self.write(text if not common.strip() else text[len(common) :])
            else:
                self.write(text[len(common) :])
        self._shown[display_id] = text


def _current_env_kernel_manager() -> Any:
    """A kernel manager that starts ipykernel with this interpreter (``sys.executable``)."""
    import ipykernel.kernelspec
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import AsyncKernelManager

    class _CurrentEnvSpecs(KernelSpecManager):
        def get_kernel_spec(self, kernel_name: str) -> Any:
            if kernel_name == CURRENT_ENV_KERNEL:
                spec = ipykernel.kernelspec.get_kernel_dict()
                # The kernel listens on loopback only; its start-up warnings (such as
                # "running over TCP without encryption") would only clutter the echo.
                spec["argv"] = [*spec["argv"], "--IPKernelApp.log_level=ERROR"]
                return self.kernel_spec_class(resource_dir=ipykernel.kernelspec.RESOURCES, **spec)
            return super().get_kernel_spec(kernel_name)

    # The async manager gives an async client: waiting for the kernel's messages then
    # leaves the event loop free to handle Ctrl-C (a blocking client would sit in a
    # zmq poll until the next message, which a long cell may not send for minutes).
    return AsyncKernelManager(
        kernel_name=CURRENT_ENV_KERNEL, kernel_spec_manager=_CurrentEnvSpecs()
    )


def _echo_client_class() -> Any:
    from nbclient import NotebookClient

    class EchoingClient(NotebookClient):
        """A NotebookClient that shows every iopub message on the terminal as it arrives."""

        echo: TerminalEcho
        interrupted = False

        def process_message(self, msg: dict[str, Any], cell: Any, cell_index: int) -> Any:
            self.echo.message(msg)
            return super().process_message(msg, cell, cell_index)

        async def async_start_new_kernel_client(self) -> Any:
            """Also make Ctrl-C cancel the run, so the kernel is shut down on the way out.

            nbclient's own SIGINT handler shuts the kernel down *while* a cell is
            still being polled, which can hang the run; cancelling the task instead
            unwinds through nbclient's cleanup in order.
            """
            client = await super().async_start_new_kernel_client()
            task = asyncio.current_task()
            if task is not None:

                def on_sigint() -> None:
                    self.interrupted = True
                    task.cancel()

                try:
                    asyncio.get_running_loop().add_signal_handler(signal.SIGINT, on_sigint)
                except (NotImplementedError, RuntimeError):
                    pass  # Windows, or not the main thread: nbclient's handling stays
            return client

    return EchoingClient


def run_notebook(
    path: Path,
    output: Path | None = None,
    *,
    timeout: float | None = 600,
    out: TextIO | None = None,
    color: bool = False,
) -> int:
    """Execute ``path`` in a kernel of this environment, echoing to ``out``; write the result.

    Returns the exit code (0 every cell ran, 1 a cell failed, 130 interrupted).
    The executed notebook is written to ``output`` (default: :func:`default_output`)
    in every case, with the outputs of the cells that ran.
    """
    import nbformat as _nbformat
    from nbclient.exceptions import CellExecutionError

    nbformat: Any = _nbformat  # untyped functions; keep strict call checks quiet
    stream = out if out is not None else sys.stdout
    output = output or default_output(path)
    notebook = nbformat.read(path, as_version=4)
    echo = TerminalEcho(stream, color=color)
    client = _echo_client_class()(
        notebook,
        km=_current_env_kernel_manager(),
        timeout=timeout,
        kernel_name=CURRENT_ENV_KERNEL,
        resources={"metadata": {"path": str(path.parent.resolve())}},
    )
    client.echo = echo
    started = time.monotonic()
    code = 0
    try:
        client.execute()
    except CellExecutionError:
        code = 1  # the error itself was echoed as one line when it arrived
    except (KeyboardInterrupt, asyncio.CancelledError, Exception) as exc:
        echo.newline()
        # nbclient answers SIGTERM by shutting the kernel down under the running cell,
        # which then fails with another exception (seen: an AssertionError); its
        # handler leaves this attribute behind. Ctrl-C cancels (see EchoingClient).
        stopped = getattr(client, "_async_cleanup_kernel_future", None) is not None
        if client.interrupted or stopped or not isinstance(exc, Exception):
            echo.write("interrupted\n")
            code = 130
        else:  # a kernel that died or a cell that timed out: one line, not a traceback
            echo.write(f"{type(exc).__name__}: {one_line(exc, 300)}\n")
            code = 1
    output.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, output)
    echo.newline()
    took = time.monotonic() - started
    status = "ok" if code == 0 else "failed" if code == 1 else "interrupted"
    echo.write(f"\n{status}: {path} in {took:.1f} s; executed notebook written to {output}\n")
    return code


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``run`` subcommand's arguments."""
    parser.add_argument("notebook", type=Path, help="the notebook to execute (.ipynb)")
    parser.add_argument(
        "-o",
        "--output",
        type=Path,
        default=None,
        help="where to write the executed notebook (default: NAME.executed.ipynb beside it)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=600,
        help="seconds one cell may run before the run fails (default: 600)",
    )


def main(args: argparse.Namespace) -> int:
    """Run the ``run`` subcommand with parsed ``args``; returns the exit code."""
    path: Path = args.notebook
    if not path.is_file():
        print(f"groq_magic run: no such notebook: {path}", file=sys.stderr)
        return 2
    return run_notebook(
        path,
        args.output,
        timeout=args.timeout,
        color=sys.stdout.isatty(),
    )
