"""Notebook functions as tools the model can call (issue 10, part 1: the standalone core).

One tool round, in the order the engine uses these names::

    box = resolve_tools(["get_weather"], user_ns)     # --tools: names -> ToolBox (or ToolError)
    body.update(box.request_fields("auto"))           # tools + tool_choice (never response_format)
    acc = ToolCallAccumulator()                       # streamed: acc.add(delta.tool_calls)
    calls = acc.calls                                 # non-streamed: calls_from_message(message)
    outcomes = box.run(calls)                         # or: await box.arun(calls)
    history += [assistant_message(text, calls), *tool_messages(outcomes)]
    summarize_call(outcome) / call_markdown(outcome)  # the live line / the saved Markdown

The pieces:

- :func:`describe_tool`, :func:`make_tool`, :func:`tool`: a callable's JSON schema
  from its signature, type hints and docstring (``_tool``, ``_schema``, ``_docstring``).
- :class:`ToolCallAccumulator`, :func:`calls_from_message`: the calls the model asked
  for (``_calls``).
- :class:`ToolBox`, :class:`ToolOutcome`, :func:`resolve_tools`: running them; every
  mistake of the model comes back as an outcome it can read, never as an exception
  (``_box``); results become text by :func:`result_content` (``_content``).
- :class:`~groq_magic.chat.tools.remote.RemoteTool` (``remote``): an MCP server's tool
  in the same box; ``approval``: ``--approve ask|always|never`` as the box's gate.
- :func:`assistant_message`, :func:`tool_messages`, :func:`summarize_call`,
  :func:`call_markdown`, :func:`executed_tool_outcomes`: history and display
  (``_messages``).

Nothing here imports IPython, ipywidgets or pandas.
"""

from __future__ import annotations

from groq_magic.chat.tools._box import (
    MAX_TOOLS,
    Gate,
    ToolBox,
    ToolFailure,
    ToolOutcome,
    exception_line,
    parse_arguments,
    resolve_tools,
    run_coroutine_sync,
)
from groq_magic.chat.tools._calls import ToolCall, ToolCallAccumulator, calls_from_message
from groq_magic.chat.tools._content import (
    MAX_RESULT_CHARS,
    ResultWithImages,
    ToolImage,
    result_content,
)
from groq_magic.chat.tools._messages import (
    assistant_message,
    call_markdown,
    executed_tool_outcomes,
    summarize_call,
    tool_messages,
)
from groq_magic.chat.tools._tool import Tool, ToolError, describe_tool, make_tool, tool

__all__ = [
    "MAX_RESULT_CHARS",
    "MAX_TOOLS",
    "Gate",
    "ResultWithImages",
    "Tool",
    "ToolBox",
    "ToolCall",
    "ToolCallAccumulator",
    "ToolError",
    "ToolFailure",
    "ToolImage",
    "ToolOutcome",
    "assistant_message",
    "call_markdown",
    "calls_from_message",
    "describe_tool",
    "exception_line",
    "executed_tool_outcomes",
    "make_tool",
    "parse_arguments",
    "resolve_tools",
    "result_content",
    "run_coroutine_sync",
    "summarize_call",
    "tool",
    "tool_messages",
]
