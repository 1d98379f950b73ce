"""The SSE decoder on its own: line endings, multi-line data, comments, and every split point."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from groq_magic.client import ServerSentEvent, SSEDecoder

SAMPLE = (Path(__file__).parent.parent / "data" / "groq_stream.sse").read_bytes()


def decode(*pieces: bytes) -> list[ServerSentEvent]:
    decoder = SSEDecoder()
    events: list[ServerSentEvent] = []
    for piece in pieces:
        events += decoder.feed(piece)
    events += decoder.flush()
    return events


def as_tuples(events: list[ServerSentEvent]) -> list[tuple[str, str, str | None, int | None]]:
    return [(e.event, e.data, e.id, e.retry) for e in events]


def test_sample_stream_decodes_to_chunks_then_done() -> None:
    events = decode(SAMPLE)
    assert [e.event for e in events] == ["message"] * len(events)
    assert events[-1].data == "[DONE]"
    chunks = [json.loads(e.data) for e in events[:-1]]
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks)
    assert text == "The fastest models answer in milliseconds — ünïcode ✓."
    assert chunks[-1]["x_groq"]["usage"]["completion_tokens"] == 8


def test_sample_split_at_every_byte_offset() -> None:
    expected = as_tuples(decode(SAMPLE))
    assert len(expected) == 11  # 10 chunks + [DONE]; the ": ping" comment yields nothing
    for offset in range(len(SAMPLE) + 1):
        got = as_tuples(decode(SAMPLE[:offset], SAMPLE[offset:]))
        assert got == expected, f"split at byte {offset}"


def test_sample_fed_one_byte_at_a_time() -> None:
    pieces = [SAMPLE[i : i + 1] for i in range(len(SAMPLE))]
    assert as_tuples(decode(*pieces)) == as_tuples(decode(SAMPLE))


@pytest.mark.parametrize("newline", [b"\n", b"\r\n", b"\r"])
def test_every_split_pair_with_each_line_ending(newline: bytes) -> None:
    text = (
        b': comment\nevent: delta\ndata: {"a":\ndata: 1}\nid: 7\nretry: 250\n\n'
        b"data: \xc3\xa9t\xc3\xa9\n\n"
    )
    stream = text.replace(b"\n", newline)
    expected = [("delta", '{"a":\n1}', "7", 250), ("message", "été", "7", 250)]
    assert as_tuples(decode(stream)) == expected
    for i in range(len(stream) + 1):
        for j in range(i, len(stream) + 1):
            got = as_tuples(decode(stream[:i], stream[i:j], stream[j:]))
            assert got == expected, f"split at {i},{j} with {newline!r}"


def test_crlf_split_between_reads_is_one_line_end() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: x\r") == []
    # "\n" completing the CRLF must not count as a second (blank) line.
    assert decoder.feed(b"\n") == []
    events = decoder.feed(b"\r\n")
    assert [(e.data) for e in events] == ["x"]


def test_multiline_data_joined_with_newline() -> None:
    (event,) = decode(b"data: first\ndata:second\ndata:  third\n\n")
    # One leading space is dropped, a second one is kept.
    assert event.data == "first\nsecond\n third"


def test_comments_and_unknown_fields_are_ignored() -> None:
    events = decode(b": keep-alive\n\nfoo: bar\ndata: ok\n\n:\n\n")
    assert as_tuples(events) == [("message", "ok", None, None)]


def test_event_name_and_reset_after_dispatch() -> None:
    events = decode(b"event: error\ndata: {}\n\ndata: next\n\n")
    assert [(e.event, e.data) for e in events] == [("error", "{}"), ("message", "next")]


def test_field_without_colon_and_empty_data() -> None:
    events = decode(b"data\n\ndata:\n\n")
    assert [e.data for e in events] == ["", ""]


def test_event_without_data_is_not_dispatched() -> None:
    assert decode(b"event: ping\n\nid: 3\n\n") == []


def test_truncated_final_event_is_discarded() -> None:
    events = decode(b"data: complete\n\ndata: half of a fr")
    assert [e.data for e in events] == ["complete"]
    events = decode(b"data: complete\n\ndata: no blank line\n")
    assert [e.data for e in events] == ["complete"]


def test_pending_reports_an_unfinished_event() -> None:
    decoder = SSEDecoder()
    decoder.feed(b"data: complete\n\n")
    assert not decoder.pending
    decoder.feed(b"data: half")
    assert decoder.pending


def test_leading_bom_is_stripped_even_when_split() -> None:
    bom = b"\xef\xbb\xbf"
    stream = bom + b"data: x\n\n"
    for offset in range(len(stream) + 1):
        assert [e.data for e in decode(stream[:offset], stream[offset:])] == ["x"]


def test_id_with_nul_is_ignored_and_retry_must_be_digits() -> None:
    events = decode(b"id: a\x00b\nretry: soon\ndata: x\n\n")
    assert as_tuples(events) == [("message", "x", None, None)]


def test_final_cr_at_end_of_stream_dispatches() -> None:
    assert [e.data for e in decode(b"data: x\r\r")] == ["x"]
    assert [e.data for e in decode(b"data: x\r", b"\r")] == ["x"]
