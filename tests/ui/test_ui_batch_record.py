"""A batch's table is built exactly like a sweep's, in its own process or a new one.

Issue 17's bugs 2-4, each failing before: a batch with ``schema=`` failed every
``schema`` check ("no schema on this run") while the same sweep passed; a job picked up
in a new process lost its ``columns=`` (and the checks reading them); and a batch given
``client=AsyncGroq(api_key=K)`` sent with the environment's key instead of K.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from batch_server import BatchServer
from keys import FAKE_KEY
from pydantic import BaseModel

import groq_magic
from groq_magic.backend import Backend
from groq_magic.client import AsyncGroq
from groq_magic.session import GroqSession
from groq_magic.store import StoreSettings


class City(BaseModel):
    """A city and its country."""

    name: str
    country: str


def city_answer(body: dict[str, Any]) -> str:
    return json.dumps({"name": body["messages"][-1]["content"], "country": "NO"})


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[BatchServer]:
    with BatchServer(api_key=FAKE_KEY, answer=city_answer) as running:
        monkeypatch.setenv("GROQ_API_KEY", FAKE_KEY)
        monkeypatch.setenv("GROQ_BASE_URL", running.base_url)
        yield running


@pytest.fixture
def session(server: BatchServer, tmp_path: Path) -> Iterator[GroqSession]:
    made = GroqSession(Backend(), store=lambda: StoreSettings(path=str(tmp_path / "store.db")))
    yield made
    made.close()


def finished(server: BatchServer, job: Any) -> Any:
    server.step(job.id)
    server.complete(job.id)
    return job.results()


def test_a_batch_with_a_schema_validates_like_a_sweep(
    server: BatchServer, session: GroqSession
) -> None:
    job = groq_magic.batch(["Oslo", "Bergen"], client=session, model="m", schema=City,
                           checks=["schema"])  # fmt: skip
    table = finished(server, job)
    assert list(table["schema"]) == [True, True]
    assert list(table.status) == ["complete", "complete"]
    # The answers were concluded by the engine: parsed into the schema's model.
    [body] = {json.dumps(x["body"]["response_format"]) for x in _input_lines(server)}
    assert json.loads(body)["json_schema"]["name"] == "City"


def test_a_batch_answer_that_breaks_the_schema_is_an_error_row(
    server: BatchServer, session: GroqSession
) -> None:
    server.answer = lambda body: json.dumps({"name": 3})
    job = groq_magic.batch(["Oslo"], client=session, model="m", schema=City)
    table = finished(server, job)
    assert list(table.status) == ["error"]
    assert table.error[0].startswith("answer does not match City: name: Input should be")


def test_batch_answers_are_stored_like_every_answer(
    server: BatchServer, session: GroqSession
) -> None:
    job = groq_magic.batch(["Oslo", "Bergen"], client=session, model="m")
    finished(server, job)
    stored = session.log.store.log(10)
    assert sorted(row["prompt"] for row in stored) == ["Bergen", "Oslo"]


def _input_lines(server: BatchServer) -> list[dict[str, Any]]:
    upload = next(iter(server.files.values()))  # the first file is the input
    return [json.loads(line) for line in upload.data.splitlines()]


NEW_PROCESS = textwrap.dedent(
    """
    import json, sys
    import groq_magic
    table = groq_magic.batch_job(sys.argv[1]).results()
    print(json.dumps({
        "columns": list(table.columns),
        "expected": list(table.expected),
        "check": [bool(v) for v in table["equals:expected"]],
        "schema": [bool(v) for v in table["schema"]],
    }))
    """
)


def test_a_job_picked_up_in_a_new_process_keeps_its_table(
    server: BatchServer, session: GroqSession, tmp_path: Path
) -> None:
    cases = {"expected": ['{"name": "Oslo", "country": "NO"}', "something else"]}
    job = groq_magic.batch(
        ["Oslo", "Bergen"],
        client=session,
        model="m",
        schema=City,
        columns=cases,
        checks=["equals:expected", "schema"],
    )
    server.step(job.id)
    server.complete(job.id)
    session.close()
    env = dict(os.environ, GROQ_MAGIC_STORE=str(tmp_path / "store.db"))
    done = subprocess.run(
        [sys.executable, "-c", NEW_PROCESS, job.id],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    shown = json.loads(done.stdout.strip().splitlines()[-1])
    assert shown["columns"][:2] == ["prompt", "expected"]
    assert shown["expected"] == cases["expected"]
    assert shown["check"] == [True, False]
    assert shown["schema"] == [True, True]


def test_a_given_clients_key_is_the_one_used(monkeypatch: pytest.MonkeyPatch) -> None:
    other = "gsk_the_clients_own_key_123456"
    with BatchServer(api_key=other) as running:
        monkeypatch.delenv("GROQ_API_KEY", raising=False)
        monkeypatch.delenv("GROQ_BASE_URL", raising=False)
        client = AsyncGroq(api_key=other, base_url=running.base_url)
        job = groq_magic.batch(["a"], client=client, model="m")
        running.step(job.id)
        running.complete(job.id)
        table = job.results()
    assert list(table.text) == ["echo: a"]
    assert {r.headers.get("authorization") for r in running.requests} == {f"Bearer {other}"}


def test_a_stored_batch_table_is_data_nothing_in_it_runs(
    server: BatchServer, session: GroqSession, tmp_path: Path
) -> None:
    """A crafted store: a batch row's options naming a tool and an MCP server. Reading the
    job's results in a new session offers neither: the rows are concluded as data."""
    job = groq_magic.batch(["Oslo"], client=session, model="m")
    finished(server, job)
    store = session.log.store
    meta = store.batch_metadata(job.id)
    assert meta is not None
    meta["table"]["options"][0].update(tools=["wipe"], mcp=["evil"], approve="always")
    store.record_batch(job.id, server.base_url, meta)
    session.close()
    again = GroqSession(Backend(), store=lambda: StoreSettings(path=str(tmp_path / "store.db")))
    try:
        table = groq_magic.batch_job(job.id, client=again).results()
    finally:
        again.close()
    assert list(table.status) == ["complete"]
