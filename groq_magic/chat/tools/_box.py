"""Running the calls a model asked for, and what each run gives back.

Nothing the model does wrong is raised: an unknown tool, arguments that are not
JSON or do not fit the signature, and an exception in the function all become a
:class:`ToolOutcome` whose ``error`` line is also the ``content`` sent back, so the
model can read it and try again. ``KeyboardInterrupt`` (and other
``BaseException``\\ s) propagate: the caller marks the turn interrupted.

Concurrency. :meth:`ToolBox.run` runs synchronous functions one after another in
the calling thread (notebook code expects its own thread), then the async ones
together on one event loop. :meth:`ToolBox.arun` runs the async ones concurrently
and the synchronous ones in a worker thread (``asyncio.to_thread``) so the loop is
never blocked; those still run one at a time, because notebook functions share
state and are rarely written to run in parallel.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import threading
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import ValidationError

from groq_magic._keys import redact, redact_value
from groq_magic.chat.errors import one_line
from groq_magic.chat.tools._calls import ToolCall
from groq_magic.chat.tools._content import clip, result_content
from groq_magic.chat.tools._tool import Tool, ToolError, make_tool

__all__ = ["MAX_TOOLS", "Gate", "ToolBox", "ToolFailure", "ToolOutcome", "resolve_tools"]

MAX_TOOLS = 128
"""The most tools one request may carry (Groq's limit)."""

_ERROR_CHARS = 1_000
_CANCEL_WAIT = 2.0  # seconds an interrupted tool round waits for its cancelled calls
_SHOWN_ERRORS = 5
_CHOICES = ("none", "auto", "required")

T = TypeVar("T")

OnDone = Callable[["ToolOutcome"], None]
"""Called with each call's outcome as soon as that call has finished."""

Gate = Callable[[Tool, "ToolOutcome"], "str | None"]
"""Asked before a call runs (its arguments valid): None lets it run, a line refuses it
(the line goes back to the model). :mod:`groq_magic.chat.tools.approval` builds one."""


class ToolFailure(Exception):
    """Raised by a tool to send exactly this line back to the model (no exception name).

    Remote tools (MCP servers) say what went wrong in their own words, naming the
    server; ``ValueError: ...`` in front would only add noise.
    """


@dataclass
class ToolOutcome:
    """One call and what came of it.

    ``content`` is the string sent to the model: the result's text, or the ``error``
    line. ``seconds`` is None for Groq's server-side tools (which report no time).
    ``arguments_json`` is the model's text, kept for display when it was not JSON.
    """

    id: str
    name: str
    arguments: dict[str, Any] = field(default_factory=dict)
    result: Any = None
    content: str = ""
    error: str | None = None
    seconds: float | None = 0.0
    arguments_json: str = ""
    server_side: bool = False
    server: str | None = None  # the MCP server whose tool this is (None: a notebook function)

    def as_dict(self, *, saved: bool = False) -> dict[str, Any]:
        """``{"name", "arguments", "result", "error", "seconds"}``: what ChatResult lists
        (and ``"server"`` for an MCP server's tool). ``saved``: what history keeps
        instead, JSON-ready: the call's ``id`` and the ``content`` sent, not the Python
        ``result``."""
        listed: dict[str, Any] = {"id": self.id} if saved else {}
        listed.update(name=self.name, arguments=self.arguments)
        if saved:
            listed["content"] = self.content
        else:
            listed["result"] = self.result
        listed.update(error=self.error, seconds=self.seconds)
        if self.server is not None:
            listed["server"] = self.server
        return listed

    def _fail(self, error: str) -> ToolOutcome:
        # A key in an exception message is masked before it is shown, sent or kept.
        self.error = redact(clip(one_line(error), _ERROR_CHARS))
        self.content = self.error
        return self

    def _succeed(self, value: Any) -> None:
        # The result as the model, the screen and history get it: a key in it is masked
        # (the function's own return value is not the record).
        self.result = redact_value(value)
        try:
            self.content = redact(result_content(value))
        except Exception as exc:  # a result that cannot be shown is an error, not a crash
            self._fail(f"the result cannot be sent: {exception_line(exc)}")


@dataclass
class _Ready:
    """A call whose tool exists and whose arguments validated."""

    tool: Tool
    args: list[Any]
    kwargs: dict[str, Any]
    outcome: ToolOutcome


class ToolBox:
    """The tools of one request, by name: their definitions, and running their calls."""

    def __init__(self, tools: Iterable[Callable[..., Any] | Tool] = ()) -> None:
        self._tools: dict[str, Tool] = {}
        self.gate: Gate | None = None
        for fn in tools:
            self.add(fn)

    def add(self, fn: Callable[..., Any] | Tool, fallback_name: str | None = None) -> Tool:
        """Describe and add a callable (see :func:`make_tool`); a second name is a ToolError."""
        if not isinstance(fn, Tool) and (isinstance(fn, type) or not callable(fn)):
            raise not_a_function(repr(fn), fn)
        new = make_tool(fn, fallback_name)
        old = self._tools.get(new.name)
        if old is not None and old.fn is not new.fn and old.fn != new.fn:
            raise ToolError(
                f"--tools: two tools are named '{new.name}'; rename one with @tool(name=...)"
            )
        if old is None and len(self._tools) >= MAX_TOOLS:
            raise ToolError(f"--tools: at most {MAX_TOOLS} tools in one request")
        self._tools.setdefault(new.name, new)
        return self._tools[new.name]

    @property
    def definitions(self) -> list[dict[str, Any]]:
        """The request's ``tools`` list."""
        return [t.definition for t in self._tools.values()]

    def request_fields(
        self, tool_choice: str | Mapping[str, Any] = "auto", parallel: bool | None = None
    ) -> dict[str, Any]:
        """``tools``, ``tool_choice`` (and ``parallel_tool_calls`` when given) for a request.

        ``tool_choice`` is ``none``, ``auto``, ``required``, a tool's name (that tool
        must be called) or an explicit ``{"type": "function", ...}`` dict.
        """
        choice: Any = tool_choice
        if isinstance(tool_choice, str) and tool_choice not in _CHOICES:
            if tool_choice not in self._tools:
                raise ToolError(
                    f"--tool-choice: no tool named '{tool_choice}' (tools: {self._listing()})"
                )
            choice = {"type": "function", "function": {"name": tool_choice}}
        fields: dict[str, Any] = {"tools": self.definitions, "tool_choice": choice}
        if parallel is not None:
            fields["parallel_tool_calls"] = parallel
        return fields

    def __len__(self) -> int:
        return len(self._tools)

    def __iter__(self) -> Iterator[Tool]:
        return iter(self._tools.values())

    def __contains__(self, name: object) -> bool:
        return name in self._tools

    def __getitem__(self, name: str) -> Tool:
        return self._tools[name]

    def __repr__(self) -> str:
        return f"<ToolBox {self._listing()}>"

    def _listing(self) -> str:
        return ", ".join(self._tools) or "none"

    # ---- running ----------------------------------------------------------------------

    def run(self, calls: Sequence[ToolCall], on_done: OnDone | None = None) -> list[ToolOutcome]:
        """Run the calls; outcomes in call order (see the module doc for the order of runs).

        ``on_done(outcome)`` is called in this thread as each call finishes, so a caller
        can show it at once and still has it when a later call is interrupted.
        """
        done = on_done or _nothing
        outcomes: list[ToolOutcome] = []
        deferred: list[_Ready] = []
        for call in calls:
            ready = self._prepare(call)
            if isinstance(ready, ToolOutcome):
                outcomes.append(ready)
                done(ready)
                continue
            outcomes.append(ready.outcome)
            if ready.tool.is_async:
                deferred.append(ready)
            else:
                _timed_sync(ready)
                done(ready.outcome)
        if deferred:
            finished: list[ToolOutcome] = []  # filled on the helper loop, reported here
            try:
                run_coroutine_sync(
                    _gather([_timed_async(r, None, finished.append) for r in deferred])
                )
            finally:
                for outcome in finished:
                    done(outcome)
        return outcomes

    async def arun(
        self, calls: Sequence[ToolCall], on_done: OnDone | None = None
    ) -> list[ToolOutcome]:
        """Run the calls concurrently (sync functions in a worker thread, one at a time).

        ``on_done(outcome)`` is called on the event loop as each call finishes.
        """
        done = on_done or _nothing
        lock = asyncio.Lock()
        prepared = [self._prepare(call) for call in calls]
        for failed in prepared:
            if isinstance(failed, ToolOutcome):
                done(failed)
        await _gather([_timed_async(r, lock, done) for r in prepared if isinstance(r, _Ready)])
        return [r if isinstance(r, ToolOutcome) else r.outcome for r in prepared]

    def _prepare(self, call: ToolCall) -> _Ready | ToolOutcome:
        outcome = ToolOutcome(id=call.id, name=call.name, arguments_json=call.arguments_json)
        tool = self._tools.get(call.name)
        if tool is None:
            return outcome._fail(f"no tool named '{call.name}' (tools: {self._listing()})")
        outcome.server = getattr(tool, "server", None)
        try:
            outcome.arguments = parse_arguments(call.arguments_json)
            args, kwargs = tool.bind(outcome.arguments)
        except (_BadArguments, ToolFailure) as exc:
            return outcome._fail(str(exc))
        except ValidationError as exc:
            return outcome._fail(validation_line(tool.name, exc))
        refusal = self.gate(tool, outcome) if self.gate is not None else None
        if refusal is not None:
            outcome.seconds = None  # it never ran
            return outcome._fail(refusal)
        return _Ready(tool, args, kwargs, outcome)


def resolve_tools(names: Iterable[str], namespace: Mapping[str, Any]) -> ToolBox:
    """The notebook functions ``--tools`` names, as a ToolBox; a bad name is a ToolError."""
    box = ToolBox()
    for raw in names:
        name = raw.strip()
        if not name:
            continue
        if name not in namespace:
            raise ToolError(f"--tools: no function named '{name}' in the notebook")
        obj = namespace[name]
        if isinstance(obj, Tool):
            box.add(obj)
            continue
        if isinstance(obj, type) or not callable(obj):
            raise not_a_function(f"'{name}'", obj)
        box.add(obj, fallback_name=name)
    return box


def not_a_function(label: str, obj: object) -> ToolError:
    """``--tools: 'answer' is an int, not a function``: the line for a tool that is not one."""
    kind = "class" if isinstance(obj, type) else type(obj).__name__
    article = "an" if kind[:1].lower() in "aeiou" else "a"
    return ToolError(f"--tools: {label} is {article} {kind}, not a function")


# ---- arguments ---------------------------------------------------------------------------


class _BadArguments(ValueError):
    """The arguments text is not a JSON object; the message goes back to the model."""


_JSON_KINDS = {list: "an array", str: "a string", bool: "a boolean"}


def parse_arguments(text: str) -> dict[str, Any]:
    """The model's arguments text as a dict (empty text and ``null`` are no arguments)."""
    if not text.strip():
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _BadArguments(f"arguments are not JSON: {exc}: {clip(text, 120)!r}") from None
    if value is None:
        return {}
    if not isinstance(value, dict):
        kind = _JSON_KINDS.get(type(value), "a number")
        raise _BadArguments(f"arguments must be a JSON object, got {kind}")
    return value


def validation_line(name: str, exc: ValidationError) -> str:
    """A pydantic error as one line the model can act on (the first few problems)."""
    problems = []
    for error in exc.errors()[:_SHOWN_ERRORS]:
        where = ".".join(str(p) for p in error.get("loc", ())) or "arguments"
        kind = error.get("type")
        if kind == "missing":
            problems.append(f"{where}: required, missing")
        elif kind == "extra_forbidden":
            problems.append(f"{where}: not a parameter of {name}")
        else:
            shown = clip(json.dumps(error.get("input"), default=str, ensure_ascii=False), 40)
            problems.append(f"{where}: {error.get('msg')} (got {shown})")
    more = exc.error_count() - _SHOWN_ERRORS
    tail = f"; and {more} more" if more > 0 else ""
    return f"invalid arguments for {name}: {'; '.join(problems)}{tail}"


def exception_line(exc: BaseException) -> str:
    """``ValueError: city not found``: an exception as one line (a ToolFailure as it says)."""
    text = one_line(str(exc))
    if isinstance(exc, ToolFailure):
        return text
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


# ---- running -------------------------------------------------------------------------------


def _timed_sync(ready: _Ready) -> None:
    outcome = ready.outcome
    start = time.perf_counter()
    try:
        value = ready.tool.fn(*ready.args, **ready.kwargs)
        if inspect.isawaitable(value):
            value = run_coroutine_sync(_awaited(value))
    except Exception as exc:  # the model hears of it; BaseException propagates
        outcome._fail(exception_line(exc))
    else:
        outcome._succeed(value)
    outcome.seconds = time.perf_counter() - start


async def _timed_async(
    ready: _Ready, lock: asyncio.Lock | None, done: OnDone | None = None
) -> None:
    outcome = ready.outcome
    start = time.perf_counter()
    try:
        if ready.tool.is_async:
            value = await ready.tool.fn(*ready.args, **ready.kwargs)
        else:
            assert lock is not None  # only arun passes sync tools here
            async with lock:
                start = time.perf_counter()  # waiting for the other sync tools is not its time
                value = await asyncio.to_thread(ready.tool.fn, *ready.args, **ready.kwargs)
        if inspect.isawaitable(value):
            value = await value
    except Exception as exc:  # the model hears of it; BaseException propagates
        outcome._fail(exception_line(exc))
    else:
        outcome._succeed(value)
    outcome.seconds = time.perf_counter() - start
    if done is not None:
        done(outcome)


def _nothing(outcome: ToolOutcome) -> None:
    """The ``on_done`` of a caller that does not ask."""


async def _awaited(value: Awaitable[T]) -> T:
    return await value


async def _gather(coroutines: list[Any]) -> None:
    tasks = [asyncio.ensure_future(c) for c in coroutines]
    try:
        await asyncio.gather(*tasks)
    except BaseException:
        # An interrupt in one call stops the others instead of leaving them running.
        for task in tasks:
            task.cancel()
        raise


def run_coroutine_sync(coroutine: Any) -> Any:
    """Run a coroutine to completion from synchronous code.

    With no event loop running in this thread, ``asyncio.run``. Inside a running loop
    (a Jupyter kernel runs cells inside one) that would fail, so the coroutine gets a
    fresh loop in a helper thread, and this thread waits for it.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    box: dict[str, Any] = {}

    async def tracked() -> Any:
        box["task"] = (asyncio.get_running_loop(), asyncio.current_task())
        return await coroutine

    def target() -> None:
        try:
            box["value"] = asyncio.run(tracked())
        except BaseException as exc:  # re-raised in the waiting thread
            box["error"] = exc

    thread = threading.Thread(target=target, name="groq-magic-tools", daemon=True)
    thread.start()
    try:
        thread.join()
    except BaseException:
        # The stop button: the calls still waiting (an MCP server's, a slow coroutine)
        # are cancelled instead of running on unseen in the helper thread.
        loop, task = box.get("task", (None, None))
        if loop is not None and task is not None:
            loop.call_soon_threadsafe(task.cancel)
            thread.join(timeout=_CANCEL_WAIT)
        raise
    if "error" in box:
        raise box["error"]
    return box.get("value")
