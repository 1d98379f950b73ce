"""``client.batches``: run a file of chat-completion requests as one asynchronous batch.

The flow (Groq's Batch API, as in the SDK)::

    f = client.files.create(file=jsonl_bytes, purpose="batch")
    batch = client.batches.create(input_file_id=f.id)          # status "validating"
    batch = client.batches.retrieve(batch.id)                  # poll until batch.is_done
    out = parse_batch_output(client.files.content(batch.output_file_id))
    errs = parse_batch_output(client.files.content(batch.error_file_id))  # when set

A batch moves ``validating`` -> ``in_progress`` -> ``finalizing`` -> ``completed``, or
ends ``failed`` (the input file was rejected: see ``errors``), ``expired`` (the
completion window ran out) or ``cancelling`` -> ``cancelled``. Output lines are not
in input order: join them to the input on ``custom_id``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from pydantic import Field, PrivateAttr, ValidationError, field_validator

from ._exceptions import APIResponseValidationError, ArgumentError
from ._models import ChatCompletion, NullableList, _Lenient
from ._resource import AsyncResource, Call, SyncResource, Timeout, id_path, object_parser

__all__ = [
    "TERMINAL_BATCH_STATUSES",
    "AsyncBatches",
    "Batch",
    "BatchError",
    "BatchErrors",
    "BatchLineError",
    "BatchLineResponse",
    "BatchList",
    "BatchOutputLine",
    "BatchRequestCounts",
    "Batches",
    "parse_batch_output",
]

BATCH_API = "Batch API"
CHAT_ENDPOINT = "/v1/chat/completions"
TERMINAL_BATCH_STATUSES = frozenset({"completed", "failed", "expired", "cancelled"})


class BatchRequestCounts(_Lenient):
    """How many of the batch's requests there are, and how many completed or failed."""

    total: int = 0
    completed: int = 0
    failed: int = 0


class BatchError(_Lenient):
    """Why the input file was rejected: a code, a message and the line it is about."""

    code: str | None = None
    message: str | None = None
    line: int | None = None
    param: str | None = None


class BatchErrors(_Lenient):
    """``{"object": "list", "data": [BatchError, ...]}``."""

    object: str | None = None
    data: NullableList[BatchError] = Field(default_factory=list)


class Batch(_Lenient):
    """A batch (``object: batch``); timestamps are Unix seconds, absent until reached."""

    id: str
    object: str | None = None
    endpoint: str | None = None
    input_file_id: str | None = None
    completion_window: str | None = None
    status: str | None = None
    output_file_id: str | None = None
    error_file_id: str | None = None
    # Never None, so callers can read request_counts.total without a check.
    request_counts: BatchRequestCounts = Field(default_factory=BatchRequestCounts)
    errors: BatchErrors | None = None
    metadata: dict[str, Any] | None = None
    created_at: int | None = None
    in_progress_at: int | None = None
    expires_at: int | None = None
    finalizing_at: int | None = None
    completed_at: int | None = None
    failed_at: int | None = None
    expired_at: int | None = None
    cancelling_at: int | None = None
    cancelled_at: int | None = None

    @field_validator("request_counts", mode="before")
    @classmethod
    def _null_counts(cls, value: Any) -> Any:
        return {} if value is None else value

    @property
    def is_done(self) -> bool:
        """Whether the batch reached a final status (completed, failed, expired, cancelled)."""
        return self.status in TERMINAL_BATCH_STATUSES

    @property
    def error_messages(self) -> list[str]:
        """The ``errors`` as lines such as ``"line 3: custom_id 'a' is used twice"``."""
        if self.errors is None:
            return []
        lines = []
        for error in self.errors.data:
            text = error.message or error.code or "error"
            lines.append(f"line {error.line}: {text}" if error.line is not None else text)
        return lines


class BatchList(_Lenient):
    """The answer of ``GET /batches``."""

    object: str | None = None
    data: NullableList[Batch] = Field(default_factory=list)


class BatchLineResponse(_Lenient):
    """The HTTP answer one batched request got: status, request id and JSON body."""

    status_code: int | None = None
    request_id: str | None = None
    body: Any = None


class BatchLineError(_Lenient):
    """Why a batched request got no HTTP answer (for example the window expired)."""

    code: str | None = None
    message: str | None = None


UNREADABLE_LINE = "unreadable_result_line"
"""The ``error.code`` of a :class:`BatchOutputLine` made for a line that is not a result."""


class BatchOutputLine(_Lenient):
    """One line of a batch's output or error file, keyed to its input by ``custom_id``.

    ``line_number`` is its line in the file (set by :func:`parse_batch_output`). A line
    that could not be read as a result (:attr:`unreadable`) carries an ``error`` saying
    why, and the ``custom_id`` when that much could be read.
    """

    id: str | None = None
    custom_id: str | None = None
    response: BatchLineResponse | None = None
    error: BatchLineError | None = None
    line_number: int | None = None
    _completion: ChatCompletion | None = PrivateAttr(default=None)

    @property
    def ok(self) -> bool:
        """Whether the request succeeded (a 2xx answer and no error)."""
        status = self.response.status_code if self.response else None
        return self.error is None and status is not None and 200 <= status < 300

    @property
    def unreadable(self) -> bool:
        """True for a line :func:`parse_batch_output` could not read as a result."""
        return self.error is not None and self.error.code == UNREADABLE_LINE

    @property
    def completion(self) -> ChatCompletion | None:
        """The answer as a :class:`ChatCompletion` when the request succeeded, else None."""
        if self._completion is not None:
            return self._completion
        if not self.ok or self.response is None or not isinstance(self.response.body, dict):
            return None
        try:
            return ChatCompletion.model_validate(self.response.body)
        except ValidationError as exc:
            raise APIResponseValidationError(
                f"the batch answer for {self.custom_id!r} is not a chat completion: "
                f"{exc.errors()[0].get('msg', 'invalid')}"
            ) from None

    @property
    def error_message(self) -> str | None:
        """One line saying why the request failed, or None when it succeeded."""
        if self.ok:
            return None
        if self.error is not None:
            if self.unreadable and self.error.message:
                return self.error.message
            head = self.error.code or "error"
            return f"{head}: {self.error.message}" if self.error.message else head
        status = self.response.status_code if self.response else None
        body = self.response.body if self.response else None
        error = body.get("error") if isinstance(body, dict) else None
        if isinstance(error, dict) and error.get("message"):
            code = error.get("code")
            head = " ".join(str(p) for p in (status, code) if p)
            return f"{head}: {error['message']}" if head else str(error["message"])
        return f"HTTP {status}" if status is not None else "no answer"


# The custom_id of a line cut short or otherwise broken: the first one in its text.
_CUSTOM_ID = re.compile(r'"custom_id"\s*:\s*("(?:[^"\\]|\\.)*")')


def _custom_id_in(line: str, value: Any) -> str | None:
    """The line's ``custom_id`` if it can be read: from the decoded object, else its text."""
    if isinstance(value, dict):
        found = value.get("custom_id")
        return found if isinstance(found, str) and found else None
    match = _CUSTOM_ID.search(line)
    if match is None:
        return None
    try:
        found = json.loads(match[1])
    except ValueError:
        return None
    return found if isinstance(found, str) and found else None


def _unreadable(number: int, source: str, why: str, custom_id: str | None) -> BatchOutputLine:
    message = f"unreadable result: line {number} of the {source} {why}"
    return BatchOutputLine(
        custom_id=custom_id,
        error=BatchLineError(code=UNREADABLE_LINE, message=message),
        line_number=number,
    )


def _first_error(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first.get("loc", ()))
    message = str(first.get("msg", "invalid"))
    return f"{where}: {message}" if where else message


def _read_line(line: str, number: int, source: str) -> BatchOutputLine:
    """One line as a result, or as an unreadable line naming why (never raises)."""
    try:
        value = json.loads(line)
    except (ValueError, RecursionError):
        return _unreadable(number, source, "is not complete JSON", _custom_id_in(line, None))
    custom_id = _custom_id_in(line, value)
    if not isinstance(value, dict):
        return _unreadable(number, source, "is not a JSON object", custom_id)
    try:
        parsed = BatchOutputLine.model_validate(value)
    except ValidationError as exc:
        return _unreadable(number, source, f"is not a result ({_first_error(exc)})", custom_id)
    parsed.line_number = number
    if parsed.ok:
        body = parsed.response.body if parsed.response is not None else None
        try:
            completion = ChatCompletion.model_validate(body) if isinstance(body, dict) else None
        except ValidationError as exc:
            why = f"is not a chat completion ({_first_error(exc)})"
            return _unreadable(number, source, why, custom_id)
        if completion is None or not completion.choices:
            why = "has no answer (no chat completion with a choice)"
            return _unreadable(number, source, why, custom_id)
        parsed._completion = completion
    return parsed


def parse_batch_output(data: bytes | str, *, source: str = "batch output") -> list[BatchOutputLine]:
    """The lines of a batch output or error file (JSONL), in file order; blank lines skipped.

    Never raises for a bad line: a line cut short, one that is not a JSON object, or
    one whose response is not a result with a chat completion comes back as an
    :attr:`~BatchOutputLine.unreadable` line whose error names its line number in
    ``source`` (and its ``custom_id`` when that can be read), so every other line
    is still read.
    """
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
    return [
        _read_line(line, number, source)
        for number, line in enumerate(text.splitlines(), start=1)
        if line.strip()
    ]


def _create_body(
    input_file_id: Any,
    endpoint: Any,
    completion_window: Any,
    metadata: Any,
) -> dict[str, Any]:
    for name, value in (
        ("input_file_id", input_file_id),
        ("endpoint", endpoint),
        ("completion_window", completion_window),
    ):
        if not isinstance(value, str) or not value.strip():
            raise ArgumentError(f"{name} must be a non-empty string, got {value!r}")
    body: dict[str, Any] = {
        "input_file_id": input_file_id,
        "endpoint": endpoint,
        "completion_window": completion_window,
    }
    if metadata is not None:
        if not isinstance(metadata, Mapping) or not all(isinstance(k, str) for k in metadata):
            raise ArgumentError(f"metadata must be a dict with string keys, got {metadata!r}")
        body["metadata"] = dict(metadata)
    return body


_parse_batch = object_parser(Batch, "the batch request")
_parse_batch_list = object_parser(BatchList, "the batch list")


def _create_call(
    input_file_id: str,
    endpoint: str,
    completion_window: str,
    metadata: Mapping[str, Any] | None,
    extra_headers: Mapping[str, str] | None,
    timeout: Timeout,
) -> Call[Batch]:
    body = _create_body(input_file_id, endpoint, completion_window, metadata)
    # names_id: a 404 in Groq's shape here is about the input file id.
    return Call("POST", "/batches", _parse_batch, BATCH_API, True, body, extra_headers, timeout)


def _batch_call(
    method: str,
    batch_id: str,
    suffix: str,
    extra_headers: Mapping[str, str] | None,
    timeout: Timeout,
) -> Call[Batch]:
    path = id_path("/batches", batch_id, "batch_id") + suffix
    return Call(method, path, _parse_batch, BATCH_API, True, None, extra_headers, timeout)


def _list_call(extra_headers: Mapping[str, str] | None, timeout: Timeout) -> Call[BatchList]:
    return Call(
        "GET", "/batches", _parse_batch_list, BATCH_API, False, None, extra_headers, timeout
    )


class Batches(SyncResource):
    """``client.batches``: ``create``, ``retrieve``, ``list`` and ``cancel``."""

    def create(
        self,
        *,
        input_file_id: str,
        endpoint: str = CHAT_ENDPOINT,
        completion_window: str = "24h",
        metadata: Mapping[str, Any] | None = None,
        extra_headers: Mapping[str, str] | None = None,
        timeout: Timeout = None,
    ) -> Batch:
        """Start a batch over an uploaded JSONL file (``POST /batches``); window up to 7d."""
        call = _create_call(
            input_file_id, endpoint, completion_window, metadata, extra_headers, timeout
        )
        return self._run(call)

    def retrieve(
        self,
        batch_id: str,
        *,
        extra_headers: Mapping[str, str] | None = None,
        timeout: Timeout = None,
    ) -> Batch:
        """A batch's current state (``GET /batches/{id}``): poll it until ``is_done``."""
        return self._run(_batch_call("GET", batch_id, "", extra_headers, timeout))

    def list(
        self,
        *,
        extra_headers: Mapping[str, str] | None = None,
        timeout: Timeout = None,
    ) -> BatchList:
        """Your organisation's batches (``GET /batches``)."""
        return self._run(_list_call(extra_headers, timeout))

    def cancel(
        self,
        batch_id: str,
        *,
        extra_headers: Mapping[str, str] | None = None,
        timeout: Timeout = None,
    ) -> Batch:
        """Ask to stop a batch (``POST /batches/{id}/cancel``); it goes ``cancelling``."""
        return self._run(_batch_call("POST", batch_id, "/cancel", extra_headers, timeout))


class AsyncBatches(AsyncResource):
    """``async_client.batches``: the same methods as :class:`Batches`, awaited."""

    async def create(
        self,
        *,
        input_file_id: str,
        endpoint: str = CHAT_ENDPOINT,
        completion_window: str = "24h",
        metadata: Mapping[str, Any] | None = None,
        extra_headers: Mapping[str, str] | None = None,
        timeout: Timeout = None,
    ) -> Batch:
        """Start a batch over an uploaded JSONL file (``POST /batches``); window up to 7d."""
        call = _create_call(
            input_file_id, endpoint, completion_window, metadata, extra_headers, timeout
        )
        return await self._run(call)

    async def retrieve(
        self,
        batch_id: str,
        *,
        extra_headers: Mapping[str, str] | None = None,
        timeout: Timeout = None,
    ) -> Batch:
        """A batch's current state (``GET /batches/{id}``): poll it until ``is_done``."""
        return await self._run(_batch_call("GET", batch_id, "", extra_headers, timeout))

    async def list(
        self,
        *,
        extra_headers: Mapping[str, str] | None = None,
        timeout: Timeout = None,
    ) -> BatchList:
        """Your organisation's batches (``GET /batches``)."""
        return await self._run(_list_call(extra_headers, timeout))

    async def cancel(
        self,
        batch_id: str,
        *,
        extra_headers: Mapping[str, str] | None = None,
        timeout: Timeout = None,
    ) -> Batch:
        """Ask to stop a batch (``POST /batches/{id}/cancel``); it goes ``cancelling``."""
        return await self._run(_batch_call("POST", batch_id, "/cancel", extra_headers, timeout))
