"""Turning what the server sent into models or typed errors, for both clients."""

from __future__ import annotations

import json
from typing import Any

import httpx
from pydantic import ValidationError

from groq_magic._keys import MIN_KEY_LENGTH, REDACTED

from ._config import Secret
from ._exceptions import (
    APIError,
    APIResponseValidationError,
    APIStatusError,
    APIStreamError,
    status_error_class,
)
from ._models import ChatCompletion, ErrorDetail, ModelList, RateLimits
from ._retry import retry_after_header, should_retry

__all__ = [
    "error_from_body",
    "error_from_response",
    "parse_completion",
    "parse_model_list",
    "stream_error_from_data",
]

_SNIPPET = 200


def _snippet(raw: bytes | str) -> str:
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    text = " ".join(text.split())
    return text[:_SNIPPET] + ("..." if len(text) > _SNIPPET else "")


def _redact(raw: bytes, secret: Secret | None) -> bytes:
    """Drop the key from a body before anything keeps it: servers echo rejected keys.

    (Placeholder "keys" shorter than ``MIN_KEY_LENGTH``, such as the embedded model's
    "local", protect nothing and are left alone: masking them would corrupt answers.)
    """
    if secret:
        key = secret.reveal().encode()
        if len(key) >= MIN_KEY_LENGTH and key in raw:
            return raw.replace(key, REDACTED.encode())
    return raw


def _error_detail(error: dict[str, Any]) -> ErrorDetail:
    """The error object as an :class:`ErrorDetail`, whatever types its fields hold.

    A server that sends a number or an object where Groq sends a string must still
    produce the typed error with its message, not a pydantic ValidationError.
    """
    try:
        return ErrorDetail.model_validate(error)
    except ValidationError:
        pass
    fields: dict[str, Any] = {}
    for name in ("message", "type", "code", "param", "failed_generation"):
        value = error.get(name)
        if value is not None:
            fields[name] = value if isinstance(value, str) else json.dumps(value)
    status = error.get("status_code")
    if isinstance(status, int) and not isinstance(status, bool):
        fields["status_code"] = status
    return ErrorDetail(**fields)


def _detail_fields(detail: ErrorDetail) -> dict[str, Any]:
    return {
        "type": detail.type,
        "code": None if detail.code is None else str(detail.code),
        "param": detail.param,
        "failed_generation": detail.failed_generation,
    }


def error_from_body(
    status_code: int,
    raw: bytes,
    *,
    request_id: str | None,
    secret: Secret | None,
) -> APIStatusError:
    """The typed error for an HTTP error status and its body (JSON or not)."""
    cls = status_error_class(status_code)
    raw = _redact(raw, secret)
    body: Any = None
    try:
        body = json.loads(raw) if raw else None
    except ValueError:
        body = None
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        detail = _error_detail(error)
        message = detail.message or f"HTTP {status_code}"
        return cls(
            message,
            status_code=status_code,
            request_id=request_id,
            body=body,
            **_detail_fields(detail),
        )
    if isinstance(error, str):
        return cls(error, status_code=status_code, request_id=request_id, body=body)
    what = "an error body without 'error'" if body is not None else "a body that is not JSON"
    shown = _snippet(raw) if raw else "(empty)"
    return cls(
        f"HTTP {status_code} with {what}: {shown}",
        status_code=status_code,
        request_id=request_id,
        body=body,
    )


def error_from_response(
    response: httpx.Response, raw: bytes, secret: Secret | None
) -> APIStatusError:
    """The typed error for an error response whose body has been read.

    ``retry_after`` carries the server's wait hint (``retry-after-ms`` or
    ``retry-after``, in seconds) so callers that retry themselves (the compare
    grid's shared backoff) wait as long as the server asked.
    """
    error = error_from_body(
        response.status_code,
        raw,
        request_id=response.headers.get("x-request-id"),
        secret=secret,
    )
    error.retry_after = retry_after_header(response.headers)
    error.retryable = should_retry(response)
    return error


def _check_json(raw: bytes, what: str, request_id: str | None) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        raise APIResponseValidationError(
            f"the server's answer to {what} is not JSON: {_snippet(raw) or '(empty)'}",
            status_code=200,
            request_id=request_id,
        ) from None


def _embedded_error(data: Any, request_id: str | None, secret: Secret | None) -> APIError | None:
    """A 200 answer may still hold ``{"error": ...}``."""
    if isinstance(data, dict) and isinstance(data.get("error"), dict):
        detail = _error_detail(data["error"])
        status = detail.status_code or 500
        return status_error_class(status)(
            detail.message or "error",
            status_code=status,
            request_id=request_id,
            body=data,
            **_detail_fields(detail),
        )
    return None


def parse_completion(response: httpx.Response, raw: bytes, secret: Secret | None) -> ChatCompletion:
    """A non-streamed completion, or a typed error if the answer is not one."""
    request_id = response.headers.get("x-request-id")
    raw = _redact(raw, secret)
    data = _check_json(raw, "a chat completion", request_id)
    error = _embedded_error(data, request_id, secret)
    if error is not None:
        raise error
    if not isinstance(data, dict) or "choices" not in data:
        raise APIResponseValidationError(
            f"the server's answer is not a chat completion: {_snippet(raw)}",
            status_code=200,
            request_id=request_id,
        )
    try:
        completion = ChatCompletion.model_validate(data)
    except ValidationError as exc:
        raise APIResponseValidationError(
            f"the server's chat completion has an unexpected shape: {_first_error(exc)}",
            status_code=200,
            request_id=request_id,
        ) from None
    completion._request_id = request_id
    completion._rate_limits = RateLimits.from_headers(response.headers)
    return completion


def parse_model_list(response: httpx.Response, raw: bytes) -> ModelList:
    """The model list, or a typed error if the answer is not one."""
    request_id = response.headers.get("x-request-id")
    data = _check_json(raw, "the model list", request_id)
    if not isinstance(data, dict) or not isinstance(data.get("data"), list):
        raise APIResponseValidationError(
            f"the server's answer is not a model list: {_snippet(raw)}",
            status_code=200,
            request_id=request_id,
        )
    try:
        return ModelList.model_validate(data)
    except ValidationError as exc:
        raise APIResponseValidationError(
            f"the server's model list has an unexpected shape: {_first_error(exc)}",
            status_code=200,
            request_id=request_id,
        ) from None


def _first_error(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first.get("loc", ())) or "(root)"
    return f"{where}: {first.get('msg', 'invalid')}"


def stream_error_from_data(
    data: str,
    *,
    partial_text: str,
    request_id: str | None,
    secret: Secret | None,
) -> APIStreamError:
    """The error carried by an ``event: error`` frame (or a data frame with ``error``)."""
    data = _redact(data.encode(), secret).decode()
    try:
        body = json.loads(data)
    except ValueError:
        body = None
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        detail = _error_detail(error)
        return APIStreamError(
            detail.message or "the server reported an error mid-stream",
            partial_text=partial_text,
            status_code=detail.status_code,
            request_id=request_id,
            body=body,
            **_detail_fields(detail),
        )
    return APIStreamError(
        f"the server reported an error mid-stream: {_snippet(data)}",
        partial_text=partial_text,
        request_id=request_id,
        body=body,
    )


def stream_shape_error(
    problem: str, data: str, *, partial_text: str, request_id: str | None
) -> APIStreamError:
    """A chunk that is not JSON or not a chunk: the stream cannot be trusted past it."""
    return APIStreamError(
        f"{problem}: {_snippet(data)}",
        partial_text=partial_text,
        code="invalid_chunk",
        request_id=request_id,
    )


def describe_chunk_error(exc: ValidationError) -> str:
    """One line for a chunk that failed validation."""
    return f"a stream chunk has an unexpected shape ({_first_error(exc)})"
