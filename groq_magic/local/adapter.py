"""The one place where Groq's request fields meet the local llama.cpp server.

The client talks to the local server over exactly the same HTTP code path as to
Groq; it only gets a different transport, :class:`LocalCompatTransport` (or
:class:`AsyncLocalCompatTransport`), which wraps the ordinary
``httpx.HTTPTransport`` and changes two things on ``POST .../chat/completions``:

1. the request body, through :func:`translate_request` (pure, unit-tested);
2. for a stream, the final frame, which gains the usage Groq would have sent.

Every other request and response passes through untouched.

What the server does (llama-cpp-python 0.3.36, SmolLM2-135M-Instruct; measured
with ``.venv/bin/python bench/local_server_probe.py``):

==============================================  ===================================
Groq request field                              llama-cpp-python server
==============================================  ===================================
``max_completion_tokens: 5``                    ignored: generated 1566 tokens
``max_tokens: 5``                               honoured (5 tokens, finish "length")
``response_format: {type: json_schema, ...}``   HTTP 500, pydantic literal_error
``response_format: {type: json_object,          honoured: grammar-constrained JSON
schema: {...}}``                                that follows the schema
``response_format: {type: json_object}``        honoured: some JSON object
``stream: true``                                no usage in any frame
``stream_options: {include_usage: true}``       accepted, ignored: still no usage
any ``model`` name                              accepted, and echoed in the answer
==============================================  ===================================

Every chat body's ``model`` becomes the served model's name (its alias), so the
answer, the status line and the tables name the model that really answered, not
the Groq model a ``-m`` asked for (which needs a Groq key).

So :func:`translate_request` renames ``max_completion_tokens`` to
``max_tokens`` and turns ``json_schema`` into ``json_object`` with a ``schema``
key, which makes ``--max-tokens``, ``--json`` and ``--schema`` behave as on Groq.

For streams, llama-cpp-python sends one frame per generated token (measured:
60 content frames for a 60-token answer, the same count its non-streamed
``usage`` reports), so the transport counts content frames and writes Groq's
shape into the frame that carries ``finish_reason``: ``x_groq.usage`` (and a
top-level ``usage``, OpenAI's place). ``prompt_tokens`` comes from the
server's own tokenizer (``POST /extras/tokenize/count``) over the prompt in
ChatML form with SmolLM2's default system line when no system message is
given: exact for the bundled model (48 = 48 measured), an estimate for a
``GROQ_MAGIC_LOCAL_MODEL`` with a different chat template. A stream that ends
without ``finish_reason`` gets no usage, as on Groq.
"""

from __future__ import annotations

import copy
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx

from groq_magic.local.server import LOCAL_MODEL_NAME
from groq_magic.local.tools import forced_tool, tool_call_request, tool_call_response, without_tools

SMOLLM2_DEFAULT_SYSTEM = "You are a helpful AI assistant named SmolLM, trained by Hugging Face"
"""The system line SmolLM2's chat template adds when the messages start without one."""

_CHAT_PATH = "/chat/completions"
_COUNT_PATH = "/extras/tokenize/count"


def translate_request(body: dict[str, Any]) -> dict[str, Any]:
    """Rewrite a Groq chat-completions body into what llama-cpp-python's server honours.

    Returns a new dict; ``body`` is not modified.

    - ``max_completion_tokens`` -> ``max_tokens`` (it wins over a ``max_tokens``
      also present, as on Groq, where ``max_tokens`` is the deprecated alias).
    - ``response_format {"type": "json_schema", "json_schema": {"schema": S}}`` ->
      ``{"type": "json_object", "schema": S}`` (no schema -> plain ``json_object``).
    - tools the model cannot choose to call are left out, and earlier tool rounds
      become text (:mod:`groq_magic.local.tools`; a forced call is bridged apart).
    """
    out = dict(without_tools(body))
    if "max_completion_tokens" in out:
        limit = out.pop("max_completion_tokens")
        if limit is not None:
            out["max_tokens"] = limit
    fmt = out.get("response_format")
    if isinstance(fmt, dict) and fmt.get("type") == "json_schema":
        spec = fmt.get("json_schema")
        schema = spec.get("schema") if isinstance(spec, dict) else None
        translated: dict[str, Any] = {"type": "json_object"}
        if schema is not None:
            translated["schema"] = copy.deepcopy(schema)
        out["response_format"] = translated
    return out


def chatml_prompt(messages: list[Any]) -> str:
    """The prompt text SmolLM2's ChatML template builds from ``messages``."""
    parts: list[str] = []
    for index, message in enumerate(messages):
        if not isinstance(message, dict):
            continue
        if index == 0 and message.get("role") != "system":
            parts.append(f"<|im_start|>system\n{SMOLLM2_DEFAULT_SYSTEM}<|im_end|>\n")
        parts.append(f"<|im_start|>{message.get('role', '')}\n{_text(message)}<|im_end|>\n")
    parts.append("<|im_start|>assistant\n")
    return "".join(parts)


def _text(message: dict[str, Any]) -> str:
    content = message.get("content")
    if isinstance(content, list):  # content parts: keep the text ones
        return "".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    return "" if content is None else str(content)


class StreamUsageCounter:
    """Rewrites an SSE byte stream, adding usage to the frame with ``finish_reason``.

    Feed it raw bytes as they arrive (:meth:`feed`); it returns the bytes to pass
    on, whole lines only, and :meth:`flush` returns what is left at the end.
    Lines it does not rewrite pass through byte for byte.
    """

    def __init__(self, prompt_tokens: int) -> None:
        self.prompt_tokens = prompt_tokens
        self.completion_tokens = 0
        self._pending = b""

    def feed(self, data: bytes) -> bytes:
        """Take a piece of the stream; return the complete lines seen so far."""
        self._pending += data
        head, sep, self._pending = self._pending.rpartition(b"\n")
        if not sep:  # no complete line yet: all of it stays pending
            return b""
        return b"".join(self._line(line) for line in (head + sep).splitlines(keepends=True))

    def flush(self) -> bytes:
        """The unterminated rest of the stream, rewritten if it is a data line."""
        rest, self._pending = self._pending, b""
        return self._line(rest) if rest else b""

    def usage(self) -> dict[str, int]:
        """The usage counted so far, in Groq's field names."""
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.prompt_tokens + self.completion_tokens,
        }

    def _line(self, line: bytes) -> bytes:
        if not line.startswith(b"data:"):
            return line
        payload = line[5:].strip()
        if not payload.startswith(b"{"):
            return line  # "[DONE]" and anything else we do not understand
        try:
            chunk = json.loads(payload)
        except ValueError:
            return line
        choices = chunk.get("choices") if isinstance(chunk, dict) else None
        if not isinstance(choices, list):
            return line
        finished = False
        for choice in choices:
            if not isinstance(choice, dict):
                continue
            delta = choice.get("delta")
            if isinstance(delta, dict) and delta.get("content"):
                self.completion_tokens += 1
            finished = finished or bool(choice.get("finish_reason"))
        if not finished or "usage" in chunk:
            return line
        usage = self.usage()
        x_groq = chunk.get("x_groq") if isinstance(chunk.get("x_groq"), dict) else {}
        chunk["x_groq"] = {**x_groq, "id": chunk.get("id"), "usage": usage}
        chunk["usage"] = usage
        ending = line[len(line.rstrip(b"\r\n")) :]
        return b"data: " + json.dumps(chunk, separators=(",", ":")).encode() + ending


class _SyncUsageStream(httpx.SyncByteStream):
    def __init__(self, inner: httpx.SyncByteStream, counter: StreamUsageCounter) -> None:
        self._inner = inner
        self._counter = counter

    def __iter__(self) -> Iterator[bytes]:
        for data in self._inner:
            out = self._counter.feed(data)
            if out:
                yield out
        rest = self._counter.flush()
        if rest:
            yield rest

    def close(self) -> None:
        self._inner.close()


class _AsyncUsageStream(httpx.AsyncByteStream):
    def __init__(self, inner: httpx.AsyncByteStream, counter: StreamUsageCounter) -> None:
        self._inner = inner
        self._counter = counter

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for data in self._inner:
            out = self._counter.feed(data)
            if out:
                yield out
        rest = self._counter.flush()
        if rest:
            yield rest

    async def aclose(self) -> None:
        await self._inner.aclose()


def _is_chat(request: httpx.Request) -> bool:
    return request.method == "POST" and request.url.path.rstrip("/").endswith(_CHAT_PATH)


def _rebuild(request: httpx.Request, body: dict[str, Any]) -> httpx.Request:
    headers = httpx.Headers(request.headers)
    headers.pop("content-length", None)
    return httpx.Request(
        request.method,
        request.url,
        headers=headers,
        content=json.dumps(body).encode(),
        extensions=request.extensions,
    )


def _count_request(request: httpx.Request, body: dict[str, Any]) -> httpx.Request | None:
    messages = body.get("messages")
    if not isinstance(messages, list):
        return None
    # .../v1/chat/completions -> .../extras/tokenize/count (the server's root).
    path = request.url.path.rstrip("/")[: -len(_CHAT_PATH)]
    root = path[: -len("/v1")] if path.endswith("/v1") else path
    return httpx.Request(
        "POST",
        request.url.copy_with(path=root + _COUNT_PATH, query=None),
        json={"input": chatml_prompt(messages)},
    )


def _parse_count(response: httpx.Response) -> int:
    try:
        count = response.json().get("count") if response.status_code == 200 else 0
    except (ValueError, AttributeError):
        return 0
    return count if isinstance(count, int) else 0


TEXT_ONLY = (
    "the embedded model (SmolLM2-135M) reads text only, so the image was not sent: set"
    " GROQ_API_KEY and use a vision model such as meta-llama/llama-4-scout-17b-16e-instruct"
)


def _text_only(body: dict[str, Any]) -> httpx.Response | None:
    """A Groq-shaped 400 for a request with images, which the local model cannot read.

    Measured: llama-cpp-python's server breaks the stream on image parts with
    SmolLM2's template; Groq answers a text-only model's images with a 400.
    """
    for message in body.get("messages") or []:
        content = message.get("content") if isinstance(message, dict) else None
        if isinstance(content, list) and any(
            isinstance(p, dict) and p.get("type") == "image_url" for p in content
        ):
            error = {"message": TEXT_ONLY, "type": "invalid_request_error", "code": "text_only"}
            return httpx.Response(400, json={"error": error})
    return None


def _tool_call_reply(
    asked: httpx.Response, tool: dict[str, Any], *, stream: bool
) -> httpx.Response:
    """The server's arguments as Groq's tool-call answer (its errors pass through as they are)."""
    answer = _parse_body(asked.content) if asked.status_code == 200 else None
    if answer is None:
        return httpx.Response(asked.status_code, headers=asked.headers, content=asked.content)
    content_type, content = tool_call_response(answer, tool, stream=stream)
    return httpx.Response(200, headers={"content-type": content_type}, content=content)


def _parse_body(raw: bytes) -> dict[str, Any] | None:
    try:
        body = json.loads(raw)
    except ValueError:
        return None  # not ours to fix: let the server answer it
    return body if isinstance(body, dict) else None


def _chat_body(raw: bytes) -> dict[str, Any] | None:
    """A chat request's body with the served model's name (None: not a JSON object)."""
    body = _parse_body(raw)
    if body is not None:
        # The server accepts any name and echoes it: a -m llama-3.3-70b-versatile
        # answered by SmolLM2 would say so in the status line.
        body["model"] = LOCAL_MODEL_NAME
    return body


def _is_event_stream(response: httpx.Response) -> bool:
    return (
        response.status_code == 200
        and "text/event-stream" in response.headers.get("content-type", "")
        and "content-encoding" not in response.headers
    )


class LocalCompatTransport(httpx.BaseTransport):
    """An ``httpx`` transport for the local server: Groq fields in, Groq shapes out.

    Wraps ``transport`` (default: a plain ``httpx.HTTPTransport``), so the client
    keeps its normal request, retry, SSE and error code.
    """

    def __init__(self, transport: httpx.BaseTransport | None = None) -> None:
        self._inner = transport if transport is not None else httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Translate a chat-completions request; pass everything else through."""
        if not _is_chat(request):
            return self._inner.handle_request(request)
        body = _chat_body(request.read())
        if body is None:
            return self._inner.handle_request(request)
        refused = _text_only(body)
        if refused is not None:
            return refused
        tool = forced_tool(body)
        if tool is not None:
            asked = self._inner.handle_request(_rebuild(request, tool_call_request(body, tool)))
            asked.read()
            return _tool_call_reply(asked, tool, stream=bool(body.get("stream")))
        translated = translate_request(body)
        prompt_tokens = 0
        count = _count_request(request, translated) if translated.get("stream") else None
        if count is not None:
            try:
                counted = self._inner.handle_request(count)
                counted.read()
                prompt_tokens = _parse_count(counted)
                counted.close()
            except httpx.HTTPError:
                prompt_tokens = 0  # usage is a nicety; the answer is what matters
        response = self._inner.handle_request(_rebuild(request, translated))
        if not translated.get("stream") or not _is_event_stream(response):
            return response
        stream = response.stream
        assert isinstance(stream, httpx.SyncByteStream)
        return httpx.Response(
            response.status_code,
            headers=response.headers,
            stream=_SyncUsageStream(stream, StreamUsageCounter(prompt_tokens)),
            extensions=response.extensions,
        )

    def close(self) -> None:
        """Close the wrapped transport."""
        self._inner.close()


class AsyncLocalCompatTransport(httpx.AsyncBaseTransport):
    """The async twin of :class:`LocalCompatTransport`, for ``AsyncGroq``."""

    def __init__(self, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self._inner = transport if transport is not None else httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Translate a chat-completions request; pass everything else through."""
        if not _is_chat(request):
            return await self._inner.handle_async_request(request)
        body = _chat_body(await request.aread())
        if body is None:
            return await self._inner.handle_async_request(request)
        refused = _text_only(body)
        if refused is not None:
            return refused
        tool = forced_tool(body)
        if tool is not None:
            call = _rebuild(request, tool_call_request(body, tool))
            asked = await self._inner.handle_async_request(call)
            await asked.aread()
            return _tool_call_reply(asked, tool, stream=bool(body.get("stream")))
        translated = translate_request(body)
        prompt_tokens = 0
        count = _count_request(request, translated) if translated.get("stream") else None
        if count is not None:
            try:
                counted = await self._inner.handle_async_request(count)
                await counted.aread()
                prompt_tokens = _parse_count(counted)
                await counted.aclose()
            except httpx.HTTPError:
                prompt_tokens = 0  # usage is a nicety; the answer is what matters
        response = await self._inner.handle_async_request(_rebuild(request, translated))
        if not translated.get("stream") or not _is_event_stream(response):
            return response
        stream = response.stream
        assert isinstance(stream, httpx.AsyncByteStream)
        return httpx.Response(
            response.status_code,
            headers=response.headers,
            stream=_AsyncUsageStream(stream, StreamUsageCounter(prompt_tokens)),
            extensions=response.extensions,
        )

    async def aclose(self) -> None:
        """Close the wrapped transport."""
        await self._inner.aclose()
