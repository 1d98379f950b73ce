"""Every error the client raises, in one tree.

```
GroqError                         anything raised on purpose by groq_magic.client
├── ArgumentError (+ValueError)   a bad argument, caught before any request is sent
└── APIError                      something went wrong talking to the server
    ├── APIConnectionError        no usable HTTP exchange (refused, reset, DNS, TLS)
    │   └── APITimeoutError       connect, read or overall timeout
    ├── APIResponseValidationError the answer is not what the protocol says (not JSON,
    │                             wrong content type, an error body without "error")
    ├── APIStreamError            a stream failed after it began: an `event: error` frame,
    │                             a dropped connection, no `[DONE]`; carries partial_text
    └── APIStatusError            an HTTP error status, one class per status:
        ├── BadRequestError            400 (json_validate_failed, tool_use_failed, ...)
        ├── AuthenticationError        401
        ├── PermissionDeniedError      403
        ├── NotFoundError              404
        ├── ConflictError              409
        ├── RequestTooLargeError       413
        ├── UnprocessableEntityError   422
        ├── RateLimitError             429
        ├── CapacityExceededError      498 (flex tier)
        └── InternalServerError        500 and above
```

Every ``APIError`` carries ``message``, ``status_code``, ``type``, ``code``, ``param``,
``failed_generation``, ``request_id`` and ``body``. None of them holds the request's
headers, so neither the API key nor the Authorization header can leak through a
message, a repr or a traceback, and a key that a server echoes back in an error body
is replaced by ``[redacted]`` before the body is parsed (``_response._redact``).
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "APIConnectionError",
    "APIError",
    "APIResponseValidationError",
    "APIStatusError",
    "APIStreamError",
    "APITimeoutError",
    "ArgumentError",
    "AuthenticationError",
    "BadRequestError",
    "CapacityExceededError",
    "ConflictError",
    "GroqError",
    "InternalServerError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "RequestTooLargeError",
    "UnprocessableEntityError",
    "status_error_class",
]


class GroqError(Exception):
    """Base class of every error raised on purpose by the client."""


class ArgumentError(GroqError, ValueError):
    """A call argument is wrong; raised before anything is sent. The message names it."""


class APIError(GroqError):
    """A failed exchange with the server.

    The attributes mirror Groq's error body (``{"error": {"message", "type", "code",
    "param", "failed_generation"}}``) plus the HTTP status and the request id, so
    callers can branch on ``code`` (for example ``json_validate_failed``).
    """

    message: str
    status_code: int | None
    type: str | None
    code: str | None
    param: str | None
    failed_generation: str | None
    request_id: str | None
    body: Any
    retry_after: float | None
    retryable: bool

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        type: str | None = None,
        code: str | None = None,
        param: str | None = None,
        failed_generation: str | None = None,
        request_id: str | None = None,
        body: Any = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.type = type
        self.code = code
        self.param = param
        self.failed_generation = failed_generation
        self.request_id = request_id
        self.body = body
        # Seconds the server asked to wait (retry-after headers), when it said.
        self.retry_after: float | None = None
        # Whether the retry policy allows another try (status and x-should-retry);
        # set from the response, so callers that retry themselves follow it too.
        self.retryable: bool = False

    def __str__(self) -> str:
        parts = []
        if self.status_code is not None:
            parts.append(str(self.status_code))
        if self.code:
            parts.append(self.code)
        prefix = " ".join(parts)
        return f"{prefix}: {self.message}" if prefix else self.message

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(status_code={self.status_code!r}, code={self.code!r}, "
            f"message={self.message!r}, request_id={self.request_id!r})"
        )


class APIConnectionError(APIError):
    """The server could not be reached, or the connection broke before an answer."""


class APITimeoutError(APIConnectionError):
    """The connect, read or overall timeout ran out."""


class APIResponseValidationError(APIError):
    """The server answered, but not in the shape the protocol describes."""


class APIStreamError(APIError):
    """A stream failed after it began. ``partial_text`` is what had already arrived."""

    partial_text: str

    def __init__(self, message: str, *, partial_text: str = "", **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.partial_text = partial_text


class APIStatusError(APIError):
    """The server answered with an HTTP error status."""


class BadRequestError(APIStatusError):
    """400: the request was malformed, or JSON output failed validation."""


class AuthenticationError(APIStatusError):
    """401: the API key is missing, wrong or revoked."""


class PermissionDeniedError(APIStatusError):
    """403: the key may not use this resource."""


class NotFoundError(APIStatusError):
    """404: unknown model or path."""


class ConflictError(APIStatusError):
    """409: a conflicting request; retried by default."""


class RequestTooLargeError(APIStatusError):
    """413: the request body is too large."""


class UnprocessableEntityError(APIStatusError):
    """422: the request was understood but cannot be processed."""


class RateLimitError(APIStatusError):
    """429: a request or token rate limit was hit."""


class CapacityExceededError(APIStatusError):
    """498: the flex tier is out of capacity (not retried)."""


class InternalServerError(APIStatusError):
    """500 and above: a server-side failure."""


_BY_STATUS: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    413: RequestTooLargeError,
    422: UnprocessableEntityError,
    429: RateLimitError,
    498: CapacityExceededError,
}


def status_error_class(status_code: int) -> type[APIStatusError]:
    """The exception class for an HTTP error status."""
    if status_code >= 500:
        return InternalServerError
    return _BY_STATUS.get(status_code, APIStatusError)
