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
"""

from ._batches import (
    BATCH_STATUSES,
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
from ._config import DEFAULT_BASE_URL, MISSING_KEY_MESSAGE
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
    Model,
    ModelList,
    RateLimits,
    XGroq,
)
from ._resource import ENDPOINT_NOT_FOUND
from ._stream import AsyncStream, Stream

__all__ = [
    "BATCH_STATUSES",
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
    "Stream",
    "UnprocessableEntityError",
    "XGroq",
    "parse_batch_output",
]
