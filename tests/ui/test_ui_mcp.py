"""MCP tools on the other roads: a compare (runs on the background loop, ``arun``) and a
sweep call the same real server (``tests/mcp_server.py``); there no one can answer
``ask``, so the calls are refused unless ``--approve always`` says otherwise.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from scripted_server import RecordedRequest, Reply
from turn_replies import answer_stream, tool_stream
from ui_fakes import RoutedServer

import groq_magic
from groq_magic.chat.tools.approval import UNANSWERED
from groq_magic.mcp import kernel_servers

SERVER = str(Path(__file__).resolve().parents[1] / "mcp_server.py")


def adds(request: RecordedRequest) -> Reply:
    """Ask for add(2, 40) and echo at once; answer with the results once they came back."""
    body = request.json()
    model, messages = body["model"], body["messages"]
    if messages[-1]["role"] == "tool":
        results = [m["content"] for m in messages if m["role"] == "tool"]
        return answer_stream(f"{model}: {' | '.join(results)}", model=model)
    calls = [
        (f"{model}-1", "add", '{"a": 2, "b": 40}'),
        (f"{model}-2", "echo", json.dumps({"text": model})),
    ]
    return tool_stream(calls, model=model)


@pytest.fixture
def mcp_ip(ip: Any, routed: RoutedServer) -> Iterator[Any]:
    routed.responder = adds
    ip._groq_magics.mcp_servers = {"t": {"command": sys.executable, "args": [SERVER]}}
    try:
        yield ip
    finally:
        kernel_servers().stop()


def test_a_compare_runs_each_models_mcp_calls(mcp_ip: Any, routed: RoutedServer) -> None:
    table = mcp_ip.run_cell_magic("groq", "--compare alpha,beta --mcp t --approve always", "Go.")
    assert list(table.status) == ["complete", "complete"]
    assert list(table.text) == ["alpha: 42 | echo: alpha", "beta: 42 | echo: beta"]
    finals = [b for b in routed.chat_bodies() if b["messages"][-1]["role"] == "tool"]
    assert len(finals) == 2


def test_in_a_compare_no_one_can_answer_ask(mcp_ip: Any, routed: RoutedServer) -> None:
    table = mcp_ip.run_cell_magic("groq", "--compare alpha,beta --mcp t", "Go.")
    assert list(table.status) == ["complete", "complete"]
    assert list(table.text) == [f"{m}: {UNANSWERED} | {UNANSWERED}" for m in ("alpha", "beta")]


def test_a_sweep_takes_mcp_servers(mcp_ip: Any, routed: RoutedServer) -> None:
    table = groq_magic.sweep("Go.", model=["alpha", "beta"], mcp=["t"], approve="always")
    assert list(table.text) == ["alpha: 42 | echo: alpha", "beta: 42 | echo: beta"]
