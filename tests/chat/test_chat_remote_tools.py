"""Remote (MCP) tools in a ToolBox, the approval gate, and images a tool returned:
the chat layer's side, without a server (the calls are plain coroutines)."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from groq_magic.chat.tools import ResultWithImages, ToolBox, ToolCall, ToolError, ToolImage
from groq_magic.chat.tools.approval import DENIED, NEVER, UNANSWERED, approval_gate
from groq_magic.chat.tools.remote import (
    add_remote_tools,
    image_followup,
    remote_tool,
    takes_images,
    tool_name,
)

SCHEMA = {"type": "object", "properties": {"q": {"type": "string"}}, "required": ["q"]}


def remote(server: str, name: str, answer: Any = "ok", problem: str | None = None) -> Any:
    async def call(**arguments: Any) -> Any:
        return answer(arguments) if callable(answer) else answer

    return remote_tool(
        server=server,
        name=name,
        description=f"{name} on {server}",
        parameters=SCHEMA,
        call=call,
        check=lambda arguments: problem if "q" not in arguments else None,
    )


def test_a_remote_tool_keeps_the_servers_schema_and_name() -> None:
    box = ToolBox()
    add_remote_tools(box, [remote("web", "search")])
    assert box.definitions == [
        {
            "type": "function",
            "function": {"name": "search", "description": "search on web", "parameters": SCHEMA},
        }
    ]
    [outcome] = box.run([ToolCall("c1", "search", '{"q": "groq"}')])
    assert (outcome.result, outcome.server, outcome.error) == ("ok", "web", None)
    assert outcome.as_dict()["server"] == "web"


def test_arguments_the_schema_refuses_go_back_naming_the_server() -> None:
    box = ToolBox()
    add_remote_tools(box, [remote("web", "search", problem="'q' is a required property")])
    [outcome] = box.run([ToolCall("c1", "search", "{}")])
    assert (
        outcome.error
        == "invalid arguments for search (mcp server 'web'): 'q' is a required property"
    )
    assert outcome.content == outcome.error


def test_clashing_names_are_prefixed_with_their_server() -> None:
    def search(q: str) -> str:
        """The notebook's search."""
        return q

    box = ToolBox([search])
    add_remote_tools(
        box, [remote("web", "search"), remote("web", "fetch"), remote("docs", "fetch")]
    )
    offered = [definition["function"]["name"] for definition in box.definitions]
    assert offered == ["search", "web__search", "web__fetch", "docs__fetch"]
    assert box["docs__fetch"].remote_name == "fetch"  # type: ignore[attr-defined]


def test_a_prefixed_name_that_still_clashes_is_one_line() -> None:
    def web__search(q: str) -> str:
        """Named like a prefixed tool."""
        return q

    def search(q: str) -> str:
        """Search."""
        return q

    box = ToolBox([search, web__search])
    with pytest.raises(ToolError, match=r"^--mcp: two tools would be called 'web__search'"):
        add_remote_tools(box, [remote("web", "search")])


@pytest.mark.parametrize(
    ("name", "callable_name"),
    [("read.file", "read_file"), ("a/b c", "a_b_c"), ("x" * 80, "x" * 64), ("...", "tool")],
)
def test_tool_names_are_made_callable(name: str, callable_name: str) -> None:
    assert tool_name(name) == callable_name


@pytest.mark.parametrize(
    ("setting", "server", "answer", "expected"),
    [
        (None, "web", None, UNANSWERED),  # MCP tools ask by default; no one answered
        (None, "web", True, None),
        (None, "web", False, DENIED),
        (None, None, False, None),  # notebook functions run unasked by default
        ("ask", None, False, DENIED),
        ("always", "web", False, None),
        ("never", None, True, NEVER),
        ("never", "web", True, NEVER),
    ],
)
def test_the_approval_gate(
    setting: str | None, server: str | None, answer: Any, expected: str | None
) -> None:
    asked: list[Any] = []

    def approver(request: Any) -> Any:
        asked.append(request)
        return answer

    def local(q: str) -> str:
        """Local."""
        return q

    box = ToolBox([local])
    add_remote_tools(box, [remote("web", "search")])
    box.gate = approval_gate(setting, approver)
    name = "search" if server else "local"
    [outcome] = box.run([ToolCall("c1", name, '{"q": "x"}')])
    assert outcome.error == expected
    if expected is not None:
        assert outcome.content == expected
        assert outcome.seconds is None  # it never ran
    should_ask = setting == "ask" or (setting is None and server is not None)
    assert [(r.tool, r.server, dict(r.arguments)) for r in asked] == (
        [(name, server, {"q": "x"})] if should_ask else []
    )


PNG = base64.b64encode(b"\x89PNG" + b"\0" * 300).decode()


def outcome_with_images(count: int) -> Any:
    box = ToolBox()
    images = tuple(ToolImage("image/png", PNG) for _ in range(count))
    add_remote_tools(box, [remote("cam", "shot", answer=ResultWithImages("two shots", images))])
    [outcome] = box.run([ToolCall("c1", "shot", '{"q": "x"}')])
    return outcome


def test_images_are_named_in_the_tool_message() -> None:
    outcome = outcome_with_images(2)
    assert (
        outcome.content == "two shots\n[image 1: image/png, 0.3 KB]\n[image 2: image/png, 0.3 KB]"
    )


def test_images_follow_for_a_model_that_reads_them_within_groqs_limits() -> None:
    outcome = outcome_with_images(7)
    [message] = image_followup([outcome], "meta-llama/llama-4-scout-17b-16e-instruct", [])
    parts = message["content"]
    urls = [p["image_url"]["url"] for p in parts if p["type"] == "image_url"]
    assert len(urls) == 5  # Groq takes 5 images a request
    assert urls[0] == f"data:image/png;base64,{PNG}"
    assert [p["text"] for p in parts if p["type"] == "text"][:2] == [
        "The images the tool calls above returned:",
        "shot, image 1: image/png, 0.3 KB:",
    ]
    # Images already in the request count against the same limit.
    earlier = [
        {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "data:,"}}] * 4}
    ]
    [message] = image_followup([outcome], "llama-3.3-70b-versatile", earlier)
    assert sum(p["type"] == "image_url" for p in message["content"]) == 1


def test_no_images_for_a_model_that_reads_none() -> None:
    assert image_followup([outcome_with_images(1)], "llama-3.3-70b-versatile", []) == []
    assert not takes_images("llama-3.1-8b-instant")
    assert takes_images("meta-llama/llama-4-maverick-17b-128e-instruct")
