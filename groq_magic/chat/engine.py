"""One turn of a conversation: ``run_turn`` (sync) and ``arun_turn`` (asyncio).

The data flow, each step with one owner::

    options + template + namespace + chat     -> prepare_turn   (groq_magic.chat.prepare)
    request -> client -> chunks               -> _request / _arequest (one request)
    tool calls -> run -> results -> request   -> _consume / _aconsume (until an answer)
    what arrived, across the requests         -> TurnAccount       (groq_magic.chat.account)
    result, JSON check, history               -> _conclude

The magic, retry, the panel, compares and ``sweep`` all prepare with
:func:`~groq_magic.chat.prepare.prepare_turn` and run with these, so a turn
behaves the same everywhere. History changes only in ``_conclude``, after the answer is in hand:
a failed request, or JSON that does not parse or validate, leaves the
conversation exactly as it was; an interrupted or broken stream keeps what was
shown, marked ``interrupted`` or ``incomplete``. A stream that breaks before any
text was shown is a failed request (a ``TurnError``), not an empty partial answer.

``arun_turn(..., pace=...)`` asks ``pace(request_body)`` for a permit before each
request it sends (every tool round is a request; a ``--cache`` replay sends none),
and settles it by how the request went: ``done`` with its headers and tokens,
``failed_rate_limited`` on a 429, ``failed`` otherwise. That is how compares and
sweeps are paced by :class:`~groq_magic.pacing.RateLimitPacer`, whose permits fit
:class:`RequestPermit`; the engine itself knows nothing of pacing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Protocol

from groq_magic.chat.account import TurnAccount
from groq_magic.chat.caching import cache_saving, cached_prompt_tokens
from groq_magic.chat.conversation import Turn
from groq_magic.chat.errors import ChatError, JSONResultError, SchemaValidationError
from groq_magic.chat.explain import explain_error
from groq_magic.chat.prepare import PreparedTurn
from groq_magic.chat.result import ChatResult, tokens_per_second
from groq_magic.chat.sink import NullSink, StreamSink, TurnSummary
from groq_magic.client import (
    APIConnectionError,
    APIError,
    APIStreamError,
    APITimeoutError,
    RateLimitError,
    status_error_class,
)

if TYPE_CHECKING:
    from groq_magic.chat.tools import ToolCall
    from groq_magic.client import AsyncGroq, ChatCompletion, Groq

__all__ = ["Pace", "RequestPermit", "TurnError", "arun_turn", "conclude_completion", "run_turn"]


class RequestPermit(Protocol):
    """Leave to send one request, settled once by how it went (later calls are ignored)."""

    def observe(self, headers: Any) -> None:
        """A stream's response headers arrived: the limits they carry apply from now."""

    def done(
        self,
        *,
        headers: Any = None,
        used_tokens: int | None = None,
        prompt_tokens: int | None = None,
    ) -> None:
        """The request was answered (``headers``: its rate limits; ``used_tokens`` and
        ``prompt_tokens``: its usage, so the pacer gives back what the server does)."""

    def failed_rate_limited(
        self, headers: Any = None, message: str | None = None, *, retry_after: float | None = None
    ) -> None:
        """The request got a 429 (``message``: the server's, naming the limit)."""

    def failed(self, headers: Any = None) -> None:
        """The request failed otherwise, or was stopped."""


Pace = Callable[[dict[str, Any]], Awaitable[RequestPermit]]
"""Waits until a request (its body) may go; returns its permit."""


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


def _stopped_before(ex: TurnAccount) -> bool:
    """The stop button before this request's first token: a failed turn, unless earlier
    steps (tool rounds) already showed something, which is then kept as interrupted."""
    if not ex.shown:
        raise TurnError("interrupted before the answer started", interrupted=True) from None
    ex.stopped()
    return False


def _failed_before(ex: TurnAccount, exc: APIError) -> bool:
    """A request that failed: the turn fails, unless earlier tool rounds are kept."""
    if not ex.shown:
        raise _api_failure(exc) from None
    ex.broke(explain_error(exc))
    return False


def _broke_during(ex: TurnAccount, exc: APIStreamError) -> bool:
    if not ex.shown:
        raise _nothing_shown(exc) from None
    ex.broke(explain_error(exc))
    return False


def _request(client: Groq, ex: TurnAccount) -> bool:
    """Send one request of the turn; False when the turn ended there (stopped, broken)."""
    prep = ex.prep
    try:
        if not prep.stream:
            completion = client.chat.completions.create(
                messages=ex.messages, model=prep.model, stream=False, **ex.params
            )
            ex.take_completion(completion)
            return True
        stream = client.chat.completions.create(
            messages=ex.messages, model=prep.model, stream=True, **ex.params
        )
    except KeyboardInterrupt:
        return _stopped_before(ex)
    except APIError as exc:
        return _failed_before(ex, exc)
    try:
        for chunk in stream:
            ex.take_chunk(chunk)
    except KeyboardInterrupt:
        ex.end_stream(stream)
        return _stopped_before(ex)
    except APIStreamError as exc:
        ex.end_stream(stream)
        return _broke_during(ex, exc)
    finally:
        # Closing the response tells the server to stop generating.
        stream.close()
    ex.end_stream(stream)
    return True


async def _arequest(client: AsyncGroq, ex: TurnAccount, pace: Pace | None) -> bool:
    """The asyncio twin of :func:`_request`, under a permit of ``pace`` if given."""
    if pace is None:
        return await _asend(client, ex, None)
    body = {"model": ex.prep.model, "messages": ex.messages, **ex.params}
    permit = await pace(body)
    limits = ex.rate_limits
    before = {key: ex.usage.get(key) for key in ("total_tokens", "prompt_tokens")}
    try:
        sent = await _asend(client, ex, permit)
    except BaseException:
        permit.failed()  # ignored when a 429 already settled it
        raise
    # This request's own headers and tokens (the account sums every round's usage).
    headers = ex.rate_limits if ex.rate_limits is not limits else None
    own = {key: _added(ex.usage.get(key), was) for key, was in before.items()}
    permit.done(
        headers=headers, used_tokens=own["total_tokens"], prompt_tokens=own["prompt_tokens"]
    )
    return sent


def _added(now: Any, before: Any) -> int | None:
    """What this request added to a usage count summed over the turn's requests."""
    if not isinstance(now, int) or now == before:
        return None
    return now - (before if isinstance(before, int) else 0)


def _refused(permit: RequestPermit | None, exc: APIError) -> None:
    """Settle ``permit`` for a request the server refused (a 429 tells the pacer its limit)."""
    if permit is None:
        return
    if isinstance(exc, RateLimitError):
        permit.failed_rate_limited(None, exc.message, retry_after=exc.retry_after)
    else:
        permit.failed()


async def _asend(client: AsyncGroq, ex: TurnAccount, permit: RequestPermit | None) -> bool:
    prep = ex.prep
    try:
        if not prep.stream:
            completion = await client.chat.completions.create(
                messages=ex.messages, model=prep.model, stream=False, **ex.params
            )
            ex.take_completion(completion)
            return True
        stream = await client.chat.completions.create(
            messages=ex.messages, model=prep.model, stream=True, **ex.params
        )
    except KeyboardInterrupt:
        return _stopped_before(ex)
    except APIError as exc:
        _refused(permit, exc)
        return _failed_before(ex, exc)
    if permit is not None:
        # The limits read when the stream starts, not at its end: a long answer's end
        # would apply them after the refill meanwhile.
        permit.observe(stream.rate_limits)
    try:
        async for chunk in stream:
            ex.take_chunk(chunk)
    except KeyboardInterrupt:
        ex.end_stream(stream)
        return _stopped_before(ex)
    except APIStreamError as exc:
        ex.end_stream(stream)
        return _broke_during(ex, exc)
    finally:
        await stream.aclose()
    ex.end_stream(stream)
    return True


def _next_calls(ex: TurnAccount) -> list[ToolCall]:
    """The calls to run now; none when the model answered or the steps are used up."""
    calls = ex.calls
    if calls and ex.steps >= ex.prep.max_steps:
        ex.out_of_steps()
        return []
    return calls


def _consume(client: Groq, prep: PreparedTurn, sink: StreamSink) -> TurnAccount:
    ex = TurnAccount(prep, sink)
    while _request(client, ex) and (calls := _next_calls(ex)):
        assert prep.toolbox is not None  # calls come only when tools were offered
        ex.calls_started(calls)
        try:
            outcomes = prep.toolbox.run(calls, on_done=ex.call_finished)
        except KeyboardInterrupt:
            ex.calls_interrupted(calls)
            break
        ex.calls_done(calls, outcomes)
    return ex


async def _aconsume(
    client: AsyncGroq, prep: PreparedTurn, sink: StreamSink, pace: Pace | None
) -> TurnAccount:
    ex = TurnAccount(prep, sink)
    while await _arequest(client, ex, pace) and (calls := _next_calls(ex)):
        assert prep.toolbox is not None  # calls come only when tools were offered
        ex.calls_started(calls)
        ex.calls_done(calls, await prep.toolbox.arun(calls, on_done=ex.call_finished))
    return ex


def _reasoning_tokens(usage: dict[str, Any]) -> int | None:
    details = usage.get("completion_tokens_details")
    value = details.get("reasoning_tokens") if isinstance(details, dict) else None
    return value if isinstance(value, int) else None


def _cost(prep: PreparedTurn, model: str, ex: TurnAccount) -> float | None:
    """What the turn cost in USD: 0 for a replay (nothing was sent), None when unknown."""
    if ex.cached:
        return 0.0
    return prep.log.cost(model, ex.usage) if prep.log is not None else None


def _conclude(prep: PreparedTurn, ex: TurnAccount, sink: StreamSink, *, record: bool) -> ChatResult:
    """The turn's one record: its result (checked when JSON was asked for), the history
    turn it makes (recorded unless ``record`` is False), and the sink's status line."""
    model = ex.model or prep.model
    cost = _cost(prep, model, ex)
    tps = tokens_per_second(ex.usage, ex.time_to_first_token, ex.total_time)
    timings = {"ttft": ex.time_to_first_token, "total": ex.total_time, "tokens_per_second": tps}
    result = _result(prep, ex, model, timings, cost)
    if prep.wants_json and ex.status == "complete":
        try:
            result.parsed  # noqa: B018 - parse and validate now, so bad JSON fails the turn
        except (JSONResultError, SchemaValidationError) as exc:
            sink.fail(str(exc))
            raise TurnError(str(exc), cause=exc, failed_generation=ex.text) from None
    turn = _turn(prep, ex, model, timings)
    result.turn = turn
    kept = ex.status == "complete" or bool(ex.text) or bool(ex.exchange)
    if record and kept and prep.options.history and prep.conversation is not None:
        prep.conversation.record(turn, replaces=prep.replaces)
    sink.finish(_summary(prep, ex, model, tps, cost))
    return result


def _result(
    prep: PreparedTurn, ex: TurnAccount, model: str, timings: dict[str, Any], cost: float | None
) -> ChatResult:
    result = ChatResult(
        ex.text,
        model=model,
        usage=ex.usage,
        timings=timings,
        finish_reason=ex.finish_reason,
        request=prep.request,
        status=ex.status,
        error=ex.error,
        validator=prep.validator,
        json_mode=prep.wants_json,
        reasoning=ex.reasoning,
        request_id=ex.request_id,
        rate_limits=ex.rate_limits,
        tool_calls=[o.as_dict() for o in ex.outcomes],
        executed_tools=[o.as_dict() for o in ex.executed],
        cached=ex.cached,
        cost=cost,
    )
    result.context = list(prep.context)
    result.code_language = prep.code_language
    result.options = prep.options
    return result


def _turn(prep: PreparedTurn, ex: TurnAccount, model: str, timings: dict[str, Any]) -> Turn:
    """The history turn this answer makes (JSON-ready: tool calls as the text sent)."""
    return Turn(
        cell_id=prep.cell_id,
        prompt=prep.prompt,
        user_message=prep.user_message,
        answer=ex.text,
        exchange=ex.exchange,
        reasoning=ex.reasoning,
        tool_calls=[o.as_dict(saved=True) for o in ex.outcomes],
        executed_tools=[o.as_dict(saved=True) for o in ex.executed],
        model=model,
        options=prep.options.snapshot(),
        usage=ex.usage,
        timings=timings,
        finish_reason=ex.finish_reason,
        status=ex.status,
    ).remember_schema(prep.schema)


def _summary(
    prep: PreparedTurn, ex: TurnAccount, model: str, tps: float | None, cost: float | None
) -> TurnSummary:
    """What the status line says of the turn."""
    return TurnSummary(
        text=ex.text,
        model=model,
        status=ex.status,
        finish_reason=ex.finish_reason,
        prompt_tokens=ex.usage.get("prompt_tokens"),
        completion_tokens=ex.usage.get("completion_tokens"),
        time_to_first_token=ex.time_to_first_token,
        total_time=ex.total_time,
        tokens_per_second=tps,
        error=ex.error,
        reasoning_tokens=_reasoning_tokens(ex.usage),
        images=prep.images,
        tool_calls=len(ex.outcomes) + len(ex.executed),
        cached=ex.cached,
        cost=cost,
        show_cost=prep.log is not None and prep.log.show_cost,
        cached_tokens=cached_prompt_tokens(ex.usage),
        saved=_saved(prep, model, ex),
        context_tokens=sum(block.tokens for block in prep.context),
        extra=prep.status_parts,
    )


def _saved(prep: PreparedTurn, model: str, ex: TurnAccount) -> float | None:
    """What Groq's prompt cache saved on this turn (None: nothing cached, or unknown)."""
    log = prep.log
    if log is None or ex.cached:
        return None
    return cache_saving(lambda usage: log.cost(model, usage), ex.usage)


def _replayed(prep: PreparedTurn, sink: StreamSink) -> TurnAccount | None:
    """With ``--cache``, the stored answer to this very request, shown at once; else None."""
    if prep.log is None or not prep.options.cache:
        return None
    stored = prep.log.replay(prep)
    if stored is None:
        return None
    ex = TurnAccount(prep, sink)
    ex.replay(stored)
    return ex


def _failed(prep: PreparedTurn, sink: StreamSink, exc: TurnError) -> None:
    sink.fail(str(exc))
    if prep.log is not None:
        prep.log.record_failure(prep, str(exc))


def _kept(prep: PreparedTurn, ex: TurnAccount, sink: StreamSink, *, record: bool) -> ChatResult:
    try:
        result = _conclude(prep, ex, sink, record=record)
    except TurnError as exc:  # the answer was not the JSON asked for
        if prep.log is not None and not ex.cached:
            prep.log.record_failure(prep, str(exc))
        raise
    # A replay is recorded too (marked so, it cost nothing): it is a turn of its chat,
    # which a restore must bring back and an undo must be able to remove.
    if prep.log is not None:
        prep.log.record(prep, result)
    return result


def run_turn(
    prep: PreparedTurn, client: Groq, sink: StreamSink, *, record: bool = True
) -> ChatResult:
    """Send a prepared turn, streaming into ``sink``; record it in its chat unless told not to.

    Returns the :class:`ChatResult` (also for an interrupted or broken stream,
    whose partial answer is kept and marked). Raises :class:`TurnError` when the
    request fails or JSON does not parse or validate; history is then unchanged.
    ``record=False`` (compares, the panel's trial runs) leaves history alone; the
    turn that would have been recorded is ``result.turn``. With ``--cache`` a
    stored answer to the same request is replayed and nothing is sent.
    """
    sink.start(prep.meta)
    ex = _replayed(prep, sink)
    if ex is None:
        try:
            ex = _consume(client, prep, sink)
        except TurnError as exc:
            _failed(prep, sink, exc)
            raise
    return _kept(prep, ex, sink, record=record)


async def arun_turn(
    prep: PreparedTurn,
    client: AsyncGroq,
    sink: StreamSink,
    *,
    record: bool = True,
    pace: Pace | None = None,
) -> ChatResult:
    """The asyncio twin of :func:`run_turn`, for compare grids and sweeps.

    ``pace``: each request waits for its permit (see the module doc).
    """
    sink.start(prep.meta)
    ex = _replayed(prep, sink)
    if ex is None:
        try:
            ex = await _aconsume(client, prep, sink, pace)
        except TurnError as exc:
            _failed(prep, sink, exc)
            raise
    return _kept(prep, ex, sink, record=record)


def conclude_completion(prep: PreparedTurn, completion: ChatCompletion) -> ChatResult:
    """The result of a prepared turn whose answer arrived whole by another road.

    A Batch API job's output file holds one chat completion per request: each is taken
    by the same account and concluded by the same code as a sent request's answer (key
    masking, JSON and schema validation, cost by ``prep.log``, the record in the store),
    so a batch's results are built exactly like a sweep's. Its time is the server's
    (``usage.total_time``): nothing here waited for it. Raises :class:`TurnError` when the
    answer is not the JSON asked for, as a sent turn does.
    """
    sink = NullSink()
    sink.start(prep.meta)
    account = TurnAccount(prep, sink)
    account.take_completion(completion)
    server_time = account.usage.get("total_time")
    account.total_time = float(server_time) if isinstance(server_time, int | float) else None
    return _kept(prep, account, sink, record=False)
