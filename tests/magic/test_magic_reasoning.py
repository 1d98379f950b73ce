"""Reasoning, live: ``delta.reasoning`` and inline ``<think>`` blocks through real cells.

The thinking streams into a section above the answer, open while it arrives and
collapsed once the answer starts; it is ``ChatResult.reasoning`` and history's
``Turn.reasoning``, counted in the status line, and never sent back. The inline
split is checked at every chunk boundary of one example through ``run_turn`` over
an in-memory transport (the real client and SSE parser, no sockets), so it is fast.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from keys import FAKE_KEY
from magic_helpers import payload_bytes, sent
from scripted_server import Reply, chunk_events, completion_body, sse_bytes, sse_reply
from turn_replies import answer_stream, tool_stream

from groq_magic.chat import ChatOptions, Conversation
from groq_magic.chat.engine import run_turn
from groq_magic.chat.prepare import prepare_turn
from groq_magic.chat.sink import ToolNote, TurnMeta, TurnSummary
from groq_magic.client import Groq

REASONING_MODEL = "qwen/qwen3-32b"
THOUGHT = ["The user ", "wants a ", "colour. ", "Blue is ", "calm."]
ANSWER = ["Blue", " is a", " good one."]


def usage(reasoning_tokens: int) -> dict[str, Any]:
    return {
        "prompt_tokens": 12,
        "completion_tokens": 40,
        "total_tokens": 52,
        "completion_time": 0.1,
        "completion_tokens_details": {"reasoning_tokens": reasoning_tokens},
    }


def thinking_reply(*, delay: float = 0.0) -> Reply:
    """A stream with ``delta.reasoning`` first, then the answer (reasoning_format parsed)."""
    events = chunk_events(
        ANSWER, reasoning_pieces=THOUGHT, model=REASONING_MODEL, x_groq_usage=usage(30)
    )
    return sse_reply(events, delay=delay)


def markdown_of(message: dict[str, Any]) -> str:
    return str(message.get("data", {}).get("text/markdown", ""))


def status_of(run: Any, model: str = REASONING_MODEL) -> str:
    [line] = [line for line in run.out.splitlines() if line.startswith(f"{model} · ")]
    return line


# -- delta.reasoning --------------------------------------------------------------------------


def test_thinking_shows_open_above_the_answer_then_collapses(notebook: Any) -> None:
    # 60 ms between chunks: every one passes the display throttle, so each stage is seen.
    notebook.server.enqueue(thinking_reply(delay=0.06))
    run = notebook.run(f"%%groq -m {REASONING_MODEL}\nName a colour.")
    assert run.error is None, run.err
    shown = [markdown_of(m) for m in run.displays]
    open_ = "<details open><summary>💭 thinking…</summary>"
    closed = "<details><summary>💭 thought (8 words)</summary>"
    thinking = [i for i, md in enumerate(shown) if md.startswith(open_)]
    answering = [i for i, md in enumerate(shown) if md.startswith(closed)]
    assert thinking, shown
    assert answering, shown
    # Open while it streams, and growing; collapsed from the first word of the answer on.
    assert max(thinking) < min(answering)
    assert shown[thinking[0]] != shown[thinking[-1]]
    for i in thinking:
        assert shown[i].split("</details>", 1)[1].strip() == ""  # no answer yet
    for i in answering:
        assert shown[i].split("</details>", 1)[1].strip().startswith("Blue")
    final = shown[-1]
    assert final.startswith(f"{closed}\n\nThe user wants a colour. Blue is calm.\n\n</details>")
    assert "\n\nBlue is a good one.\n\n*" in final
    assert "12 → 40 tokens (30 reasoning)" in final
    result = notebook.ns["_groq"]
    assert result.text == "Blue is a good one."
    assert result.reasoning == "The user wants a colour. Blue is calm."


def test_the_terminal_shows_thinking_then_the_answer(groq: Any) -> None:
    groq.server.enqueue(thinking_reply())
    run = groq.run(f"%%groq -m {REASONING_MODEL}\nName a colour.")
    assert run.error is None, run.err
    assert run.out.startswith("💭 The user wants a colour. Blue is calm.\n\nBlue is a good one.\n")
    assert "12 → 40 tokens (30 reasoning)" in status_of(run)


def test_reasoning_is_kept_in_history_and_never_sent_back(groq: Any) -> None:
    groq.server.enqueue(thinking_reply())
    assert groq.run(f"%%groq -m {REASONING_MODEL}\nName a colour.").error is None
    [turn] = groq.turns()
    assert turn.reasoning == "The user wants a colour. Blue is calm."
    assert turn.answer == "Blue is a good one."
    groq.server.enqueue(answer_stream("Green.", model=REASONING_MODEL))
    assert groq.run(f"%%groq -m {REASONING_MODEL}\nAnother?").error is None
    messages = sent(groq.server)["messages"]
    assert messages == [
        {"role": "user", "content": "Name a colour."},
        {"role": "assistant", "content": "Blue is a good one."},
        {"role": "user", "content": "Another?"},
    ]
    assert "calm" not in json.dumps(sent(groq.server))


def test_a_non_streamed_answer_with_reasoning(groq: Any) -> None:
    body = completion_body("Blue is a good one.", model=REASONING_MODEL, reasoning="Blue is calm.")
    body["usage"] = usage(9)
    groq.server.enqueue(Reply(headers={"content-type": "application/json"}, json=body))
    run = groq.run(f"%%groq -m {REASONING_MODEL} --no-stream\nName a colour.")
    assert run.error is None, run.err
    assert run.result.reasoning == "Blue is calm."
    assert run.result.text == "Blue is a good one."
    assert run.out.startswith("💭 Blue is calm.\n\nBlue is a good one.\n")
    assert "(9 reasoning)" in status_of(run)


def test_a_stopped_thought_is_kept_as_reasoning(groq: Any) -> None:
    """max_tokens reached inside the thinking: no answer, the thinking still shown and kept."""
    events = chunk_events([], reasoning_pieces=THOUGHT, finish_reason="length")
    groq.server.enqueue(sse_reply(events))
    run = groq.run("%%groq\nThink hard.")
    assert run.error is None, run.err
    assert run.result.text == ""
    assert run.result.reasoning == "The user wants a colour. Blue is calm."
    assert run.out.startswith("💭 The user wants a colour. Blue is calm.")


def test_a_cell_that_thinks_between_tool_rounds_stays_within_the_display_budget(
    notebook: Any,
) -> None:
    def lookup(city: str) -> str:
        return f"12°C in {city}"

    notebook.ns["lookup"] = lookup
    words = [f"word{n} " for n in range(400)]
    calls = [(f"call_{n}", "lookup", f'{{"city": "City{n}"}}') for n in range(3)]
    notebook.server.enqueue(
        tool_stream(calls, reasoning=words, model=REASONING_MODEL),
        sse_reply(chunk_events(words * 3, reasoning_pieces=words, model=REASONING_MODEL)),
    )
    run = notebook.run(f"%%groq -m {REASONING_MODEL} --tools lookup\nLook them up.")
    assert run.error is None, run.err
    final = run.displays[-1]
    sent_bytes = sum(payload_bytes(message) for message in run.displays)
    assert sent_bytes <= 20 * payload_bytes(final), sent_bytes / payload_bytes(final)
    markdown = markdown_of(final)
    assert markdown.count("<details><summary>🔧 lookup(") == 3
    assert markdown.count("<details><summary>💭 thought (800 words)</summary>") == 1
    assert "· 3 tool calls ·" in markdown
    assert notebook.ns["_groq"].reasoning == "".join(words) * 2


# -- knobs ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("flags", "fields"),
    [
        ("--reasoning-effort low", {"reasoning_effort": "low"}),
        ("--reasoning-effort none", {"reasoning_effort": "none"}),
        ("--reasoning-format parsed", {"reasoning_format": "parsed"}),
        (
            "--reasoning-format hidden --reasoning-effort default",
            {"reasoning_format": "hidden", "reasoning_effort": "default"},
        ),
    ],
)
def test_reasoning_knobs_reach_the_request(groq: Any, flags: str, fields: dict[str, str]) -> None:
    groq.server.enqueue(thinking_reply())
    assert groq.run(f"%%groq -m {REASONING_MODEL} {flags}\nName a colour.").error is None
    body = sent(groq.server)
    assert {k: body.get(k) for k in ("reasoning_effort", "reasoning_format") if k in body} == (
        fields
    )
    assert groq.turns()[0].options["reasoning_effort"] == fields.get("reasoning_effort")


def test_reasoning_knobs_from_config(groq: Any) -> None:
    magics = groq.magics
    saved = (magics.reasoning_effort, magics.reasoning_format)
    try:
        assert groq.run('%config GroqMagics.reasoning_effort = "high"').error is None
        assert groq.run('%config GroqMagics.reasoning_format = "raw"').error is None
        groq.server.enqueue(thinking_reply())
        assert groq.run("%%groq\nName a colour.").error is None
        body = sent(groq.server)
        assert (body["reasoning_effort"], body["reasoning_format"]) == ("high", "raw")
        groq.server.enqueue(thinking_reply())
        assert groq.run("%%groq --reasoning-effort low\nAgain.").error is None
        assert sent(groq.server)["reasoning_effort"] == "low"
    finally:
        magics.reasoning_effort, magics.reasoning_format = saved


@pytest.mark.parametrize(
    ("flags", "line"),
    [
        (
            "--reasoning-effort max",
            "--reasoning-effort must be one of none, default, low, medium, high (got 'max')",
        ),
        (
            "--reasoning-format inline",
            "--reasoning-format must be one of parsed, raw, hidden (got 'inline')",
        ),
        ("--reasoning-effort", "argument --reasoning-effort: expected one argument"),
    ],
)
def test_bad_reasoning_values_are_one_line(groq: Any, flags: str, line: str) -> None:
    run = groq.run(f"%%groq {flags}\nName a colour.")
    assert run.usage_error == line
    assert groq.server.requests == []
    assert groq.turns() == []


# -- inline <think> blocks --------------------------------------------------------------------

INLINE = "<think>\nAdd 2 and 2: that is 4.\n</think>\n\nThe answer is 4."
INLINE_REASONING = "\nAdd 2 and 2: that is 4.\n"
INLINE_ANSWER = "The answer is 4."


def test_an_inline_think_block_through_a_cell(notebook: Any) -> None:
    pieces = ["<thi", "nk>\nAdd 2 and 2", ": that is 4.\n</", "think>\n\nThe", " answer is 4."]
    notebook.server.enqueue(sse_reply(chunk_events(pieces), delay=0.06))
    run = notebook.run("%%groq --reasoning-format raw\nWhat is 2+2?")
    assert run.error is None, run.err
    result = notebook.ns["_groq"]
    assert result.text == INLINE_ANSWER
    assert result.reasoning == INLINE_REASONING
    shown = [markdown_of(m) for m in run.displays]
    assert not any("<think>" in md or "</think>" in md for md in shown)
    assert any(md.startswith("<details open><summary>💭 thinking…") for md in shown)
    assert shown[-1].startswith("<details><summary>💭 thought (7 words)</summary>")
    [turn] = notebook.turns()
    assert turn.answer == INLINE_ANSWER
    notebook.server.enqueue(answer_stream("Yes."))
    assert notebook.run("%%groq\nSure?").error is None
    assert sent(notebook.server)["messages"][1] == {"role": "assistant", "content": INLINE_ANSWER}


class RecordingSink:
    """Keeps every call the engine makes, in order."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []

    def start(self, meta: TurnMeta) -> None:
        self.calls.append(("start", meta))

    def delta(self, text: str) -> None:
        self.calls.append(("delta", text))

    def reasoning(self, text: str) -> None:
        self.calls.append(("reasoning", text))

    def tool(self, note: ToolNote) -> None:
        self.calls.append(("tool", note))

    def finish(self, summary: TurnSummary) -> None:
        self.calls.append(("finish", summary))

    def fail(self, message: str) -> None:
        self.calls.append(("fail", message))

    def joined(self, kind: str) -> str:
        return "".join(payload for name, payload in self.calls if name == kind)


def splits(text: str) -> Iterator[list[str]]:
    """Every way of cutting ``text`` in two, then in three at a few places, then char by char."""
    for i in range(1, len(text)):
        yield [text[:i], text[i:]]
    for i in range(1, len(text) - 1, 3):
        for j in range(i + 1, len(text), 7):
            yield [text[:i], text[i:j], text[j:]]
    yield list(text)


@pytest.fixture
def memory_client() -> Iterator[tuple[Groq, list[list[str]]]]:
    """A real client over an in-memory transport; each request streams the next script."""
    scripts: list[list[str]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        pieces = scripts.pop(0)
        body = b"".join(sse_bytes(chunk_events(pieces)))
        return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=body)

    client = Groq(
        api_key=FAKE_KEY, base_url="http://memory/v1", transport=httpx.MockTransport(handler)
    )
    yield client, scripts
    client.close()


def test_inline_think_split_at_every_chunk_boundary(
    memory_client: tuple[Groq, list[list[str]]],
) -> None:
    client, scripts = memory_client
    cases = list(splits(INLINE))
    assert len(cases) > len(INLINE)
    for pieces in cases:
        scripts.append(pieces)
        conversation = Conversation()
        prep = prepare_turn(ChatOptions.parse(), "What is 2+2?", None, conversation)
        sink = RecordingSink()
        result = run_turn(prep, client, sink)
        assert (result.reasoning, result.text) == (INLINE_REASONING, INLINE_ANSWER), pieces
        assert sink.joined("reasoning") == INLINE_REASONING, pieces
        assert sink.joined("delta") == INLINE_ANSWER, pieces
        kinds = [name for name, _ in sink.calls]
        # Thinking first, then the answer: never interleaved, never a tag shown.
        assert kinds[0] == "start"
        assert kinds[-1] == "finish"
        middle = kinds[1:-1]
        assert middle == sorted(middle, key=lambda kind: kind == "delta"), pieces
        assert all("<" not in str(payload) for name, payload in sink.calls if name == "delta")
        [turn] = conversation.turns
        assert (turn.answer, turn.reasoning) == (INLINE_ANSWER, INLINE_REASONING)
    assert scripts == []


def test_text_without_think_blocks_is_passed_through_at_every_boundary(
    memory_client: tuple[Groq, list[list[str]]],
) -> None:
    """Nothing is held back or changed when there is no block, even around a lone '<'."""
    client, scripts = memory_client
    text = "  a < b, and <thinking> is not a tag </think"
    for i in range(1, len(text)):
        scripts.append([text[:i], text[i:]])
        sink = RecordingSink()
        prep = prepare_turn(ChatOptions.parse(), "Compare.", None, Conversation())
        result = run_turn(prep, client, sink)
        assert (result.text, result.reasoning) == (text, None), i
        assert sink.joined("delta") == text
        assert sink.joined("reasoning") == ""
