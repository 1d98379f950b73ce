"""One turn of a conversation: ``run_turn`` (sync) and ``arun_turn`` (asyncio).

The data flow, each step with one owner::

    options + template + namespace + chat     -> prepare_turn   (groq_magic.chat.prepare)
    request -> client -> chunks               -> _consume / _aconsume (sink gets deltas)
    what arrived                              -> _conclude      (result, JSON check, history)

The magic, retry, the panel, compares and ``sweep`` all prepare with
:func:`~groq_magic.chat.prepare.prepare_turn` and run with these, so a turn
behaves the same everywhere. History changes only in ``_conclude``, after the answer is in hand:
a failed request, or JSON that does not parse or validate, leaves the
conversation exactly as it was; an interrupted or broken stream keeps what was
shown, marked ``interrupted`` or ``incomplete``. A stream that breaks before any
text was shown is a failed request (a ``TurnError``), not an empty partial answer.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from groq_magic.chat.conversation import Turn
from groq_magic.chat.errors import ChatError, JSONResultError, SchemaValidationError
from groq_magic.chat.explain import explain_error
from groq_magic.chat.prepare import PreparedTurn
from groq_magic.chat.result import ChatResult, tokens_per_second
from groq_magic.chat.sink import StreamSink, TurnStatus, TurnSummary
from groq_magic.client import (
    APIConnectionError,
    APIError,
    APIStreamError,
    APITimeoutError,
    ChatCompletion,
    RateLimits,
)
from groq_magic.client._exceptions import status_error_class

if TYPE_CHECKING:
    from groq_magic.client import AsyncGroq, AsyncStream, Groq, Stream

__all__ = ["TurnError", "arun_turn", "run_turn"]


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
    rate_limits: RateLimits | None = None

    def take_stream(self, stream: Stream | AsyncStream) -> None:
        self.text = stream.text
        self.model = stream.model
        self.usage = stream.usage.model_dump(exclude_none=True) if stream.usage else {}
        self.finish_reason = stream.finish_reason
        self.request_id = stream.request_id
        self.rate_limits = stream.rate_limits
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
        self.rate_limits = completion.rate_limits
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


def _conclude(
    prep: PreparedTurn, outcome: _Outcome, sink: StreamSink, *, record: bool
) -> ChatResult:
    model = outcome.model or prep.model
    tps = tokens_per_second(outcome.usage, outcome.time_to_first_token, outcome.total_time)
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
        rate_limits=outcome.rate_limits,
    )
    if prep.wants_json and outcome.status == "complete":
        try:
            result.parsed  # noqa: B018 - parse and validate now, so bad JSON fails the turn
        except (JSONResultError, SchemaValidationError) as exc:
            sink.fail(str(exc))
            raise TurnError(str(exc), cause=exc, failed_generation=outcome.text) from None
    turn = Turn(
        cell_id=prep.cell_id,
        prompt=prep.prompt,
        answer=outcome.text,
        model=model,
        options=prep.options.snapshot(),
        usage=outcome.usage,
        timings=timings,
        finish_reason=outcome.finish_reason,
        status=outcome.status,
    ).remember_schema(prep.schema)
    result.turn = turn
    keep = prep.options.history and (outcome.status == "complete" or bool(outcome.text))
    if record and keep and prep.conversation is not None:
        prep.conversation.record(turn, replaces=prep.replaces)
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
    prep: PreparedTurn, client: Groq, sink: StreamSink, *, record: bool = True
) -> ChatResult:
    """Send a prepared turn, streaming into ``sink``; record it in its chat unless told not to.

    Returns the :class:`ChatResult` (also for an interrupted or broken stream,
    whose partial answer is kept and marked). Raises :class:`TurnError` when the
    request fails or JSON does not parse or validate; history is then unchanged.
    ``record=False`` (compares, the panel's trial runs) leaves history alone; the
    turn that would have been recorded is ``result.turn``.
    """
    sink.start(prep.meta)
    try:
        outcome = _consume(client, prep, sink)
    except TurnError as exc:
        sink.fail(str(exc))
        raise
    return _conclude(prep, outcome, sink, record=record)


async def arun_turn(
    prep: PreparedTurn, client: AsyncGroq, sink: StreamSink, *, record: bool = True
) -> ChatResult:
    """The asyncio twin of :func:`run_turn`, for compare grids and sweeps."""
    sink.start(prep.meta)
    try:
        outcome = await _aconsume(client, prep, sink)
    except TurnError as exc:
        sink.fail(str(exc))
        raise
    return _conclude(prep, outcome, sink, record=record)
