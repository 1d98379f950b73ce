"""Export a conversation as Markdown and as a notebook, and read both back."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from groq_magic.chat import Conversation, Turn
from groq_magic.store import ExportError, export, export_markdown, export_notebook

TOOL_CALL = {"id": "call_1", "type": "function", "function": {"name": "add", "arguments": "{}"}}


@pytest.fixture
def conversation() -> Conversation:
    conv = Conversation(name="drafts", system="Be brief.")
    conv.record(
        Turn(
            cell_id="cell-1",
            prompt='Count to 3. Use {"json": true} and {name}',
            answer="1, 2, 3",
            model="llama-3.3-70b-versatile",
            options={"temperature": 0.5, "stop": [", 4", "a\nb"], "seed": 7, "stream": False},
        )
    )
    conv.record(Turn(prompt="And then?", answer="4", status="interrupted", model="m"))
    return conv


def _with_extras(conv: Conversation) -> SimpleNamespace:
    """The conversation with turns that carry reasoning and tool calls, three ways."""
    turns: list[Any] = list(conv.turns)
    turns.append({"prompt": "Think.", "answer": "Done.", "reasoning": "Step 1, step 2."})
    turns.append(
        SimpleNamespace(
            prompt="Add.",
            answer="3",
            extra={"tool_calls": [TOOL_CALL]},
        )
    )
    turns.append(
        SimpleNamespace(
            prompt="Add again.",
            answer="5",
            messages=[
                {"role": "user", "content": "Add again."},
                {"role": "assistant", "content": None, "tool_calls": [TOOL_CALL]},
                {"role": "tool", "tool_call_id": "call_1", "content": "5"},
                {"role": "assistant", "content": "5", "reasoning": "adding"},
            ],
        )
    )
    return SimpleNamespace(name=conv.name, system=conv.system, turns=turns)


def _text(value: str | list[str]) -> str:
    return value if isinstance(value, str) else "".join(value)


def test_notebook_reads_back(tmp_path: Path, conversation: Conversation) -> None:
    path = export_notebook(_with_extras(conversation), tmp_path / "chat.ipynb")
    nb = json.loads(path.read_text(encoding="utf-8"))
    assert (nb["nbformat"], nb["nbformat_minor"]) == (4, 5)
    cells = nb["cells"]
    assert cells[0]["cell_type"] == "markdown"
    assert _text(cells[1]["source"]) == "%load_ext groq_magic"
    assert _text(cells[2]["source"]) == "%groq system Be brief."
    turns = cells[3:]
    assert len(turns) == 5
    assert all(_text(c["source"]).startswith("%%groq") for c in turns)
    assert len({c["id"] for c in cells}) == len(cells)
    assert turns[0]["id"] == "cell-1"  # the frontend's cell id, kept
    first = _text(turns[0]["source"])
    magic, prompt = first.split("\n", 1)
    # The panel's "copy as cell" line: every knob with its flag, in the table's order.
    assert magic == (
        "%%groq -m llama-3.3-70b-versatile --temperature 0.5 --seed 7"
        " --stop ', 4' --stop 'a\\nb' -c drafts --no-stream"
    )
    # Braces that look like a reference are escaped, so a re-run sends the same text.
    assert prompt == 'Count to 3. Use {"json": true} and {{name}}'
    output = turns[0]["outputs"][0]
    assert output["output_type"] == "execute_result"
    assert _text(output["data"]["text/markdown"]) == "1, 2, 3"
    assert _text(output["data"]["text/plain"]) == "1, 2, 3"
    assert "*(interrupted)*" in _text(turns[1]["outputs"][0]["data"]["text/markdown"])
    reasoning = _text(turns[2]["outputs"][0]["data"]["text/markdown"])
    assert "<details><summary>Reasoning</summary>" in reasoning
    assert "Step 1" in reasoning
    tools = _text(turns[3]["outputs"][0]["data"]["text/markdown"])
    assert "<details><summary>Tool calls (1)</summary>" in tools
    assert '"add"' in tools
    both = _text(turns[4]["outputs"][0]["data"]["text/markdown"])
    assert "Tool calls (2)" in both
    assert "adding" in both


def test_notebook_is_valid_nbformat(tmp_path: Path, conversation: Conversation) -> None:
    nbformat = pytest.importorskip("nbformat")
    path = export_notebook(_with_extras(conversation), tmp_path / "chat.ipynb")
    nbformat.validate(nbformat.read(str(path), as_version=4))


def test_markdown_reads_back(tmp_path: Path, conversation: Conversation) -> None:
    path = export_markdown(_with_extras(conversation), tmp_path / "chat.md")
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# Chat `drafts`")
    assert "**System prompt:** Be brief." in text
    assert text.index("Count to 3.") < text.index("1, 2, 3") < text.index("And then?")
    assert "### 1 · llama-3.3-70b-versatile · complete" in text
    assert "### 2 · m · interrupted" in text
    assert "<details><summary>Reasoning</summary>" in text
    assert "<details><summary>Tool calls (1)</summary>" in text
    assert text.count("<details>") == text.count("</details>") == 4


def test_export_picks_the_format_by_extension(tmp_path: Path, conversation: Conversation) -> None:
    assert json.loads(export(conversation, tmp_path / "a.IPYNB").read_text())["nbformat"] == 4
    assert export(conversation, tmp_path / "a.markdown").read_text().startswith("# Chat")


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (export, "chat.txt"),
        (export, "chat"),
        (export_markdown, "chat.ipynb"),
        (export_notebook, "chat.md"),
    ],
)
def test_a_wrong_extension_is_one_line(
    tmp_path: Path, conversation: Conversation, call: Any, name: str
) -> None:
    with pytest.raises(ExportError, match="cannot export to") as info:
        call(conversation, tmp_path / name)
    assert "\n" not in str(info.value)
    assert not (tmp_path / name).exists()


def test_an_existing_file_needs_force(tmp_path: Path, conversation: Conversation) -> None:
    path = tmp_path / "chat.md"
    path.write_text("keep me")
    with pytest.raises(ExportError, match="exists: add --force") as info:
        export_markdown(conversation, path)
    assert "\n" not in str(info.value)
    assert path.read_text() == "keep me"
    export_markdown(conversation, path, force=True)
    assert path.read_text().startswith("# Chat")
    folder = tmp_path / "dir.ipynb"
    folder.mkdir()
    with pytest.raises(ExportError, match="it is a folder"):
        export(conversation, folder, force=True)


def test_an_exported_cell_keeps_every_flag_of_its_turn(tmp_path: Path) -> None:
    """Issue 17 bug 5: export's own flag list dropped -T, --tool-choice, --max-steps,
    --reasoning-effort (and more); it now writes the panel's cell line."""
    from groq_magic.chat.line import cell_line
    from groq_magic.chat.options import ChatOptions

    typed = ChatOptions.parse(
        model="openai/gpt-oss-20b",
        tools=["get_weather"],
        tool_choice="auto",
        max_steps=3,
        reasoning_effort="low",
        stream=False,
    )
    conv = Conversation(name="default")
    conv.record(
        Turn(prompt="Weather?", answer="Rain.", model=typed.model, options=typed.snapshot())
    )
    target = export_notebook(conv, tmp_path / "chat.ipynb")
    cells = json.loads(target.read_text())["cells"]
    [line] = [_text(c["source"]).split("\n")[0] for c in cells if "Weather?" in _text(c["source"])]
    assert line == cell_line(typed)
    for flag in ("-T get_weather", "--tool-choice auto", "--max-steps 3",
                 "--reasoning-effort low", "--no-stream"):  # fmt: skip
        assert flag in line
