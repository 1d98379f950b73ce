"""client.files and client.batches, sync and async, against the loopback Batch API emulation."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from batch_server import BatchServer
from keys import FAKE_KEY, assert_no_secret
from scripted_server import Reply, ScriptedServer, error_reply

from groq_magic.client import (
    TERMINAL_BATCH_STATUSES,
    ArgumentError,
    AsyncGroq,
    AuthenticationError,
    BadRequestError,
    Batch,
    BatchList,
    ChatCompletion,
    FileContent,
    FileList,
    FileObject,
    Groq,
    InternalServerError,
    NotFoundError,
    RequestTooLargeError,
    parse_batch_output,
)

MODEL = "llama-3.1-8b-instant"


def request_line(
    custom_id: str, prompt: str, model: str = MODEL, **overrides: Any
) -> dict[str, Any]:
    """One input line as Groq's batch file format wants it."""
    line = {
        "custom_id": custom_id,
        "method": "POST",
        "url": "/v1/chat/completions",
        "body": {"model": model, "messages": [{"role": "user", "content": prompt}]},
    }
    line.update(overrides)
    return line


def jsonl(*lines: dict[str, Any] | str) -> bytes:
    """A JSONL file: dicts as JSON, strings verbatim."""
    return "".join((x if isinstance(x, str) else json.dumps(x)) + "\n" for x in lines).encode()


THREE = jsonl(
    request_line("a", "one"),
    request_line("b", "two"),
    request_line("c", "three", model="bad-model"),
)


@pytest.fixture
def emulation() -> Iterator[BatchServer]:
    """The Batch API emulation, expecting FAKE_KEY."""
    with BatchServer(api_key=FAKE_KEY) as server:
        yield server


@pytest.fixture
def client(emulation: BatchServer, sleeps: list[float]) -> Iterator[Groq]:
    """A Groq client aimed at the emulation; retry waits are recorded, not slept."""
    with Groq(api_key=FAKE_KEY, base_url=emulation.base_url, _sleep=sleeps.append) as made:
        yield made


def arun(
    server: BatchServer | ScriptedServer,
    body: Callable[[AsyncGroq], Awaitable[Any]],
    sleeps: list[float] | None = None,
) -> Any:
    """Run ``body(client)`` in a fresh event loop with an AsyncGroq aimed at ``server``."""

    async def record(seconds: float) -> None:
        if sleeps is not None:
            sleeps.append(seconds)

    async def main() -> Any:
        async with AsyncGroq(api_key=FAKE_KEY, base_url=server.base_url, _sleep=record) as made:
            return await body(made)

    return asyncio.run(main())


# -- files ---------------------------------------------------------------------------------


def test_upload_bytes_and_read_the_content_back(client: Groq, emulation: BatchServer) -> None:
    uploaded = client.files.create(file=THREE, purpose="batch")
    assert isinstance(uploaded, FileObject)
    assert uploaded.id.startswith("file_")
    assert (uploaded.object, uploaded.purpose) == ("file", "batch")
    assert uploaded.bytes == len(THREE)
    assert uploaded.filename == "batch.jsonl"  # Groq takes only .jsonl files

    content = client.files.content(uploaded.id)
    assert isinstance(content, FileContent)
    assert isinstance(content, bytes)
    assert content == THREE
    assert content.read() == THREE
    assert type(content.read()) is bytes
    assert content.text() == THREE.decode()
    assert [json.loads(line)["custom_id"] for line in content.text().splitlines()] == [
        "a",
        "b",
        "c",
    ]

    sent = emulation.requests[0]
    assert sent.headers["content-type"].startswith("multipart/form-data; boundary=")
    assert b'name="purpose"' in sent.body
    assert emulation.requests[1].headers["accept"] == "application/octet-stream"


def test_upload_a_path_a_file_object_and_tuples(client: Groq, tmp_path: Path) -> None:
    # Non-ASCII text and CRLF line ends must arrive byte for byte.
    data = jsonl(request_line("é", "naïve ✓")).replace(b"\n", b"\r\n")
    path = tmp_path / "prompts.jsonl"
    path.write_bytes(data)

    uploads = {
        "str path": client.files.create(file=str(path)),
        "Path": client.files.create(file=path),
        "file object": client.files.create(file=path.open("rb")),
        "BytesIO": client.files.create(file=io.BytesIO(data)),
        "tuple": client.files.create(file=("mine.jsonl", data)),
        "tuple with type": client.files.create(
            file=("typed.jsonl", io.BytesIO(data), "application/jsonl")
        ),
    }
    names = {how: f.filename for how, f in uploads.items()}
    assert names == {
        "str path": "prompts.jsonl",
        "Path": "prompts.jsonl",
        "file object": "prompts.jsonl",
        "BytesIO": "batch.jsonl",
        "tuple": "mine.jsonl",
        "tuple with type": "typed.jsonl",
    }
    for how, uploaded in uploads.items():
        assert client.files.content(uploaded.id) == data, how


def test_bad_upload_arguments_send_nothing(
    client: Groq, emulation: BatchServer, tmp_path: Path
) -> None:
    missing = tmp_path / "nope.jsonl"
    for bad in (str(missing), missing, 42, ("", b"x"), ("a.jsonl",), ("a.jsonl", 3)):
        with pytest.raises(ArgumentError):
            client.files.create(file=bad)  # type: ignore[arg-type]
    with pytest.raises(ArgumentError, match="purpose"):
        client.files.create(file=THREE, purpose="")
    for bad_id in ("", "../batches", "file_1/content", None):
        with pytest.raises(ArgumentError):
            client.files.content(bad_id)  # type: ignore[arg-type]
    assert emulation.requests == []


def test_list_info_and_delete(client: Groq) -> None:
    first = client.files.create(file=THREE)
    second = client.files.create(file=("second.jsonl", THREE))

    listed = client.files.list()
    assert isinstance(listed, FileList)
    assert [f.id for f in listed.data] == [first.id, second.id]

    info = client.files.info(second.id)
    assert (info.id, info.filename, info.bytes) == (second.id, "second.jsonl", len(THREE))

    deleted = client.files.delete(first.id)
    assert (deleted.id, deleted.deleted) == (first.id, True)
    assert [f.id for f in client.files.list().data] == [second.id]
    with pytest.raises(NotFoundError):
        client.files.content(first.id)


def test_upload_limits_answer_groq_errors(sleeps: list[float]) -> None:
    with (
        BatchServer(api_key=FAKE_KEY, max_lines=2, max_bytes=1000) as server,
        Groq(api_key=FAKE_KEY, base_url=server.base_url, _sleep=sleeps.append) as client,
    ):
        with pytest.raises(BadRequestError) as lines:
            client.files.create(file=THREE)
        assert lines.value.code == "too_many_lines"
        assert "limit is 2" in str(lines.value)

        with pytest.raises(RequestTooLargeError) as size:
            client.files.create(file=jsonl(request_line("a", "x" * 1200)))
        assert size.value.status_code == 413
        assert size.value.code == "file_too_large"

        with pytest.raises(BadRequestError, match=r"\.jsonl"):
            client.files.create(file=("prompts.txt", THREE[:10]))
    assert sleeps == []  # 4xx answers are final


# -- batches ---------------------------------------------------------------------------------


def test_a_batch_through_its_whole_lifecycle(client: Groq, emulation: BatchServer) -> None:
    uploaded = client.files.create(file=THREE)
    batch = client.batches.create(input_file_id=uploaded.id, metadata={"job": "test"})
    assert isinstance(batch, Batch)
    assert (batch.status, batch.object, batch.endpoint) == (
        "validating",
        "batch",
        "/v1/chat/completions",
    )
    assert batch.completion_window == "24h"
    assert batch.metadata == {"job": "test"}
    assert batch.input_file_id == uploaded.id
    assert not batch.is_done
    assert batch.expires_at == batch.created_at + 24 * 3600  # type: ignore[operator]
    assert json.loads(emulation.requests[-1].body) == {
        "input_file_id": uploaded.id,
        "endpoint": "/v1/chat/completions",
        "completion_window": "24h",
        "metadata": {"job": "test"},
    }

    seen = [batch.status]
    emulation.step(batch.id)
    batch = client.batches.retrieve(batch.id)
    seen.append(batch.status)
    assert batch.request_counts.total == 3
    assert (batch.request_counts.completed, batch.request_counts.failed) == (0, 0)

    emulation.run(batch.id, 1)
    batch = client.batches.retrieve(batch.id)
    assert batch.request_counts.completed + batch.request_counts.failed == 1

    emulation.step(batch.id)
    batch = client.batches.retrieve(batch.id)
    seen.append(batch.status)
    emulation.step(batch.id)
    batch = client.batches.retrieve(batch.id)
    seen.append(batch.status)
    assert seen == ["validating", "in_progress", "finalizing", "completed"]
    assert batch.is_done
    assert (batch.request_counts.completed, batch.request_counts.failed) == (2, 1)
    stamps = [batch.created_at, batch.in_progress_at, batch.finalizing_at, batch.completed_at]
    assert all(stamps)
    assert stamps == sorted(stamps)
    assert (batch.failed_at, batch.cancelled_at, batch.expired_at) == (None, None, None)

    assert batch.output_file_id
    assert batch.error_file_id
    output = parse_batch_output(client.files.content(batch.output_file_id))
    results = {line.custom_id: line for line in output}
    assert set(results) == {"a", "b"}
    for custom_id, prompt in (("a", "one"), ("b", "two")):
        line = results[custom_id]
        assert line.ok
        assert line.error_message is None
        assert line.response is not None
        assert line.response.status_code == 200
        completion = line.completion
        assert isinstance(completion, ChatCompletion)
        assert completion.text == f"echo: {prompt}"
        assert completion.usage is not None
        assert completion.usage.total_tokens

    [failed] = parse_batch_output(client.files.content(batch.error_file_id))
    assert failed.custom_id == "c"
    assert not failed.ok
    assert failed.completion is None
    assert failed.error_message is not None
    assert failed.error_message.startswith("404 model_not_found: The model `bad-model`")

    listed = client.batches.list()
    assert isinstance(listed, BatchList)
    assert [b.id for b in listed.data] == [batch.id]
    assert listed.data[0].status == "completed"
    assert client.files.info(batch.output_file_id).purpose == "batch_output"


def test_output_lines_are_not_in_input_order(client: Groq, emulation: BatchServer) -> None:
    ids = [f"req-{i}" for i in range(20)]
    uploaded = client.files.create(file=jsonl(*(request_line(i, i) for i in ids)))
    batch = client.batches.create(input_file_id=uploaded.id)
    assert emulation.complete(batch.id) == "completed"
    batch = client.batches.retrieve(batch.id)
    assert batch.error_file_id is None
    assert batch.output_file_id is not None
    output = parse_batch_output(client.files.content(batch.output_file_id))
    order = [line.custom_id for line in output]
    assert sorted(order) == sorted(ids)
    assert order != ids  # join on custom_id, never on position
    assert all(
        line.completion and line.completion.text == f"echo: {line.custom_id}" for line in output
    )


def test_an_invalid_input_file_fails_the_batch(client: Groq, emulation: BatchServer) -> None:
    bad = jsonl(
        request_line("a", "fine"),
        request_line("a", "same id"),
        request_line("b", "x", method="GET"),
        request_line("c", "x", url="/v1/embeddings"),
        {"custom_id": "d", "method": "POST", "url": "/v1/chat/completions", "body": {}},
        request_line("e", "x", body={"model": MODEL, "messages": []}),
        "{not json",
    )
    batch = client.batches.create(input_file_id=client.files.create(file=bad).id)
    assert emulation.complete(batch.id) == "failed"
    batch = client.batches.retrieve(batch.id)
    assert batch.status == "failed"
    assert batch.is_done
    assert batch.failed_at
    assert batch.errors is not None
    codes = [(e.line, e.code) for e in batch.errors.data]
    assert codes == [
        (2, "duplicate_custom_id"),
        (3, "invalid_method"),
        (4, "invalid_url"),
        (5, "missing_model"),
        (6, "missing_messages"),
        (7, "invalid_json"),
    ]
    assert batch.error_messages[0] == "line 2: custom_id 'a' is used twice"
    assert (batch.output_file_id, batch.error_file_id) == (None, None)


def test_cancel_keeps_what_was_done(
    client: Groq, emulation: BatchServer, sleeps: list[float]
) -> None:
    batch = client.batches.create(input_file_id=client.files.create(file=THREE).id)
    emulation.step(batch.id)
    emulation.run(batch.id, 1)

    cancelling = client.batches.cancel(batch.id)
    assert cancelling.status == "cancelling"
    assert cancelling.cancelling_at
    assert not cancelling.is_done
    assert client.batches.cancel(batch.id).status == "cancelling"  # asking twice is fine

    assert emulation.step(batch.id) == "cancelled"
    batch = client.batches.retrieve(batch.id)
    assert batch.is_done
    assert batch.cancelled_at
    assert batch.output_file_id is not None
    [done] = parse_batch_output(client.files.content(batch.output_file_id))
    assert done.custom_id == "a"
    assert done.ok

    with pytest.raises(BadRequestError, match="cannot cancel a batch that is cancelled"):
        client.batches.cancel(batch.id)
    assert sleeps == []


def test_an_expired_batch_reports_the_requests_it_never_ran(
    client: Groq, emulation: BatchServer
) -> None:
    batch = client.batches.create(
        input_file_id=client.files.create(file=THREE).id, completion_window="7d"
    )
    assert batch.expires_at == batch.created_at + 7 * 24 * 3600  # type: ignore[operator]
    emulation.step(batch.id)
    emulation.run(batch.id, 1)
    emulation.expire(batch.id)

    batch = client.batches.retrieve(batch.id)
    assert batch.status == "expired"
    assert batch.is_done
    assert batch.expired_at
    assert batch.error_file_id is not None
    errors = {
        line.custom_id: line
        for line in parse_batch_output(client.files.content(batch.error_file_id))
    }
    assert set(errors) == {"b", "c"}
    assert errors["b"].response is None
    assert errors["b"].error_message is not None
    assert errors["b"].error_message.startswith("batch_expired: ")


def test_polling_until_done(sleeps: list[float]) -> None:
    with (
        BatchServer(api_key=FAKE_KEY, advance_on_poll=True) as server,
        Groq(api_key=FAKE_KEY, base_url=server.base_url, _sleep=sleeps.append) as client,
    ):
        batch = client.batches.create(input_file_id=client.files.create(file=THREE).id)
        statuses = []
        while not batch.is_done:
            batch = client.batches.retrieve(batch.id)
            statuses.append(batch.status)
    assert statuses == ["in_progress", "finalizing", "completed"]
    assert set(statuses) - {"in_progress", "finalizing"} <= TERMINAL_BATCH_STATUSES


def test_bad_batch_arguments_send_nothing(client: Groq, emulation: BatchServer) -> None:
    for kwargs in (
        {"input_file_id": ""},
        {"input_file_id": None},
        {"input_file_id": "file_1", "completion_window": ""},
        {"input_file_id": "file_1", "endpoint": 3},
        {"input_file_id": "file_1", "metadata": ["not", "a", "dict"]},
    ):
        with pytest.raises(ArgumentError):
            client.batches.create(**kwargs)
    for bad_id in ("", "..", "batch_1/cancel", "batch?x=1", 7):
        with pytest.raises(ArgumentError):
            client.batches.retrieve(bad_id)  # type: ignore[arg-type]
    assert emulation.requests == []


def test_the_server_checks_what_it_is_sent(client: Groq) -> None:
    uploaded = client.files.create(file=THREE)
    with pytest.raises(BadRequestError, match="completion_window"):
        client.batches.create(input_file_id=uploaded.id, completion_window="1h")
    with pytest.raises(BadRequestError, match="endpoint"):
        client.batches.create(input_file_id=uploaded.id, endpoint="/v1/embeddings")


# -- errors ----------------------------------------------------------------------------------


def test_unknown_ids_are_a_one_line_404(client: Groq, sleeps: list[float]) -> None:
    calls: list[Callable[[], Any]] = [
        lambda: client.files.info("file_nope"),
        lambda: client.files.content("file_nope"),
        lambda: client.files.delete("file_nope"),
        lambda: client.batches.create(input_file_id="file_nope"),
        lambda: client.batches.retrieve("batch_nope"),
        lambda: client.batches.cancel("batch_nope"),
    ]
    for call in calls:
        with pytest.raises(NotFoundError) as caught:
            call()
        text = str(caught.value)
        assert "\n" not in text
        assert text.startswith("404 not_found: ")
        assert "_nope' not found" in text
        assert caught.value.code == "not_found"  # the server's word, not "endpoint_not_found"
    assert sleeps == []  # a 404 is not retried


def _no_batch_api_calls(client: Any) -> list[tuple[str, Callable[[], Any]]]:
    return [
        ("POST /files", lambda: client.files.create(file=THREE)),
        ("GET /files", lambda: client.files.list()),
        ("GET /files/file_1", lambda: client.files.info("file_1")),
        ("GET /files/file_1/content", lambda: client.files.content("file_1")),
        ("DELETE /files/file_1", lambda: client.files.delete("file_1")),
        ("POST /batches", lambda: client.batches.create(input_file_id="file_1")),
        ("GET /batches", lambda: client.batches.list()),
        ("GET /batches/batch_1", lambda: client.batches.retrieve("batch_1")),
        ("POST /batches/batch_1/cancel", lambda: client.batches.cancel("batch_1")),
    ]


# What servers without these endpoints send with their 404: FastAPI (llama-cpp-python's
# server, vLLM), Go's net/http (Ollama), and nothing at all.
NOT_FOUND_BODIES = [
    Reply(status=404, json={"detail": "Not Found"}),
    Reply(status=404, headers={"content-type": "text/plain"}, body=b"404 page not found"),
    Reply(status=404),
]


def _check_missing_endpoint(exc: NotFoundError, what: str, base_url: str) -> None:
    method, path = what.split(" ")
    api = "Files API" if path.startswith("/files") else "Batch API"
    text = str(exc)
    assert "\n" not in text
    assert exc.code == "endpoint_not_found"
    assert text.startswith(f"404 endpoint_not_found: this server has no {api}")
    assert text.endswith(f"{method} {base_url}{path} answered 404")


@pytest.mark.parametrize("reply", NOT_FOUND_BODIES, ids=["fastapi", "text", "empty"])
def test_a_server_without_the_batch_api_says_so(
    server: ScriptedServer, make_client: Any, sleeps: list[float], reply: Reply
) -> None:
    client = make_client()
    for what, call in _no_batch_api_calls(client):
        server.enqueue(reply)
        with pytest.raises(NotFoundError) as caught:
            call()
        _check_missing_endpoint(caught.value, what, server.base_url)
    assert sleeps == []


def test_a_groq_shaped_404_on_a_collection_still_means_no_endpoint(
    server: ScriptedServer, make_client: Any
) -> None:
    # llama.cpp's own server answers unknown paths with {"error": {...}}: on /files and
    # /batches (no id in the path) a 404 can only mean the endpoint is missing.
    client = make_client()
    server.enqueue(error_reply(404, "File Not Found", type="not_found_error"))
    with pytest.raises(NotFoundError) as caught:
        client.files.list()
    _check_missing_endpoint(caught.value, "GET /files", server.base_url)
    # On a path with an id, the same body is the server talking about that id.
    server.enqueue(error_reply(404, "batch 'batch_1' not found", code="not_found"))
    with pytest.raises(NotFoundError, match="batch 'batch_1' not found") as about_id:
        client.batches.retrieve("batch_1")
    assert about_id.value.code == "not_found"


def test_a_server_without_the_batch_api_says_so_async(server: ScriptedServer) -> None:
    async def body(client: AsyncGroq) -> None:
        calls: list[tuple[str, Callable[[], Awaitable[Any]]]] = _no_batch_api_calls(client)
        for what, call in calls:
            server.enqueue(NOT_FOUND_BODIES[0])
            with pytest.raises(NotFoundError) as caught:
                await call()
            _check_missing_endpoint(caught.value, what, server.base_url)

    arun(server, body)


def test_the_key_goes_only_in_the_authorization_header(
    client: Groq, emulation: BatchServer, tmp_path: Path
) -> None:
    path = tmp_path / "p.jsonl"
    path.write_bytes(THREE)
    uploaded = client.files.create(file=path)
    batch = client.batches.create(input_file_id=uploaded.id, metadata={"k": "v"})
    emulation.complete(batch.id)
    client.batches.retrieve(batch.id)
    client.files.content(uploaded.id)
    client.files.list()
    client.batches.cancel(client.batches.create(input_file_id=uploaded.id).id)
    client.files.delete(uploaded.id)

    assert len(emulation.requests) == 8
    for sent in emulation.requests:
        assert sent.headers["authorization"] == f"Bearer {FAKE_KEY}"
        assert FAKE_KEY.encode() not in sent.body
        assert b"SECRETKEY" not in sent.body
        others = {k: v for k, v in sent.headers.items() if k != "authorization"}
        assert_no_secret(json.dumps(others))
        assert_no_secret(sent.path)


def test_a_wrong_key_is_a_401_without_the_key(emulation: BatchServer) -> None:
    wrong = "gsk_wrong_key_000000000000"
    with (
        Groq(api_key=wrong, base_url=emulation.base_url) as client,
        pytest.raises(AuthenticationError) as caught,
    ):
        client.files.create(file=THREE)
    assert wrong not in str(caught.value) + repr(caught.value)


def test_5xx_answers_are_retried(client: Groq, emulation: BatchServer, sleeps: list[float]) -> None:
    emulation.fail_next(2, 503)
    uploaded = client.files.create(file=THREE)
    assert len(sleeps) == 2
    uploads = emulation.requests[:3]
    assert [r.path for r in uploads] == ["/openai/v1/files"] * 3
    # Every attempt carries the whole file again (it was read once, before the first).
    assert all(THREE in r.body for r in uploads)
    assert [r.headers.get("x-stainless-retry-count") for r in uploads] == [None, "1", "2"]
    assert client.files.content(uploaded.id) == THREE

    emulation.fail_next(1, 500)
    batch = client.batches.create(input_file_id=uploaded.id)
    emulation.fail_next(1, 502, **{"retry-after": "0.25"})
    assert client.batches.retrieve(batch.id).id == batch.id
    assert sleeps[-1] == 0.25
    assert len(emulation.batches) == 1  # the failed attempt created nothing

    emulation.fail_next(3, 503)
    with pytest.raises(InternalServerError) as caught:
        client.files.list()
    assert caught.value.status_code == 503
    assert len(sleeps) == 6


# -- async -----------------------------------------------------------------------------------


def test_async_files_and_batches(emulation: BatchServer, tmp_path: Path) -> None:
    path = tmp_path / "prompts.jsonl"
    path.write_bytes(THREE)
    sleeps: list[float] = []

    async def body(client: AsyncGroq) -> None:
        emulation.fail_next(1, 503)
        from_bytes = await client.files.create(file=THREE)
        from_path = await client.files.create(file=path)
        from_tuple = await client.files.create(file=("t.jsonl", THREE))
        assert sleeps
        assert len(sleeps) == 1
        assert (from_path.filename, from_tuple.filename) == ("prompts.jsonl", "t.jsonl")
        for uploaded in (from_bytes, from_path, from_tuple):
            content = await client.files.content(uploaded.id)
            assert content == THREE
            assert content.read() == THREE
        info = await client.files.info(from_tuple.id)
        assert info.bytes == len(THREE)
        assert len((await client.files.list()).data) == 3
        assert (await client.files.delete(from_tuple.id)).deleted is True

        batch = await client.batches.create(input_file_id=from_bytes.id)
        statuses = [batch.status]
        while not batch.is_done:
            emulation.step(batch.id)
            batch = await client.batches.retrieve(batch.id)
            statuses.append(batch.status)
        assert statuses == ["validating", "in_progress", "finalizing", "completed"]
        assert batch.output_file_id is not None
        output = parse_batch_output(await client.files.content(batch.output_file_id))
        assert {line.custom_id for line in output} == {"a", "b"}

        other = await client.batches.create(input_file_id=from_path.id)
        assert (await client.batches.cancel(other.id)).status == "cancelling"
        emulation.step(other.id)
        assert (await client.batches.retrieve(other.id)).status == "cancelled"
        assert [b.id for b in (await client.batches.list()).data] == [batch.id, other.id]

        with pytest.raises(NotFoundError, match=r"^404 not_found: batch 'batch_nope' not found$"):
            await client.batches.retrieve("batch_nope")

    arun(emulation, body, sleeps)
    for sent in emulation.requests:
        assert sent.headers["authorization"] == f"Bearer {FAKE_KEY}"
        assert FAKE_KEY.encode() not in sent.body


# -- the output file parser ------------------------------------------------------------------


def test_parse_batch_output_marks_lines_that_are_not_results() -> None:
    assert parse_batch_output(b"") == []
    assert parse_batch_output("\n\n") == []
    first, second = parse_batch_output(b'{"custom_id": "a"}\n{oops\n')
    assert (first.custom_id, first.unreadable) == ("a", False)
    assert second.unreadable
    assert second.error_message == (
        "unreadable result: line 2 of the batch output is not complete JSON"
    )
    [listed] = parse_batch_output(b'["a list"]\n')
    assert listed.unreadable
    assert listed.custom_id is None
    [line] = parse_batch_output(
        b'{"custom_id": "x", "response": {"status_code": 500, "body": "upstream died"}}\n'
    )
    assert not line.ok
    assert line.error_message == "HTTP 500"


def test_file_content_writes_to_a_file(tmp_path: Path) -> None:
    content = FileContent(b'{"a": 1}\n\n{"b": 2}\n')
    content.write_to_file(tmp_path / "out.jsonl")
    assert (tmp_path / "out.jsonl").read_bytes() == content
