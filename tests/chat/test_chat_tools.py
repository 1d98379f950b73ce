"""Notebook functions as tools: schemas, name resolution, streamed calls, running, messages."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime
import enum
import functools
import json
import math
import subprocess
import sys
import threading
import time
from typing import Annotated, Any, Literal, Optional

import pytest
from pydantic import BaseModel
from scripted_server import ScriptedServer, chunk_events, sse_reply

from groq_magic.chat.errors import ChatError
from groq_magic.chat.tools import (
    MAX_RESULT_CHARS,
    Tool,
    ToolBox,
    ToolCall,
    ToolCallAccumulator,
    ToolError,
    ToolOutcome,
    assistant_message,
    call_markdown,
    calls_from_message,
    describe_tool,
    executed_tool_outcomes,
    make_tool,
    resolve_tools,
    result_content,
    summarize_call,
    tool,
    tool_messages,
)
from groq_magic.client import ChatCompletionChunk, ChoiceDeltaToolCall, ExecutedTool

# ---- functions to describe --------------------------------------------------------------------


class Unit(enum.Enum):
    CELSIUS = "celsius"
    FAHRENHEIT = "fahrenheit"


class Place(BaseModel):
    """A place on Earth."""

    city: str
    country: str = "NO"


class Tree(BaseModel):
    label: str
    children: list[Tree] = []


def get_weather(
    place: Place,
    unit: Unit = Unit.CELSIUS,
    days: Optional[int] = None,  # noqa: UP045 - Optional is one of the spellings under test
    mode: Literal["brief", "full"] = "brief",
    hours: list[int] | None = None,
) -> str:
    """Current weather for a place.

    Looks it up in the notebook's own table.

    Args:
        place: where to look.
        unit (Unit): the temperature
            unit.
        days: how many days ahead.

    Returns:
        The weather, as a sentence.
    """
    return f"12°C in {place.city} ({unit.value}, {days}, {mode}, {hours})"


def tool_names(box: ToolBox) -> list[str]:
    """The names a request offers the model, in order."""
    return [definition["function"]["name"] for definition in box.definitions]


def params(fn: Any) -> dict[str, Any]:
    schema = describe_tool(fn)["function"]["parameters"]
    assert isinstance(schema, dict)
    return schema


# ---- describing -----------------------------------------------------------------------------


def test_definition_shape_name_and_description() -> None:
    definition = describe_tool(get_weather)
    assert definition["type"] == "function"
    assert set(definition["function"]) == {"name", "description", "parameters"}
    assert definition["function"]["name"] == "get_weather"
    assert definition["function"]["description"] == (
        "Current weather for a place.\n\nLooks it up in the notebook's own table."
    )


def test_schema_of_many_signatures() -> None:
    schema = params(get_weather)
    assert schema["type"] == "object"
    assert schema["required"] == ["place"]
    assert schema["additionalProperties"] is False
    assert "$defs" not in schema
    assert "title" not in schema
    props = schema["properties"]
    assert list(props) == ["place", "unit", "days", "mode", "hours"]
    # The pydantic model is inlined, its field titles dropped, its own description kept.
    assert props["place"]["type"] == "object"
    assert props["place"]["properties"] == {
        "city": {"type": "string"},
        "country": {"type": "string", "default": "NO"},
    }
    assert props["place"]["required"] == ["city"]
    assert props["place"]["description"] == "where to look."
    assert props["unit"]["enum"] == ["celsius", "fahrenheit"]
    assert props["unit"]["default"] == "celsius"
    assert props["unit"]["description"] == "the temperature unit."
    assert props["days"]["anyOf"] == [{"type": "integer"}, {"type": "null"}]
    assert props["days"]["default"] is None
    assert props["days"]["description"] == "how many days ahead."
    assert props["mode"] == {"default": "brief", "enum": ["brief", "full"], "type": "string"}
    assert props["hours"]["anyOf"][0] == {"type": "array", "items": {"type": "integer"}}


def test_basic_types_containers_and_defaults() -> None:
    def f(
        s: str,
        i: int,
        x: float,
        b: bool,
        n: list[int],
        d: dict[str, float],
        t: tuple[int, str],
        opt: str = "z",
    ) -> None:
        """Types."""

    props = params(f)["properties"]
    assert props["s"] == {"type": "string"}
    assert props["i"] == {"type": "integer"}
    assert props["x"] == {"type": "number"}
    assert props["b"] == {"type": "boolean"}
    assert props["n"] == {"type": "array", "items": {"type": "integer"}}
    assert props["d"] == {"type": "object", "additionalProperties": {"type": "number"}}
    assert props["t"]["prefixItems"] == [{"type": "integer"}, {"type": "string"}]
    assert props["opt"] == {"type": "string", "default": "z"}
    assert params(f)["required"] == ["s", "i", "x", "b", "n", "d", "t"]


def test_recursive_model_keeps_its_definition() -> None:
    def grow(tree: Tree) -> int:
        """Count the nodes."""
        return 1

    schema = params(grow)
    assert schema["properties"]["tree"] == {"$ref": "#/$defs/Tree"}
    assert schema["$defs"]["Tree"]["properties"]["children"]["items"] == {"$ref": "#/$defs/Tree"}
    assert "title" not in schema["$defs"]["Tree"]["properties"]["label"]


def test_numpy_and_rest_docstrings_and_annotated_descriptions() -> None:
    def numpy_style(city: str, n: int = 1) -> None:
        """Numpy style.

        Parameters
        ----------
        city : str
            The city,
            spelled out.
        n : int
            How many.

        Returns
        -------
        None
        """

    def rest_style(city: str, n: int = 1) -> None:
        """reST style.

        :param city: The city.
        :param int n: How many.
        :returns: nothing.
        """

    def annotated(city: Annotated[str, "The city."]) -> None:
        """Annotated style."""

    for fn in (numpy_style, rest_style):
        props = params(fn)["properties"]
        assert props["city"]["description"].startswith("The city")
        assert props["n"]["description"] == "How many."
    assert params(numpy_style)["properties"]["city"]["description"] == "The city, spelled out."
    assert describe_tool(numpy_style)["function"]["description"] == "Numpy style."
    assert describe_tool(rest_style)["function"]["description"] == "reST style."
    assert params(annotated)["properties"]["city"]["description"] == "The city."


def test_unannotated_parameters_are_strings_or_their_defaults_type() -> None:
    def loose(a, n=3, ratio=0.5, flag=False, maybe=None, label="x"):  # type: ignore[no-untyped-def]
        """Quickly written."""

    props = params(loose)["properties"]
    assert props["a"] == {"type": "string"}
    assert props["n"] == {"type": "integer", "default": 3}
    assert props["ratio"]["type"] == "number"
    assert props["flag"]["type"] == "boolean"
    assert props["maybe"]["anyOf"] == [{"type": "string"}, {"type": "null"}]
    assert props["label"]["type"] == "string"


def test_no_docstring_gives_an_empty_description_and_no_parameters_an_empty_object() -> None:
    def now() -> str:
        return "noon"

    definition = describe_tool(now)["function"]
    assert definition["description"] == ""
    assert definition["parameters"]["properties"] == {}
    assert definition["parameters"]["type"] == "object"


def test_parameter_names_that_clash_with_pydantic_still_work() -> None:
    def odd(json: str, model_config: int, schema: bool = False) -> str:
        """Odd names."""
        return f"{json}{model_config}{schema}"

    assert list(params(odd)["properties"]) == ["json", "model_config", "schema"]
    [outcome] = ToolBox([odd]).run([ToolCall("c", "odd", '{"json": "a", "model_config": 2}')])
    assert outcome.result == "a2False"


def test_types_pydantic_reads_from_json_strings_are_accepted() -> None:
    seen = []

    def at(when: datetime.datetime) -> None:
        """When."""
        seen.append(when)

    assert params(at)["properties"]["when"] == {"type": "string", "format": "date-time"}
    assert run_one(at, '{"when": "2024-05-01T12:30:00"}').error is None
    assert seen == [datetime.datetime(2024, 5, 1, 12, 30)]


class Opaque:
    """No JSON schema for this."""


def test_undescribable_parameter_is_one_line_naming_it() -> None:
    def get_thing(city: str, thing: Opaque) -> None:
        """A thing."""

    with pytest.raises(ToolError) as info:
        describe_tool(get_thing)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith("tool get_thing: parameter 'thing' has type Opaque")
    assert "no JSON schema; annotate it as str" in message
    assert isinstance(info.value, ChatError)


@pytest.mark.parametrize(
    ("signature", "shown"), [("*args: int", "'*args'"), ("**kwargs: int", "'**kwargs'")]
)
def test_variadic_parameters_cannot_be_described(signature: str, shown: str) -> None:
    namespace: dict[str, Any] = {}
    exec(f"def spread(a: int, {signature}) -> None: pass", namespace)
    with pytest.raises(ToolError, match=rf"^tool spread: parameter {re_escape(shown)} cannot"):
        describe_tool(namespace["spread"])


def re_escape(text: str) -> str:
    import re

    return re.escape(text)


def test_unresolvable_forward_reference_names_the_parameter() -> None:
    namespace: dict[str, Any] = {}
    exec("def later(when: 'Missing') -> None: pass", namespace)
    with pytest.raises(ToolError, match=r"^tool later: parameter 'when' has annotation 'Missing'"):
        describe_tool(namespace["later"])


def test_decorator_bare_and_with_arguments() -> None:
    @tool
    def plain(x: int) -> int:
        """Plain."""
        return x

    @tool(name="weather", description="Say the weather.")
    def named(city: str) -> str:
        """Ignored docstring."""
        return city

    @tool("short")
    def by_position(city: str) -> str:
        return city

    assert plain(2) == 2  # still the function
    assert describe_tool(plain)["function"]["name"] == "plain"
    assert describe_tool(named)["function"] == {
        "name": "weather",
        "description": "Say the weather.",
        "parameters": params(named),
    }
    assert describe_tool(by_position)["function"]["name"] == "short"


def test_decorator_fails_in_the_cell_that_defines_the_function() -> None:
    with pytest.raises(ToolError, match="parameter 'thing'"):

        @tool
        def bad(thing: Opaque) -> None:
            pass


class Station:
    """A weather station."""

    def __init__(self, city: str) -> None:
        self.city = city

    @tool(description="The station's reading.")
    def reading(self, hour: int) -> str:
        return f"{self.city}@{hour}"

    async def areading(self, hour: int) -> str:
        """Read it asynchronously."""
        return f"{self.city}@{hour}"

    def __call__(self, hour: int, scale: float = 1.0) -> float:
        """Call the station."""
        return hour * scale


def test_methods_partials_async_and_callable_objects() -> None:
    station = Station("Oslo")
    bound = make_tool(station.reading)
    assert bound.name == "reading"
    assert bound.description == "The station's reading."
    assert list(bound.parameters["properties"]) == ["hour"]
    assert not bound.is_async

    aio = make_tool(station.areading)
    assert aio.is_async
    assert aio.description == "Read it asynchronously."

    obj = make_tool(station)
    assert obj.name == "Station"
    assert obj.description == "Call the station."
    assert list(obj.parameters["properties"]) == ["hour", "scale"]

    part = make_tool(functools.partial(get_weather, unit=Unit.FAHRENHEIT))
    assert part.name == "get_weather"
    assert part.description.startswith("Current weather")
    assert part.parameters["properties"]["unit"]["default"] == "fahrenheit"
    assert part.parameters["properties"]["days"]["description"] == "how many days ahead."

    outcomes = ToolBox([station.reading, station.areading, station]).run(
        [
            ToolCall("a", "reading", '{"hour": 3}'),
            ToolCall("b", "areading", '{"hour": 4}'),
            ToolCall("c", "Station", '{"hour": 2, "scale": 1.5}'),
        ]
    )
    assert [o.result for o in outcomes] == ["Oslo@3", "Oslo@4", 3.0]


def test_a_lambda_needs_a_name() -> None:
    with pytest.raises(ToolError, match="has no name a model can call"):
        describe_tool(lambda x: x)
    box = resolve_tools(["double"], {"double": lambda x: x * 2})
    assert tool_names(box) == ["double"]
    [outcome] = box.run([ToolCall("c", "double", '{"x": "ab"}')])
    assert outcome.result == "abab"


# ---- resolving names --------------------------------------------------------------------------


def test_resolve_tools_finds_functions_in_the_namespace() -> None:
    box = resolve_tools([" get_weather", "get_weather", "w"], {"get_weather": get_weather,
                                                            "w": get_weather})  # fmt: skip
    assert tool_names(box) == ["get_weather"]
    assert box.definitions == [describe_tool(get_weather)]
    assert "get_weather" in box
    assert len(box) == 1


@pytest.mark.parametrize(
    ("namespace", "message"),
    [
        ({}, "--tools: no function named 'x' in the notebook"),
        ({"x": 3}, "--tools: 'x' is an int, not a function"),
        ({"x": "text"}, "--tools: 'x' is a str, not a function"),
        ({"x": Place}, "--tools: 'x' is a class, not a function"),
    ],
)
def test_resolve_errors_are_one_clear_line(namespace: dict[str, Any], message: str) -> None:
    with pytest.raises(ToolError) as info:
        resolve_tools(["x"], namespace)
    assert str(info.value) == message


def test_two_functions_with_one_name_are_refused() -> None:
    def first(x: int) -> int:
        return x

    @tool(name="first")
    def second(x: int) -> int:
        return x

    with pytest.raises(ToolError, match="two tools are named 'first'"):
        resolve_tools(["first", "second"], {"first": first, "second": second})


def test_request_fields_and_tool_choice() -> None:
    box = ToolBox([get_weather])
    assert box.request_fields() == {"tools": box.definitions, "tool_choice": "auto"}
    assert box.request_fields("get_weather", parallel=False) == {
        "tools": box.definitions,
        "tool_choice": {"type": "function", "function": {"name": "get_weather"}},
        "parallel_tool_calls": False,
    }
    with pytest.raises(ToolError, match="no tool named 'nope' \\(tools: get_weather\\)"):
        box.request_fields("nope")


# ---- assembling streamed calls ------------------------------------------------------------------

EXAMPLE_ARGS = '{"city": "Zürich 🌧", "n": [1, 2]}'


def call_deltas(pieces: list[str], index: int = 0, call_id: str = "call_1") -> list[dict[str, Any]]:
    first = {"index": index, "id": call_id, "type": "function",
             "function": {"name": "get_weather", "arguments": ""}}  # fmt: skip
    return [first] + [{"index": index, "function": {"arguments": p}} for p in pieces]


def assemble(deltas: list[dict[str, Any]], as_models: bool) -> list[ToolCall]:
    acc = ToolCallAccumulator()
    for delta in deltas:
        acc.add([ChoiceDeltaToolCall.model_validate(delta) if as_models else delta])
    return acc.calls


@pytest.mark.parametrize("as_models", [False, True])
def test_arguments_split_at_every_position(as_models: bool) -> None:
    expected = [ToolCall("call_1", "get_weather", EXAMPLE_ARGS)]
    n = len(EXAMPLE_ARGS)
    for i in range(n + 1):
        for j in range(i, n + 1):
            pieces = [EXAMPLE_ARGS[:i], EXAMPLE_ARGS[i:j], EXAMPLE_ARGS[j:]]
            assert assemble(call_deltas(pieces), as_models) == expected, (i, j)


def test_a_surrogate_pair_split_across_deltas_is_joined() -> None:
    # A JSON "\ud83c" escape in one delta and "\udf27" in the next decode to two halves.
    units = EXAMPLE_ARGS.encode("utf-16-le")
    for cut in range(0, len(units) + 1, 2):
        pieces = [
            units[:cut].decode("utf-16-le", "surrogatepass"),
            units[cut:].decode("utf-16-le", "surrogatepass"),
        ]
        [call] = assemble(call_deltas(pieces), as_models=False)
        assert call.arguments_json == EXAMPLE_ARGS, cut
    assert json.loads(EXAMPLE_ARGS)["city"] == "Zürich 🌧"


def test_parallel_calls_interleave_by_index() -> None:
    args = ['{"city": "Oslo"}', '{"city": "Lima", "n": 2}', "{}"]
    streams = [call_deltas(list(a), index=i, call_id=f"call_{i}") for i, a in enumerate(args)]
    acc = ToolCallAccumulator()
    for step in range(max(len(s) for s in streams)):
        # One chunk may carry several calls' deltas at once.
        acc.add([s[step] for s in streams if step < len(s)])
    assert acc.calls == [ToolCall(f"call_{i}", "get_weather", a) for i, a in enumerate(args)]


def test_what_other_servers_send_is_absorbed() -> None:
    acc = ToolCallAccumulator()
    # Every call under index 0, each with its own id, the name repeated on each delta,
    # no id on a third call, and arguments as an object.
    acc.add([{"index": 0, "id": "a", "function": {"name": "f", "arguments": '{"x":'}}])
    acc.add([{"index": 0, "id": "a", "function": {"name": "f", "arguments": " 1}"}}])
    acc.add([{"index": 0, "id": "b", "function": {"name": "g", "arguments": {"y": "ü"}}}])
    acc.add([{"index": 2, "function": {"name": "h", "arguments": ""}}])
    acc.add(None)
    assert acc.calls == [
        ToolCall("a", "f", '{"x": 1}'),
        ToolCall("b", "g", '{"y": "ü"}'),
        ToolCall("call_2", "h", ""),
    ]


def test_chunk_deltas_and_calls_from_message() -> None:
    chunk = ChatCompletionChunk.model_validate(
        {"choices": [{"index": 0, "delta": {"tool_calls": call_deltas(["{}"])}}]}
    )
    acc = ToolCallAccumulator()
    acc.add(chunk.choices[0].delta.tool_calls)  # pydantic models, as a stream gives them
    assert acc.calls == [ToolCall("call_1", "get_weather", "{}")]
    message = {"tool_calls": [{"id": "c9", "type": "function",
                               "function": {"name": "f", "arguments": '{"a": 1}'}}]}  # fmt: skip
    assert calls_from_message(message) == [ToolCall("c9", "f", '{"a": 1}')]
    assert calls_from_message(message["tool_calls"]) == calls_from_message(message)
    assert calls_from_message({"content": "no calls"}) == []


def test_streamed_calls_end_to_end_through_the_client(
    server: ScriptedServer, make_client: Any
) -> None:
    pieces = ['{"place": {"ci', 'ty": "Zür', 'ich"}, "unit": "fahr', 'enheit"}']
    deltas = [[d] for d in call_deltas(pieces)]
    events = chunk_events([], tool_call_deltas=deltas, finish_reason="tool_calls")
    # Raw UTF-8 (no \u escapes), cut into 3-byte network pieces: characters split mid-way.
    frames = [f"data: {json.dumps(e, ensure_ascii=False)}\n\n" for e in events]
    server.enqueue(sse_reply(frames, split=3))
    acc = ToolCallAccumulator()
    stream = make_client().chat.completions.create(
        messages=[{"role": "user", "content": "weather?"}], model="m", stream=True,
        **ToolBox([get_weather]).request_fields(),
    )  # fmt: skip
    for chunk in stream:
        for choice in chunk.choices:
            acc.add(choice.delta.tool_calls)
    assert stream.finish_reason == "tool_calls"
    [outcome] = ToolBox([get_weather]).run(acc.calls)
    assert outcome.error is None
    assert outcome.result == "12°C in Zürich (fahrenheit, None, brief, None)"
    sent = server.requests[-1].json()
    assert sent["tools"] == [describe_tool(get_weather)]
    assert sent["tool_choice"] == "auto"
    assert "response_format" not in sent


# ---- running calls -------------------------------------------------------------------------------


def run_one(fn: Any, arguments: str, name: str | None = None) -> ToolOutcome:
    """Run ``fn`` as the only tool (``name`` names a lambda)."""
    box = ToolBox()
    made = box.add(fn, fallback_name=name)
    [outcome] = box.run([ToolCall("call_1", made.name, arguments)])
    return outcome


def test_a_call_runs_with_validated_python_values() -> None:
    seen: dict[str, Any] = {}

    def book(place: Place, unit: Unit = Unit.CELSIUS, days: int = 1) -> dict[str, Any]:
        seen.update(place=place, unit=unit, days=days)
        return {"ok": True}

    outcome = run_one(book, '{"place": {"city": "Oslo"}, "days": "3"}')
    assert outcome.error is None
    assert seen == {"place": Place(city="Oslo"), "unit": Unit.CELSIUS, "days": 3}
    assert outcome.arguments == {"place": {"city": "Oslo"}, "days": "3"}
    assert outcome.result == {"ok": True}
    assert outcome.content == '{"ok":true}'
    assert outcome.seconds is not None
    assert outcome.seconds >= 0
    assert outcome.as_dict() == {
        "name": "book",
        "arguments": {"place": {"city": "Oslo"}, "days": "3"},
        "result": {"ok": True},
        "error": None,
        "seconds": outcome.seconds,
    }


def test_only_the_arguments_sent_are_passed() -> None:
    marker = object()

    def keeps_default(a: int, b: Any = marker) -> bool:
        return b is marker

    assert run_one(keeps_default, '{"a": 1}').result is True
    assert (
        run_one(keeps_default, "").error
        == "invalid arguments for keeps_default: a: required, missing"
    )


def test_positional_only_parameters() -> None:
    def pos(a: int, b: int = 10, /, c: int = 0) -> int:
        return a + b + c

    assert run_one(pos, '{"a": 1, "c": 5}').result == 16
    assert run_one(pos, '{"a": 1, "b": 2}').result == 3


@pytest.mark.parametrize(
    ("arguments", "error"),
    [
        (
            '{"city": "Os',
            "arguments are not JSON: Unterminated string starting at: line 1 column 10 (char 9)",
        ),
        ("[1, 2]", "arguments must be a JSON object, got an array"),
        ('"Oslo"', "arguments must be a JSON object, got a string"),
    ],
)
def test_arguments_that_are_not_a_json_object_go_back_to_the_model(
    arguments: str, error: str
) -> None:
    called = []
    outcome = run_one(lambda city: called.append(city), arguments, name="f")
    assert called == []
    assert outcome.error is not None
    assert outcome.error.startswith(error)
    assert outcome.content == outcome.error
    assert outcome.result is None


def test_invalid_arguments_are_one_line_sent_back() -> None:
    outcome = run_one(get_weather, '{"place": {"city": 3}, "days": "two", "extra": 1}')
    assert outcome.error == (
        "invalid arguments for get_weather: place.city: Input should be a valid string (got 3);"
        " days: Input should be a valid integer, unable to parse string as an integer"
        ' (got "two"); extra: not a parameter of get_weather'
    )
    assert outcome.content == outcome.error


def test_unknown_tool_lists_the_tools() -> None:
    def a() -> None: ...
    def b() -> None: ...

    [outcome] = ToolBox([a, b]).run([ToolCall("c", "x", "{}")])
    assert outcome.error == "no tool named 'x' (tools: a, b)"
    assert outcome.content == outcome.error


def test_an_exception_in_the_function_is_its_one_line() -> None:
    def get_city(city: str) -> str:
        raise ValueError(f"city\nnot found: {city}")

    outcome = run_one(get_city, '{"city": "Atlantis"}')
    assert outcome.error == "ValueError: city not found: Atlantis"
    assert outcome.content == "ValueError: city not found: Atlantis"
    assert outcome.result is None


def test_keyboard_interrupt_propagates_from_run_and_arun() -> None:
    def stop() -> None:
        raise KeyboardInterrupt

    async def astop() -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_one(stop, "{}")
    with pytest.raises(KeyboardInterrupt):
        ToolBox([astop]).run([ToolCall("c", "astop", "{}")])
    with pytest.raises(KeyboardInterrupt):
        asyncio.run(ToolBox([stop]).arun([ToolCall("c", "stop", "{}")]))


def make_waiters() -> tuple[Any, Any]:
    """Two async tools that each finish only once the other has started."""
    events: dict[str, asyncio.Event] = {}

    def event(name: str) -> asyncio.Event:
        return events.setdefault(name, asyncio.Event())

    async def ping(x: int) -> str:
        event("ping").set()
        await asyncio.wait_for(event("pong").wait(), 5)
        return "ping"

    async def pong(x: int) -> str:
        event("pong").set()
        await asyncio.wait_for(event("ping").wait(), 5)
        return "pong"

    return ping, pong


def test_async_functions_run_concurrently_in_arun() -> None:
    ping, pong = make_waiters()
    calls = [ToolCall("1", "ping", '{"x": 1}'), ToolCall("2", "pong", '{"x": 2}')]
    outcomes = asyncio.run(ToolBox([ping, pong]).arun(calls))
    assert [(o.id, o.result, o.error) for o in outcomes] == [
        ("1", "ping", None),
        ("2", "pong", None),
    ]


def test_async_functions_run_concurrently_in_run_even_inside_a_running_loop() -> None:
    ping, pong = make_waiters()
    calls = [ToolCall("1", "ping", '{"x": 1}'), ToolCall("2", "pong", '{"x": 2}')]
    assert [o.result for o in ToolBox([ping, pong]).run(calls)] == ["ping", "pong"]

    async def kernel_cell() -> list[ToolOutcome]:
        # A Jupyter cell runs inside a loop: run() must not call asyncio.run() on it.
        ping2, pong2 = make_waiters()
        return ToolBox([ping2, pong2]).run(calls)

    assert [o.result for o in asyncio.run(kernel_cell())] == ["ping", "pong"]


def test_sync_functions_in_arun_leave_the_loop_free_and_run_one_at_a_time() -> None:
    released = threading.Event()
    spans: list[tuple[float, float, int]] = []

    def blocking(name: str) -> str:
        start = time.perf_counter()
        if name == "waits":
            assert released.wait(5), "the loop was blocked"
        else:
            time.sleep(0.01)
        spans.append((start, time.perf_counter(), threading.get_ident()))
        return name

    async def release() -> str:
        released.set()
        return "released"

    calls = [ToolCall("1", "blocking", '{"name": "waits"}'),
             ToolCall("2", "release", "{}"),
             ToolCall("3", "blocking", '{"name": "other"}')]  # fmt: skip
    outcomes = asyncio.run(ToolBox([blocking, release]).arun(calls))
    assert [o.result for o in outcomes] == ["waits", "released", "other"]
    (_, end1, thread1), (start2, _, _) = sorted(spans)
    assert end1 <= start2  # never both at once
    assert thread1 != threading.get_ident()  # in a worker thread, not the loop's


def test_long_results_are_clipped_with_a_note() -> None:
    outcome = run_one(lambda: "x" * 123_456, "{}", name="f")
    assert outcome.result == "x" * 123_456
    assert outcome.content == "x" * MAX_RESULT_CHARS + "…[clipped: 123,456 characters in all]"
    assert result_content("short") == "short"


def test_dataframe_and_other_results_become_json() -> None:
    pandas = pytest.importorskip("pandas")
    frame = pandas.DataFrame({"city": ["Oslo", "Lima"], "temp": [12.5, math.nan]})
    assert result_content(frame) == '[{"city":"Oslo","temp":12.5},{"city":"Lima","temp":null}]'
    assert result_content(frame["city"]) == '{"0":"Oslo","1":"Lima"}'
    assert run_one(lambda: frame, "{}", name="f").content.startswith('[{"city":"Oslo"')

    @dataclasses.dataclass
    class Reading:
        city: str
        temps: tuple[int, ...]

    assert result_content(Place(city="Oslo")) == '{"city":"Oslo","country":"NO"}'
    assert result_content(Reading("Oslo", (1, 2))) == '{"city":"Oslo","temps":[1,2]}'
    assert result_content({"when": Unit.CELSIUS, "n": None}) == '{"when":"Unit.CELSIUS","n":null}'
    assert result_content(None) == "null"


def test_import_loads_no_ipython_widgets_or_pandas() -> None:
    code = (
        "import json, sys\nimport groq_magic.chat.tools\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in "
        "{'IPython', 'ipywidgets', 'ipykernel', 'pandas'})))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []


# ---- messages and display -----------------------------------------------------------------------


def test_assistant_and_tool_messages() -> None:
    calls = [ToolCall("call_a", "f", '{ "x" : 1 }'), ToolCall("call_b", "g", "")]
    assert assistant_message("", calls) == {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {"id": "call_a", "type": "function",
             "function": {"name": "f", "arguments": '{ "x" : 1 }'}},
            {"id": "call_b", "type": "function", "function": {"name": "g", "arguments": ""}},
        ],
    }  # fmt: skip
    assert assistant_message("Let me check.", [])["content"] == "Let me check."
    assert "tool_calls" not in assistant_message("Done.", [])
    outcomes = [
        ToolOutcome("call_b", "g", content="2"),
        ToolOutcome("call_a", "f", content="ValueError: no", error="ValueError: no"),
        ToolOutcome("call_b", "g", content="again"),
        ToolOutcome("executed_0", "search", content="hits", server_side=True),
    ]
    assert tool_messages(outcomes) == [
        {"role": "tool", "tool_call_id": "call_b", "content": "2"},
        {"role": "tool", "tool_call_id": "call_a", "content": "ValueError: no"},
    ]


def test_summarize_call() -> None:
    outcome = ToolOutcome("c", "get_weather", {"city": "Oslo"}, "12°C, rain", "12°C, rain",
                          seconds=0.02)  # fmt: skip
    assert summarize_call(outcome) == '🔧 get_weather(city="Oslo") → "12°C, rain" · 0.02 s'
    failed = ToolOutcome("c", "f", {"n": 1}, error="ValueError: bad", seconds=12.34)
    assert summarize_call(failed) == "🔧 f(n=1) → ⚠ ValueError: bad · 12.3 s"
    long = ToolOutcome("c", "f", {"text": "y" * 500}, {"a": "z" * 500}, '{"a":"' + "z" * 500)
    line = summarize_call(long)
    assert len(line) < 200
    assert "\n" not in line
    assert line.count("…") == 2
    unreadable = run_one(lambda x: x, '{"x": ', name="f")
    assert summarize_call(unreadable).startswith('🔧 f({"x":) → ⚠ arguments are not JSON')


def test_call_markdown_is_a_details_block() -> None:
    outcome = run_one(lambda q: {"answer": "<b>```x```</b>"}, '{"q": "a < b"}', name="ask")
    markdown = call_markdown(outcome)
    assert markdown.startswith('<details><summary>🔧 ask(q="a &lt; b") → {"answer":"&lt;b&gt;')
    assert markdown.rstrip().endswith("</details>")
    assert '```json\n{\n  "q": "a < b"\n}\n```' in markdown
    # The result holds ``` so its fence is longer.
    assert '````json\n{\n  "answer": "<b>```x```</b>"\n}\n````' in markdown
    failed = call_markdown(run_one(lambda: 1 / 0, "{}", name="f"))
    assert "Error:\n\n```text\nZeroDivisionError: division by zero\n```" in failed


def test_executed_tools_become_outcomes() -> None:
    message_entries = [
        {"index": 0, "type": "search", "arguments": '{"query": "groq"}', "output": "Groq is fast",
         "search_results": {"results": [{"title": "Groq", "url": "https://groq.com"}]}},
        {"index": 1, "type": "python", "arguments": '{"code": "1+1"}', "output": None,
         "code_results": [{"text": "2"}]},
    ]  # fmt: skip
    first, second = executed_tool_outcomes(message_entries)
    assert first.as_dict() == {
        "name": "search",
        "arguments": {"query": "groq"},
        "result": "Groq is fast",
        "error": None,
        "seconds": None,
    }
    assert first.server_side
    assert first.content == "Groq is fast"
    assert second.result == [{"text": "2"}]
    assert summarize_call(first) == '🌐 search(query="groq") → "Groq is fast"'
    # In a stream the arguments come first and the output later, under one index.
    streamed = [
        ExecutedTool(index=0, type="search", arguments='{"query": "groq"}'),
        ExecutedTool(index=0, type="search", search_results={"results": [
            {"title": "Groq", "url": "https://groq.com", "score": 0.9}]}),
    ]  # fmt: skip
    [merged] = executed_tool_outcomes(streamed)
    assert merged.arguments == {"query": "groq"}
    assert merged.result == [{"title": "Groq", "url": "https://groq.com"}]
    assert executed_tool_outcomes(None) == []


def test_tool_objects_pass_through() -> None:
    made = make_tool(get_weather)
    assert isinstance(made, Tool)
    assert make_tool(made) is made
    assert tool_names(resolve_tools(["t"], {"t": made})) == ["get_weather"]
