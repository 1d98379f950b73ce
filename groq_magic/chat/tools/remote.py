"""Tools that live in another process (an MCP server's), run through the same ToolBox.

A :class:`RemoteTool` is a :class:`~groq_magic.chat.tools.Tool` whose definition is
the server's own (its JSON schema passed on as given) and whose function is a
coroutine that asks the server to run it, so parallel calls, streamed calls and
``--max-steps`` treat it like any async notebook function. Its arguments are checked
by the server's schema (``check``) before anything is sent, and every failure is a
:class:`~groq_magic.chat.tools.ToolFailure` line naming the server.

:func:`add_remote_tools` puts a turn's remote tools in its ToolBox, keeping their
names unless two of them (or one and a notebook function) clash: then each clashing
remote tool is called ``server__name``. :func:`image_followup` is the user message
that carries the images tools returned, for a model that reads images.

The chat layer knows servers only through :class:`RemoteTools` (what
``groq_magic.mcp`` provides); nothing here imports the ``mcp`` SDK.
"""

from __future__ import annotations

import dataclasses
import re
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from pydantic import BaseModel

from groq_magic.chat.tools._box import ToolBox, ToolFailure, ToolOutcome
from groq_magic.chat.tools._content import ResultWithImages
from groq_magic.chat.tools._tool import Tool, ToolError

__all__ = [
    "RemoteTool",
    "RemoteTools",
    "RemoteToolset",
    "add_remote_tools",
    "image_followup",
    "remote_tool",
    "takes_images",
    "tool_name",
]

_NAME_BAD = re.compile(r"[^A-Za-z0-9_-]+")
_NAME_CHARS = 64  # Groq's limit on a function's name
# Groq's models that read images (and the usual words for one elsewhere).
_READS_IMAGES = re.compile(r"llama-4|vision|-vl\b|llava|pixtral|gemma-3", re.IGNORECASE)


@dataclass(eq=False, frozen=True)
class RemoteTool(Tool):
    """A tool an MCP server runs: ``server`` and its name there (``remote_name``)."""

    server: str = ""
    remote_name: str = ""
    check: Callable[[Mapping[str, Any]], str | None] | None = None

    def bind(self, arguments: Mapping[str, Any]) -> tuple[list[Any], dict[str, Any]]:
        """The arguments as keywords, after the server's schema accepted them."""
        problem = self.check(arguments) if self.check is not None else None
        if problem is not None:
            raise ToolFailure(
                f"invalid arguments for {self.name} (mcp server '{self.server}'): {problem}"
            )
        return [], dict(arguments)


def tool_name(name: str) -> str:
    """A name a model can call (letters, digits, ``_``, ``-``; 64 at most)."""
    return _NAME_BAD.sub("_", name).strip("_")[:_NAME_CHARS] or "tool"


def remote_tool(
    *,
    server: str,
    name: str,
    description: str,
    parameters: dict[str, Any],
    call: Callable[..., Awaitable[Any]],
    check: Callable[[Mapping[str, Any]], str | None] | None = None,
) -> RemoteTool:
    """A :class:`RemoteTool` offered under the server's own name (made callable)."""
    return RemoteTool(
        name=tool_name(name),
        description=description,
        parameters=parameters,
        fn=call,
        is_async=True,
        arguments_model=BaseModel,  # unused: ``check`` validates, by the server's schema
        _params=(),
        server=server,
        remote_name=name,
        check=check,
    )


@dataclass(frozen=True)
class RemoteToolset:
    """The tools of the servers a turn names, and one status-line note per server started."""

    tools: list[RemoteTool]
    notes: tuple[str, ...] = ()


class RemoteTools(Protocol):
    """Where a turn's ``--mcp`` servers come from (``groq_magic.mcp`` provides one)."""

    def toolset(self, servers: Sequence[str]) -> RemoteToolset:
        """Every tool of ``servers`` (started if need be); one ChatError line when one can't."""


def add_remote_tools(box: ToolBox, tools: Iterable[RemoteTool]) -> None:
    """Add ``tools`` to ``box``; a name two servers (or a server and a notebook function)
    share becomes ``server__name`` for each server, so every tool stays callable."""
    tools = list(tools)
    taken = Counter(t.name for t in tools)
    for tool in tools:
        name = tool.name
        if taken[name] > 1 or name in box:
            name = tool_name(f"{tool.server}__{tool.name}")
            tool = dataclasses.replace(tool, name=name)
        if name in box:
            raise ToolError(
                f"--mcp: two tools would be called '{name}' (mcp server '{tool.server}');"
                " rename a notebook function or leave one server out"
            )
        box.add(tool)


def takes_images(model: str, messages: Sequence[Mapping[str, Any]] = ()) -> bool:
    """True for a model that reads images: a known vision model, or a chat that sent one."""
    if _READS_IMAGES.search(model):
        return True
    from groq_magic.chat.parts import image_stats

    return image_stats(messages).count > 0


def image_followup(
    outcomes: Sequence[ToolOutcome], model: str, messages: Sequence[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """The user message carrying the images a tool round returned (none: ``[]``).

    Only for a model that reads images, within Groq's limits for the request
    (``messages`` already sent count); the ``tool`` messages name every image either way.
    """
    found = [
        (outcome, number, image)
        for outcome in outcomes
        if isinstance(outcome.result, ResultWithImages)
        for number, image in enumerate(outcome.result.images, 1)
    ]
    if not found or not takes_images(model, messages):
        return []
    from groq_magic.chat.images import DEFAULT_LIMITS
    from groq_magic.chat.parts import image_stats

    sent = image_stats(messages)
    limits = DEFAULT_LIMITS.minus(sent.count, sent.inline_bytes)
    room, budget = limits.max_images, limits.max_request_bytes
    parts: list[dict[str, Any]] = [
        {"type": "text", "text": "The images the tool calls above returned:"}
    ]
    for outcome, number, image in found:
        url = image.data_url
        if room <= 0 or len(url) > budget:
            break  # Groq would refuse the request; the tool message still names the image
        parts.append({"type": "text", "text": f"{outcome.name}, {image.label(number)}:"})
        parts.append({"type": "image_url", "image_url": {"url": url}})
        room, budget = room - 1, budget - len(url)
    return [{"role": "user", "content": parts}] if len(parts) > 1 else []
