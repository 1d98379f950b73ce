"""Issue 16, defect 5: one bad line of a batch's output or error file loses no good answer.

The parser reads every line it can and turns each line it cannot (cut short, not an
object, a response of the wrong shape) into an unreadable line naming its line number,
with its ``custom_id`` when that much can be read. ``BatchJob.results()`` over the
loopback Batch API emulation, serving a corrupted file, gives every good answer, an
error row for each request whose line was bad, and one printed line for a line that
names no request.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from batch_server import BatchServer
from keys import FAKE_KEY

import groq_magic
from groq_magic.backend import Backend
from groq_magic.batching import BatchJob
from groq_magic.client import parse_batch_output
from groq_magic.session import GroqSession
from groq_magic.store import StoreSettings

COMPLETION = {
    "id": "chatcmpl-1",
    "object": "chat.completion",
    "model": "alpha",
    "choices": [
        {"index": 0, "message": {"role": "assistant", "content": "hi"}, "finish_reason": "stop"}
    ],
    "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4},
}


def result_line(custom_id: str, body: Any = None, status: int = 200) -> str:
    response = {"status_code": status, "request_id": "req_1", "body": body or COMPLETION}
    return json.dumps({"id": "batch_req_1", "custom_id": custom_id, "response": response})


# -- the parser ---------------------------------------------------------------------------


def test_every_readable_line_is_kept_and_each_bad_line_names_itself() -> None:
    good = result_line("row-0")
    cut = result_line("row-1")[:70]  # a line cut short, its custom_id still whole
    data = "\n".join(
        [
            good,
            cut,
            "",  # blank lines are skipped, not reported
            '["not", "an", "object"]',
            json.dumps({"custom_id": "row-3", "response": "oops"}),
            result_line("row-4", body={"choices": "nope"}),
            result_line("row-5", body={"error": {"message": "odd"}}),
            json.dumps({"custom_id": 7, "response": None}),
            "{" * 100_000,  # nested past the parser's depth: no RecursionError
            result_line("row-9"),
        ]
    )
    lines = parse_batch_output(data.encode())
    assert [line.line_number for line in lines] == [1, 2, 4, 5, 6, 7, 8, 9, 10]
    assert [line.custom_id for line in lines] == [
        "row-0",
        "row-1",
        None,
        "row-3",
        "row-4",
        "row-5",
        None,
        None,
        "row-9",
    ]
    assert [line.unreadable for line in lines] == [False] + [True] * 7 + [False]
    for good_line in (lines[0], lines[-1]):
        assert good_line.ok
        completion = good_line.completion
        assert completion is not None
        assert completion.choices[0].message.content == "hi"
    messages = [line.error_message for line in lines[1:-1]]
    assert messages[0] == "unreadable result: line 2 of the batch output is not complete JSON"
    assert messages[1] == "unreadable result: line 4 of the batch output is not a JSON object"
    assert messages[2].startswith("unreadable result: line 5 of the batch output is not a result")
    assert "is not a chat completion (choices:" in str(messages[3])
    assert "line 7 of the batch output has no answer" in str(messages[4])
    assert "line 8 of the batch output is not a result (custom_id:" in str(messages[5])
    assert "line 9 of the batch output is not complete JSON" in str(messages[6])
    for line in lines[1:-1]:
        assert line.completion is None
        assert not line.ok


def test_a_custom_id_with_escapes_is_read_from_a_line_cut_short() -> None:
    whole = result_line('row "7" \\ ünï')
    [line] = parse_batch_output(whole[: whole.index('"response"') + 15], source="error file")
    assert line.custom_id == 'row "7" \\ ünï'
    assert line.error_message == "unreadable result: line 1 of the error file is not complete JSON"


def test_failed_and_expired_lines_are_not_unreadable() -> None:
    failed = result_line("a", body={"error": {"message": "no model"}}, status=404)
    expired = json.dumps(
        {"custom_id": "b", "response": None, "error": {"code": "batch_expired", "message": "late"}}
    )
    a, b = parse_batch_output(f"{failed}\n{expired}\n")
    assert not a.unreadable
    assert a.error_message == "404: no model"
    assert not b.unreadable
    assert b.error_message == "batch_expired: late"


# -- BatchJob.results() over the emulation -------------------------------------------------


@pytest.fixture
def emulation(monkeypatch: pytest.MonkeyPatch) -> Iterator[BatchServer]:
    with BatchServer(api_key=FAKE_KEY) as running:
        monkeypatch.setenv("GROQ_API_KEY", FAKE_KEY)
        monkeypatch.setenv("GROQ_BASE_URL", running.base_url)
        yield running


@pytest.fixture
def session(emulation: BatchServer, tmp_path: Path) -> Iterator[GroqSession]:
    made = GroqSession(Backend(), store=lambda: StoreSettings(path=str(tmp_path / "s.db")))
    yield made
    made.close()


def finished(emulation: BatchServer, session: GroqSession, models: list[str]) -> BatchJob:
    job = groq_magic.batch(["a", "b", "c"], client=session, model=models, temperature=0)
    emulation.complete(job.id)
    return job


def by_custom_id(lines: list[bytes], custom_id: str) -> int:
    return next(i for i, line in enumerate(lines) if json.loads(line)["custom_id"] == custom_id)


def test_a_truncated_and_a_wrong_shaped_line_are_error_rows_and_the_rest_come_back(
    emulation: BatchServer, session: GroqSession, capsys: pytest.CaptureFixture[str]
) -> None:
    job = finished(emulation, session, ["alpha"])

    def corrupt(lines: list[bytes]) -> list[bytes]:
        cut, bent = by_custom_id(lines, "row-0"), by_custom_id(lines, "row-2")
        lines[cut] = lines[cut][:100]
        wrong = json.loads(lines[bent])
        wrong["response"]["body"] = "the model said hello"
        lines[bent] = json.dumps(wrong).encode()
        return lines

    emulation.rewrite_results(job.id, corrupt)
    table = job.results()
    assert list(table.status) == ["error", "complete", "error"]
    assert table.text[1] == "echo: b"
    assert table.completion_tokens[1] == 2
    assert "of the output file is not complete JSON" in table.error[0]
    assert table.error[2].startswith("unreadable result: line ")
    assert "of the output file has no answer" in table.error[2]
    assert capsys.readouterr().out == ""  # every bad line named its request: no note needed


def test_a_line_that_names_no_request_is_one_printed_line(
    emulation: BatchServer, session: GroqSession, capsys: pytest.CaptureFixture[str]
) -> None:
    job = finished(emulation, session, ["alpha"])
    lost: list[int] = []

    def corrupt(lines: list[bytes]) -> list[bytes]:
        gone = by_custom_id(lines, "row-1")
        lines[gone] = b'{"id": "batch_req_9", "resp'
        lines.insert(0, b"[1, 2, 3]")  # a line that belongs to no request at all
        lost.extend([1, gone + 2])
        return lines

    emulation.rewrite_results(job.id, corrupt)
    table = job.results()
    assert list(table.status) == ["complete", "error", "complete"]
    assert list(table.text[[0, 2]]) == ["echo: a", "echo: c"]
    note = f"lines {lost[0]}, {lost[1]} of the output file could not be read and name no request"
    assert table.error[1] == f"no readable result ({note})"
    [line] = capsys.readouterr().out.splitlines()
    assert line == (
        f"batch {job.id}: {note}; the rows without a result are marked error,"
        " every other answer is in the table"
    )


def test_a_bad_line_of_the_error_file_keeps_the_output_files_answers(
    emulation: BatchServer, session: GroqSession
) -> None:
    job = finished(emulation, session, ["alpha", "bad-model"])

    def corrupt(lines: list[bytes]) -> list[bytes]:
        cut = by_custom_id(lines, "row-1")
        lines[cut] = lines[cut][:100]
        return lines

    emulation.rewrite_results(job.id, corrupt, kind="error")
    table = job.results()
    assert list(zip(table.model, table.status, strict=True)) == [
        ("alpha", "complete"),
        ("bad-model", "error"),
        ("alpha", "complete"),
        ("bad-model", "error"),
        ("alpha", "complete"),
        ("bad-model", "error"),
    ]
    assert list(table.text[[0, 2, 4]]) == ["echo: a", "echo: b", "echo: c"]
    assert "of the error file is not complete JSON" in table.error[1]
    assert table.error[3].startswith("404 model_not_found: ")
