"""groq_magic.batch against the loopback emulation of Groq's files and batches endpoints.

The emulation moves only when told (``step``, ``run``, ``complete``, ``expire``), or one
step per status poll with ``advance_on_poll``. A model called ``bad-model`` gets a 404
inside the batch (its line goes to the error file).
"""

from __future__ import annotations

import _thread
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from batch_server import BatchServer
from keys import FAKE_KEY
from scripted_server import Reply
from ui_fakes import RoutedServer

import groq_magic
from groq_magic.backend import Backend
from groq_magic.batching import BatchError, BatchJob
from groq_magic.checks import CHECK_ERRORS
from groq_magic.session import GroqSession
from groq_magic.store import StoreSettings
from groq_magic.sweeps.runner import TABLE_COLUMNS


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[BatchServer]:
    with BatchServer(api_key=FAKE_KEY) as running:
        monkeypatch.setenv("GROQ_API_KEY", FAKE_KEY)
        monkeypatch.setenv("GROQ_BASE_URL", running.base_url)
        yield running


def new_session(tmp_path: Path) -> GroqSession:
    """A session with its exchange store in ``tmp_path`` (a second one is a restarted kernel)."""
    return GroqSession(Backend(), store=lambda: StoreSettings(path=str(tmp_path / "store.db")))


@pytest.fixture
def session(server: BatchServer, tmp_path: Path) -> Iterator[GroqSession]:
    made = new_session(tmp_path)
    yield made
    made.close()


def send(session: GroqSession, **kwargs: Any) -> BatchJob:
    kwargs.setdefault("model", ["alpha", "bad-model"])
    return groq_magic.batch(["a", "b"], client=session, temperature=0, seed=3, **kwargs)


def test_a_batch_is_the_jsonl_of_the_prepared_turns_and_gives_the_sweep_table(
    server: BatchServer, session: GroqSession
) -> None:
    job = send(session, checks=["contains:echo"])
    upload = next(r for r in server.requests if r.path.endswith("/files"))
    lines = [json.loads(x) for x in server.files[next(iter(server.files))].data.splitlines()]
    assert [x["custom_id"] for x in lines] == ["row-0", "row-1", "row-2", "row-3"]
    assert {x["url"] for x in lines} == {"/v1/chat/completions"}
    body = lines[0]["body"]
    assert body["model"] == "alpha"
    assert body["messages"] == [{"role": "user", "content": "a"}]
    assert (body["temperature"], body["seed"]) == (0.0, 3)
    assert "stream" not in body
    assert "stream_options" not in body
    assert b'filename="groq_magic_batch.jsonl"' in upload.body
    assert job.status == "validating"
    assert repr(job) == f"<BatchJob batch {job.id} · validating · 0 / 0 done>"
    server.step(job.id)
    server.run(job.id, 2)
    job.refresh()
    assert job.line() == f"batch {job.id} · in_progress · 2 / 4 done · 1 failed"
    assert "`.wait()`" in job._repr_markdown_()
    with pytest.raises(BatchError, match=r"not finished yet; \.wait"):
        job.results()
    server.complete(job.id)
    table = job.results()
    assert list(table.columns) == ["prompt", *TABLE_COLUMNS, "contains:echo", CHECK_ERRORS]
    assert list(zip(table.prompt, table.model, table.status, strict=True)) == [
        ("a", "alpha", "complete"),
        ("a", "bad-model", "error"),
        ("b", "alpha", "complete"),
        ("b", "bad-model", "error"),
    ]
    assert list(table.text[[0, 2]]) == ["echo: a", "echo: b"]
    assert table.error[1].startswith("404 model_not_found: The model `bad-model` does not exist")
    assert table.completion_tokens[0] == 2
    assert list(table["contains:echo"][[0, 2]]) == [True, True]
    rates = table.attrs["checks"]
    assert list(rates.model) == ["alpha", "bad-model"]
    assert rates["contains:echo"][0] == 1.0
    assert list(rates.unchecked) == [0, 2]


def test_wait_shows_progress_until_the_end(
    server: BatchServer, session: GroqSession, capsys: pytest.CaptureFixture[str]
) -> None:
    server.advance_on_poll = True
    job = send(session).wait(poll=0.01)
    assert job.status == "completed"
    assert capsys.readouterr().out.splitlines()[-1].startswith("4 / 4 done · 2 failed · ")
    assert len(job.results()) == 4


def test_the_stop_button_stops_waiting_not_the_job(
    server: BatchServer, session: GroqSession, capsys: pytest.CaptureFixture[str]
) -> None:
    job = send(session)
    server.step(job.id)
    threading.Timer(0.3, _thread.interrupt_main).start()
    started = time.monotonic()
    assert job.wait(poll=0.05) is job
    assert time.monotonic() - started < 1.5
    assert server.status(job.id) == "in_progress"
    assert not [r for r in server.requests if r.path.endswith("/cancel")]
    out = capsys.readouterr().out
    assert f"stopped waiting; the batch goes on: groq_magic.batch_job('{job.id}')" in out


def test_cancel_keeps_what_ran(
    server: BatchServer, session: GroqSession, capsys: pytest.CaptureFixture[str]
) -> None:
    job = send(session, model="alpha")
    server.step(job.id)
    server.run(job.id, 1)
    assert job.cancel().status == "cancelling"
    server.step(job.id)
    table = job.results()
    assert list(table.status) == ["complete", "interrupted"]
    assert table.error[1] == "not run: the batch was cancelled"
    assert "1 of 2 requests did not run" in capsys.readouterr().out


def test_an_expired_batch_keeps_every_finished_answer(
    server: BatchServer, session: GroqSession, capsys: pytest.CaptureFixture[str]
) -> None:
    job = send(session, model="alpha")
    server.step(job.id)
    server.run(job.id, 1)
    server.expire(job.id)
    table = job.results()
    assert list(table.status) == ["complete", "interrupted"]
    assert table.text[0] == "echo: a"
    assert table.error[1].startswith("batch_expired: ")
    out = capsys.readouterr().out
    assert out == (
        f"batch {job.id} expired: 1 of 2 requests did not run (marked interrupted);"
        " every answer that finished is in the table\n"
    )


def test_a_job_is_picked_up_again_after_a_restart(
    server: BatchServer, session: GroqSession, tmp_path: Path
) -> None:
    job = send(session)
    server.step(job.id)  # the kernel restarts while the batch runs
    session.close()
    restarted = new_session(tmp_path)  # nothing of the old kernel in memory
    try:
        listed = groq_magic.batch_jobs(client=restarted)
        assert list(listed.job_id) == [job.id]
        assert listed.rows[0] == 4
        assert listed.models[0] == "alpha, bad-model"
        again = groq_magic.batch_job(job.id, client=restarted)
        assert again.status == "in_progress"
        server.advance_on_poll = True
        table = again.wait(poll=0.01, progress=False).results()
    finally:
        restarted.close()
    assert again.status == "completed"
    assert list(zip(table.prompt, table.model, table.status, strict=True)) == [
        ("a", "alpha", "complete"),
        ("a", "bad-model", "error"),
        ("b", "alpha", "complete"),
        ("b", "bad-model", "error"),
    ]
    assert list(table.text[[0, 2]]) == ["echo: a", "echo: b"]


def test_a_rejected_input_file_is_one_line(
    server: BatchServer, session: GroqSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        "groq_magic.batching._send._jsonl", lambda specs: (b'{"custom_id": "x"}\n', None)
    )
    job = send(session)
    server.step(job.id)
    with pytest.raises(BatchError) as info:
        job.results()
    assert str(info.value).startswith(f"batch {job.id} failed: line 1: ")
    assert "\n" not in str(info.value)


def test_an_unknown_id_is_one_line(server: BatchServer, session: GroqSession) -> None:
    with pytest.raises(BatchError) as info:
        groq_magic.batch_job("batch_nope", client=session)
    assert str(info.value) == (
        f"no batch 'batch_nope' on {server.base_url}"
        " (groq_magic.batch_jobs() lists the recent ones)"
    )


@pytest.mark.parametrize(
    ("limit", "value", "message"),
    [
        ("MAX_LINES", 3, "the batch has 4 requests; Groq's Batch API takes at most 3 lines"),
        ("MAX_BYTES", 100, "Groq's Batch API takes at most 100 bytes per file"),
    ],
)
def test_over_the_size_limits_nothing_is_sent(
    server: BatchServer,
    session: GroqSession,
    monkeypatch: pytest.MonkeyPatch,
    limit: str,
    value: int,
    message: str,
) -> None:
    monkeypatch.setattr(f"groq_magic.batching._send.{limit}", value)
    with pytest.raises(BatchError, match=message):
        send(session)
    assert server.requests == []


def test_a_server_without_the_batch_api_says_batch_needs_groq(env: RoutedServer) -> None:
    env.route("POST", "/v1/files", Reply(status=404, json={"detail": "Not Found"}))
    with pytest.raises(BatchError) as info:
        groq_magic.batch(["a"], model="alpha")
    assert str(info.value).startswith("batch needs Groq's Batch API: this server has no Files API")
    assert env.chat_bodies() == []


def test_the_one_road_holds_for_a_batch(
    server: BatchServer, session: GroqSession, tmp_path: Path
) -> None:
    """What every road prepares reaches the JSONL: images, reasoning knobs, the key check;
    tool rounds cannot run inside a batch, which says so before anything is sent."""
    from PIL import Image

    from groq_magic.chat.prepare import KeyInPromptError

    picture = tmp_path / "dot.png"
    Image.new("RGB", (8, 8), "red").save(picture)
    send(session, model="alpha", images=[str(picture)], reasoning_format="parsed")
    line = json.loads(server.files[next(iter(server.files))].data.splitlines()[0])
    body = line["body"]
    assert body["reasoning_format"] == "parsed"
    parts = body["messages"][-1]["content"]
    assert [p["type"] for p in parts] == ["text", "image_url"]
    assert parts[1]["image_url"]["url"].startswith("data:image/png;base64,")

    uploads = len(server.files)

    def get_weather(city: str) -> str:
        """The weather in a city."""
        return city

    with pytest.raises(BatchError, match="--tools needs a sweep, not a batch"):
        send(session, tools=[get_weather])
    with pytest.raises(KeyInPromptError, match="shaped like an API key"):
        groq_magic.batch(["say {k}"], client=session, namespace={"k": FAKE_KEY}, model="alpha")
    assert len(server.files) == uploads  # nothing more was uploaded
