"""History through the magic: re-run cells replace their turn, failures change nothing,
an interrupt keeps the partial answer, saved files are safe."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest
from keys import FAKE_KEY
from magic_helpers import FirstDelta, assert_clean, interrupt_when, sent, stalling_stream, stream
from scripted_server import Reply, chunk_events, error_reply, sse_bytes


def chat(groq: Any, prompt: str, answer: str, cell_id: str | None, line: str = "") -> Any:
    groq.server.enqueue(stream([answer]))
    run = groq.run(f"%%groq {line}\n{prompt}", cell_id=cell_id)
    assert run.error is None, run.err
    return run


# -- re-running a cell ---------------------------------------------------------------------


def test_rerun_of_the_same_cell_replaces_its_turn(groq: Any) -> None:
    chat(groq, "Name a colour.", "Red.", "cell-a")
    chat(groq, "Name a colour.", "Blue.", "cell-a")
    turns = groq.turns()
    assert len(turns) == 1
    assert turns[0].answer == "Blue."
    assert turns[0].cell_id == "cell-a"
    contents = [m["content"] for m in sent(groq.server)["messages"]]
    assert "Red." not in contents
    assert [m["role"] for m in sent(groq.server)["messages"]] == ["user"]


def test_rerun_of_an_earlier_cell_replaces_it_in_place(groq: Any) -> None:
    chat(groq, "first", "one", "a")
    chat(groq, "second", "two", "b")
    chat(groq, "first again", "uno", "a")
    turns = groq.turns()
    assert [(t.cell_id, t.answer) for t in turns] == [("a", "uno"), ("b", "two")]
    contents = [m["content"].strip() for m in sent(groq.server)["messages"]]
    assert "one" not in contents
    assert "first" not in contents
    assert contents[-1] == "first again"


def test_rerun_after_an_edit_uses_the_new_prompt(groq: Any) -> None:
    chat(groq, "Draft one", "d1", "edit")
    chat(groq, "Draft two", "d2", "edit")
    assert [t.prompt.strip() for t in groq.turns()] == ["Draft two"]


def test_cells_without_an_id_append(groq: Any) -> None:
    chat(groq, "same", "x", None)
    chat(groq, "same", "y", None)
    assert [t.answer for t in groq.turns()] == ["x", "y"]


def test_rerun_in_a_named_chat_replaces_there_only(groq: Any) -> None:
    chat(groq, "default q", "d", "shared")
    chat(groq, "draft q", "x", "draft-cell", line="-c drafts")
    chat(groq, "draft q", "y", "draft-cell", line="-c drafts")
    assert [t.answer for t in groq.turns("drafts")] == ["y"]
    assert [t.answer for t in groq.turns()] == ["d"]


# -- failed requests -----------------------------------------------------------------------


FAILURES = [
    pytest.param(
        error_reply(401, "Invalid API Key", code="invalid_api_key"),
        ("401", "invalid_api_key", "Invalid API Key", "GROQ_API_KEY"),
        id="401",
    ),
    pytest.param(
        error_reply(
            429,
            "Rate limit reached for model",
            type="tokens",
            code="rate_limit_exceeded",
            headers={"retry-after": "7"},
        ),
        ("429", "rate_limit_exceeded", "Rate limit reached", "wait"),
        id="429",
    ),
    pytest.param(
        error_reply(
            500,
            "Internal server error",
            type="internal_server_error",
            headers={"x-should-retry": "false"},
        ),
        ("500", "Internal server error", "later"),
        id="500-no-retry",
    ),
]


@pytest.mark.parametrize(("reply", "expected"), FAILURES)
def test_failed_request_is_one_line_and_history_is_unchanged(
    groq: Any, reply: Reply, expected: tuple[str, ...]
) -> None:
    chat(groq, "earlier", "kept", "ok-cell")
    groq.session.backend.max_retries = 0  # a 429 is not retried: one request
    groq.session.backend.close()
    before = groq.history_json()
    result_before = groq.ns["_groq"]
    requests_before = len(groq.server.requests)
    groq.server.enqueue(reply)
    run = groq.run("%%groq\nthis fails", cell_id="bad-cell")
    line = run.usage_error
    for part in expected:
        assert part in line, (part, line)
    assert "(" in line  # the hint
    assert groq.history_json() == before
    assert groq.ns["_groq"] is result_before
    assert len(groq.server.requests) == requests_before + 1
    assert_clean(run.everything)


def test_failed_rerun_keeps_the_cells_old_turn(groq: Any) -> None:
    chat(groq, "q", "good answer", "cell-x")
    before = groq.history_json()
    groq.server.enqueue(
        error_reply(500, "boom", type="internal_server_error", headers={"x-should-retry": "false"})
    )
    run = groq.run("%%groq\nq again", cell_id="cell-x")
    assert "500" in run.usage_error
    assert groq.history_json() == before


def test_connection_refused_is_one_line_and_history_is_unchanged(
    groq: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    chat(groq, "earlier", "kept", "c0")
    before = groq.history_json()
    import socket

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("GROQ_BASE_URL", f"http://127.0.0.1:{port}/v1")
    groq.session.backend.max_retries = 0
    groq.session.backend.close()
    run = groq.run("%%groq\nanyone there?", cell_id="c1")
    line = run.usage_error
    assert "connect" in line.lower()
    assert "GROQ_BASE_URL" in line  # the hint
    assert groq.history_json() == before
    assert_clean(run.everything)


def test_broken_stream_keeps_the_partial_answer_marked_incomplete(groq: Any) -> None:
    frames = sse_bytes(chunk_events(["Half ", "an ", "answer"]), done=False)
    groq.server.enqueue(
        Reply(headers={"content-type": "text/event-stream"}, chunks=frames[:3], framing="close")
    )
    run = groq.run("%%groq\ntell me", cell_id="broken")
    assert run.error is None, run.err
    result = groq.ns["_groq"]
    assert result.status == "incomplete"
    assert result.text == "Half an "
    assert "incomplete" in run.out
    turn = groq.turns()[-1]
    assert (turn.answer, turn.status) == ("Half an ", "incomplete")


# -- interrupt -----------------------------------------------------------------------------


def test_interrupt_mid_stream_keeps_the_partial_answer(
    groq: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    chat(groq, "earlier", "kept", "i0")
    spy = FirstDelta(monkeypatch)
    groq.server.enqueue(stalling_stream(["Once ", "upon ", "a time"]))
    sent_at: list[float] = []
    thread = interrupt_when(spy.arrived, sent_at)
    run = groq.run("%%groq\nTell me a long story.", cell_id="story")
    ended = time.perf_counter()
    thread.join(1)
    assert sent_at, "the first fragment never arrived"
    with groq.capsys.disabled():
        print(f"\nSIGINT to end of cell: {(ended - sent_at[0]) * 1000:.0f} ms")
    assert ended - sent_at[0] < 5  # a hang guard only; bench/interrupt_latency.py measures
    assert run.error is None, run.err
    assert "Traceback" not in run.out + run.err
    assert "KeyboardInterrupt" not in run.out + run.err
    result = groq.ns["_groq"]
    assert result.status == "interrupted"
    assert result.text.startswith("Once ")
    interrupted_lines = [line for line in run.out.splitlines() if "interrupted" in line]
    assert len(interrupted_lines) >= 1
    turn = groq.turns()[-1]
    assert turn.status == "interrupted"
    assert turn.answer == result.text
    assert turn.cell_id == "story"
    assert groq.turns()[0].answer == "kept"
    # The client closed the response: the server sees the disconnect.
    assert groq.server.wait_until(lambda: groq.server.client_disconnects >= 1, timeout=5)
    assert groq.server.wait_until(lambda: groq.server.open_connections == 0, timeout=5)
    # The interrupted turn is history for the next cell.
    chat(groq, "go on", "The end.", "next")
    contents = [m["content"].strip() for m in sent(groq.server)["messages"]]
    assert contents[-3:] == ["Tell me a long story.", result.text.strip(), "go on"]


def test_interrupt_prints_exactly_one_interrupted_line(
    groq: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    spy = FirstDelta(monkeypatch)
    groq.server.enqueue(stalling_stream(["Partial"]))
    thread = interrupt_when(spy.arrived, [])
    run = groq.run("%%groq\nlong", cell_id="one-line")
    thread.join(1)
    assert run.error is None, run.err
    lines = (run.out + run.err).splitlines()
    # The terminal shows the plain sink's status line ending in "interrupted", then the
    # magic's one notice, then the result's repr (Out[n]); nothing else, no traceback.
    notices = [line for line in lines if "interrupted:" in line]
    assert len(notices) == 1, lines
    assert "partial answer" in notices[0]
    assert [line for line in lines if line.endswith("· interrupted")], lines
    assert run.err == ""
    assert groq.ns["_groq"].status == "interrupted"


def test_interrupt_before_any_answer_changes_nothing(
    groq: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    chat(groq, "earlier", "kept", "w0")
    before = groq.history_json()
    groq.server.enqueue(Reply(stall_before=3, json={}))
    connected = threading.Event()
    threading.Thread(
        target=lambda: (
            connected.set()
            if groq.server.wait_until(lambda: len(groq.server.requests) == 2, timeout=5)
            else None
        ),
        daemon=True,
    ).start()
    thread = interrupt_when(connected, [])
    run = groq.run("%%groq\nwaiting", cell_id="w1")
    thread.join(1)
    line = run.usage_error
    assert "interrupted" in line
    assert groq.history_json() == before


def test_interrupt_of_a_no_stream_request_changes_nothing(notebook: Any) -> None:
    server = notebook.server
    server.enqueue(stream(["kept"]))
    assert notebook.run("%%groq\nearlier", cell_id="ns0").error is None
    before = notebook.history_json()
    server.enqueue(Reply(stall_before=3, json={}))
    waiting = threading.Event()
    threading.Thread(
        target=lambda: (
            server.wait_until(lambda: len(server.requests) == 2, timeout=5) and waiting.set()
        ),
        daemon=True,
    ).start()
    thread = interrupt_when(waiting, [])
    run = notebook.run("%%groq --no-stream\nslow", cell_id="ns1")
    thread.join(1)
    assert "interrupted" in run.usage_error
    assert notebook.history_json() == before
    messages = [m for m in run.displays if "data" in m]
    assert messages[-1]["data"] == {}  # the "waiting" note is gone


# -- files ---------------------------------------------------------------------------------


def test_saved_history_file_holds_no_key(groq: Any, tmp_path: Path) -> None:
    chat(groq, "q", "a", "k1", line="-t 0.1")
    path = tmp_path / "h.json"
    assert groq.run(f"%groq save {path}").error is None
    text = path.read_text(encoding="utf-8")
    assert_clean(text)
    assert FAKE_KEY not in text
    assert '"temperature": 0.1' in text
