"""The notebook path through the magic: every display message recorded and checked.

The shell is made to look like ipykernel's (its class is named ZMQInteractiveShell), so the
magic's own ``choose_sink`` picks the NotebookSink; IPython's real ``display`` then publishes
through the recording publisher.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from keys import FAKE_KEY
from magic_helpers import (
    FirstDelta,
    assert_clean,
    interrupt_when,
    payload_bytes,
    stalling_stream,
    stream,
)
from scripted_server import chunk_events, error_reply, sse_reply

from groq_magic.render import NotebookSink


def displays_of(run: Any) -> tuple[str, list[dict[str, Any]]]:
    """The one display id of the run and its messages; asserts they all share it."""
    messages = [m for m in run.displays if "data" in m]
    assert messages, "nothing was displayed"
    first = messages[0]
    assert first["update"] is False
    display_id = first["transient"]["display_id"]
    assert all(m["transient"] == {"display_id": display_id} for m in messages)
    assert all(m["update"] for m in messages[1:])
    assert not [m for m in run.displays if m.get("clear_output")]
    return display_id, messages


def test_answer_is_shown_once_with_its_status_line(notebook: Any) -> None:
    notebook.server.enqueue(stream(["The answer ", "is ", "42."]))
    run = notebook.run("%%groq\nWhat is it?", cell_id="nb1")
    assert run.error is None, run.err
    _, messages = displays_of(run)
    assert messages[0]["data"]["text/markdown"].endswith("waiting…*")
    final = messages[-1]["data"]
    markdown = final["text/markdown"]
    assert markdown.startswith("The answer is 42.\n\n*")
    assert markdown.count("The answer is 42.") == 1
    assert "llama\\-3.3\\-70b\\-versatile" in markdown or "llama-3.3-70b-versatile" in markdown
    assert "18 → 3 tokens" in markdown
    assert final["text/plain"].startswith("The answer is 42.")
    assert "stop" in final["text/plain"].splitlines()[-1]
    # No execute_result: the displayhook formats nothing for the already shown result.
    assert "The answer is 42." not in run.out
    assert "ChatResult" not in run.out
    assert run.err == ""
    result = notebook.ns["_groq"]
    assert run.result is result
    assert result.text == "The answer is 42."


def test_the_result_shows_normally_in_a_later_cell(notebook: Any) -> None:
    notebook.server.enqueue(stream(["Shown ", "later."]))
    assert notebook.run("%%groq -o r\nq", cell_id="nb2").error is None
    later = notebook.run("r", cell_id="nb3")
    shown = later.out + json.dumps([m.get("data") for m in later.displays])
    assert "Shown later." in shown


def test_updates_are_throttled_on_a_real_clock(notebook: Any) -> None:
    pieces = [f"w{i} " for i in range(400)]
    notebook.server.enqueue(stream(pieces))
    run = notebook.run("%%groq\nmany words", cell_id="nb4")
    assert run.error is None, run.err
    _, messages = displays_of(run)
    assert len(messages) < 60
    assert messages[-1]["data"]["text/markdown"].startswith("".join(pieces).rstrip())


class SteppedClock:
    """A clock that moves ``step`` seconds each time a fragment arrives (not when read)."""

    def __init__(self, step: float) -> None:
        self.now = 1000.0
        self.step = step

    def __call__(self) -> float:
        return self.now


def notebook_sink_with(clock: SteppedClock) -> Callable[[Any], NotebookSink]:
    """A ``choose_sink`` replacement: the real NotebookSink on ``clock``."""

    class SteppedSink(NotebookSink):
        def delta(self, text: str) -> None:
            clock.now += clock.step
            super().delta(text)

    return lambda shell: SteppedSink(clock=clock)


@pytest.mark.parametrize("tokens_per_second", [5000, 1000, 50])
def test_5000_token_stream_updates_and_bytes(
    notebook: Any, monkeypatch: pytest.MonkeyPatch, tokens_per_second: int
) -> None:
    import groq_magic.render as render

    clock = SteppedClock(1 / tokens_per_second)
    monkeypatch.setattr(render, "choose_sink", notebook_sink_with(clock))
    words = ["alpha ", "beta ", "gamma ", "δέλτα ", "ε ", "zeta\n", "`eta` ", "θ "]
    pieces = [words[i % len(words)] for i in range(5000)]
    answer = "".join(pieces)
    notebook.server.enqueue(sse_reply(chunk_events(pieces)))  # no delay: full speed
    run = notebook.run("%%groq\nWrite 5000 tokens.", cell_id="big")
    assert run.error is None, run.err
    _, messages = displays_of(run)
    final = messages[-1]
    assert final["data"]["text/markdown"].startswith(answer.rstrip())
    streamed = messages[1:-1]
    seconds = 5000 / tokens_per_second
    total = sum(payload_bytes(m) for m in messages)
    final_size = payload_bytes(final)
    with notebook.capsys.disabled():
        print(
            f"\n{tokens_per_second} tok/s: {len(messages)} messages "
            f"({len(streamed)} streaming updates over {seconds:.1f} s), "
            f"{total} bytes = {total / final_size:.1f}x the final {final_size}"
        )
    # At most ~20 updates a second (plus the first), and never more than the growth allows.
    assert len(streamed) <= 20 * seconds + 2
    assert len(streamed) <= 60
    assert total <= 20 * final_size
    # Every streaming update is a prefix of the answer (Markdown only, no status yet).
    for message in streamed:
        assert set(message["data"]) == {"text/markdown"}
        assert answer.startswith(message["data"]["text/markdown"])
    assert notebook.ns["_groq"].text == answer


def test_failure_empties_the_display_and_is_one_line(notebook: Any) -> None:
    notebook.server.enqueue(error_reply(401, "Invalid API Key", code="invalid_api_key"))
    run = notebook.run("%%groq\nhi", cell_id="nbf")
    line = run.usage_error
    assert "401" in line
    _, messages = displays_of(run)
    assert messages[-1]["data"] == {}
    assert_clean(run.everything)


def test_invalid_json_prints_the_failed_generation_once(notebook: Any) -> None:
    notebook.server.enqueue(stream(['{"a": ', "oops"]))
    run = notebook.run("%%groq --json\nJSON please", cell_id="nbj")
    assert "JSON" in run.usage_error
    assert "failed generation:" in run.out
    assert run.out.count('{"a": oops') == 1
    _, messages = displays_of(run)
    assert messages[-1]["data"] == {}  # the display was emptied; the text is printed
    assert notebook.turns() == []


def test_interrupt_in_the_notebook_keeps_the_partial_answer_in_the_display(
    notebook: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    spy = FirstDelta(monkeypatch)
    notebook.server.enqueue(stalling_stream(["Once ", "upon"]))
    thread = interrupt_when(spy.arrived, [])
    run = notebook.run("%%groq\nstory", cell_id="nbi")
    thread.join(1)
    assert run.error is None, run.err
    assert "Traceback" not in run.out + run.err
    _, messages = displays_of(run)
    final = messages[-1]["data"]
    assert final["text/markdown"].startswith("Once upon")
    assert final["text/markdown"].rstrip().endswith("interrupted*")
    # The footer says it; the magic prints no second line in the notebook.
    assert "interrupted" not in run.out
    assert notebook.ns["_groq"].status == "interrupted"
    assert notebook.turns()[-1].status == "interrupted"


# -- key hygiene -----------------------------------------------------------------------


def test_the_key_never_appears_anywhere(
    notebook: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Scan every output of a varied session for the fake key."""
    from pydantic import BaseModel

    class Item(BaseModel):
        name: str

    notebook.ns["Item"] = Item
    server = notebook.server
    server.enqueue(stream(["Hello ", "there."]))
    server.enqueue(error_reply(401, f"Invalid API Key {FAKE_KEY}", code="invalid_api_key"))
    server.enqueue(stream(['{"name": "x"}']))
    server.enqueue(stream(["not json"]))
    server.enqueue(error_reply(400, "bad", code="json_validate_failed", failed_generation="{"))
    server.enqueue(stream(["again"]))
    path = tmp_path / "history.json"
    cells = [
        "%%groq -o first\nhi",
        "%%groq\nthis one fails",
        "%%groq --schema Item\nan item",
        "%%groq --json\nbad json",
        "%%groq --json\nserver-side bad json",
        "%groq retry",
        "%groq history",
        "%groq config",
        "%groq chats",
        "%groq system",
        f"%groq save {path}",
        "%groq use nosuch",
        f"%groq load {tmp_path / 'missing.json'}",
        "first",
        "print(repr(first)); print(str(first)); print(first.request)",
    ]
    for index, cell in enumerate(cells):
        notebook.run(cell, cell_id=f"k{index}")
    # The server did get the key, in the header only.
    assert server.requests[0].headers["authorization"] == f"Bearer {FAKE_KEY}"
    assert all(FAKE_KEY not in r.body.decode() for r in server.requests)
    texts = [run.everything for run in notebook.runs]
    first = notebook.ns["first"]
    texts += [repr(first), str(first), first._repr_markdown_() or "", json.dumps(first.request)]
    texts += [repr(notebook.ns["_groq"]), path.read_text(encoding="utf-8")]
    texts += [notebook.history_json(), repr(notebook.session.store.current)]
    assert_clean(*texts)
    assert "authorization" not in json.dumps(first.request).lower()
    errors = [run.err for run in notebook.runs if run.err]
    assert len(errors) >= 4  # the failures above were reported, as clean one-liners
    # The 401 body echoed the key; the client redacts it before it reaches the line.
    assert any("401" in e for e in errors)


def test_key_hygiene_in_the_terminal_path(groq: Any) -> None:
    groq.server.enqueue(stream(["plain"]))
    groq.server.enqueue(error_reply(401, f"Invalid API Key {FAKE_KEY}", code="invalid_api_key"))
    groq.run("%%groq\nhi", cell_id="t1")
    groq.run("%%groq\nfail", cell_id="t2")
    groq.run("%groq history", cell_id="t3")
    groq.run("%groq config", cell_id="t4")
    assert_clean(*(run.everything for run in groq.runs), repr(groq.ns["_groq"]))
    assert "401" in groq.runs[1].err
