"""What the files and batches resources share: one call description, run sync or async.

A resource method builds a :class:`Call` (method, path, body, how to parse the answer)
and hands it to ``_run``, so the sync and async resources differ only in the ``await``.
Every call goes through the client's own ``_send`` / ``_asend``: the same retry
policy, error tree, redaction and connection pool as chat completions.

A server without these endpoints (the embedded llama.cpp model, Ollama, vLLM) answers
404, usually with a body that is not Groq's ``{"error": {...}}`` (FastAPI's
``{"detail": "Not Found"}``, or plain text). Such a 404 is re-raised as a
:class:`NotFoundError` whose ``code`` is ``endpoint_not_found`` and whose message says
which API the server lacks, instead of the bare "HTTP 404 with an error body...". A 404
in Groq's shape on a path that names an id is the server saying the id is unknown, and
is raised as it came.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import httpx
from pydantic import BaseModel, ValidationError

from ._exceptions import APIResponseValidationError, ArgumentError, NotFoundError
from ._response import _check_json, _first_error

if TYPE_CHECKING:
    from ._client import AsyncGroq, Groq

__all__ = [
    "ENDPOINT_NOT_FOUND",
    "AsyncResource",
    "Call",
    "Parser",
    "SyncResource",
    "Timeout",
    "id_path",
    "object_parser",
]

# The ``code`` of a NotFoundError raised because the server has no such endpoint at all
# (set by this client, not sent by any server).
ENDPOINT_NOT_FOUND = "endpoint_not_found"

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)

Parser = Callable[[httpx.Response, bytes], T]
Timeout = float | httpx.Timeout | None


def id_path(collection: str, value: Any, what: str) -> str:
    """``/collection/{id}``, refusing an id that would address another path."""
    if not isinstance(value, str) or not value.strip():
        raise ArgumentError(f"{what} must be a non-empty string, got {value!r}")
    # An id with a slash or '?' would reach another endpoint (``../files``) or a query.
    if any(c in value for c in "/?#") or value in (".", ".."):
        raise ArgumentError(f"{what} must be a plain id, got {value!r}")
    return f"{collection}/{value}"


def object_parser(model: type[M], what: str) -> Parser[M]:
    """A parser that validates a JSON object answer into ``model``, or raises a typed error."""

    def parse(response: httpx.Response, raw: bytes) -> M:
        request_id = response.headers.get("x-request-id")
        data = _check_json(raw, what, request_id)
        if not isinstance(data, dict):
            raise APIResponseValidationError(
                f"the server's answer to {what} is not a JSON object: {type(data).__name__}",
                status_code=response.status_code,
                request_id=request_id,
            )
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            raise APIResponseValidationError(
                f"the server's answer to {what} has an unexpected shape: {_first_error(exc)}",
                status_code=response.status_code,
                request_id=request_id,
            ) from None

    return parse


@dataclass(frozen=True)
class Call(Generic[T]):
    """One request of a resource method and how to read its answer.

    ``api`` names what a 404 from a server without the endpoint means ("Files API").
    ``names_id`` says the path holds an id (or the body names one), so a 404 in Groq's
    shape is about that id rather than a missing endpoint.
    """

    method: str
    path: str
    parse: Parser[T]
    api: str
    names_id: bool
    body: Any = None
    extra_headers: Mapping[str, str] | None = None
    timeout: Timeout = None

    def explain_404(self, exc: NotFoundError, base_url: str) -> NotFoundError:
        """``exc`` as it came when it is about an id; else the endpoint is missing."""
        groq_shaped = isinstance(exc.body, dict) and isinstance(exc.body.get("error"), dict)
        if groq_shaped and self.names_id:
            return exc
        # Reworded in place, so every other attribute the response set (request id,
        # body, retry hints) stays as the client's error mapping left it.
        exc.message = (
            f"this server has no {self.api}: {self.method} {base_url}{self.path} answered 404"
        )
        exc.code = ENDPOINT_NOT_FOUND
        exc.args = (exc.message,)
        return exc


class SyncResource:
    """Base of the sync resources: runs a :class:`Call` through ``Groq._send``."""

    def __init__(self, client: Groq) -> None:
        self._client = client

    def _run(self, call: Call[T]) -> T:
        try:
            response, raw = self._client._send(
                call.method,
                call.path,
                call.body,
                extra_headers=call.extra_headers,
                timeout=call.timeout,
            )
        except NotFoundError as exc:
            raise call.explain_404(exc, self._client.base_url) from None
        return call.parse(response, raw)


class AsyncResource:
    """Base of the async resources: runs a :class:`Call` through ``AsyncGroq._asend``."""

    def __init__(self, client: AsyncGroq) -> None:
        self._client = client

    async def _run(self, call: Call[T]) -> T:
        try:
            response, raw = await self._client._asend(
                call.method,
                call.path,
                call.body,
                extra_headers=call.extra_headers,
                timeout=call.timeout,
            )
        except NotFoundError as exc:
            raise call.explain_404(exc, self._client.base_url) from None
        return call.parse(response, raw)
