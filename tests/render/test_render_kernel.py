"""In a real Jupyter kernel (nbclient): what a streamed answer leaves in the saved notebook.

The kernel runs on loopback. The cell streams through the sink ``choose_sink`` picks and
returns the result the way the magic must (``already_shown``), so the executed notebook
shows what a user would save: the answer once, as Markdown, with its status line.
"""

from __future__ import annotations

import sys
import textwrap

import nbformat
from nbclient import NotebookClient

STREAM_CELL = textwrap.dedent(
    """
    from groq_magic.render import TurnMeta, TurnSummary, already_shown, choose_sink

    class Answer:
        def __init__(self, text):
            self.text = text
        def _repr_markdown_(self):
            return self.text

    def fake_groq(tokens, status="complete"):
        sink = choose_sink(get_ipython())
        print(type(sink).__name__)
        sink.start(TurnMeta(model="m", chat="default", stream=True))
        for token in tokens:
            sink.delta(token)
        text = "".join(tokens)
        sink.finish(TurnSummary(text=text, model="m", status=status, finish_reason="stop"))
        result = Answer(text)
        return already_shown(result, get_ipython()) if sink.shows_answer else result

    fake_groq(["**1**", ", 2", ", 3"] * 200)
    """
)


def run_notebook(*sources: str) -> nbformat.NotebookNode:
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(source) for source in sources]
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    client = NotebookClient(
        notebook, timeout=60, kernel_name="python3", resources={"metadata": {"path": "."}}
    )
    # The kernel must be this interpreter, so it imports this checkout's groq_magic.
    client.kernel_manager_class = _local_kernel_manager()
    client.execute()
    return notebook


def _local_kernel_manager() -> type:
    from jupyter_client.manager import KernelManager

    class LocalKernelManager(KernelManager):  # type: ignore[misc]
        def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
            return [sys.executable, "-m", "ipykernel_launcher", "-f", self.connection_file]

    return LocalKernelManager


def test_saved_notebook_holds_the_answer_once_as_markdown_with_its_status() -> None:
    notebook = run_notebook(STREAM_CELL, "%%capture captured\n" + STREAM_CELL)
    outputs = notebook.cells[0].outputs
    stdout = [o for o in outputs if o.output_type == "stream"]
    assert "".join(o.text for o in stdout) == "NotebookSink\n"
    shown = [o for o in outputs if o.output_type in ("display_data", "execute_result")]
    assert len(shown) == 1
    (answer,) = shown
    assert answer.output_type == "display_data"
    text = "**1**, 2, 3" * 200
    assert answer.data["text/markdown"] == text + "\n\n*m · stop*"
    assert answer.data["text/plain"] == text + "\n\nm · stop"
    assert "transient" not in answer

    # Under %%capture the sink is plain text, so nothing is left as a display at all.
    assert notebook.cells[1].outputs == []


FAIL_CELL = textwrap.dedent(
    """
    from groq_magic.render import TurnMeta, choose_sink

    sink = choose_sink(get_ipython())
    sink.start(TurnMeta(model="m", chat="default", stream=True))
    sink.delta('{"a": ')
    sink.fail("the answer is not JSON")
    """
)


def test_a_failed_turn_leaves_an_empty_valid_output() -> None:
    notebook = run_notebook(FAIL_CELL)
    (output,) = notebook.cells[0].outputs
    assert output.output_type == "display_data"
    assert output.data == {}
    nbformat.validate(notebook)
