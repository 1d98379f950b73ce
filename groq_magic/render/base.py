"""The sink protocol as seen from ``render``: the status line and two trivial sinks.

The protocol and its data (``StreamSink``, ``TurnMeta``, ``TurnSummary``) are defined
once, in :mod:`groq_magic.chat.sink`, so the engine depends on nothing above it; they
are re-exported here for the sinks' users. The engine calls, in order::

    sink.start(TurnMeta(...))          # once, before the request
    sink.delta(text)                   # zero or more times, each new fragment
    sink.finish(TurnSummary(...))      # the turn ended: complete, interrupted or incomplete
    # or, instead of finish:
    sink.fail(message)                 # the request failed; the caller reports ``message``

Sinks also carry ``shows_answer``: True when, after ``finish``, the sink's own output
*is* the answer's final output, so the magic must not display the result again (see
:mod:`groq_magic.render.notebook`). Callers read it with ``getattr(sink,
"shows_answer", False)`` since the engine's ``NullSink`` does not define it.
"""

from __future__ import annotations

from groq_magic._text import cost_text, one_line
from groq_magic.chat.sink import NullSink, StreamSink, TurnMeta, TurnStatus, TurnSummary

__all__ = [
    "NullSink",
    "StreamSink",
    "TurnMeta",
    "TurnStatus",
    "TurnSummary",
    "one_line",
    "status_line",
]

# The separator between the parts of the status line.
_SEP = " · "


def _seconds(value: float) -> str:
    return f"{value:.2f} s" if value < 10 else f"{value:.1f} s"


def _rate(value: float) -> str:
    return f"{value:.1f} tok/s" if value < 10 else f"{value:.0f} tok/s"


def _tokens(prompt: int | None, completion: int | None) -> str | None:
    if prompt is not None and completion is not None:
        return f"{prompt} → {completion} tokens"
    if completion is not None:
        return f"{completion} tokens"
    if prompt is not None:
        return f"{prompt} prompt tokens"
    return None


def _prompt_cache(summary: TurnSummary) -> str:
    """``1024 cached, saved $0.000030``: what Groq's prompt cache served, and saved."""
    text = f"{summary.cached_tokens} cached"
    if summary.saved:
        text += f", saved {cost_text(summary.saved)}"
    return text


def status_line(summary: TurnSummary) -> str:
    """One line such as ``model · TTFT 0.12 s · 812 tok/s · 45 → 210 tokens · stop``.

    Reasoning tokens, prompt tokens served from Groq's prompt cache (and the money
    that saved), the ``--context`` size, images sent and tool calls are added when
    there are any (``45 → 210 tokens (120 reasoning) (32 cached, saved $0.000002) ·
    context ~312 tokens · 2 images · 3 tool calls``), and the cost
    when it is to be shown (``$0.000182``, ``cost unknown``). A replayed answer says
    ``cached`` and shows no timings: nothing was timed, so the line is the same
    every time it is replayed.

    Unknown parts are left out. A turn that did not complete says so at the end
    (``· interrupted``, or ``· incomplete: <error>``), after any finish reason.
    """
    parts: list[str] = []
    if summary.model:
        parts.append(summary.model)
    if summary.cached:
        parts.append("cached")
    if summary.time_to_first_token is not None and not summary.cached:
        parts.append(f"TTFT {_seconds(summary.time_to_first_token)}")
    if summary.tokens_per_second is not None and not summary.cached:
        parts.append(_rate(summary.tokens_per_second))
    tokens = _tokens(summary.prompt_tokens, summary.completion_tokens)
    if tokens and summary.reasoning_tokens:
        tokens += f" ({summary.reasoning_tokens} reasoning)"
    if tokens and summary.cached_tokens and not summary.cached:
        tokens += f" ({_prompt_cache(summary)})"
    if tokens:
        parts.append(tokens)
    if summary.context_tokens:
        parts.append(f"context ~{summary.context_tokens:,} tokens")
    if summary.images:
        parts.append(f"{summary.images} image{'s' if summary.images != 1 else ''}")
    if summary.tool_calls:
        parts.append(f"{summary.tool_calls} tool call{'s' if summary.tool_calls != 1 else ''}")
    parts.extend(getattr(summary, "extra", ()))
    if summary.show_cost:
        parts.append("cost unknown" if summary.cost is None else cost_text(summary.cost))
    if summary.finish_reason:
        parts.append(summary.finish_reason)
    if summary.status != "complete":
        parts.append(
            f"{summary.status}: {one_line(summary.error, 300)}" if summary.error else summary.status
        )
    elif summary.error:
        parts.append(f"error: {one_line(summary.error, 300)}")
    return _SEP.join(parts)
