"""The protocol client: Groq, or any OpenAI-compatible server, over httpx.

``Groq`` and ``AsyncGroq`` have the official SDK's call shape
(``client.chat.completions.create(...)``, ``client.models.list()``, and the Batch
API's ``client.files`` and ``client.batches``). Streams are
iterators of chunk models that remember the text, usage, finish reason, request
id, rate limits and timings. Nothing here imports IPython or ipywidgets.

The errors, as a tree (see ``_exceptions`` for what each means)::

    GroqError
    ├── ArgumentError
    └── APIError
        ├── APIConnectionError
        │   └── APITimeoutError
        ├── APIResponseValidationError
        ├── APIStreamError
        └── APIStatusError
            ├── BadRequestError (400)        ├── RequestTooLargeError (413)
            ├── AuthenticationError (401)    ├── UnprocessableEntityError (422)
            ├── PermissionDeniedError (403)  ├── RateLimitError (429)
            ├── NotFoundError (404)          ├── CapacityExceededError (498)
            ├── ConflictError (409)          └── InternalServerError (5xx)

Beyond the calls, for the layers above (``chat/``, ``ui/``, ``batching``) and tools:
the retry policy (``error_wait_hint``, ``error_is_retryable``, ``error_retry_delay``,
``backoff_delay``), ``status_error_class``, ``ENDPOINT_NOT_FOUND`` (the code of a
404 for a missing endpoint), ``Secret`` and ``resolve_base_url``, and the SSE
decoder (``SSEDecoder``, ``ServerSentEvent``). Nothing outside this package imports
its ``_modules``.
"""

from ._batches import (
    TERMINAL_BATCH_STATUSES,
    Batch,
    BatchError,
    BatchErrors,
    BatchLineError,
    BatchLineResponse,
    BatchList,
    BatchOutputLine,
    BatchRequestCounts,
    parse_batch_output,
)
from ._client import AsyncGroq, Groq
from ._config import DEFAULT_BASE_URL, MISSING_KEY_MESSAGE, Secret, resolve_base_url
from ._exceptions import (
    APIConnectionError,
    APIError,
    APIResponseValidationError,
    APIStatusError,
    APIStreamError,
    APITimeoutError,
    ArgumentError,
    AuthenticationError,
    BadRequestError,
    CapacityExceededError,
    ConflictError,
    GroqError,
    InternalServerError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    RequestTooLargeError,
    UnprocessableEntityError,
    status_error_class,
)
from ._files import FileContent, FileDeleted, FileList, FileObject
from ._models import (
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionMessage,
    Choice,
    ChoiceDelta,
    ChoiceDeltaToolCall,
    ChunkChoice,
    ClientTimings,
    CompletionUsage,
    ErrorDetail,
    ExecutedTool,
    Model,
    ModelList,
    RateLimits,
    XGroq,
)
from ._resource import ENDPOINT_NOT_FOUND
from ._retry import backoff_delay, error_is_retryable, error_retry_delay, error_wait_hint
from ._sse import ServerSentEvent, SSEDecoder
from ._stream import AsyncStream, Stream

__all__ = [
    "DEFAULT_BASE_URL",
    "ENDPOINT_NOT_FOUND",
    "MISSING_KEY_MESSAGE",
    "TERMINAL_BATCH_STATUSES",
    "APIConnectionError",
    "APIError",
    "APIResponseValidationError",
    "APIStatusError",
    "APIStreamError",
    "APITimeoutError",
    "ArgumentError",
    "AsyncGroq",
    "AsyncStream",
    "AuthenticationError",
    "BadRequestError",
    "Batch",
    "BatchError",
    "BatchErrors",
    "BatchLineError",
    "BatchLineResponse",
    "BatchList",
    "BatchOutputLine",
    "BatchRequestCounts",
    "CapacityExceededError",
    "ChatCompletion",
    "ChatCompletionChunk",
    "ChatCompletionMessage",
    "Choice",
    "ChoiceDelta",
    "ChoiceDeltaToolCall",
    "ChunkChoice",
    "ClientTimings",
    "CompletionUsage",
    "ConflictError",
    "ErrorDetail",
    "ExecutedTool",
    "FileContent",
    "FileDeleted",
    "FileList",
    "FileObject",
    "Groq",
    "GroqError",
    "InternalServerError",
    "Model",
    "ModelList",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "RateLimits",
    "RequestTooLargeError",
    "SSEDecoder",
    "Secret",
    "ServerSentEvent",
    "Stream",
    "UnprocessableEntityError",
    "XGroq",
    "backoff_delay",
    "error_is_retryable",
    "error_retry_delay",
    "error_wait_hint",
    "parse_batch_output",
    "resolve_base_url",
    "status_error_class",
]
