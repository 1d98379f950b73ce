"""A scripted HTTP/1.1 server on 127.0.0.1 for the client tests (real sockets, one thread).

The test says, reply by reply, exactly which bytes go back; the server records every request.

    with ScriptedServer() as server:                  # or the ``server`` pytest fixture
        server.enqueue(sse_reply(chunk_events(["Hel", "lo"])))   # answered in FIFO order
        server.route("GET", "/v1/models", Reply(json={"object": "list", "data": []}))
        ...  # point a client at server.base_url ("http://127.0.0.1:PORT/v1")
        server.requests[0].json()["model"]       # what the client sent
        server.connections_opened                # TCP connections accepted (pool reuse)

A request is answered by its fixed route if one matches ``(method, path)``, else by the next
queued reply; with neither, the server answers 500 with a body naming the request, so a test
that forgot a reply fails loudly instead of hanging.

``Reply`` controls the body down to the byte: a single body (``body=`` / ``json=``), or
``chunks=`` written and flushed one by one (``delay`` seconds apart) with chunked transfer
encoding or ``framing="close"`` (no length, the connection closes to end the body); ``gzip``;
``close_after`` (close the socket after that many body bytes: a truncated body);
``reset_before_response`` (read the request, then reset the connection); ``stall_before``.

Helpers build Groq-shaped bodies: ``chunk_events`` (realistic chat.completion.chunk dicts),
``sse_reply`` (``data: {json}`` frames plus ``data: [DONE]``), ``error_reply`` (Groq's
``{"error": {...}}`` body), ``completion_body`` (a non-streamed chat.completion) and
``ratelimit_headers``.
"""

from __future__ import annotations

import contextlib
import gzip as gzip_module
import http
import itertools
import json as json_module
import socket
import socketserver
import struct
import threading
import time
import zlib
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

REQUEST_ID = "req_01jtestscriptedserver0001"
MODEL = "llama-3.3-70b-versatile"
CREATED = 1731000000

__all__ = [
    "CREATED",
    "MODEL",
    "REQUEST_ID",
    "RecordedRequest",
    "Reply",
    "ScriptedServer",
    "chunk_events",
    "completion_body",
    "completion_reply",
    "error_body",
    "error_reply",
    "ratelimit_headers",
    "sse_bytes",
    "sse_reply",
]


@dataclass
class Reply:
    """One scripted HTTP response.

    ``body`` (bytes) or ``json`` (any JSON value) give a single body sent with Content-Length.
    ``chunks`` give a body written piece by piece, flushed after each, ``delay`` seconds apart;
    ``framing`` is ``"chunked"`` (Transfer-Encoding: chunked, the default for chunks),
    ``"close"`` (no length; closing the connection ends the body) or ``"length"``
    (Content-Length of the whole, still written piece by piece).
    ``gzip`` compresses the body (per chunk with a sync flush, so pieces still arrive one by one);
    ``brotli`` does the same with Content-Encoding: br.
    ``close_after`` closes the socket once that many body bytes (as on the wire, after gzip)
    went out, whatever the framing promised: a truncated body.
    ``reset_before_response`` reads the request then resets the connection (no response at all).
    ``stall_before`` waits that many seconds before the status line (for timeout tests).
    ``keep_alive=False`` adds ``Connection: close`` and closes after the response.
    """

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None
    json: Any = None
    chunks: Sequence[bytes] | None = None
    delay: float = 0.0
    framing: Literal["chunked", "close", "length"] = "chunked"
    gzip: bool = False
    brotli: bool = False
    close_after: int | None = None
    reset_before_response: bool = False
    stall_before: float = 0.0
    keep_alive: bool = True

    def body_pieces(self) -> list[bytes]:
        """The body as the pieces to write, before any gzip."""
        if self.chunks is not None:
            return [bytes(c) for c in self.chunks]
        if self.body is not None:
            return [self.body]
        if self.json is not None:
            return [json_module.dumps(self.json).encode()]
        return []


@dataclass
class RecordedRequest:
    """A request as the server received it; header names are lower-case."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    connection_id: int
    target: str = ""

    def json(self) -> Any:
        """The body parsed as JSON."""
        return json_module.loads(self.body)


class ScriptedServer:
    """A loopback HTTP/1.1 server answering with scripted ``Reply`` objects (see module doc).

    Use as a context manager (or call ``start()`` / ``stop()``). Attributes: ``url``,
    ``base_url`` (url + "/v1"), ``requests`` (list of ``RecordedRequest``),
    ``connections_opened`` (TCP connections accepted), ``open_connections`` (not yet
    closed), ``client_disconnects`` (writes that
    failed because the client had gone, e.g. it closed a stream early) and ``pending`` (queued
    replies not yet used).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queue: deque[Reply] = deque()
        self._routes: dict[tuple[str, str], Reply] = {}
        self._sockets: set[socket.socket] = set()
        self.requests: list[RecordedRequest] = []
        self.connections_opened = 0
        self.client_disconnects = 0
        self.disconnected = threading.Event()
        self._tcp: _TCPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> ScriptedServer:
        """Bind a free port on 127.0.0.1 and serve in a daemon thread."""
        self._tcp = _TCPServer(("127.0.0.1", 0), _Handler)
        self._tcp.scripted = self
        self._thread = threading.Thread(
            target=self._tcp.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close every open connection (handler threads then end)."""
        if self._tcp is None:
            return
        self._tcp.shutdown()
        self._tcp.server_close()
        with self._lock:
            sockets = list(self._sockets)
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        self._tcp = None

    def __enter__(self) -> ScriptedServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- scripting ---------------------------------------------------------------------------

    @property
    def port(self) -> int:
        """The bound port."""
        assert self._tcp is not None, "server not started"
        return int(self._tcp.server_address[1])

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT``."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        """The OpenAI-style base URL: ``url + "/v1"``."""
        return self.url + "/v1"

    @property
    def pending(self) -> int:
        """Queued replies not used yet."""
        with self._lock:
            return len(self._queue)

    @property
    def open_connections(self) -> int:
        """Connections accepted and not yet closed (by either side)."""
        with self._lock:
            return len(self._sockets)

    def wait_until(self, condition: Callable[[], bool], timeout: float = 10.0) -> bool:
        """Poll ``condition`` until true or ``timeout``; the server reacts in another thread."""
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                return False
            time.sleep(0.005)
        return True

    def enqueue(self, *replies: Reply) -> None:
        """Queue replies, answered in order to any request without a fixed route."""
        with self._lock:
            self._queue.extend(replies)

    def route(self, method: str, path: str, reply: Reply) -> None:
        """Answer every ``method path`` request (query string ignored) with ``reply``."""
        with self._lock:
            self._routes[(method.upper(), path)] = reply

    def _next_reply(self, method: str, path: str) -> Reply:
        with self._lock:
            fixed = self._routes.get((method, path))
            if fixed is not None:
                return fixed
            if self._queue:
                return self._queue.popleft()
        return Reply(
            status=500,
            headers={"content-type": "text/plain"},
            body=f"scripted server: no reply queued for {method} {path}".encode(),
        )

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(request)

    def _opened(self, sock: socket.socket) -> int:
        with self._lock:
            self.connections_opened += 1
            self._sockets.add(sock)
            return self.connections_opened

    def _closed(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.discard(sock)

    def _client_gone(self) -> None:
        with self._lock:
            self.client_disconnects += 1
        self.disconnected.set()


class _TCPServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    scripted: ScriptedServer


class _ClientGone(Exception):
    """The client closed its end while we were writing."""


class _Handler(socketserver.BaseRequestHandler):
    """Reads HTTP/1.1 requests off one connection (keep-alive) and writes scripted replies."""

    server: _TCPServer

    def handle(self) -> None:
        scripted = self.server.scripted
        sock: socket.socket = self.request
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        conn_id = scripted._opened(sock)
        reader = sock.makefile("rb")
        try:
            while True:
                request = _read_request(reader, conn_id)
                if request is None:
                    return
                scripted._record(request)
                reply = scripted._next_reply(request.method, request.path)
                client_wants_close = request.headers.get("connection", "").lower() == "close"
                try:
                    keep_open = _write_reply(sock, reply)
                except _ClientGone:
                    scripted._client_gone()
                    return
                if not keep_open or client_wants_close:
                    return
        except (OSError, ValueError):
            return
        finally:
            with contextlib.suppress(OSError):
                reader.close()
            with contextlib.suppress(OSError):
                sock.close()
            # Counted closed only once its descriptor is: leak checks wait for
            # open_connections == 0 and then count the process's descriptors.
            scripted._closed(sock)


def _read_request(reader: Any, conn_id: int) -> RecordedRequest | None:
    """Parse one request (Content-Length or chunked body); None at a clean end of connection."""
    line = reader.readline(65537)
    while line in (b"\r\n", b"\n"):  # tolerate stray blank lines between requests
        line = reader.readline(65537)
    if not line:
        return None
    method, target, _version = line.decode("latin-1").rstrip("\r\n").split(" ", 2)
    headers: dict[str, str] = {}
    while True:
        hline = reader.readline(65537)
        if hline in (b"\r\n", b"\n", b""):
            break
        name, _, value = hline.decode("latin-1").partition(":")
        key = name.strip().lower()
        value = value.strip()
        headers[key] = f"{headers[key]}, {value}" if key in headers else value
    if headers.get("transfer-encoding", "").lower() == "chunked":
        parts = []
        while True:
            size = int(reader.readline().split(b";")[0].strip(), 16)
            if size == 0:
                while reader.readline() not in (b"\r\n", b"\n", b""):
                    pass
                break
            parts.append(reader.read(size))
            reader.readline()
        body = b"".join(parts)
    else:
        body = reader.read(int(headers.get("content-length", "0") or 0))
    path = target.split("?", 1)[0]
    return RecordedRequest(method.upper(), path, headers, body, conn_id, target)


def _reason(status: int) -> str:
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


def _send(sock: socket.socket, data: bytes) -> None:
    try:
        sock.sendall(data)
    except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError) as exc:
        raise _ClientGone from exc


def _write_reply(sock: socket.socket, reply: Reply) -> bool:
    """Write ``reply``; return whether the connection may serve another request."""
    if reply.stall_before:
        time.sleep(reply.stall_before)
    if reply.reset_before_response:
        # SO_LINGER with a zero timeout makes close() send RST instead of FIN.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        return False

    pieces = reply.body_pieces()
    streamed = reply.chunks is not None
    if reply.gzip:
        pieces = _gzip_pieces(pieces) if streamed else [gzip_module.compress(b"".join(pieces))]
    elif reply.brotli:
        pieces = _brotli_pieces(pieces)

    headers = {k.lower(): v for k, v in reply.headers.items()}
    if reply.json is not None and reply.body is None and reply.chunks is None:
        headers.setdefault("content-type", "application/json")
    if reply.gzip:
        headers["content-encoding"] = "gzip"
    elif reply.brotli:
        headers["content-encoding"] = "br"
    framing = reply.framing if streamed else "length"
    if framing == "length":
        headers["content-length"] = str(sum(len(p) for p in pieces))
    elif framing == "chunked":
        headers["transfer-encoding"] = "chunked"
    keep_open = reply.keep_alive and framing != "close" and reply.close_after is None
    if not keep_open:
        headers["connection"] = "close"

    head = [f"HTTP/1.1 {reply.status} {_reason(reply.status)}"]
    head += [f"{k}: {v}" for k, v in headers.items()]
    _send(sock, ("\r\n".join(head) + "\r\n\r\n").encode("latin-1"))

    budget = reply.close_after
    for index, piece in enumerate(pieces):
        if index and reply.delay:
            time.sleep(reply.delay)
        if budget is not None and len(piece) >= budget:
            piece = piece[:budget]
            if piece:
                _send(sock, _frame(piece, framing))
            _close_gracefully(sock)
            return False
        if budget is not None:
            budget -= len(piece)
        if piece:
            _send(sock, _frame(piece, framing))
    if budget is not None:  # promised truncation beyond the body: close without the end
        _close_gracefully(sock)
        return False
    if framing == "chunked":
        _send(sock, b"0\r\n\r\n")
    return keep_open


def _frame(piece: bytes, framing: str) -> bytes:
    if framing == "chunked":
        return b"%x\r\n%s\r\n" % (len(piece), piece)
    return piece


def _close_gracefully(sock: socket.socket) -> None:
    """Send FIN (not RST) so the client still reads every byte we sent before the close."""
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_WR)


def _gzip_pieces(pieces: Iterable[bytes]) -> list[bytes]:
    """Gzip a streamed body piece by piece, sync-flushing so each piece decodes on arrival."""
    compressor = zlib.compressobj(6, zlib.DEFLATED, 31)  # wbits 16+15: gzip container
    out = [compressor.compress(p) + compressor.flush(zlib.Z_SYNC_FLUSH) for p in pieces]
    out.append(compressor.flush(zlib.Z_FINISH))
    return out


def _brotli_pieces(pieces: Iterable[bytes]) -> list[bytes]:
    """Brotli-compress a body piece by piece, flushing so each piece decodes on arrival."""
    import brotli  # the dev environment has it (the "brotli" extra); imported only when used

    compressor = brotli.Compressor()
    out = [compressor.process(p) + compressor.flush() for p in pieces]
    out.append(compressor.finish())
    return out


# -- Groq-shaped bodies ----------------------------------------------------------------------


def ratelimit_headers(
    *,
    request_id: str = REQUEST_ID,
    limit_requests: int = 14400,
    limit_tokens: int = 6000,
    remaining_requests: int = 14399,
    remaining_tokens: int = 5974,
    reset_requests: str = "6s",
    reset_tokens: str = "260ms",
) -> dict[str, str]:
    """The headers every Groq response carries: rate limits, request id, region."""
    return {
        "x-ratelimit-limit-requests": str(limit_requests),
        "x-ratelimit-limit-tokens": str(limit_tokens),
        "x-ratelimit-remaining-requests": str(remaining_requests),
        "x-ratelimit-remaining-tokens": str(remaining_tokens),
        "x-ratelimit-reset-requests": reset_requests,
        "x-ratelimit-reset-tokens": reset_tokens,
        "x-request-id": request_id,
        "x-groq-region": "us-east-1",
    }


def _usage(prompt: int, completion: int) -> dict[str, Any]:
    return {
        "queue_time": 0.021,
        "prompt_tokens": prompt,
        "prompt_time": 0.0042,
        "completion_tokens": completion,
        "completion_time": 0.0125,
        "total_tokens": prompt + completion,
        "total_time": 0.0167,
    }


def chunk_events(
    text_pieces: Sequence[str],
    *,
    model: str = MODEL,
    request_id: str = REQUEST_ID,
    completion_id: str = "chatcmpl-0c1d2e3f-test",
    finish_reason: str = "stop",
    reasoning_pieces: Sequence[str] = (),
    tool_call_deltas: Sequence[list[dict[str, Any]]] = (),
    usage: dict[str, Any] | None = None,
    x_groq_usage: dict[str, Any] | Literal[False] | None = None,
    top_level_usage: bool = False,
    include_usage_chunk: bool = False,
    prompt_tokens: int = 18,
) -> list[dict[str, Any]]:
    """Realistic Groq ``chat.completion.chunk`` dicts for an answer made of ``text_pieces``.

    The first chunk carries ``role`` and empty content plus ``x_groq.id``; reasoning deltas,
    then tool-call deltas (one list per chunk), then content deltas follow; the last chunk has
    ``finish_reason`` and ``x_groq`` with ``id`` and ``usage`` (``x_groq_usage``, default
    counts computed from the pieces; ``False`` leaves usage out). ``top_level_usage`` also puts
    the usage at the top level of the last chunk; ``include_usage_chunk`` appends the
    ``choices: []`` chunk that ``stream_options.include_usage`` asks for (with ``usage``).
    """
    counted = len(text_pieces) + len(reasoning_pieces) + len(tool_call_deltas)
    default_usage = _usage(prompt_tokens, counted)
    if x_groq_usage is None:
        x_groq_usage = default_usage
    final_usage = usage if usage is not None else default_usage

    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {
            "id": completion_id,
            "object": "chat.completion.chunk",
            "created": CREATED,
            "model": model,
            "system_fingerprint": "fp_test0001",
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
        }

    first = chunk({"role": "assistant", "content": ""})
    first["x_groq"] = {"id": request_id}
    events = [first]
    events += [chunk({"reasoning": piece}) for piece in reasoning_pieces]
    events += [chunk({"tool_calls": calls}) for calls in tool_call_deltas]
    events += [chunk({"content": piece}) for piece in text_pieces]
    last = chunk({}, finish_reason)
    last["x_groq"] = {"id": request_id}
    if x_groq_usage is not False:
        last["x_groq"]["usage"] = x_groq_usage
    if top_level_usage:
        last["usage"] = final_usage
    events.append(last)
    if include_usage_chunk:
        tail = chunk({})
        tail["choices"] = []
        tail["usage"] = final_usage
        events.append(tail)
    return events


def sse_bytes(events: Iterable[dict[str, Any] | str], *, done: bool = True) -> list[bytes]:
    """SSE frames: a dict becomes ``data: {json}\\n\\n``; a str is sent verbatim."""
    frames = [
        e.encode() if isinstance(e, str) else f"data: {json_module.dumps(e)}\n\n".encode()
        for e in events
    ]
    if done:
        frames.append(b"data: [DONE]\n\n")
    return frames


def sse_reply(
    events: Iterable[dict[str, Any] | str],
    *,
    done: bool = True,
    headers: dict[str, str] | None = None,
    split: int | Sequence[int] | None = None,
    **reply_options: Any,
) -> Reply:
    """A ``text/event-stream`` reply with the Groq headers, one network chunk per frame.

    ``split``: an int re-cuts the whole stream into pieces of that many bytes; a list of byte
    offsets cuts it exactly there. Other keywords go to ``Reply`` (``delay``, ``gzip``,
    ``close_after``, ``framing``...).
    """
    frames = sse_bytes(events, done=done)
    if split is not None:
        whole = b"".join(frames)
        if isinstance(split, int):
            frames = [whole[i : i + split] for i in range(0, len(whole), split)]
        else:
            cuts = [0, *sorted(split), len(whole)]
            frames = [whole[a:b] for a, b in itertools.pairwise(cuts) if b > a]
    all_headers = {"content-type": "text/event-stream", **ratelimit_headers()}
    all_headers.update(headers or {})
    return Reply(status=200, headers=all_headers, chunks=frames, **reply_options)


def error_body(
    message: str,
    *,
    type: str = "invalid_request_error",  # the wire name
    code: str | None = None,
    param: str | None = None,
    failed_generation: str | None = None,
) -> dict[str, Any]:
    """Groq's error body ``{"error": {...}}`` (optional fields only when given)."""
    error: dict[str, Any] = {"message": message, "type": type}
    if param is not None:
        error["param"] = param
    if code is not None:
        error["code"] = code
    if failed_generation is not None:
        error["failed_generation"] = failed_generation
    return {"error": error}


def error_reply(
    status: int,
    message: str = "scripted error",
    *,
    type: str = "invalid_request_error",  # the wire name
    code: str | None = None,
    param: str | None = None,
    failed_generation: str | None = None,
    headers: dict[str, str] | None = None,
    **reply_options: Any,
) -> Reply:
    """A JSON error reply with Groq's body and headers (extra ``headers`` override)."""
    body = error_body(
        message, type=type, code=code, param=param, failed_generation=failed_generation
    )
    all_headers = {"content-type": "application/json", **ratelimit_headers()}
    all_headers.update(headers or {})
    return Reply(status=status, headers=all_headers, json=body, **reply_options)


def completion_body(
    content: str | None = "Hello!",
    *,
    model: str = MODEL,
    request_id: str = REQUEST_ID,
    finish_reason: str = "stop",
    reasoning: str | None = None,
    tool_calls: list[dict[str, Any]] | None = None,
    prompt_tokens: int = 18,
    completion_tokens: int = 7,
) -> dict[str, Any]:
    """A non-streamed ``chat.completion`` body as Groq sends it."""
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if reasoning is not None:
        message["reasoning"] = reasoning
    if tool_calls is not None:
        message["tool_calls"] = tool_calls
    return {
        "id": "chatcmpl-5a6b7c8d-test",
        "object": "chat.completion",
        "created": CREATED,
        "model": model,
        "choices": [
            {"index": 0, "message": message, "logprobs": None, "finish_reason": finish_reason}
        ],
        "usage": _usage(prompt_tokens, completion_tokens),
        "usage_breakdown": None,
        "system_fingerprint": "fp_test0001",
        "x_groq": {"id": request_id, "seed": 1234},
        "service_tier": "on_demand",
    }


def completion_reply(content: str | None = "Hello!", **options: Any) -> Reply:
    """A 200 JSON reply with ``completion_body(content, **options)`` and the Groq headers."""
    return Reply(
        headers={"content-type": "application/json", **ratelimit_headers()},
        json=completion_body(content, **options),
    )
