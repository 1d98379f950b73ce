"""A loopback emulation of Groq's Files and Batch API, for tests (real sockets, threads).

    with BatchServer(api_key=FAKE_KEY) as server:      # 127.0.0.1, a free port
        client = Groq(api_key=FAKE_KEY, base_url=server.base_url)
        f = client.files.create(file=jsonl_bytes)       # stored, size and line limits checked
        batch = client.batches.create(input_file_id=f.id)   # "validating"
        server.step(batch.id)        # validating -> in_progress (or failed: see batch.errors)
        server.run(batch.id, 2)      # execute 2 requests (request_counts move)
        server.complete(batch.id)    # -> finalizing -> completed, output and error files written
        server.expire(batch.id)      # or: the window ran out; unexecuted requests -> error file
                                     # (as failed, with error.code "batch_expired")
        server.rewrite_results(batch.id, edit)   # serve a corrupted output (or error) file

The test drives the lifecycle: nothing moves on its own, unless ``advance_on_poll=True``,
which takes one ``step`` each time ``GET /batches/{id}`` is polled (for code that polls
until done). ``POST /batches/{id}/cancel`` moves a validating or in-progress batch to
``cancelling``; the next step makes it ``cancelled``, keeping what had been executed.

Input lines are validated as Groq documents them: a JSON object with a unique
``custom_id``, ``method`` POST, ``url`` equal to the batch's endpoint, and a ``body``
with ``model`` and non-empty ``messages``. Any bad line fails the batch with
``errors.data`` naming the line. Executed requests answer a ``chat.completion`` (with
usage) whose text is ``answer(body)`` (default: ``"echo: <last message>"``); a request
for a model in ``failing_models`` (default ``{"bad-model": 404}``) gets that status and
a Groq error body, and goes to the error file. Output and error lines are shuffled
(``seed``), as Groq does not keep input order.

Uploads larger than ``max_bytes`` answer 413, files with more than ``max_lines`` lines
400, both with Groq's ``{"error": {...}}`` body (Groq's limits, 200 MB and 50,000 lines,
are the defaults). Unknown ids answer 404 in the same shape. ``fail_next(n, status)``
makes the next ``n`` requests fail (503 by default) before anything else, for retry
tests. ``requests`` records every request (headers and raw body).
"""

from __future__ import annotations

import contextlib
import itertools
import json
import random
import re
import socket
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["MAX_BYTES", "MAX_LINES", "BatchServer", "ServerRequest"]

MAX_LINES = 50_000
MAX_BYTES = 200 * 1024 * 1024
API_PREFIX = "/openai/v1"
CHAT_ENDPOINT = "/v1/chat/completions"
START_TIME = 1731000000
WINDOW = re.compile(r"^(\d+)([hd])$")
MIN_WINDOW_HOURS, MAX_WINDOW_HOURS = 24, 7 * 24


@dataclass
class ServerRequest:
    """A request as the emulation received it; header names are lower-case."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class _File:
    id: str
    filename: str
    purpose: str
    data: bytes
    created_at: int

    def info(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "file",
            "bytes": len(self.data),
            "created_at": self.created_at,
            "filename": self.filename,
            "purpose": self.purpose,
        }


@dataclass
class _Batch:
    id: str
    input_file_id: str
    endpoint: str
    completion_window: str
    metadata: dict[str, Any] | None
    created_at: int
    expires_at: int
    status: str = "validating"
    times: dict[str, int] = field(default_factory=dict)
    requests: list[dict[str, Any]] = field(default_factory=list)
    executed: int = 0
    outputs: list[dict[str, Any]] = field(default_factory=list)
    failures: list[dict[str, Any]] = field(default_factory=list)
    errors: list[dict[str, Any]] | None = None
    output_file_id: str | None = None
    error_file_id: str | None = None

    def info(self) -> dict[str, Any]:
        counts = {"total": len(self.requests), "completed": len(self.outputs)}
        counts["failed"] = len(self.failures)
        return {
            "id": self.id,
            "object": "batch",
            "endpoint": self.endpoint,
            "errors": None if self.errors is None else {"object": "list", "data": self.errors},
            "input_file_id": self.input_file_id,
            "completion_window": self.completion_window,
            "status": self.status,
            "output_file_id": self.output_file_id,
            "error_file_id": self.error_file_id,
            "created_at": self.created_at,
            "expires_at": self.expires_at,
            **{f"{name}_at": self.times.get(name) for name in _TIMESTAMPS},
            "request_counts": counts,
            "metadata": self.metadata,
        }


_TIMESTAMPS = (
    "in_progress",
    "finalizing",
    "completed",
    "failed",
    "expired",
    "cancelling",
    "cancelled",
)


class _Fail(Exception):
    """An HTTP error answer with Groq's error body."""

    def __init__(self, status: int, message: str, code: str, param: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        error: dict[str, Any] = {"message": message, "type": "invalid_request_error", "code": code}
        if param is not None:
            error["param"] = param
        self.body = {"error": error}


def _default_answer(body: dict[str, Any]) -> str:
    content = body["messages"][-1].get("content")
    return f"echo: {content if isinstance(content, str) else json.dumps(content)}"


def _words(text: str) -> int:
    return max(1, len(text.split()))


class BatchServer:
    """Groq's files and batches endpoints on 127.0.0.1 (see the module docstring)."""

    def __init__(
        self,
        *,
        api_key: str | None = None,
        max_lines: int = MAX_LINES,
        max_bytes: int = MAX_BYTES,
        failing_models: dict[str, int] | None = None,
        answer: Callable[[dict[str, Any]], str] = _default_answer,
        advance_on_poll: bool = False,
        seed: int = 0,
    ) -> None:
        self.api_key = api_key
        self.max_lines = max_lines
        self.max_bytes = max_bytes
        self.failing_models = {"bad-model": 404} if failing_models is None else failing_models
        self.answer = answer
        self.advance_on_poll = advance_on_poll
        self.requests: list[ServerRequest] = []
        self.files: dict[str, _File] = {}
        self.batches: dict[str, _Batch] = {}
        self._random = random.Random(seed)
        self._lock = threading.RLock()
        self._ids = itertools.count(1)
        self._clock = itertools.count(START_TIME)
        self._failures: deque[tuple[int, dict[str, str]]] = deque()
        self._sockets: set[socket.socket] = set()
        self._http: _HTTPServer | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> BatchServer:
        """Bind a free port on 127.0.0.1 and serve in daemon threads."""
        self._http = _HTTPServer(("127.0.0.1", 0), _Handler)
        self._http.emulation = self
        threading.Thread(
            target=self._http.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        ).start()
        return self

    def stop(self) -> None:
        """Stop serving and close the connections still open."""
        if self._http is None:
            return
        self._http.shutdown()
        self._http.server_close()
        with self._lock:
            sockets = list(self._sockets)
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        self._http = None

    def __enter__(self) -> BatchServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT``."""
        assert self._http is not None, "server not started"
        return f"http://127.0.0.1:{self._http.server_address[1]}"

    @property
    def base_url(self) -> str:
        """Groq's API root on this server: ``url + "/openai/v1"``."""
        return self.url + API_PREFIX

    # -- control -----------------------------------------------------------------------------

    def fail_next(self, count: int = 1, status: int = 503, **headers: str) -> None:
        """Answer the next ``count`` requests with ``status`` (and ``headers``) first."""
        with self._lock:
            self._failures.extend([(status, dict(headers))] * count)

    def status(self, batch_id: str) -> str:
        """The batch's current status."""
        with self._lock:
            return self.batches[batch_id].status

    def step(self, batch_id: str) -> str:
        """Move the batch one stage on; return its new status (a final one stays put)."""
        with self._lock:
            batch = self.batches[batch_id]
            if batch.status == "validating":
                self._validate(batch)
            elif batch.status == "in_progress":
                self._execute(batch, len(batch.requests))
                self._enter(batch, "finalizing")
            elif batch.status == "finalizing":
                self._finish(batch, "completed")
            elif batch.status == "cancelling":
                self._finish(batch, "cancelled")
            return batch.status

    def run(self, batch_id: str, count: int) -> None:
        """Execute the next ``count`` requests of an in-progress batch."""
        with self._lock:
            batch = self.batches[batch_id]
            assert batch.status == "in_progress", batch.status
            self._execute(batch, count)

    def complete(self, batch_id: str) -> str:
        """Step until the batch reaches a final status; return it."""
        while self.step(batch_id) not in ("completed", "failed", "expired", "cancelled"):
            pass
        return self.status(batch_id)

    def rewrite_results(
        self,
        batch_id: str,
        edit: Callable[[list[bytes]], list[bytes]],
        kind: str = "output",
    ) -> None:
        """Serve ``edit(lines)`` as a finished batch's ``kind`` file (``output`` or ``error``).

        ``lines`` are the file's lines as served (shuffled, no newlines); what ``edit``
        returns is served joined by newlines: a line cut short, a line that is not an
        object, a response of the wrong shape, as a broken server or disk would give.
        """
        with self._lock:
            batch = self.batches[batch_id]
            file_id = batch.output_file_id if kind == "output" else batch.error_file_id
            assert file_id is not None, f"the batch has no {kind} file"
            stored = self.files[file_id]
            lines = edit(stored.data.splitlines())
            stored.data = b"".join(line + b"\n" for line in lines)

    def expire(self, batch_id: str) -> None:
        """The completion window ran out: unexecuted requests go to the error file."""
        with self._lock:
            batch = self.batches[batch_id]
            assert batch.status in ("validating", "in_progress", "finalizing"), batch.status
            for request in batch.requests[batch.executed :]:
                batch.failures.append(self._line(request["custom_id"], None, expired=True))
            batch.executed = len(batch.requests)
            self._finish(batch, "expired")

    # -- the batch lifecycle -----------------------------------------------------------------

    def _new_id(self, prefix: str) -> str:
        return f"{prefix}_{next(self._ids):026x}"

    def _enter(self, batch: _Batch, status: str) -> None:
        batch.status = status
        batch.times[status] = next(self._clock)

    def _validate(self, batch: _Batch) -> None:
        requests, errors = _check_lines(self.files[batch.input_file_id].data, batch.endpoint)
        if errors:
            batch.errors = errors
            self._enter(batch, "failed")
            return
        batch.requests = requests
        self._enter(batch, "in_progress")

    def _execute(self, batch: _Batch, count: int) -> None:
        for request in batch.requests[batch.executed : batch.executed + count]:
            body = request["body"]
            status = self.failing_models.get(body["model"])
            if status is None:
                batch.outputs.append(self._line(request["custom_id"], self._completion(body)))
            else:
                message = f"The model `{body['model']}` does not exist or you do not have access."
                error = _Fail(status, message, "model_not_found").body
                batch.failures.append(self._line(request["custom_id"], error, status=status))
            batch.executed += 1

    def _completion(self, body: dict[str, Any]) -> dict[str, Any]:
        text = self.answer(body)
        prompt = sum(_words(json.dumps(m.get("content"))) for m in body["messages"])
        completion = _words(text)
        return {
            "id": self._new_id("chatcmpl"),
            "object": "chat.completion",
            "created": next(self._clock),
            "model": body["model"],
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": text},
                    "logprobs": None,
                    "finish_reason": "stop",
                }
            ],
            "usage": {
                "queue_time": 0.01,
                "prompt_tokens": prompt,
                "prompt_time": 0.002,
                "completion_tokens": completion,
                "completion_time": 0.004,
                "total_tokens": prompt + completion,
                "total_time": 0.006,
            },
            "system_fingerprint": "fp_batchtest",
            "x_groq": {"id": self._new_id("req")},
        }

    def _line(
        self,
        custom_id: str,
        body: dict[str, Any] | None,
        *,
        status: int = 200,
        expired: bool = False,
    ) -> dict[str, Any]:
        line: dict[str, Any] = {"id": self._new_id("batch_req"), "custom_id": custom_id}
        if expired:
            line["response"] = None
            line["error"] = {
                "code": "batch_expired",
                "message": "This request could not be executed before the completion "
                "window expired.",
            }
        else:
            request_id = self._new_id("req")
            line["response"] = {"status_code": status, "request_id": request_id, "body": body}
            line["error"] = None
        return line

    def _finish(self, batch: _Batch, status: str) -> None:
        batch.output_file_id = self._write_results(batch, batch.outputs, "output")
        batch.error_file_id = self._write_results(batch, batch.failures, "error")
        self._enter(batch, status)

    def _write_results(self, batch: _Batch, lines: list[dict[str, Any]], kind: str) -> str | None:
        if not lines:
            return None
        shuffled = list(lines)
        self._random.shuffle(shuffled)
        data = "".join(json.dumps(line) + "\n" for line in shuffled).encode()
        stored = _File(
            self._new_id("file"),
            f"{batch.id}_{kind}.jsonl",
            "batch_output",
            data,
            next(self._clock),
        )
        self.files[stored.id] = stored
        return stored.id

    # -- HTTP --------------------------------------------------------------------------------

    def _answer(self, request: ServerRequest) -> tuple[int, dict[str, str], bytes]:
        """Status, headers and body for one request (the handler writes them)."""
        with self._lock:
            self.requests.append(request)
            if self._failures:
                status, headers = self._failures.popleft()
                body = {"error": {"message": "scripted failure", "type": "internal_server_error"}}
                return status, {"content-type": "application/json", **headers}, _dump(body)
        if self.api_key is not None and request.headers.get("authorization") != (
            "Bearer " + self.api_key
        ):
            fail = _Fail(401, "Invalid API Key", "invalid_api_key")
            return fail.status, {"content-type": "application/json"}, _dump(fail.body)
        try:
            with self._lock:
                answer = self._route(request)
        except _Fail as fail:
            return fail.status, {"content-type": "application/json"}, _dump(fail.body)
        if isinstance(answer, bytes):
            return 200, {"content-type": "application/octet-stream"}, answer
        return 200, {"content-type": "application/json"}, _dump(answer)

    def _route(self, request: ServerRequest) -> dict[str, Any] | bytes:
        method, path = request.method, request.path
        parts = path[len(API_PREFIX) :].strip("/").split("/") if path.startswith(API_PREFIX) else []
        match (method, parts):
            case ("POST", ["files"]):
                return self._upload(request)
            case ("GET", ["files"]):
                return {"object": "list", "data": [f.info() for f in self.files.values()]}
            case ("GET", ["files", file_id]):
                return self._file(file_id).info()
            case ("GET", ["files", file_id, "content"]):
                return self._file(file_id).data
            case ("DELETE", ["files", file_id]):
                del self.files[self._file(file_id).id]
                return {"id": file_id, "object": "file", "deleted": True}
            case ("POST", ["batches"]):
                return self._create_batch(request)
            case ("GET", ["batches"]):
                data = [b.info() for b in self.batches.values()]
                ids = [b["id"] for b in data]
                return {
                    "object": "list",
                    "data": data,
                    "first_id": ids[0] if ids else None,
                    "last_id": ids[-1] if ids else None,
                    "has_more": False,
                }
            case ("GET", ["batches", batch_id]):
                batch = self._batch(batch_id)
                if self.advance_on_poll:
                    self.step(batch.id)
                return batch.info()
            case ("POST", ["batches", batch_id, "cancel"]):
                return self._cancel(self._batch(batch_id))
        raise _Fail(404, f"Unknown request URL: {method} {path}.", "unknown_url")

    def _file(self, file_id: str) -> _File:
        if file_id not in self.files:
            raise _Fail(404, f"file '{file_id}' not found", "not_found")
        return self.files[file_id]

    def _batch(self, batch_id: str) -> _Batch:
        if batch_id not in self.batches:
            raise _Fail(404, f"batch '{batch_id}' not found", "not_found")
        return self.batches[batch_id]

    def _upload(self, request: ServerRequest) -> dict[str, Any]:
        fields = _multipart(request.headers.get("content-type", ""), request.body)
        purpose = fields.get("purpose", (None, b""))[1].decode()
        if purpose != "batch":
            raise _Fail(
                400, f"purpose must be 'batch', got {purpose!r}", "invalid_purpose", "purpose"
            )
        if "file" not in fields or fields["file"][0] is None:
            raise _Fail(400, "a 'file' part is required", "missing_file", "file")
        filename, data = fields["file"]
        assert filename is not None
        if not filename.endswith(".jsonl"):
            raise _Fail(400, "only .jsonl files are supported", "invalid_file_format", "file")
        if len(data) > self.max_bytes:
            raise _Fail(
                413,
                f"the file is {len(data)} bytes; the limit is {self.max_bytes}",
                "file_too_large",
                "file",
            )
        lines = len([line for line in data.splitlines() if line.strip()])
        if lines > self.max_lines:
            raise _Fail(
                400,
                f"the file has {lines} lines; the limit is {self.max_lines}",
                "too_many_lines",
                "file",
            )
        stored = _File(self._new_id("file"), filename, purpose, data, next(self._clock))
        self.files[stored.id] = stored
        return stored.info()

    def _create_batch(self, request: ServerRequest) -> dict[str, Any]:
        try:
            body = json.loads(request.body)
        except ValueError:
            raise _Fail(400, "the body is not JSON", "invalid_json") from None
        if not isinstance(body, dict):
            raise _Fail(400, "the body must be a JSON object", "invalid_json")
        stored = self._file(str(body.get("input_file_id")))
        if stored.purpose != "batch":
            raise _Fail(
                400, "the input file's purpose is not 'batch'", "invalid_file", "input_file_id"
            )
        endpoint = body.get("endpoint")
        if endpoint != CHAT_ENDPOINT:
            raise _Fail(
                400,
                f"endpoint must be '{CHAT_ENDPOINT}', got {endpoint!r}",
                "invalid_endpoint",
                "endpoint",
            )
        window = body.get("completion_window")
        matched = WINDOW.match(window) if isinstance(window, str) else None
        hours = int(matched[1]) * (24 if matched[2] == "d" else 1) if matched else 0
        if not MIN_WINDOW_HOURS <= hours <= MAX_WINDOW_HOURS:
            raise _Fail(
                400,
                f"completion_window must be 24h to 7d, got {window!r}",
                "invalid_completion_window",
                "completion_window",
            )
        metadata = body.get("metadata")
        if metadata is not None and not isinstance(metadata, dict):
            raise _Fail(400, "metadata must be an object", "invalid_metadata", "metadata")
        created = next(self._clock)
        batch = _Batch(
            self._new_id("batch"),
            stored.id,
            endpoint,
            window,
            metadata,
            created,
            created + hours * 3600,
        )
        self.batches[batch.id] = batch
        return batch.info()

    def _cancel(self, batch: _Batch) -> dict[str, Any]:
        if batch.status in ("validating", "in_progress"):
            self._enter(batch, "cancelling")
        elif batch.status != "cancelling":
            # 400, not 409: the client retries a 409, and asking again cannot help.
            raise _Fail(400, f"cannot cancel a batch that is {batch.status}", "invalid_state")
        return batch.info()


def _dump(value: Any) -> bytes:
    return json.dumps(value).encode()


def _check_lines(data: bytes, endpoint: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The input's requests and, for each bad line, a Groq-style error entry."""
    requests: list[dict[str, Any]] = []
    errors: list[dict[str, Any]] = []
    seen: set[str] = set()

    def bad(number: int, code: str, message: str, param: str | None = None) -> None:
        errors.append({"code": code, "line": number, "message": message, "param": param})

    for number, raw in enumerate(data.decode("utf-8", "replace").splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            line = json.loads(raw)
        except ValueError:
            bad(number, "invalid_json", "the line is not valid JSON")
            continue
        if not isinstance(line, dict):
            bad(number, "invalid_request", "the line is not a JSON object")
            continue
        custom_id = line.get("custom_id")
        body = line.get("body")
        if not isinstance(custom_id, str) or not custom_id:
            bad(number, "missing_custom_id", "custom_id must be a non-empty string", "custom_id")
        elif custom_id in seen:
            bad(
                number, "duplicate_custom_id", f"custom_id '{custom_id}' is used twice", "custom_id"
            )
        elif line.get("method") != "POST":
            bad(number, "invalid_method", "method must be POST", "method")
        elif line.get("url") != endpoint:
            bad(number, "invalid_url", f"url must be {endpoint} (the batch's endpoint)", "url")
        elif not isinstance(body, dict) or not isinstance(body.get("model"), str):
            bad(number, "missing_model", "body.model must be a string", "body.model")
        elif not isinstance(body.get("messages"), list) or not body["messages"]:
            bad(
                number,
                "missing_messages",
                "body.messages must be a non-empty list",
                "body.messages",
            )
        else:
            requests.append(line)
        if isinstance(custom_id, str):
            seen.add(custom_id)
    if not requests and not errors:
        errors.append(
            {
                "code": "empty_file",
                "line": None,
                "message": "the file has no requests",
                "param": None,
            }
        )
    return requests, errors


def _multipart(content_type: str, body: bytes) -> dict[str, tuple[str | None, bytes]]:
    """``{name: (filename, content)}`` of a multipart/form-data body, byte for byte."""
    found = re.search(r'boundary="?([^";]+)"?', content_type)
    if not content_type.startswith("multipart/form-data") or not found:
        raise _Fail(400, "the upload must be multipart/form-data", "invalid_content_type")
    delimiter = b"--" + found[1].encode()
    parts: dict[str, tuple[str | None, bytes]] = {}
    for chunk in body.split(delimiter)[1:]:
        if chunk.startswith(b"--"):  # the closing delimiter
            break
        head, _, content = chunk.removeprefix(b"\r\n").partition(b"\r\n\r\n")
        disposition = next(
            (
                h
                for h in head.decode("latin-1").split("\r\n")
                if h.lower().startswith("content-disposition")
            ),
            "",
        )
        name = re.search(r'\bname="([^"]*)"', disposition)
        filename = re.search(r'\bfilename="([^"]*)"', disposition)
        if name:
            parts[name[1]] = (filename[1] if filename else None, content.removesuffix(b"\r\n"))
    return parts


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    emulation: BatchServer


class _Handler(BaseHTTPRequestHandler):
    """Reads one request at a time off a keep-alive connection and answers it."""

    protocol_version = "HTTP/1.1"
    server: _HTTPServer

    def setup(self) -> None:
        super().setup()
        with self.server.emulation._lock:
            self.server.emulation._sockets.add(self.connection)

    def finish(self) -> None:
        with self.server.emulation._lock:
            self.server.emulation._sockets.discard(self.connection)
        with contextlib.suppress(OSError):
            super().finish()

    def _handle(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else b""
        request = ServerRequest(
            self.command,
            self.path.split("?", 1)[0],
            {k.lower(): v for k, v in self.headers.items()},
            body,
        )
        status, headers, payload = self.server.emulation._answer(request)
        self.send_response(status)
        for name, value in {"x-request-id": "req_batchserver", **headers}.items():
            self.send_header(name, value)
        self.send_header("content-length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_DELETE = _handle

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the tests read ``requests`` instead of a log."""
