"""The exchange store wired into the product: real ``%%groq`` cells, a real SQLite file.

Every test runs cells in the shared InteractiveShell against the scripted server, with
``GROQ_MAGIC_STORE`` pointing into its own ``tmp_path``, and counts the requests that
reached the server: the replay cache (which fields make a request new, which do not;
failed, incomplete and interrupted answers never served), the record a restart restores
(re-run cells, tool rounds, undo, reset, ``--no-history``), export, cost, the store
turned off, and every bad input of issue 11 as one line with history unchanged.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest
from keys import FAKE_KEY, SECRET_MARKERS
from magic_helpers import FirstDelta, interrupt_when, sent, stalling_stream, stream
from scripted_server import (
    MODEL,
    Reply,
    ScriptedServer,
    chunk_events,
    error_reply,
    sse_bytes,
    sse_reply,
)

STATUS_PREFIX = f"{MODEL} · "


@pytest.fixture
def db(groq: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The store file of this test (``GROQ_MAGIC_STORE``), the session built afresh on it."""
    path = tmp_path / "store" / "exchanges.sqlite"
    monkeypatch.setenv("GROQ_MAGIC_STORE", str(path))
    groq.fresh_session()
    yield path
    groq.session.close()


def chats_sent(groq: Any) -> int:
    return sum(1 for r in groq.server.requests if r.path.endswith("/chat/completions"))


def status_of(run: Any) -> str:
    """The status line a plain-text cell printed under its answer."""
    [line] = [line for line in run.out.splitlines() if line.startswith(STATUS_PREFIX)]
    return line


def restart(groq: Any) -> None:
    """What a kernel restart leaves: a new session, nothing in memory, the same store file."""
    groq.session.close()
    groq.fresh_session()
    assert groq.turns() == []


def cell(groq: Any, source: str, answer: str = "Blue.", cell_id: str | None = None) -> Any:
    """Run one cell that is answered by the server with ``answer`` (if it asks)."""
    groq.server.enqueue(stream([answer]))
    run = groq.run(source, cell_id=cell_id)
    assert run.error is None, run.err
    return run


def rows(path: Path, sql: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(path) as conn:
        return conn.execute(sql).fetchall()


# -- the replay cache --------------------------------------------------------------------


def test_a_cached_cell_is_replayed_with_no_request(groq: Any, db: Path) -> None:
    first = cell(groq, "%%groq --cache\nName a colour.", "Blue.", "c1")
    assert chats_sent(groq) == 1
    assert groq.ns["_groq"].cached is False
    assert "cached" not in status_of(first)

    again = groq.run("%%groq --cache\nName a colour.", cell_id="c1")  # re-run: the same request
    assert again.error is None, again.err
    assert chats_sent(groq) == 1
    result = groq.ns["_groq"]
    assert result.cached is True
    assert result.text == "Blue."
    assert result.cost == 0.0
    assert status_of(again) == f"{MODEL} · cached · 18 → 1 tokens · stop"
    # The replayed turn took the re-run cell's place in history, as a sent one would.
    assert [t.answer for t in groq.turns()] == ["Blue."]


def test_config_cache_turns_the_cache_on_for_every_cell(groq: Any, db: Path) -> None:
    assert groq.run("%config GroqMagics.cache = True").error is None
    cell(groq, "%%groq --no-history\nName a colour.")
    assert groq.run("%%groq --no-history\nName a colour.").error is None
    assert chats_sent(groq) == 1
    assert groq.ns["_groq"].cached is True


def test_without_cache_the_same_request_is_sent_again(groq: Any, db: Path) -> None:
    cell(groq, "%%groq --no-history\nName a colour.")
    cell(groq, "%%groq --no-history\nName a colour.")
    assert chats_sent(groq) == 2
    assert groq.ns["_groq"].cached is False


def _weather(city: str) -> str:
    """The weather in a city.

    Args:
        city: the city
    """
    return f"rain in {city}"


def _picture(tmp_path: Path) -> Path:
    from PIL import Image

    path = tmp_path / "dot.png"
    Image.new("RGB", (4, 4), (200, 30, 30)).save(path)
    return path


# Each entry changes one field of an otherwise identical --cache --no-history request.
CHANGES = {
    "model": "-m llama-3.1-8b-instant",
    "messages": None,  # another prompt
    "temperature": "-t 0.7",
    "seed": "--seed 7",
    "tools": "--tools weather",
    "images": "--image {picture}",
}


@pytest.mark.parametrize("field", list(CHANGES))
def test_each_field_of_the_request_changes_the_cache_key(
    groq: Any, db: Path, tmp_path: Path, field: str
) -> None:
    groq.ns["weather"] = _weather
    base = "%%groq --cache --no-history -t 0.2 --seed 1"
    cell(groq, f"{base}\nName a colour.", "Blue.")
    assert groq.run(f"{base}\nName a colour.").error is None  # unchanged: replayed
    assert chats_sent(groq) == 1
    flags = CHANGES[field]
    prompt = "Name a fruit." if flags is None else "Name a colour."
    line = base if flags is None else f"{base} {flags.format(picture=_picture(tmp_path))}"
    cell(groq, f"{line}\n{prompt}", "Red.")
    assert chats_sent(groq) == 2, f"changing {field} must send a new request"
    assert groq.ns["_groq"].cached is False
    assert groq.ns["_groq"].text == "Red."


def test_another_server_is_another_question(groq: Any, db: Path) -> None:
    cell(groq, "%%groq --cache --no-history\nName a colour.")
    with ScriptedServer() as other:
        other.enqueue(stream(["Green."]))
        assert groq.run(f'%config GroqMagics.base_url = "{other.base_url}"').error is None
        run = groq.run("%%groq --cache --no-history\nName a colour.")
        assert run.error is None, run.err
        assert len(other.requests) == 1
        assert groq.ns["_groq"].text == "Green."
        # Back on the first server, its own answer is replayed.
        assert groq.run(f'%config GroqMagics.base_url = "{groq.server.base_url}"').error is None
        assert groq.run("%%groq --cache --no-history\nName a colour.").error is None
    assert groq.ns["_groq"].text == "Blue."
    assert chats_sent(groq) == 1


def test_another_key_is_the_same_question(
    groq: Any, db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cell(groq, "%%groq --cache --no-history\nName a colour.")
    monkeypatch.setenv("GROQ_API_KEY", "gsk_another_key_0000000000")
    assert groq.run("%%groq --cache --no-history\nName a colour.").error is None
    assert chats_sent(groq) == 1
    assert groq.ns["_groq"].cached is True


def test_a_failed_request_is_never_served(groq: Any, db: Path) -> None:
    assert groq.run("%config GroqMagics.max_retries = 0").error is None
    groq.server.enqueue(error_reply(400, "bad things", code="invalid_request"))
    assert groq.run("%%groq --cache --no-history\nName a colour.").error is not None
    cell(groq, "%%groq --cache --no-history\nName a colour.", "Blue.")
    assert chats_sent(groq) == 2
    assert groq.ns["_groq"].text == "Blue."
    assert rows(db, "SELECT status FROM exchanges ORDER BY id") == [("error",), ("complete",)]


def test_an_incomplete_answer_is_never_served(groq: Any, db: Path) -> None:
    frames = sse_bytes(chunk_events(["Half ", "an answer"]), done=False)[:2]
    groq.server.enqueue(Reply(headers={"content-type": "text/event-stream"}, chunks=frames))
    run = groq.run("%%groq --cache --no-history\nName a colour.")
    assert run.error is None, run.err
    assert groq.ns["_groq"].status == "incomplete"
    cell(groq, "%%groq --cache --no-history\nName a colour.", "Blue.")
    assert chats_sent(groq) == 2
    assert groq.ns["_groq"].text == "Blue."


def test_an_interrupted_answer_is_never_served(
    groq: Any, db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spy = FirstDelta(monkeypatch)
    groq.server.enqueue(stalling_stream(["Once ", "upon"]))
    thread = interrupt_when(spy.arrived, [])
    run = groq.run("%%groq --cache --no-history\nTell a story.")
    thread.join(5)
    assert run.error is None, run.err
    assert groq.ns["_groq"].status == "interrupted"
    cell(groq, "%%groq --cache --no-history\nTell a story.", "The end.")
    assert chats_sent(groq) == 2
    assert groq.ns["_groq"].text == "The end."
    statuses = rows(db, "SELECT status FROM exchanges ORDER BY id")
    assert statuses == [("interrupted",), ("complete",)]


def test_a_compare_is_replayed_and_its_table_has_a_cost_column(groq: Any, db: Path) -> None:
    pytest.importorskip("pandas")
    for answer in ("Cold.", "Warm."):
        groq.server.enqueue(stream([answer]))
    first = groq.run("%%groq --cache -t 0,1\nName a colour.")
    assert first.error is None, first.err
    table = groq.ns["_groq"]
    assert "cost" in table.columns
    assert table["cost"].notna().all()
    assert (table["cost"] > 0).all()
    again = groq.run("%%groq --cache -t 0,1\nName a colour.")
    assert again.error is None, again.err
    assert chats_sent(groq) == 2
    replayed = groq.ns["_groq"]
    assert sorted(replayed["text"]) == ["Cold.", "Warm."]
    assert list(replayed["cost"]) == [0.0, 0.0]
    assert groq.turns() == []  # compares never touch history, replayed or not


# -- cost --------------------------------------------------------------------------------


def test_show_cost_puts_the_cells_cost_in_its_status_line(groq: Any, db: Path) -> None:
    run = cell(groq, "%%groq\nName a colour.")
    assert "$" not in status_of(run)
    assert groq.ns["_groq"].cost == pytest.approx((18 * 0.59 + 1 * 0.79) / 1e6)
    assert groq.run("%config GroqMagics.show_cost = True").error is None
    run = cell(groq, "%%groq\nName a colour.")
    assert status_of(run).endswith(" · 18 → 1 tokens · $0.000011 · stop")


def test_an_unknown_models_cost_shows_as_unknown(groq: Any, db: Path) -> None:
    assert groq.run("%config GroqMagics.show_cost = True").error is None
    groq.server.enqueue(sse_reply(chunk_events(["Hi."], model="mystery-model")))
    run = groq.run("%%groq -m mystery-model\nHello")
    assert run.error is None, run.err
    assert groq.ns["_groq"].cost is None
    assert "cost unknown" in run.out
    usage = {r["model"]: r for r in groq.run("%groq usage").result.rows}
    assert usage["mystery-model"]["cost"] == "unknown"


def test_usage_sums_tokens_and_cost_per_model(groq: Any, db: Path) -> None:
    cell(groq, "%%groq\nOne", "A.")
    cell(groq, "%%groq -c other\nTwo", "B.")
    groq.server.enqueue(sse_reply(chunk_events(["Hi."], model="smollm2-135m-instruct")))
    assert groq.run("%%groq -m smollm2-135m-instruct\nThree").error is None
    table = groq.run("%groq usage").result
    by_model = {r["model"]: r for r in table.rows}
    assert by_model[MODEL]["exchanges"] == 2
    assert by_model[MODEL]["cost"].startswith("$0.0000")
    assert by_model["smollm2-135m-instruct"]["cost"] == "$0"  # the local model is free
    assert by_model["total"]["exchanges"] == 3
    other = groq.run("%groq usage --chat other --today").result
    assert [r["exchanges"] for r in other.rows] == [1]


# -- the log -----------------------------------------------------------------------------


def test_log_lists_searches_and_filters(groq: Any, db: Path) -> None:
    cell(groq, "%%groq\nTell me about pandas.", "Pandas eat bamboo.")
    cell(groq, "%%groq -c drafts\nName a colour.", "Blue.")
    cell(groq, "%%groq --no-history\nName a fruit.", "Apple.")
    log = groq.run("%groq log").result
    assert [r["prompt"] for r in log.rows] == [
        "Name a fruit.",
        "Name a colour.",
        "Tell me about pandas.",
    ]
    assert groq.run("%groq log 1").result.rows[0]["prompt"] == "Name a fruit."
    assert [r["chat"] for r in groq.run("%groq log --chat drafts").result.rows] == ["drafts"]
    found = groq.run('%groq log --search "bamboo"').result.rows
    assert [r["prompt"] for r in found] == ["Tell me about pandas."]
    assert groq.run("%groq log -c drafts --search=colour").result.rows[0]["chat"] == "drafts"


# -- restore -----------------------------------------------------------------------------


def test_restore_brings_the_chats_back_and_a_re_run_cell_replaces_its_turn(
    groq: Any, db: Path
) -> None:
    cell(groq, "%%groq\nFirst?", "One.", "a")
    cell(groq, "%%groq\nSecond?", "Two.", "b")
    cell(groq, "%%groq\nSecond, again?", "Two again.", "b")  # a re-run replaces b's turn
    cell(groq, "%%groq -c side\nAside?", "Side.", "s")
    cell(groq, "%%groq --no-history\nNot kept?", "Gone.", "n")
    before = groq.history_json()
    live = [(t.cell_id, t.prompt, t.answer) for t in groq.turns()]
    restart(groq)

    run = groq.run("%groq restore")
    assert run.error is None, run.err
    assert "'default' (2 turns)" in str(run.result)
    assert "'side' (1 turns)" in str(run.result)
    assert [(t.cell_id, t.prompt, t.answer) for t in groq.turns()] == live
    assert groq.history_json() == before

    cell(groq, "%%groq\nFirst, once more?", "Uno.", "a")  # re-run after the restart
    assert [t.answer for t in groq.turns()] == ["Uno.", "Two again."]
    assert sent(groq.server)["messages"] == [{"role": "user", "content": "First, once more?"}]


def test_undo_and_reset_are_restored_as_they_happened(groq: Any, db: Path) -> None:
    cell(groq, "%%groq\nOne?", "1", "a")
    cell(groq, "%%groq\nTwo?", "2", "b")
    assert groq.run("%groq undo").error is None
    cell(groq, "%%groq -c wiped\nGone?", "x", "w")
    assert groq.run("%groq -c wiped reset").error is None
    restart(groq)
    assert groq.run("%groq restore").error is None
    assert [t.answer for t in groq.turns()] == ["1"]
    assert groq.turns("wiped") == []


def test_a_replayed_turn_is_stored_as_a_turn_not_as_a_request(groq: Any, db: Path) -> None:
    cell(groq, "%%groq --cache\nStored?", "Yes.", "a")
    replay = groq.run("%%groq --cache -c other\nStored?", cell_id="b")
    assert replay.error is None, replay.err
    assert chats_sent(groq) == 1
    assert rows(
        db, "SELECT chat, replayed, total_tokens IS NULL, cache_key IS NULL FROM exchanges"
    ) == [
        ("default", 0, 0, 0),
        ("other", 1, 1, 1),  # no tokens, no cache key: the original is the one
    ]
    usage = groq.run("%groq usage").result
    assert [row["exchanges"] for row in usage.rows] == [1]  # the request, counted once
    log = groq.run("%groq log").result
    assert [row["status"] for row in log.rows] == ["replayed", "complete"]
    assert log.rows[0]["cost"] in ("$0", "$0.00", "0", "$0.000000")


def test_replayed_turns_are_restored_and_their_undo_too(groq: Any, db: Path) -> None:
    cell(groq, "%%groq --cache\nOne?", "1", "a")
    cell(groq, "%%groq --cache\nTwo?", "2", "b")
    groq.run("%groq -c other reset")
    # Another chat replays both (what a Restart & Run All with --cache does), then undoes one.
    for source, cell_id in (
        ("%%groq --cache -c other\nOne?", "c"),
        ("%%groq --cache -c other\nTwo?", "d"),
    ):
        assert groq.run(source, cell_id=cell_id).error is None
    assert chats_sent(groq) == 2
    assert groq.run("%groq -c other undo").error is None
    assert [t.answer for t in groq.turns("other")] == ["1"]
    restart(groq)
    assert groq.run("%groq restore").error is None
    assert [t.answer for t in groq.turns("other")] == ["1"]
    assert [t.answer for t in groq.turns("default")] == ["1", "2"]


def test_a_turn_kept_from_the_panel_is_restored_where_it_entered(groq: Any, db: Path) -> None:
    from groq_magic.chat import ChatOptions
    from groq_magic.ui.panel import ParameterPanel

    cell(groq, "%%groq\nBefore?", "Before.", "a")
    panel = ParameterPanel(groq.session, ChatOptions(), "Panel?", {}, echo=lambda _: None)
    groq.server.enqueue(stream(["Not this one."]), stream(["From the panel."]))
    panel.run()
    panel.run()  # the slider moved: the second run is the one shown
    cell(groq, "%%groq\nBetween?", "Between.", "b")  # after the panel ran, before Keep
    panel.keep()
    assert [t.answer for t in groq.turns()] == ["Before.", "Between.", "From the panel."]
    groq.server.enqueue(stream(["Kept again."]))
    panel.run()
    panel.keep()  # replaces the turn it kept before, in the store too
    live = ["Before.", "Between.", "Kept again."]
    assert [t.answer for t in groq.turns()] == live
    restart(groq)
    assert groq.run("%groq restore").error is None
    assert [t.answer for t in groq.turns()] == live


def test_a_replayed_panel_run_that_is_kept_is_restored(groq: Any, db: Path) -> None:
    from groq_magic.chat import ChatOptions
    from groq_magic.ui.panel import ParameterPanel

    cell(groq, "%%groq --cache -c first\nPanel?", "Stored once.", "a")
    panel = ParameterPanel(groq.session, ChatOptions(cache=True), "Panel?", {}, echo=lambda _: None)
    assert panel.run().cached  # the panel's run is answered from the store, nothing sent
    assert chats_sent(groq) == 1
    panel.keep()
    assert [t.answer for t in groq.turns()] == ["Stored once."]
    restart(groq)
    assert groq.run("%groq restore").error is None
    assert [t.answer for t in groq.turns()] == ["Stored once."]
    assert [t.answer for t in groq.turns("first")] == ["Stored once."]
    rows = groq.session.log.store.log(10)
    statuses = [(r["chat"], r["status"]) for r in rows]
    assert statuses == [("default", "replayed"), ("first", "complete")]


def test_restore_never_drops_a_turn_the_store_does_not_have(groq: Any, db: Path) -> None:
    cell(groq, "%%groq\nStored?", "Yes.", "a")
    assert groq.run('%config GroqMagics.store = "none"').error is None
    cell(groq, "%%groq\nNot stored?", "No.", "b")  # the store was off
    assert groq.run(f'%config GroqMagics.store = "{db}"').error is None
    before = groq.history_json()
    run = groq.run("%groq restore")
    assert run.error is None, run.err
    assert str(run.result) == (
        "chat 'default' was kept as it is: it has turns in memory that the store does not"
        " (loaded from a file, or run while the store was off)"
    )
    assert groq.history_json() == before


def test_restore_of_one_chat_makes_it_current(groq: Any, db: Path) -> None:
    cell(groq, "%%groq -c drafts\nDraft?", "A draft.")
    restart(groq)
    run = groq.run("%groq restore drafts")
    assert run.error is None, run.err
    assert groq.session.store.current.name == "drafts"
    assert [t.answer for t in groq.turns()] == ["A draft."]


def test_restore_keeps_the_notebooks_apart(
    groq: Any, db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JPY_SESSION_NAME", "/work/one.ipynb")
    cell(groq, "%%groq\nIn one?", "One.")
    monkeypatch.setenv("JPY_SESSION_NAME", "/work/two.ipynb")
    cell(groq, "%%groq\nIn two?", "Two.")
    restart(groq)
    assert groq.run("%groq restore").error is None
    assert [t.answer for t in groq.turns()] == ["Two."]
    assert rows(db, "SELECT notebook FROM exchanges ORDER BY id") == [
        ("/work/one.ipynb",),
        ("/work/two.ipynb",),
    ]


def _tool_call_stream() -> Reply:
    calls = [
        [
            {
                "index": 0,
                "id": "call_1",
                "type": "function",
                "function": {"name": "weather", "arguments": '{"city": "Oslo"}'},
            }
        ]
    ]
    return sse_reply(chunk_events([], tool_call_deltas=calls, finish_reason="tool_calls"))


def test_a_tool_turn_round_trips_through_the_store(groq: Any, db: Path) -> None:
    groq.ns["weather"] = _weather
    groq.server.enqueue(_tool_call_stream())
    cell(groq, "%%groq --tools weather --cache\nWeather in Oslo?", "Rain.", "t")
    live = groq.turns()[0]
    assert len(live.exchange) == 2  # the assistant's call and the tool's result
    assert chats_sent(groq) == 2

    restart(groq)
    assert groq.run("%groq restore").error is None
    (restored,) = groq.turns()
    assert restored.exchange == live.exchange
    assert restored.tool_calls == live.tool_calls
    assert restored.messages() == live.messages()

    # The next turn's window holds the tool round, as it did before the restart.
    cell(groq, "%%groq\nAnd tomorrow?", "Sun.", "u")
    window = sent(groq.server)["messages"]
    assert [m["role"] for m in window] == ["user", "assistant", "tool", "assistant", "user"]

    # Replayed from the cache (same request as the first run), tool lines and all.
    groq.ns["weather"] = _weather
    run = groq.run("%%groq --tools weather --cache\nWeather in Oslo?", cell_id="t")
    assert run.error is None, run.err
    assert chats_sent(groq) == 3
    result = groq.ns["_groq"]
    assert result.cached
    assert result.text == "Rain."
    assert len(result.tool_calls) == 1
    assert groq.turns()[0].exchange == live.exchange


# -- export ------------------------------------------------------------------------------


def test_export_writes_both_formats_and_they_read_back(groq: Any, db: Path, tmp_path: Path) -> None:
    cell(groq, "%%groq -t 0.5\nName a colour.", "**Blue.**", "c1")
    cell(groq, "%%groq\nAnd a fruit?", "Apple.", "c2")
    md, nb = tmp_path / "chat.md", tmp_path / "chat.ipynb"
    assert groq.run(f"%groq export {md}").error is None
    text = md.read_text()
    for part in ("Name a colour.", "**Blue.**", "And a fruit?", "Apple."):
        assert part in text
    run = groq.run(f"%groq export {nb}")
    assert run.error is None, run.err
    notebook = nbformat.read(nb, as_version=4)
    nbformat.validate(notebook)
    groq_cells = [c for c in notebook.cells if c.source.startswith("%%groq")]
    assert [c.source for c in groq_cells] == [
        "%%groq -m llama-3.3-70b-versatile --temperature 0.5\nName a colour.",
        "%%groq -m llama-3.3-70b-versatile\nAnd a fruit?",
    ]
    assert [c.id for c in groq_cells] == ["c1", "c2"]
    assert groq_cells[0].outputs[0]["data"]["text/markdown"].startswith("**Blue.**")


def test_export_works_with_the_store_off(
    groq: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cell(groq, "%%groq\nName a colour.", "Blue.")
    assert groq.run(f"%groq export {tmp_path / 'c.md'}").error is None


# -- the store off, and keys -------------------------------------------------------------


def test_the_store_turned_off_keeps_nothing_and_says_so(
    groq: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    groq.fresh_session()  # GROQ_MAGIC_STORE=none for the whole suite
    cell(groq, "%%groq --cache\nName a colour.", "Blue.", "c")
    cell(groq, "%%groq --cache\nName a colour.", "Blue.", "c")
    assert chats_sent(groq) == 2  # nothing to replay from
    assert [t.answer for t in groq.turns()] == ["Blue."]
    for command in ("log", "restore", "usage", "cache info"):
        line = groq.run(f"%groq {command}").usage_error
        assert line.startswith("the exchange store is off (GROQ_MAGIC_STORE=none)"), line
    assert list(tmp_path.iterdir()) == []


def test_config_store_none_turns_it_off_at_the_next_cell(groq: Any, db: Path) -> None:
    cell(groq, "%%groq\nOne", "1")
    assert groq.run('%config GroqMagics.store = "none"').error is None
    cell(groq, "%%groq\nTwo", "2")
    assert rows(db, "SELECT COUNT(*) FROM exchanges") == [(1,)]
    other = db.parent / "other.sqlite"
    assert groq.run(f'%config GroqMagics.store = "{other}"').error is None
    cell(groq, "%%groq\nThree", "3")
    assert rows(other, "SELECT snippet FROM exchanges") == [("Three",)]


def test_the_key_is_never_in_the_database_files(groq: Any, db: Path) -> None:
    # The server echoes the key back in an answer and in an error: neither is stored.
    assert groq.run("%config GroqMagics.max_retries = 0").error is None
    cell(groq, "%%groq -s 'Be brief.'\nWhat is my key?", f"It is {FAKE_KEY}, Bearer {FAKE_KEY}")
    groq.server.enqueue(error_reply(401, f"Invalid API Key {FAKE_KEY}", code="invalid_api_key"))
    groq.run("%%groq\nAgain?")
    cell(groq, "%%groq --cache --json\nAs JSON?", '{"key": "none"}')
    groq.run("%groq undo")
    assert chats_sent(groq) == 3
    groq.session.close()  # the WAL is folded into the file; both are read anyway
    files = [p for p in db.parent.iterdir() if p.is_file()]
    assert db in files
    for path in files:
        data = path.read_bytes()
        for marker in SECRET_MARKERS:
            assert marker.encode() not in data, f"{marker!r} is in {path.name}"
    (answer,) = rows(db, "SELECT answer FROM exchange_data WHERE answer LIKE 'It is%'")[0]
    assert answer == "It is [redacted], [redacted]"


# -- bad input: one line each, history unchanged --------------------------------------------


@pytest.fixture
def with_history(groq: Any, db: Path) -> Any:
    cell(groq, "%%groq\nKeep me.", "Kept.", "k")
    return groq


def _one_config_line(groq: Any, caplog: pytest.LogCaptureFixture, line: str) -> str:
    import logging

    caplog.clear()
    with caplog.at_level(logging.ERROR):
        run = groq.run(line)
    messages = [r.getMessage() for r in caplog.records]
    assert run.error is None
    assert "Traceback" not in run.out + run.err
    assert len(messages) == 1, messages
    assert "\n" not in messages[0]
    return messages[0]


def test_a_store_path_that_is_a_folder_or_unwritable_is_one_line(
    with_history: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    groq = with_history
    before = groq.history_json()
    line = _one_config_line(groq, caplog, f'%config GroqMagics.store = "{tmp_path}"')
    assert line.startswith(f"GroqMagics.store: the store path {tmp_path} is a folder")
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    line = _one_config_line(groq, caplog, f'%config GroqMagics.store = "{blocker}/x.sqlite"')
    assert f"{blocker} is not a folder" in line
    assert groq.magics.store is None
    assert groq.history_json() == before
    cell(groq, "%%groq\nStill here?", "Yes.", "k2")  # the store goes on as it was
    assert len(groq.run("%groq log").result.rows) == 2


def test_a_store_folder_from_the_environment_is_one_warning_and_the_chat_goes_on(
    groq: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GROQ_MAGIC_STORE", str(tmp_path))
    groq.fresh_session()
    run = cell(groq, "%%groq\nHello?", "Hi.")
    warnings = [line for line in run.out.splitlines() if line.startswith("groq_magic:")]
    assert warnings == [
        f"groq_magic: the store path {tmp_path} is a folder: give a file, e.g."
        f" {tmp_path / 'exchanges.sqlite'}; exchanges are no longer saved in this session"
    ]
    cell(groq, "%%groq\nAgain?", "Yes.")
    assert [t.answer for t in groq.turns()] == ["Hi.", "Yes."]
    assert "groq_magic:" not in groq.runs[-1].out  # said once


def test_an_invalid_price_file_is_one_line(
    with_history: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    groq = with_history
    before = groq.history_json()
    bad = tmp_path / "prices.json"
    bad.write_text('{"models": {"m": {"input": "cheap"}}}')
    line = _one_config_line(groq, caplog, f'%config GroqMagics.prices = "{bad}"')
    assert line.startswith(f"GroqMagics.prices: price file '{bad}': model 'm': 'input' must be")
    assert line.endswith("the setting was not changed")
    assert groq.magics.prices is None
    assert groq.history_json() == before


def test_a_price_override_prices_the_next_cell(groq: Any, db: Path, tmp_path: Path) -> None:
    prices = tmp_path / "prices.json"
    prices.write_text(json.dumps({MODEL: {"input": 1000000, "output": 0}}))
    assert groq.run(f'%config GroqMagics.prices = "{prices}"').error is None
    cell(groq, "%%groq\nHi", "Hello.")
    assert groq.ns["_groq"].cost == pytest.approx(18.0)
    override = "{'other-model': {'input': 1, 'output': 1}}"
    assert groq.run(f"%config GroqMagics.prices = {override}").error is None
    cell(groq, "%%groq\nHi again", "Hello.")
    assert groq.ns["_groq"].cost == pytest.approx((18 * 0.59 + 1 * 0.79) / 1e6)


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("%groq restore nowhere", "no stored chat named 'nowhere' (stored chats: default)"),
        ("%groq export {tmp}/chat.txt", "cannot export to '{tmp}/chat.txt': use a .md or .ipynb"),
        ("%groq export {tmp}/exists.md", "'{tmp}/exists.md' exists: add --force"),
        ("%groq cache clear --older-than soon", "cannot read 'soon' as an age: use a number"),
        ("%groq cache clear --older-than", "--older-than needs AGE: %groq cache"),
        ("%groq cache info --older-than 7d", "--older-than goes with %groq cache clear"),
        ("%groq cache purge", "%groq cache takes info or clear (got 'purge')"),
        ("%groq log --everything", "%groq log has no option --everything"),
        ("%groq log many", "%groq log takes how many exchanges to list (got 'many')"),
        ("%groq export", "%groq export takes one PATH"),
        ("%groq usage --today=yes", "--today takes no value"),
    ],
)
def test_bad_store_commands_are_one_line_and_change_nothing(
    with_history: Any, tmp_path: Path, command: str, expected: str
) -> None:
    groq = with_history
    (tmp_path / "exists.md").write_text("keep me")
    before = groq.history_json()
    stored = rows(groq.session.log.store.path, "SELECT COUNT(*) FROM exchanges")
    line = groq.run(command.format(tmp=tmp_path)).usage_error
    assert line.startswith(expected.format(tmp=tmp_path)), line
    assert groq.history_json() == before
    assert rows(groq.session.log.store.path, "SELECT COUNT(*) FROM exchanges") == stored
    assert (tmp_path / "exists.md").read_text() == "keep me"
    assert not (tmp_path / "chat.txt").exists()


def test_export_force_overwrites(with_history: Any, tmp_path: Path) -> None:
    target = tmp_path / "exists.md"
    target.write_text("old")
    assert with_history.run(f"%groq export {target} --force").error is None
    assert "Keep me." in target.read_text()


def test_cache_info_and_clear(with_history: Any) -> None:
    groq = with_history
    info = {r["what"]: r["value"] for r in groq.run("%groq cache info").result.rows}
    assert info["cached answers"] == 1
    assert info["exchanges"] == 1
    assert "deleted 0 stored exchanges older than 7d" in str(
        groq.run("%groq cache clear --older-than 7d").result
    )
    assert "deleted 1 stored exchanges" in str(groq.run("%groq cache clear").result)
    assert groq.run("%groq log").result.rows == []
    assert [t.answer for t in groq.turns()] == ["Kept."]  # memory is not the store


def test_help_lists_the_store_commands(groq: Any) -> None:
    doc = groq.magics.groq.__doc__
    for usage in (
        "%groq log [N] [--chat NAME] [--search TEXT]",
        "%groq restore [CHAT]",
        "%groq export PATH [--force]",
        "%groq usage [--today] [--chat NAME]",
        "%groq cache [info|clear] [--older-than AGE]",
    ):
        assert usage in doc


def test_the_store_writes_from_the_background_loop_too(groq: Any, db: Path) -> None:
    # Compares record from the background loop's thread; the file takes both threads.
    groq.server.enqueue(stream(["A."]))
    groq.server.enqueue(stream(["B."]))
    assert groq.run("%%groq -t 0,1\nTwo runs").error is None
    cell(groq, "%%groq\nThen a cell", "C.")
    assert rows(db, "SELECT COUNT(*), SUM(in_history) FROM exchanges") == [(3, 1)]


def test_retry_asks_for_a_fresh_answer_even_with_the_cache_on(groq: Any, db: Path) -> None:
    """Issue 17 bug 8: with the cache on, %groq retry replayed the stored answer."""
    assert groq.run("%config GroqMagics.cache = True").error is None
    cell(groq, "%%groq\nName a colour.", "Blue.", "c1")
    sent = chats_sent(groq)
    groq.server.enqueue(stream(["Green."]))
    run = groq.run("%groq retry")
    assert run.error is None, run.err
    assert chats_sent(groq) == sent + 1  # a new request, not a replay
    assert groq.ns["_groq"].text == "Green."
    assert groq.ns["_groq"].cached is False
    # The fresh answer is now the one the same request replays.
    again = groq.run("%%groq\nName a colour.", cell_id="c1")  # the same request again
    assert again.error is None, again.err
    assert chats_sent(groq) == sent + 1
    assert groq.ns["_groq"].text == "Green."
    assert groq.ns["_groq"].cached is True
