"""The messages a tool round adds to the conversation, and how a call is shown.

After the model asks for calls, the next request carries the assistant message as
the model sent it (``content`` possibly null, its ``tool_calls`` with the
arguments text untouched) and then one ``tool`` message per call id, in call
order. The display side is one line per call for the live view
(:func:`summarize_call`) and a collapsible ``<details>`` block for the saved
Markdown (:func:`call_markdown`), which GitHub and nbviewer render without any
widget state.

Groq's compound systems run web search, page visits and code themselves and report
them as ``executed_tools``; :func:`executed_tool_outcomes` turns those into
:class:`ToolOutcome` s (``server_side=True``) so they are shown the same way.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from groq_magic.chat.errors import one_line
from groq_magic.chat.tools._box import ToolOutcome, parse_arguments
from groq_magic.chat.tools._calls import ToolCall, field_of
from groq_magic.chat.tools._content import result_content

__all__ = [
    "assistant_message",
    "call_markdown",
    "executed_tool_outcomes",
    "summarize_call",
    "tool_messages",
]

_ARGS_CHARS = 80
_RESULT_CHARS = 60
_ERROR_CHARS = 180  # an error (a refused call) says what to do: room for the whole line
_BACKTICKS = re.compile(r"`+")


def assistant_message(content: str | None, calls: Sequence[ToolCall]) -> dict[str, Any]:
    """The assistant message that asked for ``calls``, as history and the next request need it.

    ``tool_calls`` is left out when there are none: an empty list is rejected by
    OpenAI-compatible servers.
    """
    message: dict[str, Any] = {"role": "assistant", "content": content or None}
    if calls:
        message["tool_calls"] = [call.as_message_part() for call in calls]
    return message


def tool_messages(outcomes: Iterable[ToolOutcome]) -> list[dict[str, Any]]:
    """One ``{"role": "tool", "tool_call_id", "content"}`` per call id, in call order."""
    seen: set[str] = set()
    messages = []
    for outcome in outcomes:
        if outcome.server_side or outcome.id in seen:
            continue  # Groq ran it and has its result; a repeated id would be answered twice
        seen.add(outcome.id)
        messages.append({"role": "tool", "tool_call_id": outcome.id, "content": outcome.content})
    return messages


# ---- display --------------------------------------------------------------------------------


def _short(text: str, limit: int) -> str:
    text = one_line(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


def _unreadable_arguments(outcome: ToolOutcome) -> bool:
    """True when the model's arguments text did not parse (it is shown as it came)."""
    if outcome.arguments or not outcome.arguments_json.strip():
        return False
    try:
        parse_arguments(outcome.arguments_json)
    except ValueError:
        return True
    return False


def _arguments_text(outcome: ToolOutcome) -> str:
    if _unreadable_arguments(outcome):
        return outcome.arguments_json
    return ", ".join(f"{k}={_json(v)}" for k, v in outcome.arguments.items())


def _result_text(outcome: ToolOutcome) -> str:
    if outcome.error is not None:
        return "⚠ " + outcome.error
    if isinstance(outcome.result, str):
        return _json(outcome.result)
    return outcome.content


def summarize_call(outcome: ToolOutcome) -> str:
    """``🔧 get_weather(city="Oslo") → "12°C, rain" · 0.02 s``, clipped to one short line.

    An MCP server's tool says which server ran it: ``🔌 files/read_file(...) → ...``.
    """
    icon = "🌐" if outcome.server_side else "🔌" if outcome.server else "🔧"
    name = f"{outcome.server}/{outcome.name}" if outcome.server else outcome.name
    args = _short(_arguments_text(outcome), _ARGS_CHARS)
    limit = _RESULT_CHARS if outcome.error is None else _ERROR_CHARS
    line = f"{icon} {name}({args}) → {_short(_result_text(outcome), limit)}"
    if outcome.seconds is not None:
        seconds = outcome.seconds
        line += f" · {seconds:.2f} s" if seconds < 10 else f" · {seconds:.1f} s"
    return line


def _fenced(text: str, language: str) -> str:
    longest = max((len(run) for run in _BACKTICKS.findall(text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{language}\n{text}\n{fence}"


def _pretty(content: str) -> tuple[str, str]:
    """``(text, language)``: JSON re-indented for reading, anything else as text."""
    try:
        return json.dumps(json.loads(content), ensure_ascii=False, indent=2), "json"
    except ValueError:
        return content, "text"  # clipped JSON, or plain text


def call_markdown(outcome: ToolOutcome) -> str:
    """A collapsible ``<details>`` block: the one-line summary, then arguments and result."""
    if _unreadable_arguments(outcome):
        args_block = _fenced(outcome.arguments_json, "text")
    else:
        args_block = _fenced(json.dumps(outcome.arguments, ensure_ascii=False, indent=2), "json")
    if outcome.error is not None:
        result_label, result_block = "Error", _fenced(outcome.error, "text")
    elif isinstance(outcome.result, str):
        result_label, result_block = "Result", _fenced(outcome.content, "text")
    else:
        result_label, result_block = "Result", _fenced(*_pretty(outcome.content))
    summary = html.escape(summarize_call(outcome), quote=False)
    return (
        f"<details><summary>{summary}</summary>\n\n"
        f"Arguments:\n\n{args_block}\n\n{result_label}:\n\n{result_block}\n\n</details>\n"
    )


# ---- Groq's server-side tools ----------------------------------------------------------------


def _plain(value: Any) -> Any:
    """A pydantic model (the client's lenient models, the SDK's) as plain data."""
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        return dump(mode="json", exclude_none=True)
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _executed_arguments(raw: Any) -> tuple[dict[str, Any], str]:
    if isinstance(raw, Mapping):
        return dict(raw), json.dumps(raw, ensure_ascii=False)
    text = raw if isinstance(raw, str) else ""
    try:
        parsed = json.loads(text) if text.strip() else {}
    except ValueError:
        parsed = None
    return (parsed if isinstance(parsed, dict) else {"input": text}), text


def _executed_result(entry: Mapping[str, Any]) -> Any:
    """The tool's ``output``; else what it found (search hits, code output, pages)."""
    output = entry.get("output")
    if output:
        return output
    search = entry.get("search_results")
    if isinstance(search, Mapping) and search.get("results"):
        return [
            {k: hit.get(k) for k in ("title", "url") if hit.get(k)}
            for hit in search["results"]
            if isinstance(hit, Mapping)
        ]
    for key in ("code_results", "browser_results"):
        if entry.get(key):
            return entry[key]
    return output


def executed_tool_outcomes(executed_tools: Iterable[Any] | None) -> list[ToolOutcome]:
    """Groq's ``executed_tools`` (message or stream deltas, dicts or models) as outcomes.

    Entries with the same ``index`` are one tool: in a stream the first delta carries
    the arguments and a later one the output, so later non-null fields win.
    """
    merged: dict[Any, dict[str, Any]] = {}
    for n, item in enumerate(executed_tools or ()):
        index = field_of(item, "index")
        slot = merged.setdefault(index if index is not None else f"#{n}", {})
        for key in (
            "type",
            "arguments",
            "output",
            "search_results",
            "code_results",
            "browser_results",
        ):
            value = field_of(item, key)
            if value is not None:
                slot[key] = _plain(value)
    outcomes = []
    for n, (index, entry) in enumerate(merged.items()):
        arguments, arguments_json = _executed_arguments(entry.get("arguments"))
        result = _executed_result(entry)
        outcomes.append(
            ToolOutcome(
                id=f"executed_{index if isinstance(index, int) else n}",
                name=str(entry.get("type") or "tool"),
                arguments=arguments,
                result=result,
                content="" if result is None else result_content(result),
                error=None,
                seconds=None,
                arguments_json=arguments_json,
                server_side=True,
            )
        )
    return outcomes
