"""Pydantic models of what the server sends back.

Parsing is lenient on purpose: every field beyond the text may be absent or null,
and fields the models do not name are kept (``extra="allow"``), because Groq and
other OpenAI-compatible servers add fields over time. A list that arrives as
``null`` becomes an empty list so callers can always index ``choices``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import httpx
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, PrivateAttr

from groq_magic._durations import parse_go_duration

__all__ = [
    "ChatCompletion",
    "ChatCompletionChunk",
    "ChatCompletionMessage",
    "Choice",
    "ChoiceDelta",
    "ChoiceDeltaFunctionCall",
    "ChoiceDeltaToolCall",
    "ChunkChoice",
    "ClientTimings",
    "CompletionUsage",
    "ErrorDetail",
    "ExecutedTool",
    "FunctionCall",
    "Model",
    "ModelList",
    "RateLimits",
    "ToolCall",
    "XGroq",
]

T = TypeVar("T")


def _none_as_empty(value: Any) -> Any:
    return [] if value is None else value


if TYPE_CHECKING:
    NullableList = Annotated[list[T], ...]
else:
    # A list that tolerates an explicit null. An *after* validator on ``list | None``
    # keeps pydantic-core's fast JSON path; a before validator would make it build
    # Python dicts first, which doubled the cost of every streamed chunk.
    NullableList = Annotated[list[T] | None, AfterValidator(_none_as_empty)]


class _Lenient(BaseModel):
    """Keeps unknown fields and allows field names such as ``model_*``."""

    model_config = ConfigDict(extra="allow", protected_namespaces=())


class CompletionUsage(_Lenient):
    """Token counts and Groq's server-side timings (seconds) for one completion."""

    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    total_tokens: int | None = None
    queue_time: float | None = None
    prompt_time: float | None = None
    completion_time: float | None = None
    total_time: float | None = None
    prompt_tokens_details: dict[str, Any] | None = None
    completion_tokens_details: dict[str, Any] | None = None

    @property
    def tokens_per_second(self) -> float | None:
        """Completion tokens per second by the server's own clock, when it sends one."""
        if self.completion_tokens and self.completion_time:
            return self.completion_tokens / self.completion_time
        return None


class XGroq(_Lenient):
    """Groq's own block: request id, usage on the final chunk, seed, errors."""

    id: str | None = None
    usage: CompletionUsage | None = None
    seed: int | None = None


class FunctionCall(_Lenient):
    """The function a complete tool call names, with JSON-encoded arguments."""

    name: str | None = None
    arguments: str | None = None


class ToolCall(_Lenient):
    """A complete tool call in a non-streamed message."""

    id: str | None = None
    type: str | None = None
    function: FunctionCall | None = None


class ExecutedTool(_Lenient):
    """A server-side tool Groq's compound systems ran (web search, page visit, code).

    In a stream the same ``index`` can come twice: first with the arguments, then
    with the output. Beyond ``index`` and ``type`` the fields are loosely typed: they
    are young, and a stricter type that did not match would fail the whole chunk.
    """

    index: int | None = None
    type: str | None = None
    arguments: Any = None
    output: Any = None
    search_results: Any = None
    code_results: Any = None
    browser_results: Any = None


class ChatCompletionMessage(_Lenient):
    """The assistant's message in a non-streamed completion."""

    role: str | None = None
    content: str | None = None
    reasoning: str | None = None
    tool_calls: NullableList[ToolCall] = Field(default_factory=list)
    executed_tools: NullableList[ExecutedTool] = Field(default_factory=list)


class Choice(_Lenient):
    """One choice of a non-streamed completion (Groq only ever returns one)."""

    index: int = 0
    message: ChatCompletionMessage = Field(default_factory=ChatCompletionMessage)
    finish_reason: str | None = None
    logprobs: Any = None


class _Identified(_Lenient):
    """Fields shared by completions and chunks."""

    id: str | None = None
    object: str | None = None
    created: int | None = None
    model: str | None = None
    system_fingerprint: str | None = None
    usage: CompletionUsage | None = None
    x_groq: XGroq | None = None
    service_tier: str | None = None


class ChatCompletion(_Identified):
    """A non-streamed chat completion; ``request_id`` and ``rate_limits`` come from headers."""

    choices: NullableList[Choice] = Field(default_factory=list)
    usage_breakdown: Any = None
    _request_id: str | None = PrivateAttr(default=None)
    _rate_limits: RateLimits | None = PrivateAttr(default=None)

    @property
    def request_id(self) -> str | None:
        """The ``x-request-id`` of the response (or ``x_groq.id``)."""
        return self._request_id or (self.x_groq.id if self.x_groq else None)

    @property
    def rate_limits(self) -> RateLimits | None:
        """Rate-limit headers of the response."""
        return self._rate_limits

    @property
    def text(self) -> str:
        """The first choice's content, or an empty string."""
        if self.choices and self.choices[0].message.content:
            return self.choices[0].message.content
        return ""


class ChoiceDeltaFunctionCall(_Lenient):
    """A fragment of a streamed tool call's function name and arguments."""

    name: str | None = None
    arguments: str | None = None


class ChoiceDeltaToolCall(_Lenient):
    """A fragment of a streamed tool call; fragments with one ``index`` belong together."""

    index: int = 0
    id: str | None = None
    type: str | None = None
    function: ChoiceDeltaFunctionCall | None = None


class ChoiceDelta(_Lenient):
    """What one chunk adds to the message."""

    role: str | None = None
    content: str | None = None
    reasoning: str | None = None
    tool_calls: NullableList[ChoiceDeltaToolCall] = Field(default_factory=list)
    executed_tools: NullableList[ExecutedTool] = Field(default_factory=list)


class ChunkChoice(_Lenient):
    """One choice of a streamed chunk."""

    index: int = 0
    delta: ChoiceDelta = Field(default_factory=ChoiceDelta)
    finish_reason: str | None = None
    logprobs: Any = None


class ChatCompletionChunk(_Identified):
    """One streamed chunk (``object: chat.completion.chunk``)."""

    choices: NullableList[ChunkChoice] = Field(default_factory=list)


class Model(_Lenient):
    """One entry of ``GET /models``."""

    id: str
    object: str | None = None
    created: int | None = None
    owned_by: str | None = None
    active: bool | None = None
    context_window: int | None = None


class ModelList(_Lenient):
    """The answer of ``GET /models``."""

    object: str | None = None
    data: NullableList[Model] = Field(default_factory=list)


class ErrorDetail(_Lenient):
    """The ``error`` object of an error body or an ``event: error`` frame."""

    message: str | None = None
    type: str | None = None
    code: str | int | None = None
    param: str | None = None
    failed_generation: str | None = None
    status_code: int | None = None


def _int_or_none(text: str | None) -> int | None:
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None


@dataclass(frozen=True)
class RateLimits:
    """The ``x-ratelimit-*`` headers of a response; resets in seconds."""

    limit_requests: int | None = None
    limit_tokens: int | None = None
    remaining_requests: int | None = None
    remaining_tokens: int | None = None
    reset_requests: float | None = None
    reset_tokens: float | None = None
    raw: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_headers(cls, headers: httpx.Headers) -> RateLimits:
        """Read the rate-limit headers, tolerating absent or malformed values."""
        raw = {k: v for k, v in headers.items() if k.startswith("x-ratelimit-")}
        return cls(
            limit_requests=_int_or_none(raw.get("x-ratelimit-limit-requests")),
            limit_tokens=_int_or_none(raw.get("x-ratelimit-limit-tokens")),
            remaining_requests=_int_or_none(raw.get("x-ratelimit-remaining-requests")),
            remaining_tokens=_int_or_none(raw.get("x-ratelimit-remaining-tokens")),
            reset_requests=parse_go_duration(raw.get("x-ratelimit-reset-requests")),
            reset_tokens=parse_go_duration(raw.get("x-ratelimit-reset-tokens")),
            raw=raw,
        )


@dataclass
class ClientTimings:
    """Client-side clock for one request, in seconds from sending it."""

    time_to_first_token: float | None = None
    total: float | None = None


ChatCompletion.model_rebuild()
