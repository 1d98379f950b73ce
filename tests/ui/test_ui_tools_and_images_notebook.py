"""notebooks/tools_and_images.ipynb against a Groq-shaped loopback server, outputs checked.

nbval runs the tour on the embedded model (where tools need a named --tool-choice,
images are refused in one line and nothing reasons); here the same notebook runs in
a real kernel against a server that answers the way Groq's models do (tool calls,
a vision answer, streamed reasoning), so every feature's output can be checked.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import nbformat
import pytest
from keys import FAKE_KEY
from nbclient import NotebookClient
from scripted_server import RecordedRequest, Reply, chunk_events, completion_reply, sse_reply
from ui_fakes import RoutedServer

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "tools_and_images.ipynb"


def _answer(text: str, stream: bool, **options: Any) -> Reply:
    if stream:
        return sse_reply(chunk_events([text[: len(text) // 2], text[len(text) // 2 :]], **options))
    return completion_reply(text)


def _call(name: str, arguments: dict[str, Any], stream: bool) -> Reply:
    raw = json.dumps(arguments)
    call = {"id": "call_1", "type": "function", "function": {"name": name, "arguments": raw}}
    if not stream:
        return completion_reply(None, tool_calls=[call], finish_reason="tool_calls")
    head = {"index": 0, **call, "function": {"name": name, "arguments": ""}}
    pieces = [[head], *([{"index": 0, "function": {"arguments": c}}] for c in raw)]
    return sse_reply(chunk_events([], tool_call_deltas=pieces, finish_reason="tool_calls"))


def groq_like(request: RecordedRequest) -> Reply:
    """What Groq's models would answer to the tour's requests."""
    body = request.json()
    stream = bool(body.get("stream"))
    last = body["messages"][-1]
    tools = [t["function"]["name"] for t in body.get("tools") or []]
    if tools and last["role"] == "user":
        choice = body.get("tool_choice")
        name = choice["function"]["name"] if isinstance(choice, dict) else tools[-1]
        arguments = {"word": "strawberry", "letter": "r"} if name == "letter_count" else None
        return _call(name, arguments or {"city": "Oslo"}, stream)
    if last["role"] == "tool":
        return _answer(f"Done: {last['content']}.", stream)
    content = last.get("content")
    if isinstance(content, list) and any(p.get("type") == "image_url" for p in content):
        return _answer("The third bar is the tallest.", stream)
    if body.get("reasoning_format") == "parsed":
        usage = {
            "prompt_tokens": 20,
            "completion_tokens": 30,
            "total_tokens": 50,
            "completion_tokens_details": {"reasoning_tokens": 22},
        }
        return sse_reply(
            chunk_events(
                ["No: 391 = 17 × 23."],
                reasoning_pieces=["391 = 17 x 23", ", so it is not prime."],
                x_groq_usage=usage,
            )
        )
    return _answer("ok", stream)


@pytest.fixture
def executed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    with RoutedServer(groq_like) as server:
        monkeypatch.setenv("GROQ_API_KEY", FAKE_KEY)
        monkeypatch.setenv("GROQ_BASE_URL", server.base_url)
        work = tmp_path / "tour"
        work.mkdir()
        shutil.copy(NOTEBOOK, work / NOTEBOOK.name)
        shutil.copy(NOTEBOOK.parent / "mcp_tour_server.py", work)  # the tour's MCP server
        nb = nbformat.read(work / NOTEBOOK.name, as_version=4)
        NotebookClient(
            nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(work)}}
        ).execute()
        yield nb, server.chat_bodies()


def _shown(cell: Any) -> str:
    """Everything a cell showed, Markdown preferred (what JupyterLab renders)."""
    texts = []
    for out in cell.get("outputs", []):
        data = out.get("data") or {}
        texts.append(data.get("text/markdown") or data.get("text/plain") or out.get("text", ""))
        texts.append(out.get("evalue", ""))
    return "\n".join(texts)


def _cell(nb: Any, starts: str) -> Any:
    return next(c for c in nb.cells if c.cell_type == "code" and c.source.startswith(starts))


def test_the_tour_shows_every_feature_on_a_groq_like_server(executed: Any) -> None:
    nb, bodies = executed
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o["output_type"] == "error"]
    assert errors == []

    # Tools: the call as a collapsible line above the answer, then the calls on the result.
    weather = _shown(_cell(nb, "%%groq --tools get_weather"))
    assert "<details><summary>🔧 get_weather(city=" in weather
    assert "Done: 12 degrees and light rain in Oslo." in weather
    assert "1 tool call" in weather
    assert "'result': '12 degrees and light rain in Oslo'" in _shown(_cell(nb, "_groq.tool_calls"))
    first, second = bodies[0], bodies[1]
    assert first["tool_choice"] == {"type": "function", "function": {"name": "get_weather"}}
    assert second["tool_choice"] == "auto"  # forced once, then the model answers
    assert [m["role"] for m in second["messages"][-2:]] == ["assistant", "tool"]
    # The decorated async tool ran under its new name.
    timed = _shown(_cell(nb, "%%groq -T get_weather,city_time"))
    assert "🔧 local_time(city=" in timed
    assert "14:05" in timed

    # MCP: the tour's server started, listed its tools, ran the call, and was stopped.
    assert "mcp tour started in " in _shown(_cell(nb, "import sys"))
    listing = next(c for c in nb.cells if c.cell_type == "code" and c.source == "%groq mcp")
    assert "letter_count" in _shown(listing)
    counted = _shown(_cell(nb, "%%groq --mcp tour"))
    assert '<details><summary>🔌 tour/letter_count(word="strawberry", letter="r") → 3 · ' in counted
    assert "Done: 3." in counted
    assert "('tour', 'letter_count', {'word': 'strawberry', 'letter': 'r'}, 3)" in _shown(
        _cell(nb, "[(call")
    )
    assert "stopped mcp server tour" in _shown(_cell(nb, "%groq mcp stop"))

    # Images: a PIL image from the namespace went as a PNG data URL; the line counts it.
    looked = _shown(_cell(nb, "%%groq -m meta-llama"))
    assert "The third bar is the tallest." in looked
    assert "1 image" in looked
    vision = next(b for b in bodies if b["model"].startswith("meta-llama"))
    parts = vision["messages"][-1]["content"]
    assert [p["type"] for p in parts] == ["text", "image_url", "text"]
    assert parts[1]["image_url"]["url"].startswith("data:image/png;base64,")

    # Thinking: folded above the answer, kept on the result, counted in the status line.
    thought = _shown(_cell(nb, "%%groq -m qwen/qwen3-32b"))
    assert "<details><summary>💭 thought" in thought
    assert thought.index("💭") < thought.index("No: 391 = 17 × 23.")
    assert "(22 reasoning)" in thought
    assert "391 = 17 x 23, so it is not prime." in _shown(_cell(nb, "print(_groq.reasoning"))
