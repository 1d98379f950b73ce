"""One turn of a conversation: ``run_turn`` (sync) and ``arun_turn`` (asyncio).

The data flow, each step with one owner::

    options + rendered prompt + conversation  -> prepare_turn   (request window, params)
    request -> client -> chunks               -> _consume / _aconsume (sink gets deltas)
    what arrived                              -> _conclude      (result, JSON check, history)

The magic, the widgets and ``sweep`` all call these, so a turn behaves the same
everywhere. History changes only in ``_conclude``, after the answer is in hand:
a failed request, or JSON that does not parse or validate, leaves the
conversation exactly as it was; an interrupted or broken stream keeps what was
shown, marked ``interrupted`` or ``incomplete``. A stream that breaks before any
text was shown is a failed request (a ``TurnError``), not an empty partial answer.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from groq_magic.chat.conversation import Conversation, Turn
from groq_magic.chat.errors import ChatError, JSONResultError, SchemaValidationError
from groq_magic.chat.explain import explain_error
from groq_magic.chat.options import ChatOptions
from groq_magic.chat.result import ChatResult
from groq_magic.chat.schema import SchemaValidator, schema_response_format
from groq_magic.chat.sink import StreamSink, TurnMeta, TurnStatus, TurnSummary
from groq_magic.client import (
    APIConnectionError,
    APIError,
    APIStreamError,
    APITimeoutError,
    ChatCompletion,
)
from groq_magic.client._exceptions import status_error_class

if TYPE_CHECKING:
    from groq_magic.client import AsyncGroq, AsyncStream, Groq, Stream

__all__ = [
    "DEFAULT_MODEL",
    "EmptyPromptError",
    "PreparedTurn",
    "TurnError",
    "arun_turn",
    "prepare_turn",
    "run_turn",
]

DEFAULT_MODEL = "llama-3.3-70b-versatile"


class EmptyPromptError(ChatError, ValueError):
    """The cell has no prompt text."""


class TurnError(ChatError):
    """The turn failed and history is unchanged; ``str()`` is the one line to show.

    ``failed_generation`` holds the model's output when JSON failed to parse or
    validate (locally or as Groq's ``json_validate_failed``); ``interrupted`` is
    True when the user stopped the request before any answer arrived.
    """

    def __init__(
        self,
        message: str,
        *,
        cause: BaseException | None = None,
        failed_generation: str | None = None,
        interrupted: bool = False,
    ) -> None:
        super().__init__(message)
        self.cause = cause
        self.failed_generation = failed_generation
        self.interrupted = interrupted


@dataclass
class PreparedTurn:
    """Everything decided before the request: model, window, parameters, JSON checks."""

    model: str
    chat: str
    prompt: str
    messages: list[dict[str, Any]]
    params: dict[str, Any]
    stream: bool
    validator: SchemaValidator | None = None
    wants_json: bool = False

    @property
    def request(self) -> dict[str, Any]:
        """The request body as sent (the key is never part of it)."""
        return {"model": self.model, "messages": self.messages, **self.params}

    @property
    def meta(self) -> TurnMeta:
        """What the sink is told at the start."""
        return TurnMeta(model=self.model, chat=self.chat, stream=self.stream)


def prepare_turn(
    options: ChatOptions,
    prompt: str,
    conversation: Conversation,
    *,
    default_model: str = DEFAULT_MODEL,
    cell_id: str | None = None,
    replaces: str | None = None,
    schema: object | None = None,
) -> PreparedTurn:
    """Decide the request for ``prompt``; raises a one-line ChatError before anything is sent.

    ``schema`` is the object ``--schema`` named (a pydantic model class or a
    JSON-schema dict), already looked up by the caller.
    """
    if not prompt.strip():
        raise EmptyPromptError("the cell is empty: write a prompt under %%groq")
    model = options.model or default_model
    response_format: dict[str, Any] | None = None
    validator: SchemaValidator | None = None
    if schema is not None:
        response_format, validator = schema_response_format(
            schema, name=options.schema_name, model=model
        )
    messages = conversation.messages_for(
        prompt,
        options.system,
        cell_id=cell_id,
        replaces=replaces,
        history=options.history,
    )
    return PreparedTurn(
        model=model,
        chat=conversation.name,
        prompt=prompt,
        messages=messages,
        params=options.to_request_params(response_format),
        stream=options.stream,
        validator=validator,
        wants_json=options.wants_json or schema is not None,
    )


@dataclass
class _Outcome:
    """What arrived, however the exchange ended."""

    text: str = ""
    model: str | None = None
    usage: dict[str, Any] = field(default_factory=dict)
    finish_reason: str | None = None
    request_id: str | None = None
    reasoning: str | None = None
    time_to_first_token: float | None = None
    total_time: float | None = None
    status: TurnStatus = "complete"
    error: str | None = None

    def take_stream(self, stream: Stream | AsyncStream) -> None:
        self.text = stream.text
        self.model = stream.model
        self.usage = stream.usage.model_dump(exclude_none=True) if stream.usage else {}
        self.finish_reason = stream.finish_reason
        self.request_id = stream.request_id
        self.reasoning = stream.reasoning or None
        timings = stream.timings
        self.time_to_first_token = timings.time_to_first_token
        self.total_time = timings.total

    def take_completion(self, completion: ChatCompletion, started: float) -> None:
        self.text = completion.text
        self.model = completion.model
        self.usage = completion.usage.model_dump(exclude_none=True) if completion.usage else {}
        choice = completion.choices[0] if completion.choices else None
        self.finish_reason = choice.finish_reason if choice else None
        self.reasoning = choice.message.reasoning if choice else None
        self.request_id = completion.request_id
        self.total_time = time.perf_counter() - started


def _api_failure(exc: APIError) -> TurnError:
    return TurnError(explain_error(exc), cause=exc, failed_generation=exc.failed_generation)


def _nothing_shown(exc: APIStreamError) -> TurnError:
    """A stream that failed before any text: a failed request, not a partial answer.

    Nothing is on screen and nothing goes into history, so the line must not say a
    partial answer was kept; the failure is explained as the request error it amounts
    to (a stall as a timeout, a drop as a connection error, an error frame by status).
    """
    fields: dict[str, Any] = {
        "status_code": exc.status_code,
        "type": exc.type,
        "code": exc.code,
        "param": exc.param,
        "failed_generation": exc.failed_generation,
        "request_id": exc.request_id,
        "body": exc.body,
    }
    as_request: APIError
    if exc.code == "stream_timeout":
        as_request = APITimeoutError(exc.message, **fields)
    elif exc.code == "stream_broken":
        as_request = APIConnectionError(exc.message, **fields)
    elif exc.status_code is not None and 400 <= exc.status_code < 500:
        # Not 5xx: that class's hint says "already retried", and a stream never is.
        as_request = status_error_class(exc.status_code)(exc.message, **fields)
    else:
        as_request = APIError(exc.message, **fields)
    return TurnError(explain_error(as_request), cause=exc, failed_generation=exc.failed_generation)


def _content(chunk: Any) -> str | None:
    for choice in chunk.choices:
        if choice.index == 0:
            content: str | None = choice.delta.content
            return content
    return None


def _consume(client: Groq, prep: PreparedTurn, sink: StreamSink) -> _Outcome:
    outcome = _Outcome()
    started = time.perf_counter()
    try:
        if not prep.stream:
            completion = client.chat.completions.create(
                messages=prep.messages, model=prep.model, stream=False, **prep.params
            )
            outcome.take_completion(completion, started)
            sink.delta(outcome.text)
            return outcome
        stream = client.chat.completions.create(
            messages=prep.messages, model=prep.model, stream=True, **prep.params
        )
    except KeyboardInterrupt:
        raise TurnError("interrupted before the answer started", interrupted=True) from None
    except APIError as exc:
        raise _api_failure(exc) from None
    try:
        for chunk in stream:
            content = _content(chunk)
            if content:
                sink.delta(content)
    except KeyboardInterrupt:
        if not stream.text:
            raise TurnError("interrupted before the answer started", interrupted=True) from None
        outcome.status = "interrupted"
    except APIStreamError as exc:
        if not stream.text:
            raise _nothing_shown(exc) from None
        outcome.status = "incomplete"
        outcome.error = explain_error(exc)
    finally:
        # Closing the response tells the server to stop generating.
        stream.close()
    outcome.take_stream(stream)
    return outcome


async def _aconsume(client: AsyncGroq, prep: PreparedTurn, sink: StreamSink) -> _Outcome:
    outcome = _Outcome()
    started = time.perf_counter()
    try:
        if not prep.stream:
            completion = await client.chat.completions.create(
                messages=prep.messages, model=prep.model, stream=False, **prep.params
            )
            outcome.take_completion(completion, started)
            sink.delta(outcome.text)
            return outcome
        stream = await client.chat.completions.create(
            messages=prep.messages, model=prep.model, stream=True, **prep.params
        )
    except KeyboardInterrupt:
        raise TurnError("interrupted before the answer started", interrupted=True) from None
    except APIError as exc:
        raise _api_failure(exc) from None
    try:
        async for chunk in stream:
            content = _content(chunk)
            if content:
                sink.delta(content)
    except KeyboardInterrupt:
        if not stream.text:
            raise TurnError("interrupted before the answer started", interrupted=True) from None
        outcome.status = "interrupted"
    except APIStreamError as exc:
        if not stream.text:
            raise _nothing_shown(exc) from None
        outcome.status = "incomplete"
        outcome.error = explain_error(exc)
    finally:
        await stream.aclose()
    outcome.take_stream(stream)
    return outcome


def _tokens_per_second(usage: dict[str, Any], outcome: _Outcome) -> float | None:
    # Groq's own clock first: it measures generation only, without network time.
    tokens, seconds = usage.get("completion_tokens"), usage.get("completion_time")
    if isinstance(tokens, int) and tokens > 0 and isinstance(seconds, int | float) and seconds > 0:
        return tokens / seconds
    ttft, total = outcome.time_to_first_token, outcome.total_time
    if isinstance(tokens, int) and tokens > 0 and ttft is not None and total and total > ttft:
        return tokens / (total - ttft)
    return None


def _conclude(
    prep: PreparedTurn,
    options: ChatOptions,
    conversation: Conversation,
    outcome: _Outcome,
    sink: StreamSink,
    *,
    cell_id: str | None,
    replaces: str | None,
) -> ChatResult:
    model = outcome.model or prep.model
    tps = _tokens_per_second(outcome.usage, outcome)
    timings = {
        "ttft": outcome.time_to_first_token,
        "total": outcome.total_time,
        "tokens_per_second": tps,
    }
    result = ChatResult(
        outcome.text,
        model=model,
        usage=outcome.usage,
        timings=timings,
        finish_reason=outcome.finish_reason,
        request=prep.request,
        status=outcome.status,
        error=outcome.error,
        validator=prep.validator,
        json_mode=prep.wants_json,
        reasoning=outcome.reasoning,
        request_id=outcome.request_id,
    )
    if prep.wants_json and outcome.status == "complete":
        try:
            result.parsed  # noqa: B018 - parse and validate now, so bad JSON fails the turn
        except (JSONResultError, SchemaValidationError) as exc:
            sink.fail(str(exc))
            raise TurnError(str(exc), cause=exc, failed_generation=outcome.text) from None
    if options.history and (outcome.status == "complete" or outcome.text):
        conversation.record(
            Turn(
                cell_id=cell_id,
                prompt=prep.prompt,
                answer=outcome.text,
                model=model,
                options=options.snapshot(),
                usage=outcome.usage,
                timings=timings,
                finish_reason=outcome.finish_reason,
                status=outcome.status,
            ),
            replaces=replaces,
        )
    sink.finish(
        TurnSummary(
            text=outcome.text,
            model=model,
            status=outcome.status,
            finish_reason=outcome.finish_reason,
            prompt_tokens=outcome.usage.get("prompt_tokens"),
            completion_tokens=outcome.usage.get("completion_tokens"),
            time_to_first_token=outcome.time_to_first_token,
            total_time=outcome.total_time,
            tokens_per_second=tps,
            error=outcome.error,
        )
    )
    return result


def run_turn(
    options: ChatOptions,
    prompt: str,
    conversation: Conversation,
    client: Groq,
    sink: StreamSink,
    *,
    default_model: str = DEFAULT_MODEL,
    cell_id: str | None = None,
    replaces: str | None = None,
    schema: object | None = None,
) -> ChatResult:
    """Send ``prompt`` as the next turn of ``conversation``, streaming into ``sink``.

    Returns the :class:`ChatResult` (also for an interrupted or broken stream,
    whose partial answer is kept and marked). Raises :class:`TurnError` when the
    request fails or JSON does not parse or validate; history is then unchanged.
    """
    prep = prepare_turn(
        options,
        prompt,
        conversation,
        default_model=default_model,
        cell_id=cell_id,
        replaces=replaces,
        schema=schema,
    )
    sink.start(prep.meta)
    try:
        outcome = _consume(client, prep, sink)
    except TurnError as exc:
        sink.fail(str(exc))
        raise
    return _conclude(prep, options, conversation, outcome, sink, cell_id=cell_id, replaces=replaces)


async def arun_turn(
    options: ChatOptions,
    prompt: str,
    conversation: Conversation,
    client: AsyncGroq,
    sink: StreamSink,
    *,
    default_model: str = DEFAULT_MODEL,
    cell_id: str | None = None,
    replaces: str | None = None,
    schema: object | None = None,
) -> ChatResult:
    """The asyncio twin of :func:`run_turn`, for compare grids and sweeps."""
    prep = prepare_turn(
        options,
        prompt,
        conversation,
        default_model=default_model,
        cell_id=cell_id,
        replaces=replaces,
        schema=schema,
    )
    sink.start(prep.meta)
    try:
        outcome = await _aconsume(client, prep, sink)
    except TurnError as exc:
        sink.fail(str(exc))
        raise
    return _conclude(prep, options, conversation, outcome, sink, cell_id=cell_id, replaces=replaces)
