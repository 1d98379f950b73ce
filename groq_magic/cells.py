"""The notebook as context and as target, on the kernel's side.

What ``--context`` and ``%groq fix`` need from IPython, turned into plain data for
the engine (:class:`~groq_magic.chat.context.NotebookFacts`, imported with the
first cell that needs it, so ``%load_ext`` stays cheap): the cells' sources as
typed, the outputs, the running cell's number, the kernel's language, and the last
error. And where ``--code`` puts its answer: a new cell below the current one
(``set_next_input(..., replace=False)``, which JupyterLab and Notebook 7 turn into a
cell under the running one; the user's cell is never replaced and nothing is run),
or, in a terminal, the code printed.

**The last error.** A ``post_run_cell`` hook (:class:`ErrorRecorder`) keeps the
newest error a cell raised, with that cell's source and number. ``UsageError`` (a
magic's one-line refusal, ours included) and ``KeyboardInterrupt`` are not errors to
fix and are skipped, so ``%groq fix`` after a mistyped ``%groq fix --bad`` still
explains the real error. Errors raised before ``%load_ext`` are read from
``sys.last_value``. The traceback is cleaned of IPython's internals: only the frames
in the notebook's cells are kept (found by the file names IPython compiles cells
under), and the innermost frame when the error was raised inside a library.
"""

from __future__ import annotations

import linecache
import re
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from groq_magic.chat.context import ErrorFrame, LastError, NotebookFacts

__all__ = ["ErrorRecorder", "notebook_facts", "put_code_below"]

# IPython compiles a cell as "<ipython-input-N-hash>"; ipykernel as .../ipykernel_PID/H.py,
# whose number is in the shell's compiler's filename map.
_INPUT_FILE = re.compile(r"^<ipython-input-(\d+)-[0-9a-f]+>$")
# Where installed code lives: cut from a library frame's path (the rest names the module).
_INSTALLED = re.compile(r"^.*/(?:site-packages|dist-packages|lib/python\d+\.\d+)/")


def _skipped(error: BaseException) -> bool:
    from IPython.core.error import UsageError

    return isinstance(error, (UsageError, KeyboardInterrupt))


class ErrorRecorder:
    """Keeps the newest error a cell raised (a ``post_run_cell`` hook), as :class:`LastError`."""

    def __init__(self, shell: Any) -> None:
        self.shell = shell
        self._last: tuple[BaseException, int | None, str | None] | None = None

    def post_run_cell(self, result: Any) -> None:
        """IPython's ``post_run_cell`` event: remember the cell's error, if it raised one."""
        error = result.error_in_exec or result.error_before_exec
        if error is None or _skipped(error):
            return
        info = getattr(result, "info", None)
        self._last = (error, result.execution_count, getattr(info, "raw_cell", None))

    def last_error(self) -> LastError | None:
        """The newest error a cell raised in this kernel, or None."""
        if self._last is not None:
            return _as_last_error(self.shell, *self._last)
        error = getattr(sys, "last_value", None)
        if error is None or _skipped(error):
            return None
        return _as_last_error(self.shell, error, None, None)


def _cell_number(shell: Any, filename: str) -> int | None:
    numbers = getattr(getattr(shell, "compile", None), "_filename_map", None) or {}
    number = numbers.get(filename)
    if isinstance(number, int):
        return number
    match = _INPUT_FILE.match(filename)
    return int(match.group(1)) if match else None


def _short_path(filename: str) -> str:
    """A library's file as ``pandas/core/frame.py`` rather than the whole install path."""
    return _INSTALLED.sub("", filename)


def _frames(shell: Any, error: BaseException) -> tuple[tuple[ErrorFrame, ...], ErrorFrame | None]:
    """The traceback's frames in notebook cells, and the innermost one when it is elsewhere."""
    from groq_magic.chat.context import ErrorFrame

    cells: list[ErrorFrame] = []
    innermost: ErrorFrame | None = None
    tb = error.__traceback__
    while tb is not None:
        code = tb.tb_frame.f_code
        line = linecache.getline(code.co_filename, tb.tb_lineno).strip()
        number = _cell_number(shell, code.co_filename)
        if number is not None:
            cells.append(ErrorFrame(f"In[{number}]", tb.tb_lineno, code.co_name, line))
            innermost = None
        elif cells:  # IPython's own frames come before the first cell: left out
            innermost = ErrorFrame(_short_path(code.co_filename), tb.tb_lineno, code.co_name, line)
        tb = tb.tb_next
    if isinstance(error, SyntaxError) and error.filename:
        number = _cell_number(shell, error.filename)
        where = f"In[{number}]" if number is not None else _short_path(error.filename)
        text = (error.text or "").strip()
        cells.append(ErrorFrame(where, error.lineno or 0, "", text))
    return tuple(cells), innermost


def _as_last_error(
    shell: Any, error: BaseException, number: int | None, source: str | None
) -> LastError:
    from groq_magic.chat.context import LastError

    frames, innermost = _frames(shell, error)
    if number is None and frames:
        number = int(frames[0].where[3:-1]) if frames[0].where.startswith("In[") else None
    if source is None and number is not None:
        inputs = _raw_inputs(shell)
        source = inputs[number] if 0 < number < len(inputs) else None
    message = error.msg if isinstance(error, SyntaxError) else str(error)
    return LastError(
        type=type(error).__name__,
        message=message,
        cell=source.rstrip() if source is not None else None,
        cell_label=f"In[{number}]" if number is not None else None,
        frames=frames,
        raised_in=innermost,
    )


def _raw_inputs(shell: Any) -> list[str]:
    history = getattr(shell, "history_manager", None)
    raw = getattr(history, "input_hist_raw", None)
    if raw is None:
        raw = shell.user_ns.get("In", [])
    return list(raw) if not isinstance(raw, list) else raw


def _language(shell: Any) -> str:
    info = getattr(getattr(shell, "kernel", None), "language_info", None)
    name = info.get("name") if isinstance(info, dict) else None
    return name if isinstance(name, str) and name else "python"


def notebook_facts(shell: Any, errors: ErrorRecorder, running: str | None) -> NotebookFacts:
    """What the kernel knows now, as the engine takes it (cheap: references, not copies).

    ``running`` is the source of the cell running now: it is the last input when the
    cell is kept in history (then ``In[-1]`` is the one before it), else not there.
    """
    from groq_magic.chat.context import NotebookFacts

    history = getattr(shell, "history_manager", None)
    outputs = getattr(history, "output_hist", None)
    if outputs is None:
        outputs = shell.user_ns.get("Out", {})
    inputs = _raw_inputs(shell)
    last = inputs[-1].rstrip() if len(inputs) > 1 else None
    current = len(inputs) - 1 if running is not None and last == running.rstrip() else len(inputs)
    return NotebookFacts(
        inputs=inputs,
        outputs=outputs,
        current=current,
        language=_language(shell),
        last_error=errors.last_error,
    )


def _in_a_kernel(shell: Any) -> bool:
    """True in a Jupyter kernel (any frontend may turn the payload into a cell)."""
    return any(cls.__name__ == "ZMQInteractiveShell" for cls in type(shell).__mro__)


def put_code_below(shell: Any, result: Any) -> None:
    """``--code``: the answer's code into a new cell below (a kernel) or printed (a terminal).

    Nothing happens for an answer not asked to be code; an answer without code, or
    one that did not complete, says so in one line and adds no cell.
    """
    if getattr(result, "code_language", None) is None:
        return
    code = result.code
    if not code:
        print("--code: the answer holds no code, so no cell was added")
        return
    if result.status != "complete":
        print(f"--code: the answer is {result.status}, so no cell was added (see _groq.code)")
        return
    if _in_a_kernel(shell):
        shell.set_next_input(code, replace=False)
        print("⤵ the code is in a new cell below (not run)")
    else:
        print(f"--code: the code (also in _groq.code):\n{code}")
