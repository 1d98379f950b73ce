"""Named faults on top of the scripted server's ``Reply``: every way a network or server fails.

Each builder returns one :class:`~scripted_server.Reply` to ``server.enqueue``; a retry test
queues the fault before a good answer (``server.enqueue(rate_limited(ms=1), answer())``).
Everything the issue lists is expressible with ``Reply``'s knobs:

- status faults: :func:`rate_limited` (429 with ``retry-after-ms`` or ``retry-after``),
  :func:`server_error` (500/502/503, with or without ``x-should-retry``), :func:`capacity` (498);
- connection faults: :func:`reset` (read the request, then RST before any byte),
  :func:`stall_first_byte` (sleep past the read timeout before the status line);
- stream faults: :func:`stall_mid_stream` (headers and ``after_chunks`` frames, then silence: the
  pieces are ``[head, rest]`` sent ``seconds`` apart), :func:`cut_mid_stream` (FIN after some
  frames, no ``[DONE]``), :func:`malformed_line`, :func:`not_json_chunk`, :func:`wrong_shape_chunk`,
  :func:`error_event`, :func:`huge_chunk` and :func:`drip` (one byte per write).

Non-streamed twins (``stream=False`` requests) are built by the same functions with
``stream=False``: a body cut short, a stall inside the body, a body that is not JSON...

A stalled reply keeps its server thread asleep for ``seconds`` after the client gave up (the
server cannot notice a closed peer while it sleeps), so tests use short stalls (about twice the
client's read timeout) and :func:`client_sockets` to check that no *client* socket is left open.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import psutil
from scripted_server import (
    Reply,
    ScriptedServer,
    chunk_events,
    completion_body,
    completion_reply,
    error_reply,
    ratelimit_headers,
    sse_bytes,
    sse_reply,
)

__all__ = [
    "ANSWER",
    "PIECES",
    "answer",
    "capacity",
    "client_sockets",
    "cut_mid_stream",
    "drip",
    "error_event",
    "huge_chunk",
    "malformed_line",
    "not_json_chunk",
    "rate_limited",
    "reset",
    "server_error",
    "stall_first_byte",
    "stall_mid_stream",
    "wrong_shape_chunk",
]

# The answer every good reply carries; a partial answer is a prefix of it.
PIECES = ["The ", "answer ", "is ", "forty-", "two."]
ANSWER = "".join(PIECES)
# How many frames precede the content: chunk_events' first chunk has the role only.
_ROLE_FRAMES = 1


def answer(*, stream: bool = True, pieces: Sequence[str] = PIECES, **options: Any) -> Reply:
    """A good answer: streamed (one frame per piece, ``[DONE]``) or one completion body."""
    if stream:
        return sse_reply(chunk_events(list(pieces)), **options)
    return completion_reply("".join(pieces), **options)


def _json_reply(body: bytes, **options: Any) -> Reply:
    headers = {"content-type": "application/json", **ratelimit_headers()}
    return Reply(headers=headers, body=body, **options)


# -- status faults ---------------------------------------------------------------------------


def rate_limited(*, ms: int | None = None, seconds: float | None = None) -> Reply:
    """429 ``rate_limit_exceeded`` with ``retry-after-ms`` and/or ``retry-after``."""
    headers: dict[str, str] = {}
    if ms is not None:
        headers["retry-after-ms"] = str(ms)
    if seconds is not None:
        headers["retry-after"] = f"{seconds:g}"
    return error_reply(
        429,
        "Rate limit reached for model `llama-3.3-70b-versatile` on tokens per minute (TPM):"
        " Limit 6000, Used 5990, Requested 120. Please try again in 1.1s.",
        type="tokens",
        code="rate_limit_exceeded",
        headers=headers,
    )


def server_error(status: int = 500, *, should_retry: bool | None = None) -> Reply:
    """A 5xx with Groq's error body; ``should_retry`` sets ``x-should-retry``."""
    headers: dict[str, str] = {}
    if should_retry is not None:
        headers["x-should-retry"] = "true" if should_retry else "false"
    return error_reply(
        status,
        f"scripted server error {status}",
        type="internal_server_error",
        code="internal_server_error",
        headers=headers,
    )


def capacity() -> Reply:
    """498: the flex tier is out of capacity (never retried)."""
    return error_reply(
        498,
        "Capacity exceeded for the flex service tier",
        type="capacity_exceeded",
        code="capacity_exceeded",
    )


# -- connection faults -----------------------------------------------------------------------


def reset() -> Reply:
    """Accept and read the request, then reset the connection before any response byte."""
    return Reply(reset_before_response=True)


def stall_first_byte(seconds: float) -> Reply:
    """Send nothing for ``seconds`` (longer than the client's read timeout), then an answer."""
    good = answer(stream=True)
    good.stall_before = seconds
    return good


# -- stream faults ---------------------------------------------------------------------------


def _frames(done: bool = True) -> list[bytes]:
    return sse_bytes(chunk_events(PIECES), done=done)


def _sse(chunks: list[bytes], **options: Any) -> Reply:
    headers = {"content-type": "text/event-stream", **ratelimit_headers()}
    return Reply(headers=headers, chunks=chunks, **options)


def partial_text(after_chunks: int) -> str:
    """The text a client has seen after ``after_chunks`` content frames."""
    return "".join(PIECES[:after_chunks])


def stall_mid_stream(after_chunks: int, seconds: float, *, stream: bool = True) -> Reply:
    """Headers and ``after_chunks`` content frames, then silence for ``seconds``, then the rest.

    ``after_chunks=0`` is "headers, then stall". Non-streamed: the status line, headers
    and half the body, then silence.
    """
    if not stream:
        body = json.dumps(completion_body(ANSWER)).encode()
        half = len(body) // 2
        return _json_reply(b"", chunks=[body[:half], body[half:]], delay=seconds, framing="length")
    frames = _frames()
    cut = _ROLE_FRAMES + after_chunks
    head = b"".join(frames[:cut]) if after_chunks else b""
    return _sse([head, b"".join(frames[cut:])], delay=seconds)


def cut_mid_stream(after_chunks: int = 2, *, stream: bool = True) -> Reply:
    """``after_chunks`` content frames, then the server closes (FIN): no finish, no ``[DONE]``.

    Non-streamed: a Content-Length body cut in half by the close.
    """
    if not stream:
        body = json.dumps(completion_body(ANSWER)).encode()
        return _json_reply(body, close_after=len(body) // 2)
    frames = _frames(done=False)
    head = frames[: _ROLE_FRAMES + after_chunks]
    return _sse(head, framing="close")


def malformed_line(*, stream: bool = True) -> Reply:
    """A stream with junk lines between frames (no colon, binary bytes, a bare ``data``).

    By the event-stream rules these lines are fields the client ignores, so the answer is
    whole. Non-streamed: a body that is not JSON at all.
    """
    if not stream:
        return _json_reply(b"<html>502 Bad Gateway</html>")
    frames = _frames()
    junk = [b"this line has no colon\n", b"\xff\xfe\x00binary\n", b"retry: soon\n", b": comment\n"]
    mixed: list[bytes] = []
    for index, frame in enumerate(frames):
        mixed.append(frame)
        if index < len(junk):
            mixed.append(junk[index])
    return _sse(mixed)


def not_json_chunk(after_chunks: int = 2, *, stream: bool = True) -> Reply:
    """``after_chunks`` good frames, then ``data: {"choices": [`` (not JSON), then more frames.

    Non-streamed: a 200 JSON body cut into something that does not parse.
    """
    if not stream:
        return _json_reply(b'{"id": "chatcmpl-x", "choices": [')
    frames = _frames()
    cut = _ROLE_FRAMES + after_chunks
    return _sse([*frames[:cut], b'data: {"choices": [\n\n', *frames[cut:]])


def wrong_shape_chunk(after_chunks: int = 2, *, stream: bool = True) -> Reply:
    """``after_chunks`` good frames, then valid JSON of the wrong shape (``choices`` a string).

    Non-streamed: a JSON body whose ``choices`` is not a list.
    """
    if not stream:
        return _json_reply(json.dumps({"id": "chatcmpl-x", "choices": "none today"}).encode())
    frames = _frames()
    cut = _ROLE_FRAMES + after_chunks
    bad = b'data: {"id": "chatcmpl-x", "choices": "none today"}\n\n'
    return _sse([*frames[:cut], bad, *frames[cut:]])


ERROR_MESSAGE = "Service Unavailable: the model is overloaded mid-generation"


def error_event(after_chunks: int = 2, *, stream: bool = True) -> Reply:
    """``after_chunks`` good frames, then ``event: error`` with Groq's error data; no ``[DONE]``.

    Non-streamed: a 200 whose JSON body is ``{"error": {...}}``.
    """
    error = {
        "error": {
            "message": ERROR_MESSAGE,
            "type": "internal_server_error",
            "code": "service_unavailable",
            "status_code": 503,
        }
    }
    if not stream:
        return _json_reply(json.dumps(error).encode())
    frames = _frames(done=False)
    cut = _ROLE_FRAMES + after_chunks
    event = b"event: error\ndata: " + json.dumps(error).encode() + b"\n\n"
    return _sse([*frames[:cut], event])


def huge_text(size: int) -> str:
    """``size`` characters of recognisable text (so a check can find a dropped slice)."""
    unit = "0123456789abcdef"
    return (unit * (size // len(unit) + 1))[:size]


def huge_chunk(size: int = 2_000_000, *, stream: bool = True) -> Reply:
    """One content delta of ``size`` characters: a single SSE frame of about that many bytes."""
    return answer(stream=stream, pieces=[huge_text(size)])


def drip(*, stream: bool = True, delay: float = 0.0) -> Reply:
    """The whole answer written one byte at a time (each byte its own write and TCP segment)."""
    if not stream:
        body = json.dumps(completion_body(ANSWER)).encode()
        return _json_reply(
            b"", chunks=[body[i : i + 1] for i in range(len(body))], delay=delay, framing="length"
        )
    return answer(stream=True, split=1, delay=delay)


# -- leak checks -----------------------------------------------------------------------------


def client_sockets(server: ScriptedServer) -> list[Any]:
    """This process's sockets whose *remote* end is ``server`` (the client's side of each).

    The server runs in this process too; its own sockets have the port as the local end,
    so they are not counted here.
    """
    port = server.port
    return [
        c
        for c in psutil.Process().net_connections(kind="tcp")
        if c.raddr and c.raddr.port == port and c.status != psutil.CONN_TIME_WAIT
    ]
