"""Sweeps of any size (issue 12): no cap, one progress bar, rows only, stop, and the cache.

A sweep has no run limit (a ``--compare`` keeps :data:`MAX_RUNS` panes); past
:data:`PROGRESS_AFTER` runs it shows one progress line (text here: not a live
kernel); each record keeps its table row, not its ``ChatResult``; the stop
button returns the table of what finished within a second; and with
``cache=True`` a re-run replays what the session's log holds and sends the rest.
"""

from __future__ import annotations

import _thread
import dataclasses
import gc
import io
import threading
import time
import weakref
from typing import Any

import pytest
from scripted_server import RecordedRequest, Reply, chunk_events, error_reply, sse_reply
from ui_fakes import RecordingPacer, RoutedServer, answer_reply, echo_responder

import groq_magic
from groq_magic.backend import Backend
from groq_magic.chat import ChatOptions
from groq_magic.chat.conversation import Conversation
from groq_magic.chat.prepare import PreparedTurn
from groq_magic.chat.result import ChatResult
from groq_magic.session import GroqSession
from groq_magic.sweeps.drive import drive
from groq_magic.sweeps.grid import MAX_RUNS, expand_grid
from groq_magic.sweeps.runner import TABLE_COLUMNS, GridRunner, RunRecord, RunSpec, SharedBackoff
from groq_magic.sweeps.sweep import KEEP_PREPARED, PROGRESS_AFTER, plan_sweep


def test_a_sweep_has_no_run_cap_but_a_compare_keeps_its_pane_limit(
    env: RoutedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    prompts = [f"Row {i}." for i in range(MAX_RUNS + 36)]
    table = groq_magic.sweep(prompts, model="alpha", concurrency=16)
    assert len(table) == 100
    assert set(table.status) == {"complete"}
    assert list(table.prompt) == prompts
    assert len(env.chat_bodies()) == 100
    # One progress line every 10 %, then the final one: no pane, no line per row.
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 10
    assert lines[0].startswith("10 / 100 done · ")
    assert lines[-1].startswith("100 / 100 done · ")
    assert "took " in lines[-1]
    assert "cost unknown" in lines[-1] or "$" in lines[-1]
    with pytest.raises(Exception, match="the limit is 64"):
        expand_grid(ChatOptions(), {"model": ["a"] * 65})


def test_small_sweeps_show_nothing_unless_asked(
    env: RoutedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    groq_magic.sweep(["a"] * PROGRESS_AFTER, model="alpha")
    assert capsys.readouterr().out == ""
    groq_magic.sweep(["a", "b"], model=["alpha", "nope"], progress=True)
    out = capsys.readouterr().out.splitlines()
    assert out[-1].startswith("4 / 4 done · 2 failed · ")  # every 10 % of 4: each run
    groq_magic.sweep(["a"] * (PROGRESS_AFTER + 1), model="alpha", progress=False)
    assert capsys.readouterr().out == ""


def test_rows_are_kept_not_results_unless_asked(env: RoutedServer) -> None:
    table = groq_magic.sweep(["a", "b"], model="alpha")
    assert list(table.columns) == ["prompt", *TABLE_COLUMNS]
    kept = groq_magic.sweep(["a", "b"], model=["alpha", "nope"], keep_results=True)
    assert list(kept.columns) == ["prompt", *TABLE_COLUMNS, "result"]
    assert isinstance(kept.result[0], ChatResult)
    assert kept.result[0].text == kept.text[0]
    assert kept.result[1] is None  # the 404: no answer


def _specs(session: GroqSession, prompts: list[str], model: str = "alpha") -> list[RunSpec]:
    scratch = Conversation(name="sweep")
    return [
        RunSpec.of(i, session.prepare(ChatOptions(model=model), p, None, conversation=scratch))
        for i, p in enumerate(prompts)
    ]


def test_each_run_ends_with_one_done_event_carrying_its_settled_row(env: RoutedServer) -> None:
    def responder(request: RecordedRequest) -> Reply:
        body = request.json()
        # "flaky" fails once with a 503 (retried), "nope" is a 404 (not retried).
        if body["messages"][-1]["content"] == "flaky" and env.count("flaky") == 1:
            return error_reply(503, "over capacity", type="internal_server_error")
        return echo_responder(request)

    env.responder = responder
    session = GroqSession(Backend())
    missing = dataclasses.replace(_specs(session, ["x"], model="nope")[0], index=3)
    specs = [*_specs(session, ["ok", "flaky", "ok2"]), missing]
    events: list[tuple[int, str, Any]] = []
    runner = GridRunner(
        specs,
        session.backend.async_client(),
        keep_results=False,
        stream_events=False,
        backoff=SharedBackoff(rand=lambda: 0.0),
    )
    records, interrupted = drive(runner, on_event=lambda i, k, p: events.append((i, k, p)))
    assert not interrupted
    done = [(i, p) for i, k, p in events if k == "done"]
    assert sorted(i for i, _ in done) == [0, 1, 2, 3]  # once each, retries included
    assert all(isinstance(p, RunRecord) for _, p in done)
    assert not [k for _, k, _ in events if k == "delta"]  # no per-token events
    assert [r.status for r in records] == ["complete", "complete", "complete", "error"]
    assert all(r.result is None for r in records)  # only the row
    assert records[0].row()["text"].startswith("answer: model=alpha")
    assert records[0].row()["completion_tokens"] is not None
    assert records[0].tokens is not None
    assert records[1].attempts == 2
    assert "model_not_found" in records[3].row()["error"]


def test_the_stop_button_returns_what_finished_within_a_second(
    env: RoutedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    def responder(request: RecordedRequest) -> Reply:
        text = request.json()["messages"][-1]["content"]
        if text.startswith("fast"):
            return answer_reply(f"done {text}")
        return sse_reply(chunk_events([f"w{i} " for i in range(100)]), delay=0.1)

    env.responder = responder
    prompts = [f"fast {i}" for i in range(4)] + [f"slow {i}" for i in range(40)]
    stopped_at: list[float] = []

    def stop() -> None:
        # Once the fast rows are done (the slow ones take 10 s each), press stop.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and len(env.chat_bodies()) < 8:
            time.sleep(0.02)
        time.sleep(0.3)
        stopped_at.append(time.monotonic())
        _thread.interrupt_main()

    threading.Thread(target=stop, daemon=True).start()
    table = groq_magic.sweep(prompts, model="alpha", concurrency=4)
    took = time.monotonic() - stopped_at[0]
    assert took < 1.0, took
    assert len(table) == 44
    assert list(table.status[:4]) == ["complete"] * 4
    assert set(table.status[4:]) == {"interrupted"}
    assert any(t.startswith("w0 ") for t in table.text[4:])  # partial answers are kept
    assert len(env.chat_bodies()) <= 8  # nothing more was sent after the stop
    final = capsys.readouterr().out.splitlines()[-1]
    assert final.startswith("4 / 44 done · ")
    assert final.endswith("interrupted: 40 runs not finished (marked in the table)")


class FakeLog:
    """A TurnLog in memory: replays a complete answer to the same prompt and model."""

    def __init__(self) -> None:
        self.turns: dict[tuple[str, str], Any] = {}
        self.recorded = 0

    def replay(self, prep: PreparedTurn) -> Any:
        return self.turns.get((prep.model, prep.prompt))

    def record(self, prep: PreparedTurn, result: ChatResult) -> None:
        self.recorded += 1
        if result.status == "complete" and result.turn is not None:
            self.turns[(prep.model, prep.prompt)] = result.turn

    def record_failure(self, prep: PreparedTurn, error: str) -> None:
        self.recorded += 1

    def cost(self, model: str, usage: Any) -> float | None:
        return None

    @property
    def show_cost(self) -> bool:
        return False


def test_a_rerun_with_cache_sends_only_what_is_not_done(env: RoutedServer) -> None:
    def responder(request: RecordedRequest) -> Reply:
        text = request.json()["messages"][-1]["content"]
        if text == "b" and env.count("b") == 1:
            return error_reply(400, "bad once", code="bad")  # not retried: not done yet
        return echo_responder(request)

    env.responder = responder
    session = GroqSession(Backend())
    log = FakeLog()
    prepare = session.prepare

    def prepare_with_log(*args: Any, **kwargs: Any) -> PreparedTurn:
        prep = prepare(*args, **kwargs)
        prep.log = log
        return prep

    session.prepare = prepare_with_log  # type: ignore[method-assign]
    first = groq_magic.sweep(["a", "b", "c"], model="alpha", client=session, cache=True)
    assert list(first.status) == ["complete", "error", "complete"]
    assert len(env.chat_bodies()) == 3
    pacer = RecordingPacer()
    again = groq_magic.sweep(
        ["a", "b", "c"], model="alpha", client=session, cache=True, pacer=pacer
    )
    assert list(again.status) == ["complete"] * 3
    assert len(env.chat_bodies()) == 4  # only "b" was sent again
    # and only "b" was paced: a replay sends nothing, so it waits for no permit
    assert [b["messages"][-1]["content"] for b in pacer.bodies] == ["b"]
    assert [b["messages"][-1]["content"] for b in env.chat_bodies()][-1] == "b"
    assert list(again.text) == [first.text[0], again.text[1], first.text[2]]


def test_the_exchange_store_replays_a_rerun_sweep(env: RoutedServer, tmp_path: Any) -> None:
    from groq_magic.store import StoreSettings

    session = GroqSession(Backend(), store=lambda: StoreSettings(path=str(tmp_path / "s.db")))
    try:
        first = groq_magic.sweep(["a", "b"], model="alpha", client=session, cache=True)
        again = groq_magic.sweep(["a", "b", "c"], model="alpha", client=session, cache=True)
        stored = session.log.store.log(10)
    finally:
        session.close()
    assert len(env.chat_bodies()) == 3  # a and b were replayed from the store
    # Sweep rows never enter a chat: their replays are not stored again, only "c" is new.
    assert [row["status"] for row in stored] == ["complete"] * 3
    assert list(again.text[:2]) == list(first.text)
    assert set(again.status) == {"complete"}


def _tracked(session: GroqSession) -> list[weakref.ref[PreparedTurn]]:
    """Weak references to the turns ``session`` prepares from now on."""
    made: list[weakref.ref[PreparedTurn]] = []
    prepare = session.prepare

    def tracking(*args: Any, **kwargs: Any) -> PreparedTurn:
        prep = prepare(*args, **kwargs)
        made.append(weakref.ref(prep))
        return prep

    session.prepare = tracking  # type: ignore[method-assign]
    return made


def _alive(made: list[weakref.ref[PreparedTurn]]) -> int:
    gc.collect()
    return sum(ref() is not None for ref in made)


def test_a_large_sweep_holds_rows_not_prepared_requests(env: RoutedServer) -> None:
    session = GroqSession(Backend())
    made = _tracked(session)
    rows = KEEP_PREPARED + 16
    plan = plan_sweep([f"p{i}" for i in range(rows)], model="alpha", client=session)
    # Every row was prepared (bad input would have raised), none is held...
    assert len(plan.specs) == rows
    assert _alive(made) == 0
    # ...and each is prepared again, the same, when its run starts.
    spec = plan.specs[5]
    assert (spec.prompt, spec.model) == ("p5", "alpha")
    assert spec.prepare().request == spec.prepare().request
    assert spec.prepare().messages[-1] == {"role": "user", "content": "p5"}
    small = plan_sweep(["a", "b"], model="alpha", client=session)
    assert _alive(made) == 2  # a small sweep keeps its own: nothing is prepared twice
    del small
    assert _alive(made) == 0

    in_flight: list[int] = []

    def count(result: Any) -> bool:
        if len(in_flight) < 12:  # a collection per row would make the test slow
            in_flight.append(_alive(made))
        return True

    table = groq_magic.sweep(
        [f"q{i}" for i in range(rows)],
        model="alpha",
        client=session,
        concurrency=4,
        checks=[count],
        progress=False,
    )
    assert set(table.status) == {"complete"}
    assert list(table.prompt[:3]) == ["q0", "q1", "q2"]
    sent = [body["messages"][-1]["content"] for body in env.chat_bodies()]
    assert sorted(sent) == sorted(f"q{i}" for i in range(rows))
    # Only the runs under way hold their turn: at most the workers, twice the 4 slots.
    assert 1 <= max(in_flight) <= 8, in_flight


def test_a_row_whose_input_went_away_mid_sweep_fails_alone(env: RoutedServer) -> None:
    namespace: dict[str, Any] = {"topic": "tea"}
    rows = KEEP_PREPARED + 6

    def forget(result: Any) -> bool:
        namespace.pop("topic", None)  # the variable is deleted while the sweep runs
        return True

    table = groq_magic.sweep(
        ["about {topic}"] * rows,
        model="alpha",
        namespace=namespace,
        concurrency=1,
        checks=[forget],
    )
    assert table.status[0] == "complete"  # the answers that came are kept
    sent = [body["messages"][-1]["content"] for body in env.chat_bodies()]
    assert sent[0] == "about tea"
    assert len(sent) == (table.status == "complete").sum() < 4  # the runs already under way
    assert table.prompt[rows - 1] == "about tea"  # the row shows what was checked
    failed = table[table.status == "error"]
    assert len(failed) == rows - len(sent)
    assert all("topic" in e and "\n" not in e for e in failed.error)


class _CountedRoutes(dict[str, tuple[int, str, bytes]]):
    """Routes for ``image_web.serve`` that count how often each path is asked for."""

    def __init__(self, routes: dict[str, tuple[int, str, bytes]]) -> None:
        super().__init__(routes)
        self.asked: list[str] = []

    def get(self, path: str, default: Any = None) -> Any:  # type: ignore[override]
        self.asked.append(path)
        return super().get(path, default)


def test_an_image_url_is_fetched_once_for_every_row(env: RoutedServer) -> None:
    from image_web import serve
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (20, 10), "red").save(buffer, "PNG")
    routes = _CountedRoutes({"/cat.png": (200, "image/png", buffer.getvalue())})
    rows = KEEP_PREPARED + 6  # each row prepared twice: to check, then to send
    with serve(routes) as base:
        table = groq_magic.sweep(
            [f"What is in it? ({i})" for i in range(rows)],
            model="alpha",
            images=[f"{base}/cat.png"],
            progress=False,
        )
    assert set(table.status) == {"complete"}
    assert routes.asked == ["/cat.png"]  # a loopback URL is downloaded (once) and sent inline
    bodies = env.chat_bodies()
    assert len(bodies) == rows
    parts = [body["messages"][-1]["content"][1]["image_url"]["url"] for body in bodies]
    assert len(set(parts)) == 1
    assert parts[0].startswith("data:image/png;base64,")
