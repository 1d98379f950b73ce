"""Notebook functions as tools, end to end: real ``%%groq --tools`` cells, a scripted server.

Each test scripts the model's side (tool-call deltas, whole tool-call messages, final
answers) and checks what the user sees, what the functions received, what was sent
back field by field, and what history keeps. Compares and sweeps with tools are in
``tests/ui/test_ui_tools.py``; the display byte budget with tool lines in
``tests/render/test_render_turn_budget.py``.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from magic_helpers import interrupt_when, sent
from scripted_server import (
    MODEL,
    Reply,
    chunk_events,
    completion_body,
    completion_reply,
    error_reply,
    sse_reply,
)
from turn_replies import (
    Call,
    answer_stream,
    call_deltas,
    message_calls,
    tool_completion,
    tool_reply,
    tool_stream,
)

from groq_magic.chat.account import INTERRUPTED_TOOL
from groq_magic.chat.tools import make_tool

STREAMS = pytest.mark.parametrize("stream", [True, False], ids=["stream", "no-stream"])

CALL_KEYS = {"name", "arguments", "result", "error", "seconds"}


def get_weather(city: str, unit: str = "C") -> str:
    """The weather now in a city.

    Args:
        city: the city's name
        unit: C or F
    """
    WEATHER_CALLS.append((city, unit))
    return f"12°{unit}, rain in {city}"


WEATHER_CALLS: list[tuple[str, str]] = []


@pytest.fixture
def tools(groq: Any) -> Any:
    """The harness with ``get_weather`` defined in the notebook and its calls cleared."""
    WEATHER_CALLS.clear()
    groq.ns["get_weather"] = get_weather
    return groq


def status_of(run: Any, model: str = MODEL) -> str:
    """The status line a plain-text cell printed under its answer."""
    [line] = [line for line in run.out.splitlines() if line.startswith(f"{model} · ")]
    return line


def chat_requests(groq: Any) -> list[dict[str, Any]]:
    return [r.json() for r in groq.server.requests if r.path.endswith("/chat/completions")]


def final(text: str, *, stream: bool) -> Reply:
    return answer_stream(text) if stream else completion_reply(text)


def no_stream(stream: bool) -> str:
    return "" if stream else " --no-stream"


def assistant(calls: list[Call], content: str | None = None) -> dict[str, Any]:
    return {"role": "assistant", "content": content, "tool_calls": message_calls(calls)}


def tool_message(call_id: str, content: str) -> dict[str, Any]:
    return {"role": "tool", "tool_call_id": call_id, "content": content}


OSLO: list[Call] = [("call_oslo", "get_weather", '{"city": "Oslo"}')]


def round_trip(groq: Any, *, stream: bool = True, cell_id: str | None = None) -> Any:
    """One cell whose model calls get_weather(Oslo) once, then answers."""
    groq.server.enqueue(tool_reply(OSLO, stream=stream), final("Rainy, 12°C.", stream=stream))
    run = groq.run(f"%%groq --tools get_weather{no_stream(stream)}\nWeather in Oslo?", cell_id)
    assert run.error is None, run.err
    return run


# -- the round trip ---------------------------------------------------------------------------


@STREAMS
def test_a_two_step_round_trip(tools: Any, stream: bool) -> None:
    run = round_trip(tools, stream=stream)
    result = run.result
    assert result.text == "Rainy, 12°C."
    assert result.status == "complete"
    assert WEATHER_CALLS == [("Oslo", "C")]
    [call] = result.tool_calls
    assert set(call) == CALL_KEYS
    assert call["name"] == "get_weather"
    assert call["arguments"] == {"city": "Oslo"}
    assert call["result"] == "12°C, rain in Oslo"
    assert call["error"] is None
    assert isinstance(call["seconds"], float)
    assert call["seconds"] >= 0

    first, second = chat_requests(tools)
    definition = make_tool(get_weather).definition
    for body in (first, second):
        # Every request of the turn offers the tools, and only what the cell asked for.
        assert body["tools"] == [definition]
        assert body["tool_choice"] == "auto"
        assert body.get("stream", False) is stream
        assert "response_format" not in body
    assert definition["function"]["description"] == "The weather now in a city."
    assert definition["function"]["parameters"]["required"] == ["city"]
    user = {"role": "user", "content": "Weather in Oslo?"}
    assert first["messages"] == [user]
    assert second["messages"] == [
        user,
        assistant(OSLO),
        tool_message("call_oslo", "12°C, rain in Oslo"),
    ]
    # The terminal shows the call, the answer, then a status line counting the call.
    lines = run.out.splitlines()
    [tool_line] = [line for line in lines if line.startswith("🔧 ")]
    assert tool_line.startswith('🔧 get_weather(city="Oslo") → "12°C, rain in Oslo" · ')
    assert lines.index(tool_line) < lines.index("Rainy, 12°C.")
    assert lines.index("Rainy, 12°C.") < lines.index(status_of(run))
    assert "· 1 tool call ·" in status_of(run)
    assert status_of(run).endswith("· stop")
    # History holds the whole exchange.
    [turn] = tools.turns()
    assert turn.answer == "Rainy, 12°C."
    assert turn.exchange == second["messages"][1:]
    assert turn.status == "complete"


def test_usage_is_summed_over_the_requests_of_a_turn(tools: Any) -> None:
    run = round_trip(tools, stream=False)
    usage = run.result.usage
    assert (usage["prompt_tokens"], usage["completion_tokens"]) == (36, 14)
    assert "36 → 14 tokens" in run.out


@STREAMS
def test_parallel_calls_all_run_and_are_answered_in_call_order(tools: Any, stream: bool) -> None:
    order: list[str] = []

    def population(city: str) -> int:
        order.append(f"population:{city}")
        return {"Oslo": 709_000, "Bergen": 291_000}[city]

    def weather_log(city: str) -> str:
        order.append(f"weather:{city}")
        return get_weather(city)

    tools.ns.update(population=population, weather_log=weather_log)
    calls: list[Call] = [
        ("call_a", "weather_log", '{"city": "Bergen"}'),
        ("call_b", "population", '{"city": "Oslo"}'),
        ("call_c", "population", '{"city": "Bergen"}'),
    ]
    tools.server.enqueue(tool_reply(calls, stream=stream, piece=3), final("Done.", stream=stream))
    run = tools.run(f"%%groq -T weather_log,population{no_stream(stream)}\nCompare them.")
    assert run.error is None, run.err
    assert order == ["weather:Bergen", "population:Oslo", "population:Bergen"]
    second = chat_requests(tools)[1]
    assert second["messages"][1] == assistant(calls)
    assert second["messages"][2:] == [
        tool_message("call_a", "12°C, rain in Bergen"),
        tool_message("call_b", "709000"),
        tool_message("call_c", "291000"),
    ]
    assert [c["result"] for c in run.result.tool_calls] == ["12°C, rain in Bergen", 709000, 291000]
    assert [t["function"]["name"] for t in second["tools"]] == ["weather_log", "population"]
    assert "· 3 tool calls ·" in status_of(run)


def test_async_tools_of_one_message_run_together_in_a_cell(tools: Any) -> None:
    """Each waits until it sees the other running (a guard ends the wait): proof of overlap."""
    arrived: set[str] = set()

    async def meet(me: str, peer: str) -> str:
        arrived.add(me)
        for _ in range(400):
            if peer in arrived:
                return f"{me} met {peer}"
            await asyncio.sleep(0.005)
        return f"{me} alone"

    async def left(tag: str) -> str:
        return await meet("left", "right")

    async def right(tag: str) -> str:
        return await meet("right", "left")

    tools.ns.update(left=left, right=right)
    calls: list[Call] = [("c1", "left", '{"tag": "x"}'), ("c2", "right", '{"tag": "y"}')]
    tools.server.enqueue(tool_stream(calls), answer_stream("Met."))
    run = tools.run("%%groq --tools left,right\nMeet.")
    assert run.error is None, run.err
    assert [c["result"] for c in run.result.tool_calls] == ["left met right", "right met left"]


def test_arguments_one_character_per_delta(tools: Any) -> None:
    seen: list[Any] = []

    def plan(city: str, days: int, tags: list[str], note: str = "") -> str:
        seen.append((city, days, tags, note))
        return "ok"

    tools.ns["plan"] = plan
    arguments = json.dumps(
        {"city": "São Paulo", "days": 3, "tags": ['a"b', "{x}"], "note": "🙂 \\n"},
        ensure_ascii=False,
    )
    calls: list[Call] = [("call_p", "plan", arguments)]
    deltas = call_deltas(calls, piece=1)
    assert len(deltas) == len(arguments) + 1
    tools.server.enqueue(tool_stream(calls, piece=1), answer_stream("Planned."))
    run = tools.run("%%groq --tools plan\nPlan a trip.")
    assert run.error is None, run.err
    assert seen == [("São Paulo", 3, ['a"b', "{x}"], "🙂 \\n")]
    # The arguments go back as the model sent them, joined, not re-serialised.
    echoed = sent(tools.server)["messages"][1]["tool_calls"][0]["function"]["arguments"]
    assert echoed == arguments


def test_words_before_the_calls_are_echoed_with_them(tools: Any) -> None:
    reply = tool_stream(OSLO, text=["Let me ", "check."])
    tools.server.enqueue(reply, answer_stream("Rainy."))
    run = tools.run("%%groq --tools get_weather\nWeather?")
    assert run.error is None, run.err
    assert sent(tools.server)["messages"][1] == assistant(OSLO, "Let me check.")
    assert run.result.text == "Rainy."  # the answer is the last step's words


# -- what the model gets wrong comes back to it -------------------------------------------


def fails(city: str) -> str:
    """Always fails."""
    raise ValueError(f"no station in {city}\nsecond line")


@STREAMS
def test_a_function_that_raises_sends_its_line_back_and_the_loop_goes_on(
    tools: Any, stream: bool
) -> None:
    tools.ns["fails"] = fails
    calls: list[Call] = [("call_x", "fails", '{"city": "Atlantis"}')]
    tools.server.enqueue(tool_reply(calls, stream=stream), final("No data.", stream=stream))
    run = tools.run(f"%%groq --tools fails{no_stream(stream)}\nWeather in Atlantis?")
    assert run.error is None, run.err
    line = "ValueError: no station in Atlantis second line"
    assert sent(tools.server)["messages"][-1] == tool_message("call_x", line)
    [call] = run.result.tool_calls
    assert call["error"] == line
    assert call["result"] is None
    assert call["arguments"] == {"city": "Atlantis"}
    assert f"⚠ {line}" in run.out
    assert "Traceback" not in run.out + run.err
    assert run.result.text == "No data."
    assert run.result.status == "complete"
    assert tools.turns()[0].tool_calls[0]["error"] == line


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ('{"city": 5}', "invalid arguments for get_weather: city: Input should be a valid string"),
        ("{}", "invalid arguments for get_weather: city: required, missing"),
        (
            '{"city": "Oslo", "wind": true}',
            "invalid arguments for get_weather: wind: not a parameter of get_weather",
        ),
        ('{"city": Oslo}', "arguments are not JSON: Expecting value: line 1 column 10"),
        ('["Oslo"]', "arguments must be a JSON object, got an array"),
    ],
    ids=["wrong-type", "missing", "extra", "not-json", "not-an-object"],
)
def test_bad_arguments_go_back_to_the_model(tools: Any, arguments: str, expected: str) -> None:
    calls: list[Call] = [("call_1", "get_weather", arguments)]
    tools.server.enqueue(tool_stream(calls), answer_stream("Sorry."))
    run = tools.run("%%groq --tools get_weather\nWeather?")
    assert run.error is None, run.err
    assert WEATHER_CALLS == []
    back = sent(tools.server)["messages"]
    assert back[-2]["tool_calls"][0]["function"]["arguments"] == arguments  # echoed as sent
    assert back[-1]["tool_call_id"] == "call_1"
    assert back[-1]["content"].startswith(expected)
    assert "\n" not in back[-1]["content"]
    assert run.result.tool_calls[0]["error"] == back[-1]["content"]
    assert "⚠ " + expected[:30] in run.out
    assert run.result.text == "Sorry."


def test_an_unknown_tool_name_goes_back_to_the_model(tools: Any) -> None:
    calls: list[Call] = [
        ("call_1", "get_wether", '{"city": "Oslo"}'),
        ("call_2", "get_weather", '{"city": "Oslo"}'),
    ]
    tools.server.enqueue(tool_stream(calls), answer_stream("Rainy."))
    run = tools.run("%%groq --tools get_weather\nWeather?")
    assert run.error is None, run.err
    assert sent(tools.server)["messages"][-2:] == [
        tool_message("call_1", "no tool named 'get_wether' (tools: get_weather)"),
        tool_message("call_2", "12°C, rain in Oslo"),
    ]
    assert WEATHER_CALLS == [("Oslo", "C")]
    assert "⚠ no tool named 'get_wether'" in run.out


def test_a_request_failing_after_a_tool_round_keeps_the_round(tools: Any) -> None:
    tools.server.enqueue(
        tool_stream(OSLO),
        error_reply(
            400,
            "Please reduce the length of the messages",
            code="context_length_exceeded",
            param="messages",
        ),
    )
    run = tools.run("%%groq --tools get_weather\nWeather?")
    assert run.error is None, run.err
    result = run.result
    assert result.status == "incomplete"
    assert result.error == (
        "400 context_length_exceeded: Please reduce the length of the messages"
        " (the conversation is too long: %groq reset, %groq undo, or --no-history)"
    )
    assert f"⚠ incomplete: {result.error}" in run.out
    [turn] = tools.turns()
    assert (turn.status, turn.exchange) == ("incomplete", EXCHANGE)


# -- --max-steps ------------------------------------------------------------------------------


@STREAMS
def test_a_model_that_keeps_calling_stops_at_max_steps(tools: Any, stream: bool) -> None:
    for n in range(3):
        calls: list[Call] = [(f"call_{n}", "get_weather", f'{{"city": "City{n}"}}')]
        tools.server.enqueue(tool_reply(calls, stream=stream))
    run = tools.run(f"%%groq --tools get_weather --max-steps 3{no_stream(stream)}\nLoop.")
    assert run.error is None, run.err
    assert len(chat_requests(tools)) == 3
    assert tools.server.pending == 0
    # The third request's calls are not run: the turn stops there.
    assert WEATHER_CALLS == [("City0", "C"), ("City1", "C")]
    result = run.result
    assert result.status == "incomplete"
    line = (
        "stopped after 3 requests (--max-steps 3): the model was still calling tools;"
        " raise --max-steps or %groq retry"
    )
    assert result.error == line
    assert f"⚠ incomplete: {line}" in run.out
    assert len(result.tool_calls) == 2
    [turn] = tools.turns()
    assert turn.status == "incomplete"
    # Two finished rounds; every call id in history has its answer.
    assert [m["role"] for m in turn.exchange] == ["assistant", "tool", "assistant", "tool"]


def test_max_steps_one_runs_no_tool_and_keeps_no_turn(tools: Any) -> None:
    """Nothing ran and nothing was shown: the line says so and history is unchanged."""
    tools.server.enqueue(tool_completion(OSLO))
    run = tools.run("%%groq --tools get_weather --max-steps 1 --no-stream\nWeather?")
    assert run.error is None, run.err
    assert run.result.status == "incomplete"
    assert run.result.error.startswith("stopped after 1 request (--max-steps 1):")
    assert f"⚠ incomplete: {run.result.error}" in run.out
    assert WEATHER_CALLS == []
    assert len(chat_requests(tools)) == 1
    assert tools.turns() == []


def test_max_steps_defaults_to_eight(tools: Any) -> None:
    for n in range(8):
        tools.server.enqueue(tool_completion([(f"c{n}", "get_weather", '{"city": "X"}')]))
    run = tools.run("%%groq --tools get_weather --no-stream\nLoop.")
    assert run.error is None, run.err
    assert len(chat_requests(tools)) == 8
    assert "(--max-steps 8)" in run.result.error


# -- the stop button during a tool ------------------------------------------------------------


@STREAMS
def test_an_interrupt_during_a_slow_tool_ends_the_turn_and_keeps_it(
    tools: Any, stream: bool
) -> None:
    started = threading.Event()
    finished: list[str] = []

    def quick(city: str) -> str:
        finished.append(city)
        return f"quick {city}"

    def slow(city: str) -> str:
        started.set()
        # A function at work, in short steps: a SIGINT that lands between the set()
        # above and a long sleep's system call would only be seen when it returned.
        for _ in range(400):
            time.sleep(0.05)
        finished.append("slow")
        return "never"

    tools.ns.update(quick=quick, slow=slow)
    calls: list[Call] = [
        ("call_q", "quick", '{"city": "Oslo"}'),
        ("call_s", "slow", '{"city": "Bergen"}'),
        ("call_n", "quick", '{"city": "Tromsø"}'),
    ]
    tools.server.enqueue(tool_reply(calls, stream=stream))
    thread = interrupt_when(started, [])
    begun = time.perf_counter()
    run = tools.run(f"%%groq --tools quick,slow{no_stream(stream)}\nGo.")
    thread.join(5)
    assert time.perf_counter() - begun < 10  # a hang guard, not a latency check
    assert run.error is None, run.err
    assert "Traceback" not in run.out + run.err
    assert "KeyboardInterrupt" not in run.out + run.err
    assert finished == ["Oslo"]
    result = run.result
    assert result.status == "interrupted"
    # No further request: the turn ended at the interrupted round.
    time.sleep(0.1)
    assert len(chat_requests(tools)) == 1
    # What happened stays: the finished call's result, the others marked interrupted.
    assert [(c["name"], c["result"], c["error"]) for c in result.tool_calls] == [
        ("quick", "quick Oslo", None),
        ("slow", None, INTERRUPTED_TOOL),
        ("quick", None, INTERRUPTED_TOOL),
    ]
    [turn] = tools.turns()
    assert turn.status == "interrupted"
    assert turn.exchange == [
        assistant(calls),
        tool_message("call_q", "quick Oslo"),
        tool_message("call_s", INTERRUPTED_TOOL),
        tool_message("call_n", INTERRUPTED_TOOL),
    ]
    assert '🔧 quick(city="Oslo") → "quick Oslo"' in run.out
    assert f"⚠ {INTERRUPTED_TOOL}" in run.out
    assert status_of(run).endswith("· interrupted")
    # The next cell sends the kept exchange: every call id answered, so it is accepted.
    tools.server.enqueue(answer_stream("Next."))
    assert tools.run("%%groq\nAnd now?").error is None
    messages = sent(tools.server)["messages"]
    assert messages[1:5] == turn.exchange
    assert messages[-1] == {"role": "user", "content": "And now?"}


def test_an_interrupt_during_a_slow_async_tool(tools: Any) -> None:
    started = threading.Event()

    async def quick(city: str) -> str:
        return f"quick {city}"

    async def slow(city: str) -> str:
        started.set()
        await asyncio.sleep(20)
        return "never"

    tools.ns.update(quick=quick, slow=slow)
    calls: list[Call] = [
        ("call_q", "quick", '{"city": "Oslo"}'),
        ("call_s", "slow", '{"city": "Bergen"}'),
    ]
    tools.server.enqueue(tool_stream(calls))
    thread = interrupt_when(started, [])
    begun = time.perf_counter()
    run = tools.run("%%groq --tools quick,slow\nGo.")
    thread.join(5)
    assert time.perf_counter() - begun < 10  # a hang guard, not a latency check
    assert run.error is None, run.err
    assert "Traceback" not in run.out + run.err
    assert run.result.status == "interrupted"
    assert [(c["name"], c["result"], c["error"]) for c in run.result.tool_calls] == [
        ("quick", "quick Oslo", None),
        ("slow", None, INTERRUPTED_TOOL),
    ]
    assert len(chat_requests(tools)) == 1


@STREAMS
def test_an_interrupt_between_steps_keeps_the_finished_round(tools: Any, stream: bool) -> None:
    """The stop button while the request after a tool round waits for its first byte."""
    server = tools.server
    server.enqueue(tool_reply(OSLO, stream=stream), Reply(stall_before=5, json={}))
    second_sent = threading.Event()
    threading.Thread(
        target=lambda: server.wait_until(lambda: len(server.requests) == 2) and second_sent.set(),
        daemon=True,
    ).start()
    thread = interrupt_when(second_sent, [])
    run = tools.run(f"%%groq --tools get_weather{no_stream(stream)}\nWeather in Oslo?")
    thread.join(5)
    assert run.error is None, run.err
    assert "Traceback" not in run.out + run.err
    assert WEATHER_CALLS == [("Oslo", "C")]
    result = run.result
    assert result.status == "interrupted"
    assert result.text == ""
    assert [c["result"] for c in result.tool_calls] == ["12°C, rain in Oslo"]
    [turn] = tools.turns()
    assert turn.status == "interrupted"
    assert turn.exchange == EXCHANGE
    assert status_of(run).endswith("· interrupted")


# -- request bodies and what is refused before sending ------------------------------------


@pytest.mark.parametrize("flags", ["--json", "--schema City", "--json --schema City"])
def test_json_mode_or_a_schema_with_tools_is_one_line_and_nothing_is_sent(
    tools: Any, flags: str
) -> None:
    tools.ns["City"] = {"type": "object", "properties": {"name": {"type": "string"}}}
    round_trip(tools)
    before = tools.history_json()
    requests = len(chat_requests(tools))
    run = tools.run(f"%%groq --tools get_weather {flags}\nA city as JSON.")
    assert run.usage_error == (
        "--tools cannot be combined with --json or --schema: Groq does not allow JSON mode"
        " with tools"
    )
    assert len(chat_requests(tools)) == requests
    assert tools.history_json() == before


def test_configured_tools_apply_to_cells_and_give_way_to_a_json_cell(tools: Any) -> None:
    magics = tools.magics
    saved = (magics.tools, magics.max_steps)
    try:
        assert tools.run('%config GroqMagics.tools = "get_weather"').error is None
        assert tools.run("%config GroqMagics.max_steps = 2").error is None
        tools.server.enqueue(tool_completion(OSLO), completion_reply("Rainy."))
        run = tools.run("%%groq --no-stream\nWeather in Oslo?")
        assert run.error is None, run.err
        assert sent(tools.server)["tools"] == [make_tool(get_weather).definition]
        assert run.result.tool_calls[0]["result"] == "12°C, rain in Oslo"
        # A cell that asks for JSON gets it: the configured tools are left out, not refused.
        tools.server.enqueue(completion_reply('{"city": "Oslo"}'))
        run = tools.run("%%groq --json --no-stream\nOslo as JSON.")
        assert run.error is None, run.err
        body = sent(tools.server)
        assert "tools" not in body
        assert "tool_choice" not in body
        assert body["response_format"] == {"type": "json_object"}
        assert run.result.json == {"city": "Oslo"}
        # Typed on the cell, the combination is still one line.
        run = tools.run("%%groq --json --tools get_weather\nOslo as JSON.")
        assert run.usage_error.startswith("--tools cannot be combined with --json")
    finally:
        magics.tools, magics.max_steps = saved


@pytest.mark.parametrize(
    ("setup", "flags", "line"),
    [
        ("", "--tools nowhere", "--tools: no function named 'nowhere' in the notebook"),
        ("answer = 42", "--tools answer", "--tools: 'answer' is an int, not a function"),
        ("class Thing: pass", "-T Thing", "--tools: 'Thing' is a class, not a function"),
        ("x = 'text'", "--tools get_weather,x", "--tools: 'x' is a str, not a function"),
        (
            "class Opaque: pass\ndef probe(thing: Opaque) -> str:\n    return ''",
            "--tools probe",
            "tool probe: parameter 'thing' has type Opaque, which has no JSON schema;"
            " annotate it as str (or int, float, bool, a list or dict of them, a pydantic"
            " model, an Enum or a Literal)",
        ),
        (
            "def spread(*values: int) -> int:\n    return 0",
            "--tools spread",
            "tool spread: parameter '*values' cannot be described: a tool takes named JSON"
            " arguments; give the function named parameters",
        ),
        ("", "--tools 'a b'", "--tools takes names of notebook functions (got 'a b')"),
        ("", "--tools get_weather --max-steps 0", "--max-steps must be between 1 and 64 (got '0')"),
    ],
    ids=["missing", "int", "class", "str", "opaque", "variadic", "not-a-name", "max-steps"],
)
def test_bad_tools_are_one_line_before_anything_is_sent(
    tools: Any, setup: str, flags: str, line: str
) -> None:
    if setup:
        assert tools.run(setup).error is None
    round_trip(tools)
    before = tools.history_json()
    requests = len(chat_requests(tools))
    run = tools.run(f"%%groq {flags}\nWeather?")
    assert run.usage_error == line
    assert len(chat_requests(tools)) == requests
    assert tools.history_json() == before


# -- history ----------------------------------------------------------------------------------

EXCHANGE = [assistant(OSLO), tool_message("call_oslo", "12°C, rain in Oslo")]
FIRST_TURN = [
    {"role": "user", "content": "Weather in Oslo?"},
    *EXCHANGE,
    {"role": "assistant", "content": "Rainy, 12°C."},
]


def test_the_next_cell_carries_the_whole_exchange(tools: Any) -> None:
    round_trip(tools)
    tools.server.enqueue(answer_stream("Take an umbrella."))
    run = tools.run("%%groq\nWhat should I wear?")
    assert run.error is None, run.err
    body = sent(tools.server)
    assert body["messages"] == [*FIRST_TURN, {"role": "user", "content": "What should I wear?"}]
    assert "tools" not in body  # this cell offered none


def test_save_and_load_round_trip_the_exchange(tools: Any, tmp_path: Path) -> None:
    round_trip(tools)
    original = tools.turns()[0]
    path = tmp_path / "chat.json"
    assert tools.run(f"%groq save {path}").error is None
    saved = json.loads(path.read_text())["turns"][0]
    assert saved["exchange"] == EXCHANGE
    assert saved["tool_calls"][0]["content"] == "12°C, rain in Oslo"
    assert tools.run("%groq reset").error is None
    assert tools.run(f"%groq load {path}").error is None
    [loaded] = tools.turns()
    assert loaded.exchange == original.exchange
    assert loaded.tool_calls == original.tool_calls
    tools.server.enqueue(answer_stream("Yes."))
    assert tools.run("%%groq\nStill raining?").error is None
    assert sent(tools.server)["messages"][:4] == FIRST_TURN


def test_undo_removes_the_whole_multi_message_turn(tools: Any) -> None:
    tools.server.enqueue(answer_stream("Hello."))
    assert tools.run("%%groq\nHi.").error is None
    round_trip(tools)
    assert tools.run("%groq undo").error is None
    tools.server.enqueue(answer_stream("Ok."))
    assert tools.run("%%groq\nNext.").error is None
    assert sent(tools.server)["messages"] == [
        {"role": "user", "content": "Hi."},
        {"role": "assistant", "content": "Hello."},
        {"role": "user", "content": "Next."},
    ]


def test_retry_reruns_the_tool_turn_from_its_user_message(tools: Any) -> None:
    round_trip(tools)
    calls: list[Call] = [("call_again", "get_weather", '{"city": "Oslo", "unit": "F"}')]
    tools.server.enqueue(tool_stream(calls), answer_stream("54°F."))
    run = tools.run("%groq retry")
    assert run.error is None, run.err
    retry_first, retry_second = chat_requests(tools)[2:]
    # The retried request starts again from the user message, with the tools offered.
    assert retry_first["messages"] == [{"role": "user", "content": "Weather in Oslo?"}]
    assert retry_first["tools"] == [make_tool(get_weather).definition]
    assert retry_second["messages"][1:] == [
        assistant(calls),
        tool_message("call_again", "12°F, rain in Oslo"),
    ]
    [turn] = tools.turns()  # replaced, not appended
    assert turn.answer == "54°F."
    assert turn.exchange == retry_second["messages"][1:]


def test_rerunning_the_cell_replaces_its_turn_in_place(tools: Any) -> None:
    round_trip(tools, cell_id="cell-a")
    tools.server.enqueue(answer_stream("Wear boots."))
    assert tools.run("%%groq\nAnd shoes?", cell_id="cell-b").error is None
    round_trip(tools, cell_id="cell-a")
    # The re-run sees only what came before its old turn: nothing.
    assert chat_requests(tools)[-2]["messages"] == [{"role": "user", "content": "Weather in Oslo?"}]
    turns = tools.turns()
    assert [t.cell_id for t in turns] == ["cell-a", "cell-b"]
    assert turns[0].exchange == EXCHANGE
    tools.server.enqueue(answer_stream("Ok."))
    assert tools.run("%%groq\nThanks.").error is None
    assert sent(tools.server)["messages"][:4] == FIRST_TURN


def test_retry_of_a_loaded_tool_turn_offers_no_tools_unless_the_line_names_them(
    tools: Any, tmp_path: Path
) -> None:
    # A chat file is data: the tools its turn names are not offered again by themselves.
    round_trip(tools)
    path = tmp_path / "chat.json"
    assert tools.run(f"%groq save {path}").error is None
    assert tools.run(f"%groq load {path}").error is None
    WEATHER_CALLS.clear()
    tools.server.enqueue(answer_stream("Rainy."))
    run = tools.run("%groq retry")
    assert run.error is None, run.err
    retried = chat_requests(tools)[-1]
    assert "tools" not in retried
    assert "tool_choice" not in retried
    assert WEATHER_CALLS == []
    # Named on the retry line, the notebook's function is offered again.
    tools.server.enqueue(tool_reply(OSLO, stream=True), final("Rainy, 12°C.", stream=True))
    run = tools.run("%groq -T get_weather retry")
    assert run.error is None, run.err
    assert chat_requests(tools)[-2]["tools"] == [make_tool(get_weather).definition]
    assert WEATHER_CALLS == [("Oslo", "C")]


def test_retry_naming_a_tool_that_is_gone_is_one_line(tools: Any, tmp_path: Path) -> None:
    round_trip(tools)
    path = tmp_path / "chat.json"
    assert tools.run(f"%groq save {path}").error is None
    del tools.ns["get_weather"]
    assert tools.run(f"%groq load {path}").error is None
    before, requests = tools.history_json(), len(chat_requests(tools))
    run = tools.run("%groq -T get_weather retry")
    assert run.usage_error == "--tools: no function named 'get_weather' in the notebook"
    assert len(chat_requests(tools)) == requests
    assert tools.history_json() == before


# -- Groq's server-side tools (compound) ----------------------------------------------------

SEARCH_ARGS = '{"query": "groq lpu"}'


def executed_stream() -> Reply:
    events = chunk_events(["The LPU ", "is fast."], model="groq/compound")
    first, *rest = events
    opening = {"index": 0, "type": "search", "arguments": SEARCH_ARGS}
    found = {
        "index": 0,
        "type": "search",
        "output": "Title: Groq LPU\nURL: https://groq.com/lpu",
        "search_results": {"results": [{"title": "Groq LPU", "url": "https://groq.com/lpu"}]},
    }
    tool_chunks = []
    for entry in (opening, found):
        chunk = json.loads(json.dumps(first))
        chunk.pop("x_groq", None)
        chunk["choices"][0]["delta"] = {"executed_tools": [entry]}
        tool_chunks.append(chunk)
    return sse_reply([first, *tool_chunks, *rest])


def executed_completion() -> Reply:
    body = completion_body("The LPU is fast.", model="groq/compound")
    body["choices"][0]["message"]["executed_tools"] = [
        {
            "index": 0,
            "type": "search",
            "arguments": SEARCH_ARGS,
            "output": "Title: Groq LPU\nURL: https://groq.com/lpu",
        }
    ]
    return Reply(headers={"content-type": "application/json"}, json=body)


@STREAMS
def test_compound_executed_tools_are_shown_and_kept(groq: Any, stream: bool) -> None:
    groq.server.enqueue(executed_stream() if stream else executed_completion())
    run = groq.run(f"%%groq -m groq/compound{no_stream(stream)}\nWhat is an LPU?")
    assert run.error is None, run.err
    result = run.result
    assert result.text == "The LPU is fast."
    [executed] = result.executed_tools
    assert set(executed) == CALL_KEYS
    assert executed["name"] == "search"
    assert executed["arguments"] == {"query": "groq lpu"}
    assert executed["result"] == "Title: Groq LPU\nURL: https://groq.com/lpu"
    assert executed["error"] is None
    assert executed["seconds"] is None  # Groq reports no time for its own runs
    assert result.tool_calls == []
    line = '🌐 search(query="groq lpu") → "Title: Groq LPU\\nURL: https://groq.com/lpu"'
    lines = run.out.splitlines()
    assert lines.count(line) == 1
    # Groq searched before it answered, and the terminal shows it in that order.
    assert lines.index(line) < lines.index("The LPU is fast.")
    assert "· 1 tool call ·" in status_of(run, "groq/compound")
    # Nothing ran here and nothing is sent back: one request, and history keeps the runs.
    assert len(chat_requests(groq)) == 1
    [turn] = groq.turns()
    assert turn.exchange == []
    assert turn.executed_tools[0]["name"] == "search"
    groq.server.enqueue(answer_stream("Yes."))
    assert groq.run("%%groq\nReally?").error is None
    assert sent(groq.server)["messages"][:2] == [
        {"role": "user", "content": "What is an LPU?"},
        {"role": "assistant", "content": "The LPU is fast."},
    ]


# -- the notebook display -------------------------------------------------------------------


def markdown_of(message: dict[str, Any]) -> str:
    return str(message.get("data", {}).get("text/markdown", ""))


def test_the_notebook_shows_each_call_as_a_details_line_replaced_when_done(
    notebook: Any,
) -> None:
    notebook.ns["get_weather"] = get_weather
    WEATHER_CALLS.clear()
    seen_while_running: list[str] = []

    def slowish(city: str) -> str:
        # What the user sees while this runs: the last display message so far.
        seen_while_running.append(markdown_of(notebook.publisher.published[-1]))
        return f"done {city}"

    notebook.ns["slowish"] = slowish
    calls: list[Call] = [("call_s", "slowish", '{"city": "Oslo"}')]
    notebook.server.enqueue(tool_stream(calls), answer_stream("All done."))
    run = notebook.run("%%groq --tools slowish\nGo.")
    assert run.error is None, run.err
    [running] = seen_while_running
    assert running.startswith('🔧 slowish({"city": "Oslo"}) …')
    assert "<details>" not in running
    last = run.displays[-1]
    assert last["update"] is True
    final_markdown = markdown_of(last)
    block, _, rest = final_markdown.partition("</details>\n")
    assert block.startswith('<details><summary>🔧 slowish(city="Oslo") → "done Oslo" · ')
    assert 'Arguments:\n\n```json\n{\n  "city": "Oslo"\n}\n```' in block
    assert "Result:\n\n```text\ndone Oslo\n```" in block
    assert "…" not in final_markdown.split("</summary>")[0]  # the running line is gone
    assert rest.strip().startswith("All done.")
    assert final_markdown.rstrip().endswith("1 tool call · stop*")
    assert final_markdown.count("<details>") == 1
    # The plain-text twin of the final output lists the call as one line.
    plain = last["data"]["text/plain"]
    assert plain.startswith('🔧 slowish(city="Oslo") → "done Oslo" · ')
    assert "All done." in plain


def test_the_notebook_shows_a_compound_search_while_it_runs(notebook: Any) -> None:
    notebook.server.enqueue(executed_stream())
    run = notebook.run("%%groq -m groq/compound\nWhat is an LPU?")
    assert run.error is None, run.err
    shown = [markdown_of(m) for m in run.displays]
    running = [
        i for i, md in enumerate(shown) if md.startswith('🌐 search({"query": "groq lpu"}) …')
    ]
    done = [i for i, md in enumerate(shown) if md.startswith("<details><summary>🌐 search(")]
    answered = [i for i, md in enumerate(shown) if "The LPU" in md]
    assert running
    assert done
    assert answered
    assert running[0] < done[0] <= answered[0]
    final_markdown = shown[-1]
    assert final_markdown.count("<details>") == 1
    assert "…" not in final_markdown.split("</summary>")[0]
