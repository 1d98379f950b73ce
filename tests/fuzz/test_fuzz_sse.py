"""Property-based fuzzing of the SSE decoder and the chunk accumulator (Hypothesis).

- Whatever bytes arrive, split however the network splits them, the decoder plus the
  accumulator raise nothing but :class:`APIStreamError` (never KeyError, ValueError,
  UnicodeDecodeError, pydantic's ValidationError...), including at the end of the stream.
- The decoder is split-invariant: feeding bytes in any pieces gives exactly the events
  that feeding them at once gives.
- A valid Groq stream (any text, any line ending, ASCII-escaped or raw UTF-8, comments
  between frames) split anywhere, even inside a multi-byte character or a CRLF, decodes
  to the same text, complete.

Budget: see :mod:`fuzz_settings` (``HYPOTHESIS_PROFILE=large`` for 100,000 examples).
"""

from __future__ import annotations

import json
from typing import Any

import httpx
from fuzz_settings import FUZZ
from hypothesis import given
from hypothesis import strategies as st
from scripted_server import chunk_events

from groq_magic.client import APIStreamError, ServerSentEvent, SSEDecoder, Stream

# -- strategies ------------------------------------------------------------------------------

# Pieces that make random bytes look like an event stream often enough to go deep.
SSE_TOKENS = [
    b"data: ",
    b"data:",
    b"data",
    b"event: error\n",
    b"event:",
    b"id: 7\n",
    b"id: \x00\n",
    b"retry: 10\n",
    b"retry: x\n",
    b": comment\n",
    b"\n",
    b"\r",
    b"\r\n",
    b"\n\n",
    b"[DONE]",
    b"{",
    b"}",
    b"[",
    b"]",
    b'"choices"',
    b'"delta"',
    b'"content"',
    b'"error"',
    b'"finish_reason"',
    b":",
    b",",
    b"null",
    b"\xef\xbb\xbf",
    b"\xe2\x82",  # half of a euro sign
    b"\xff",
]

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=6,
)

# Chunk-like objects: the right keys with arbitrary values, so validation runs deep.
CHUNKISH = st.fixed_dictionaries(
    {},
    optional={
        "id": JSON,
        "model": JSON,
        "usage": JSON,
        "x_groq": st.fixed_dictionaries({}, optional={"id": JSON, "usage": JSON}) | JSON,
        "error": st.fixed_dictionaries(
            {}, optional={"message": JSON, "code": JSON, "status_code": JSON, "type": JSON}
        )
        | JSON,
        "choices": st.lists(
            st.fixed_dictionaries(
                {},
                optional={
                    "index": JSON,
                    "finish_reason": JSON,
                    "delta": st.fixed_dictionaries(
                        {},
                        optional={
                            "content": JSON,
                            "reasoning": JSON,
                            "role": JSON,
                            "tool_calls": st.lists(
                                st.fixed_dictionaries(
                                    {},
                                    optional={
                                        "index": JSON,
                                        "id": JSON,
                                        "function": st.fixed_dictionaries(
                                            {}, optional={"name": JSON, "arguments": JSON}
                                        )
                                        | JSON,
                                    },
                                ),
                                max_size=3,
                            )
                            | JSON,
                        },
                    )
                    | JSON,
                },
            ),
            max_size=3,
        )
        | JSON,
    },
)


@st.composite
def frame(draw: Any) -> bytes:
    """One event: arbitrary JSON or chunk-like data, sometimes as ``event: error``."""
    value = draw(st.one_of(CHUNKISH, JSON))
    data = json.dumps(value, ensure_ascii=draw(st.booleans())).encode()
    head = b"event: error\n" if draw(st.integers(0, 5)) == 0 else b""
    return head + b"data: " + data + b"\n\n"


NOISE = st.lists(
    st.one_of(st.sampled_from(SSE_TOKENS), st.binary(max_size=12), frame()), max_size=25
).map(b"".join)

ANY_BYTES = st.one_of(st.binary(max_size=600), NOISE)


def _split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({min(c, len(data)) for c in cuts})
    pieces, start = [], 0
    for point in [*points, len(data)]:
        pieces.append(data[start:point])
        start = point
    return pieces


# Cut points, taken modulo the payload length (cheaper to draw than st.data()).
CUTS = st.lists(st.integers(0, 1 << 16), max_size=30)


def _cuts(raw: list[int], size: int) -> list[int]:
    return [c % (size + 1) for c in raw]


def _events(pieces: list[bytes]) -> list[ServerSentEvent]:
    decoder = SSEDecoder()
    events: list[ServerSentEvent] = []
    for piece in pieces:
        events += decoder.feed(piece)
    return events + decoder.flush()


def _drive(pieces: list[bytes]) -> Stream:
    """The pieces read through a Stream to the end, as they came off the network."""
    stream = Stream(httpx.Response(200, content=iter(pieces)), started=0.0, secret=None)
    stream.until_done()
    return stream


# -- properties ------------------------------------------------------------------------------


@FUZZ
@given(payload=ANY_BYTES, cuts=CUTS)
def test_arbitrary_bytes_raise_only_the_typed_error(payload: bytes, cuts: list[int]) -> None:
    pieces = _split(payload, _cuts(cuts, len(payload)))
    failure: APIStreamError | None = None
    try:
        read = _drive(pieces)
    except APIStreamError as exc:
        failure = exc
    if failure is not None:
        assert isinstance(failure.partial_text, str)
        assert "\n" not in str(failure)
        return
    assert read.completed or read.finish_reason is not None
    assert isinstance(read.text, str)


@FUZZ
@given(payload=ANY_BYTES, cuts=CUTS)
def test_decoder_is_split_invariant(payload: bytes, cuts: list[int]) -> None:
    whole = _events([payload])
    split = _events(_split(payload, _cuts(cuts, len(payload))))
    assert split == whole
    for event in whole:
        # Field values are text: invalid UTF-8 was replaced, never raised.
        assert isinstance(event.data, str)
        assert isinstance(event.event, str)


@FUZZ
@given(frames=st.lists(frame(), max_size=5), done=st.booleans(), cuts=CUTS)
def test_arbitrary_frames_raise_only_the_typed_error(
    frames: list[bytes], done: bool, cuts: list[int]
) -> None:
    payload = b"".join(frames) + (b"data: [DONE]\n\n" if done else b"")
    try:
        _drive(_split(payload, _cuts(cuts, len(payload))))
    except APIStreamError:
        pass


@st.composite
def valid_stream(draw: Any) -> tuple[str, bytes]:
    """A whole Groq stream of arbitrary text and its expected text."""
    pieces = draw(st.lists(st.text(max_size=20), max_size=12))
    ensure_ascii = draw(st.booleans())
    ending = draw(st.sampled_from([b"\n", b"\r\n", b"\r"]))
    comments = draw(st.booleans())
    out = []
    if draw(st.booleans()):
        out.append(b"\xef\xbb\xbf")
    for event in chunk_events(pieces):
        if comments:
            out.append(b": keep-alive" + ending)
        out.append(b"data: " + json.dumps(event, ensure_ascii=ensure_ascii).encode())
        out.append(ending + ending)
    if draw(st.booleans()):
        out.append(b"data: [DONE]" + ending + ending)
    return "".join(pieces), b"".join(out)


@FUZZ
@given(stream=valid_stream(), cuts=CUTS)
def test_valid_stream_split_anywhere_decodes_to_the_same_text(
    stream: tuple[str, bytes], cuts: list[int]
) -> None:
    text, payload = stream
    read = _drive(_split(payload, _cuts(cuts, len(payload))))
    assert read.text == text
    assert read.finish_reason == "stop"
    assert read.usage is not None


@FUZZ
@given(stream=valid_stream(), cut=st.integers(min_value=0))
def test_valid_stream_cut_short_keeps_a_prefix(stream: tuple[str, bytes], cut: int) -> None:
    """A stream cut anywhere: complete (the cut fell after the finish) or the typed error
    whose partial text is a prefix of the answer. Never a wrong text."""
    text, payload = stream
    payload = payload[: cut % (len(payload) + 1)]
    failure: APIStreamError | None = None
    try:
        read = _drive([payload])
    except APIStreamError as exc:
        failure = exc
    if failure is not None:
        assert text.startswith(failure.partial_text)
        return
    assert read.text == text
