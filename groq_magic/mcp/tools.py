"""A running server's tools as :class:`~groq_magic.chat.tools.remote.RemoteTool` s, and
what a call's result becomes.

Each tool is offered under its own name with the server's JSON schema as given;
the model's arguments are checked against that schema (``jsonschema``, which the
SDK brings) before anything is sent, so a bad call is one line the model can act on.
A result becomes: its text (the text blocks joined), or the JSON value of its
``structuredContent`` when the text is only that JSON again (a number or list the
server wrapped as ``{"result": ...}`` comes out unwrapped), or a
:class:`~groq_magic.chat.tools.ResultWithImages` when it holds images. Audio and
binary resources are named, not sent. An ``isError`` result, a protocol error, and
a server that dies mid-call are :class:`~groq_magic.chat.tools.ToolFailure` lines
naming the server.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from groq_magic._keys import redact
from groq_magic._loop import BackgroundLoop
from groq_magic._text import one_line
from groq_magic.chat.tools import ResultWithImages, ToolFailure, ToolImage
from groq_magic.chat.tools.remote import RemoteTool, remote_tool

if TYPE_CHECKING:
    from mcp.types import CallToolResult, Tool

    from groq_magic.mcp.connection import Connection

__all__ = ["one_line_description", "remote_tools", "result_value", "schema_check"]

_PROBLEM_CHARS = 200


def remote_tools(connection: Connection, loop: BackgroundLoop) -> list[RemoteTool]:
    """Every tool of a running server, each calling it on ``loop``."""
    return [
        remote_tool(
            server=connection.name,
            name=tool.name,
            description=tool.description or tool.title or "",
            parameters=dict(tool.inputSchema),
            call=_caller(connection, loop, tool.name),
            check=schema_check(tool.inputSchema),
        )
        for tool in connection.tools
    ]


def _caller(connection: Connection, loop: BackgroundLoop, name: str) -> Callable[..., Any]:
    async def call(**arguments: Any) -> Any:
        # The call runs on the MCP loop; this coroutine (on whatever loop runs the tool
        # round) only waits, and its cancellation (the stop button) cancels the call.
        future = loop.submit(connection.call(name, arguments))
        result = await asyncio.wrap_future(future)
        return result_value(connection.label, name, result)

    call.__name__ = name
    return call


def schema_check(schema: Mapping[str, Any]) -> Callable[[Mapping[str, Any]], str | None] | None:
    """A check of arguments against ``schema`` (None when the schema itself is unusable:
    the server then judges the arguments alone)."""
    try:
        import jsonschema
        from jsonschema.exceptions import best_match

        validator_class = jsonschema.validators.validator_for(schema)
        validator_class.check_schema(schema)
        validator = validator_class(schema)
    except Exception:
        return None

    def check(arguments: Mapping[str, Any]) -> str | None:
        error = best_match(validator.iter_errors(dict(arguments)))
        if error is None:
            return None
        where = ".".join(str(part) for part in error.absolute_path)
        return one_line(f"{where}: {error.message}" if where else error.message, _PROBLEM_CHARS)

    return check


def _block_text(block: Any) -> tuple[str | None, ToolImage | None]:
    """One content block as text, or as an image."""
    kind = getattr(block, "type", None)
    if kind == "text":
        return str(block.text), None
    if kind == "image":
        return None, ToolImage(str(block.mimeType), str(block.data))
    if kind == "audio":
        return f"[audio: {block.mimeType}, not sent]", None
    if kind == "resource":
        resource = block.resource
        text = getattr(resource, "text", None)
        if text is not None:
            return str(text), None
        return f"[resource {resource.uri}: {resource.mimeType or 'binary'}, not sent]", None
    if kind == "resource_link":
        return f"[resource: {block.uri}]", None
    return f"[{kind or 'unknown'} content, not sent]", None


def result_value(label: str, name: str, result: CallToolResult) -> Any:
    """What the model and ``ChatResult.tool_calls`` get for a call (see the module doc)."""
    texts: list[str] = []
    images: list[ToolImage] = []
    for block in result.content:
        text, image = _block_text(block)
        if text is not None:
            texts.append(text)
        if image is not None:
            images.append(image)
    text = "\n".join(texts)
    if result.isError:
        raise ToolFailure(
            f"{label}: {name} returned an error: {one_line(text, 500) or '(no text)'}"
        )
    if images:
        return ResultWithImages(redact(text), tuple(images))
    structured = result.structuredContent
    if structured is None:
        return text
    if not text or _same_json(text, structured):
        return structured
    # A number, list or string a server wrapped as {"result": ...} (objects only go there).
    if set(structured) == {"result"} and text in (
        structured["result"],
        _json(structured["result"]),
    ):
        return structured["result"]
    return text


def _json(value: Any) -> str | None:
    try:
        return json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        return None


def _same_json(text: str, value: Any) -> bool:
    try:
        return bool(json.loads(text) == value)
    except ValueError:
        return False


def one_line_description(tool: Tool) -> str:
    """The first line of a tool's description (its title if it has none)."""
    text = (tool.description or tool.title or "").strip()
    return one_line(text.splitlines()[0] if text else "", 100)
