"""The sync and async clients, shaped like the official SDK.

``Groq().chat.completions.create(...)`` and ``Groq().models.list()`` work as in the
``groq`` package. Each client owns one httpx connection pool, reused by every
call until ``close()``. The retry loop lives in ``_send`` (sync) and ``_asend``
(async); everything else (configuration, request bodies, error mapping, retry
policy) is shared.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator, Mapping
from types import TracebackType
from typing import Any, Literal, overload

import httpx

from ._batches import AsyncBatches, Batches
from ._config import (
    DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_LIMITS,
    DEFAULT_MAX_RETRIES,
    DEFAULT_TIMEOUT,
    BearerAuth,
    resolve_api_key,
    resolve_base_url,
)
from ._exceptions import (
    APIConnectionError,
    APIError,
    APIResponseValidationError,
    APITimeoutError,
    ArgumentError,
)
from ._files import AsyncFiles, Files, Multipart
from ._models import ChatCompletion, Model, ModelList
from ._request import build_chat_body, encode_body
from ._resource import object_parser
from ._response import error_from_response, parse_completion, parse_model_list
from ._retry import retry_delay, should_retry
from ._stream import AsyncStream, Stream

__all__ = ["AsyncGroq", "Groq"]

_USER_AGENT = "groq-magic/0.1"


logger = logging.getLogger("groq_magic")


def _log_retry(method: str, path: str, why: object, retries_done: int, delay: float) -> None:
    # Method, path and status only: the key and the body never reach a log.
    logger.info("%s %s failed (%s); retry %d in %.2f s", method, path, why, retries_done + 1, delay)


class _ClientCore:
    """Settings and request plumbing shared by :class:`Groq` and :class:`AsyncGroq`."""

    def __init__(
        self,
        *,
        api_key: str | None,
        base_url: str | None,
        timeout: float | httpx.Timeout | None,
        connect_timeout: float,
        max_retries: int,
        default_headers: Mapping[str, str] | None,
    ) -> None:
        if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
            raise ArgumentError(f"max_retries must be a whole number >= 0, got {max_retries!r}")
        self.base_url = resolve_base_url(base_url)
        self._secret = resolve_api_key(api_key, self.base_url)
        self._auth = BearerAuth(self._secret) if self._secret else None
        self.max_retries = max_retries
        if isinstance(timeout, httpx.Timeout):
            self.timeout = timeout
        else:
            self.timeout = httpx.Timeout(
                DEFAULT_TIMEOUT if timeout is None else timeout, connect=connect_timeout
            )
        self.default_headers = {"User-Agent": _USER_AGENT, **(default_headers or {})}

    def _twin_settings(self) -> dict[str, Any]:
        """What a client of the other kind needs to send exactly as this one does."""
        headers = {k: v for k, v in self.default_headers.items() if k != "User-Agent"}
        return {
            "api_key": self._secret.reveal() if self._secret else None,
            "base_url": self.base_url,
            "timeout": self.timeout,
            "max_retries": self.max_retries,
            "default_headers": headers,
        }

    def _request(
        self,
        http: httpx.Client | httpx.AsyncClient,
        method: str,
        path: str,
        body: Any,
        *,
        stream: bool,
        extra_headers: Mapping[str, str] | None,
        timeout: float | httpx.Timeout | None,
        retries_done: int,
    ) -> httpx.Request:
        headers = dict(self.default_headers)
        headers["Accept"] = "text/event-stream" if stream else "application/json"
        if retries_done:
            headers["x-stainless-retry-count"] = str(retries_done)
        content: Iterator[bytes] | AsyncIterator[bytes] | None = None
        files: Mapping[str, Any] | None = None
        data: Mapping[str, str] | None = None
        if isinstance(body, Multipart):
            # A file upload: httpx writes the parts and the boundary header itself.
            files, data = body.files, body.fields
        elif body is not None:
            encoded = encode_body(body)
            headers["Content-Type"] = "application/json"
            headers["Content-Length"] = str(len(encoded))
            # Given as bytes, the body would live as long as httpx's reference cycles
            # around the request (the response and its stream, the pool's request): until
            # Python's cyclic collector runs, so a sweep of requests with images held
            # dozens of megabytes of sent bodies. A generator lets go once it is written;
            # every retry builds a new request, so nothing reads a body twice.
            if isinstance(http, httpx.AsyncClient):
                content = _sent_once_async(encoded)
            else:
                content = _sent_once(encoded)
        if extra_headers:
            headers.update(extra_headers)
        return http.build_request(
            method,
            self.base_url + path,
            content=content,
            data=data,
            files=files,
            headers=headers,
            timeout=self.timeout if timeout is None else timeout,
        )

    def _transport_error(self, exc: httpx.TransportError) -> APIConnectionError:
        if isinstance(exc, httpx.TimeoutException):
            return APITimeoutError(
                f"the request to {self.base_url} timed out ({type(exc).__name__})"
            )
        if isinstance(exc, httpx.ConnectError):
            what = f"could not reach {self.base_url}"
        else:
            # Connected, then reset or closed before an answer: "could not reach" would
            # send the user to check an address that works.
            what = f"the connection to {self.base_url} broke before an answer"
        return APIConnectionError(f"{what} ({type(exc).__name__}: {exc})".replace(": )", ")"))

    def _check_event_stream(self, response: httpx.Response, raw: bytes) -> APIError:
        content_type = response.headers.get("content-type", "") or "no content type"
        if raw:
            try:
                parse_completion(response, raw, self._secret)
            except APIError as exc:
                if not isinstance(exc, APIResponseValidationError):
                    return exc
        return APIResponseValidationError(
            f"expected an event stream (text/event-stream) but the server sent {content_type}",
            status_code=response.status_code,
            request_id=response.headers.get("x-request-id"),
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self.base_url!r}, max_retries={self.max_retries})"


def _sent_once(data: bytes) -> Iterator[bytes]:
    """``data`` as a request body that is let go of once written (see ``_ClientCore._request``)."""
    yield data


async def _sent_once_async(data: bytes) -> AsyncIterator[bytes]:
    """The async twin of :func:`_sent_once`."""
    yield data


def _is_event_stream(response: httpx.Response) -> bool:
    return "text/event-stream" in response.headers.get("content-type", "")


class Groq(_ClientCore):
    """The synchronous client: ``Groq().chat.completions.create(...)``."""

    def __init__(
        self,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        timeout: float | httpx.Timeout | None = None,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        default_headers: Mapping[str, str] | None = None,
        transport: httpx.BaseTransport | None = None,
        http_client: httpx.Client | None = None,
        _sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__(
            api_key=api_key,
            base_url=base_url,
            timeout=timeout,
            connect_timeout=connect_timeout,
            max_retries=max_retries,
            default_headers=default_headers,
        )
        self._http = http_client or httpx.Client(
            transport=transport, timeout=self.timeout, limits=DEFAULT_LIMITS
        )
        self._sleep = _sleep
        self.chat = Chat(self)
        self.models = Models(self)
        self.files = Files(self)
        self.batches = Batches(self)

    def _send(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        stream: bool = False,
        extra_headers: Mapping[str, str] | None = None,
        timeout: float | httpx.Timeout | None = None,
    ) -> tuple[httpx.Response, bytes]:
        """Send with retries; return the response (open if ``stream``) and its body."""
        retries_done = 0
        while True:
            request = self._request(
                self._http,
                method,
                path,
                body,
                stream=stream,
                extra_headers=extra_headers,
                timeout=timeout,
                retries_done=retries_done,
            )
            try:
                response = self._http.send(request, stream=True, auth=self._auth)
                if response.is_success and stream and _is_event_stream(response):
                    return response, b""
                try:
                    raw = response.read()
                finally:
                    response.close()
            except httpx.TransportError as exc:
                if retries_done < self.max_retries:
                    delay = retry_delay(retries_done)
                    _log_retry(method, path, type(exc).__name__, retries_done, delay)
                    self._sleep(delay)
                    retries_done += 1
                    continue
                raise self._transport_error(exc) from None
            if response.is_success:
                if stream:
                    raise self._check_event_stream(response, raw)
                return response, raw
            if retries_done < self.max_retries and should_retry(response):
                delay = retry_delay(retries_done, response.headers)
                _log_retry(method, path, response.status_code, retries_done, delay)
                self._sleep(delay)
                retries_done += 1
                continue
            raise error_from_response(response, raw, self._secret)

    def as_async(self) -> AsyncGroq:
        """An :class:`AsyncGroq` with this client's key, URL, timeout and retries."""
        return _async_twin(self)

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def __enter__(self) -> Groq:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _async_twin(client: Groq) -> AsyncGroq:
    return AsyncGroq(**client._twin_settings())


def _sync_twin(client: AsyncGroq) -> Groq:
    return Groq(**client._twin_settings())


class AsyncGroq(_ClientCore):
    """The asyncio client: ``await AsyncGroq().chat.completions.create(...)``."""

    def __init__(
        self,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        timeout: float | httpx.Timeout | None = None,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        default_headers: Mapping[str, str] | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        http_client: httpx.AsyncClient | None = None,
        _sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        super().__init__(
            api_key=api_key,
            base_url=base_url,
            timeout=timeout,
            connect_timeout=connect_timeout,
            max_retries=max_retries,
            default_headers=default_headers,
        )
        self._http = http_client or httpx.AsyncClient(
            transport=transport, timeout=self.timeout, limits=DEFAULT_LIMITS
        )
        self._sleep = _sleep
        self.chat = AsyncChat(self)
        self.models = AsyncModels(self)
        self.files = AsyncFiles(self)
        self.batches = AsyncBatches(self)

    async def _asend(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        stream: bool = False,
        extra_headers: Mapping[str, str] | None = None,
        timeout: float | httpx.Timeout | None = None,
    ) -> tuple[httpx.Response, bytes]:
        """Send with retries; return the response (open if ``stream``) and its body."""
        retries_done = 0
        while True:
            request = self._request(
                self._http,
                method,
                path,
                body,
                stream=stream,
                extra_headers=extra_headers,
                timeout=timeout,
                retries_done=retries_done,
            )
            try:
                response = await self._http.send(request, stream=True, auth=self._auth)
                if response.is_success and stream and _is_event_stream(response):
                    return response, b""
                try:
                    raw = await response.aread()
                finally:
                    await response.aclose()
            except httpx.TransportError as exc:
                if retries_done < self.max_retries:
                    delay = retry_delay(retries_done)
                    _log_retry(method, path, type(exc).__name__, retries_done, delay)
                    await self._sleep(delay)
                    retries_done += 1
                    continue
                raise self._transport_error(exc) from None
            if response.is_success:
                if stream:
                    raise self._check_event_stream(response, raw)
                return response, raw
            if retries_done < self.max_retries and should_retry(response):
                delay = retry_delay(retries_done, response.headers)
                _log_retry(method, path, response.status_code, retries_done, delay)
                await self._sleep(delay)
                retries_done += 1
                continue
            raise error_from_response(response, raw, self._secret)

    def as_sync(self) -> Groq:
        """A :class:`Groq` with this client's key, URL, timeout and retries."""
        return _sync_twin(self)

    async def close(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    aclose = close

    async def __aenter__(self) -> AsyncGroq:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()


def _chat_body(
    messages: Iterable[Any],
    model: str,
    stream: Any,
    params: dict[str, Any],
    extra_body: Mapping[str, Any] | None,
) -> dict[str, Any]:
    if stream is not None and not isinstance(stream, bool):
        raise ArgumentError(f"stream must be True or False, got {stream!r}")
    if extra_body:
        params = {**params, **extra_body}
    return build_chat_body(messages, model, {"stream": stream or None, **params})


class Completions:
    """``client.chat.completions``."""

    def __init__(self, client: Groq) -> None:
        self._client = client

    @overload
    def create(
        self, *, messages: Iterable[Any], model: str, stream: Literal[True], **params: Any
    ) -> Stream: ...

    @overload
    def create(
        self,
        *,
        messages: Iterable[Any],
        model: str,
        stream: Literal[False] | None = ...,
        **params: Any,
    ) -> ChatCompletion: ...

    @overload
    def create(
        self, *, messages: Iterable[Any], model: str, stream: bool, **params: Any
    ) -> ChatCompletion | Stream: ...

    def create(
        self,
        *,
        messages: Iterable[Any],
        model: str,
        stream: bool | None = False,
        extra_headers: Mapping[str, str] | None = None,
        extra_body: Mapping[str, Any] | None = None,
        timeout: float | httpx.Timeout | None = None,
        **params: Any,
    ) -> ChatCompletion | Stream:
        """Create a chat completion; with ``stream=True`` return a :class:`Stream` of chunks.

        Takes the SDK's arguments (``temperature``, ``top_p``, ``max_completion_tokens``
        or ``max_tokens``, ``stop``, ``seed``, ``response_format``, ``tools``,
        ``tool_choice``, ``reasoning_format``, ``reasoning_effort``, ``service_tier``,
        ``stream_options``...); any other keyword goes into the body unchanged.
        """
        started = time.perf_counter()
        body = _chat_body(messages, model, stream, params, extra_body)
        response, raw = self._client._send(
            "POST",
            "/chat/completions",
            body,
            stream=bool(stream),
            extra_headers=extra_headers,
            timeout=timeout,
        )
        if stream:
            return Stream(response, started=started, secret=self._client._secret)
        return parse_completion(response, raw, self._client._secret)


class AsyncCompletions:
    """``async_client.chat.completions``."""

    def __init__(self, client: AsyncGroq) -> None:
        self._client = client

    @overload
    async def create(
        self, *, messages: Iterable[Any], model: str, stream: Literal[True], **params: Any
    ) -> AsyncStream: ...

    @overload
    async def create(
        self,
        *,
        messages: Iterable[Any],
        model: str,
        stream: Literal[False] | None = ...,
        **params: Any,
    ) -> ChatCompletion: ...

    @overload
    async def create(
        self, *, messages: Iterable[Any], model: str, stream: bool, **params: Any
    ) -> ChatCompletion | AsyncStream: ...

    async def create(
        self,
        *,
        messages: Iterable[Any],
        model: str,
        stream: bool | None = False,
        extra_headers: Mapping[str, str] | None = None,
        extra_body: Mapping[str, Any] | None = None,
        timeout: float | httpx.Timeout | None = None,
        **params: Any,
    ) -> ChatCompletion | AsyncStream:
        """Create a chat completion; with ``stream=True`` return an :class:`AsyncStream`."""
        started = time.perf_counter()
        body = _chat_body(messages, model, stream, params, extra_body)
        response, raw = await self._client._asend(
            "POST",
            "/chat/completions",
            body,
            stream=bool(stream),
            extra_headers=extra_headers,
            timeout=timeout,
        )
        if stream:
            return AsyncStream(response, started=started, secret=self._client._secret)
        return parse_completion(response, raw, self._client._secret)


class Chat:
    """``client.chat``."""

    def __init__(self, client: Groq) -> None:
        self.completions = Completions(client)


class AsyncChat:
    """``async_client.chat``."""

    def __init__(self, client: AsyncGroq) -> None:
        self.completions = AsyncCompletions(client)


def _model_path(model_id: str) -> str:
    if not isinstance(model_id, str) or not model_id:
        raise ArgumentError(f"model must be a non-empty string, got {model_id!r}")
    return "/models/" + model_id


_parse_model = object_parser(Model, "the model lookup")


class Models:
    """``client.models``: ``list()`` and ``retrieve(id)``."""

    def __init__(self, client: Groq) -> None:
        self._client = client

    def list(self) -> ModelList:
        """The models the server offers (``GET /models``)."""
        response, raw = self._client._send("GET", "/models")
        return parse_model_list(response, raw)

    def retrieve(self, model: str) -> Model:
        """One model's details (``GET /models/{id}``)."""
        response, raw = self._client._send("GET", _model_path(model))
        return _parse_model(response, raw)


class AsyncModels:
    """``async_client.models``."""

    def __init__(self, client: AsyncGroq) -> None:
        self._client = client

    async def list(self) -> ModelList:
        """The models the server offers (``GET /models``)."""
        response, raw = await self._client._asend("GET", "/models")
        return parse_model_list(response, raw)

    async def retrieve(self, model: str) -> Model:
        """One model's details (``GET /models/{id}``)."""
        response, raw = await self._client._asend("GET", _model_path(model))
        return _parse_model(response, raw)
