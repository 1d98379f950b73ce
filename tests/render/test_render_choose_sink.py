"""choose_sink: a live display only in a Jupyter kernel whose display messages are not captured."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

from IPython.core import displaypub

from groq_magic.render import NotebookSink, PlainTextSink, choose_sink, is_live_kernel

# IPython is untyped; these are the real publisher classes.
DisplayPublisher: Any = displaypub.DisplayPublisher
CapturingDisplayPublisher: Any = displaypub.CapturingDisplayPublisher


def fake_shell(class_name: str, publisher: object | None) -> Any:
    shell: Any = type(class_name, (), {})()
    shell.display_pub = publisher
    return shell


def test_jupyter_kernel_gets_the_notebook_sink() -> None:
    shell = fake_shell("ZMQInteractiveShell", DisplayPublisher())
    assert is_live_kernel(shell)
    assert isinstance(choose_sink(shell), NotebookSink)


def test_a_subclass_of_the_kernel_shell_counts_too() -> None:
    base = type("ZMQInteractiveShell", (), {})
    shell: Any = type("MyKernelShell", (base,), {})()
    shell.display_pub = DisplayPublisher()
    assert isinstance(choose_sink(shell), NotebookSink)


def test_terminal_ipython_gets_plain_text() -> None:
    shell = fake_shell("TerminalInteractiveShell", DisplayPublisher())
    assert isinstance(choose_sink(shell), PlainTextSink)


def test_no_shell_gets_plain_text() -> None:
    assert isinstance(choose_sink(None), PlainTextSink)


def test_capture_in_a_kernel_gets_plain_text() -> None:
    # %%capture swaps shell.display_pub for a CapturingDisplayPublisher, which would keep
    # every update as its own output.
    shell = fake_shell("ZMQInteractiveShell", CapturingDisplayPublisher())
    assert not is_live_kernel(shell)
    assert isinstance(choose_sink(shell), PlainTextSink)


def test_kernel_without_a_display_publisher_gets_plain_text() -> None:
    assert isinstance(choose_sink(fake_shell("ZMQInteractiveShell", None)), PlainTextSink)


def test_importing_render_loads_neither_ipython_nor_ipykernel() -> None:
    code = (
        "import sys, groq_magic.render;"
        "print(sorted(m for m in ('IPython', 'ipykernel', 'IPython.display') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"
