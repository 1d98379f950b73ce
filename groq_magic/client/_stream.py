"""Streamed completions: iterators of chunk models that remember what went by.

A :class:`Stream` (or :class:`AsyncStream`) yields :class:`ChatCompletionChunk`
models as the server sends them, and keeps a running account of the answer in a
:class:`ChunkAccumulator`: the text so far, reasoning, tool calls merged by
index, usage (from ``x_groq.usage`` or a top-level ``usage``, including the
trailing ``include_usage`` chunk), the finish reason, the request id and the
client-side timings. Because the account is kept as chunks arrive, a failure or
an interrupt mid-stream still leaves everything that arrived readable, and the
error raised carries it as ``partial_text``.

The stream is complete at ``data: [DONE]``, or when the connection ends after a
chunk with a finish reason (some OpenAI-compatible servers omit ``[DONE]``).
Ending any other way raises :class:`APIStreamError`.
"""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator, AsyncIterator, Generator, Iterator
from types import TracebackType
from typing import Any

import httpx
from pydantic import ValidationError

from ._config import Secret
from ._exceptions import APIStreamError
from ._models import ChatCompletionChunk, ClientTimings, CompletionUsage, RateLimits
from ._response import (
    describe_chunk_error,
    stream_error_from_data,
    stream_shape_error,
)
from ._sse import ServerSentEvent, SSEDecoder

__all__ = ["AsyncStream", "ChunkAccumulator", "Stream"]

_DONE = "[DONE]"


class ChunkAccumulator:
    """Turns events into chunk models and keeps the running account of the answer."""

    def __init__(self, started: float, request_id: str | None, secret: Secret | None) -> None:
        self.started = started
        self.request_id = request_id
        self.secret = secret
        self.parts: list[str] = []
        self.reasoning_parts: list[str] = []
        self.tool_calls: dict[int, dict[str, Any]] = {}
        self.usage: CompletionUsage | None = None
        self.finish_reason: str | None = None
        self.model: str | None = None
        self.done = False
        self.chunk_count = 0
        self.first_token_at: float | None = None
        self.ended_at: float | None = None

    @property
    def text(self) -> str:
        """The content received so far."""
        if len(self.parts) > 1:
            # Join once and keep the result, so repeated reads stay cheap.
            self.parts = ["".join(self.parts)]
        return self.parts[0] if self.parts else ""

    def handle(self, event: ServerSentEvent) -> ChatCompletionChunk | None:
        """One event: a chunk to yield, None for ``[DONE]``, or an error raised.

        This runs once per token, so the accounting is inlined and the checks
        are ordered cheapest and most common first.
        """
        data = event.data
        if event.event != "message":
            if event.event == "error":
                raise self._error(data)
        elif data == _DONE:
            self.done = True
            return None
        try:
            chunk = ChatCompletionChunk.model_validate_json(data)
        except ValidationError as exc:
            raise self._shape_error(exc, data) from None
        extra = chunk.__pydantic_extra__
        if extra and "error" in extra:
            raise self._error(data)
        self.chunk_count += 1
        if self.model is None:
            self.model = chunk.model
        if chunk.x_groq is not None or chunk.usage is not None:
            self._account_meta(chunk)
        for choice in chunk.choices:
            if choice.index:
                continue
            delta = choice.delta
            content = delta.content
            if content:
                self.parts.append(content)
                if self.first_token_at is None:
                    self.first_token_at = time.perf_counter()
            if delta.reasoning or delta.tool_calls:
                self._account_extras(delta)
            if choice.finish_reason:
                self.finish_reason = choice.finish_reason
        return chunk

    def _shape_error(self, exc: ValidationError, data: str) -> APIStreamError:
        problem = (
            "a stream chunk is not JSON"
            if any(e.get("type") == "json_invalid" for e in exc.errors())
            else describe_chunk_error(exc)
        )
        return stream_shape_error(problem, data, partial_text=self.text, request_id=self.request_id)

    def _error(self, data: str) -> APIStreamError:
        return stream_error_from_data(
            data, partial_text=self.text, request_id=self.request_id, secret=self.secret
        )

    def _account_meta(self, chunk: ChatCompletionChunk) -> None:
        x_groq = chunk.x_groq
        if x_groq is not None:
            if x_groq.usage is not None:
                self.usage = x_groq.usage
            if x_groq.id and self.request_id is None:
                self.request_id = x_groq.id
        if chunk.usage is not None:
            self.usage = chunk.usage

    def _account_extras(self, delta: Any) -> None:
        if delta.reasoning:
            self.reasoning_parts.append(delta.reasoning)
            if self.first_token_at is None:
                self.first_token_at = time.perf_counter()
        if delta.tool_calls:
            self._merge_tool_calls(delta.tool_calls)

    def _merge_tool_calls(self, deltas: list[Any]) -> None:
        for delta in deltas:
            call = self.tool_calls.setdefault(
                delta.index,
                {"id": None, "type": "function", "function": {"name": "", "arguments": ""}},
            )
            if delta.id:
                call["id"] = delta.id
            if delta.type:
                call["type"] = delta.type
            if delta.function is not None:
                if delta.function.name:
                    call["function"]["name"] += delta.function.name
                if delta.function.arguments:
                    call["function"]["arguments"] += delta.function.arguments

    def end_of_stream(self, leftover: list[ServerSentEvent]) -> list[ChatCompletionChunk]:
        """The connection ended: handle flushed events, then check the stream was whole."""
        chunks = [c for c in (self.handle(e) for e in leftover if not self.done) if c]
        self.ended_at = time.perf_counter()
        if not self.done and self.finish_reason is None:
            raise APIStreamError(
                "the stream ended before it was complete (no finish reason, no [DONE])",
                partial_text=self.text,
                code="incomplete_stream",
                request_id=self.request_id,
            )
        self.done = True
        return chunks

    def broken(self, exc: Exception) -> APIStreamError:
        """The typed error for a transport failure in the middle of a stream."""
        self.ended_at = time.perf_counter()
        if isinstance(exc, httpx.TimeoutException):
            message = "the stream stalled: no data before the read timeout"
            code = "stream_timeout"
        else:
            message = f"the connection broke mid-stream ({type(exc).__name__})"
            code = "stream_broken"
        return APIStreamError(
            message, partial_text=self.text, code=code, request_id=self.request_id
        )

    def timings(self) -> ClientTimings:
        """Time to first token and total time so far, from the start of the call."""
        first = self.first_token_at
        end = self.ended_at
        return ClientTimings(
            time_to_first_token=None if first is None else first - self.started,
            total=None if end is None else end - self.started,
        )


class _StreamView:
    """The read-only account shared by the sync and async streams."""

    response: httpx.Response
    _acc: ChunkAccumulator

    def _setup(self, response: httpx.Response, started: float, secret: Secret | None) -> None:
        self.response = response
        self.rate_limits = RateLimits.from_headers(response.headers)
        self._acc = ChunkAccumulator(started, response.headers.get("x-request-id"), secret)
        self._decoder = SSEDecoder()

    @property
    def text(self) -> str:
        """The answer's text so far (all of it once the stream has ended)."""
        return self._acc.text

    @property
    def reasoning(self) -> str:
        """Reasoning text streamed by reasoning models (``reasoning_format=parsed``)."""
        return "".join(self._acc.reasoning_parts)

    @property
    def tool_calls(self) -> list[dict[str, Any]]:
        """Tool calls assembled from their deltas, in index order."""
        return [self._acc.tool_calls[i] for i in sorted(self._acc.tool_calls)]

    @property
    def usage(self) -> CompletionUsage | None:
        """Token counts and Groq's timings, once the final chunk has arrived."""
        return self._acc.usage

    @property
    def finish_reason(self) -> str | None:
        """``stop``, ``length``, ``tool_calls``... once the final chunk has arrived."""
        return self._acc.finish_reason

    @property
    def request_id(self) -> str | None:
        """``x-request-id`` (or ``x_groq.id``)."""
        return self._acc.request_id

    @property
    def model(self) -> str | None:
        """The model that answered, as the chunks name it."""
        return self._acc.model

    @property
    def timings(self) -> ClientTimings:
        """Client-side time to first token and total, in seconds."""
        return self._acc.timings()

    @property
    def completed(self) -> bool:
        """True once the stream ended properly."""
        return self._acc.done

    @property
    def chunk_count(self) -> int:
        """How many chunks have been received."""
        return self._acc.chunk_count

    def __repr__(self) -> str:
        state = "complete" if self.completed else "open"
        return (
            f"<{type(self).__name__} {state} request_id={self.request_id!r} chars={len(self.text)}>"
        )


class Stream(_StreamView):
    """A streamed completion: iterate for chunks; ``with`` closes the response."""

    def __init__(self, response: httpx.Response, *, started: float, secret: Secret | None) -> None:
        self._setup(response, started, secret)
        self._iterator = self._chunks()

    def _chunks(self) -> Generator[ChatCompletionChunk, None, None]:
        acc, decoder = self._acc, self._decoder
        try:
            try:
                for raw in self.response.iter_bytes():
                    if acc.done:
                        # Read past [DONE] to the end of the body, as the official SDK
                        # does, so the connection goes back to the pool for reuse.
                        continue
                    for event in decoder.feed(raw):
                        if acc.done:
                            break
                        chunk = acc.handle(event)
                        if chunk is not None:
                            yield chunk
            except httpx.TransportError as exc:
                raise acc.broken(exc) from None
            yield from acc.end_of_stream(decoder.flush())
        finally:
            if acc.ended_at is None:
                acc.ended_at = time.perf_counter()
            self.response.close()

    def __iter__(self) -> Iterator[ChatCompletionChunk]:
        # The generator itself, so a for loop pays no extra call per chunk.
        return self._iterator

    def __next__(self) -> ChatCompletionChunk:
        return next(self._iterator)

    def until_done(self) -> str:
        """Read the rest of the stream; return the whole text."""
        for _ in self:
            pass
        return self.text

    def close(self) -> None:
        """Stop reading and close the HTTP response (the server stops generating)."""
        if self._acc.ended_at is None:
            self._acc.ended_at = time.perf_counter()
        self._iterator.close()
        self.response.close()

    def __enter__(self) -> Stream:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class AsyncStream(_StreamView):
    """The async twin of :class:`Stream`: ``async for`` and ``async with``."""

    def __init__(self, response: httpx.Response, *, started: float, secret: Secret | None) -> None:
        self._setup(response, started, secret)
        self._iterator = self._chunks()

    async def _chunks(self) -> AsyncGenerator[ChatCompletionChunk, None]:
        acc, decoder = self._acc, self._decoder
        try:
            try:
                async for raw in self.response.aiter_bytes():
                    if acc.done:
                        # Read past [DONE] to the end of the body, as the official SDK
                        # does, so the connection goes back to the pool for reuse.
                        continue
                    for event in decoder.feed(raw):
                        if acc.done:
                            break
                        chunk = acc.handle(event)
                        if chunk is not None:
                            yield chunk
            except httpx.TransportError as exc:
                raise acc.broken(exc) from None
            for chunk in acc.end_of_stream(decoder.flush()):
                yield chunk
        finally:
            if acc.ended_at is None:
                acc.ended_at = time.perf_counter()
            await self.response.aclose()

    def __aiter__(self) -> AsyncIterator[ChatCompletionChunk]:
        return self._iterator

    async def __anext__(self) -> ChatCompletionChunk:
        return await self._iterator.__anext__()

    async def until_done(self) -> str:
        """Read the rest of the stream; return the whole text."""
        async for _ in self:
            pass
        return self.text

    async def aclose(self) -> None:
        """Stop reading and close the HTTP response."""
        if self._acc.ended_at is None:
            self._acc.ended_at = time.perf_counter()
        await self._iterator.aclose()
        await self.response.aclose()

    async def __aenter__(self) -> AsyncStream:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
