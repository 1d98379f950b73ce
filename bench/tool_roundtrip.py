"""Our CPU per tool round trip, beyond the tool itself (target: well under 1 ms).

One round is what the engine will do for one streamed call between two requests:
feed the call's ``tool_calls`` deltas (already parsed chunk models: parsing chunks
is the client's cost, measured by ``stream_throughput.py``) to a
``ToolCallAccumulator``, run the call through ``ToolBox.run`` (JSON parse, pydantic
validation, a trivial function, the result made into content), and build the next
request's messages (``assistant_message`` + ``tool_messages``). The one-line display
(``summarize_call``) and the ``<details>`` Markdown are timed apart, for information,
as are describing the function (once per cell, not per round) and the async path.

Each figure is the best of ``--repeat`` runs of ``--rounds`` rounds, in CPU time of
this process (``time.process_time``), as microseconds per round.

    .venv/bin/python bench/tool_roundtrip.py                 # 100 rounds, best of 7
    .venv/bin/python bench/tool_roundtrip.py --rounds 1000 --repeat 9
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Awaitable, Callable
from enum import Enum
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from groq_magic.chat.tools import (  # noqa: E402
    ToolBox,
    ToolCall,
    ToolCallAccumulator,
    assistant_message,
    call_markdown,
    make_tool,
    summarize_call,
    tool_messages,
)
from groq_magic.client import ChoiceDeltaToolCall  # noqa: E402

TARGET_US = 1000.0


class Unit(Enum):
    CELSIUS = "celsius"
    FAHRENHEIT = "fahrenheit"


def get_weather(city: str, unit: Unit = Unit.CELSIUS, days: int = 1) -> str:
    """Current weather for a city.

    Args:
        city: the city's name.
        unit: the temperature unit.
        days: how many days ahead.
    """
    return "12°C, rain"


# A realistic stream: id and name first, then the arguments in token-sized pieces.
PIECES = ['{"', "city", '":', ' "', "Osl", "o", '",', ' "', "unit", '":', ' "', "fahrenheit", '"}']
DELTAS = [
    ChoiceDeltaToolCall.model_validate(
        {"index": 0, "id": "call_abc123", "type": "function",
         "function": {"name": "get_weather", "arguments": ""}}
    ),
    *(ChoiceDeltaToolCall.model_validate({"index": 0, "function": {"arguments": p}})
      for p in PIECES),
]  # fmt: skip


def assembled_calls() -> list[ToolCall]:
    """The call, from its deltas one chunk at a time, as the stream delivers them."""
    acc = ToolCallAccumulator()
    for delta in DELTAS:
        acc.add((delta,))
    return acc.calls


def one_round(box: ToolBox) -> list[dict[str, object]]:
    calls = assembled_calls()
    outcomes = box.run(calls)
    assert outcomes[0].error is None, outcomes[0].error
    return [assistant_message(None, calls), *tool_messages(outcomes)]


def best_us(step: Callable[[], object], rounds: int, repeat: int) -> float:
    """Best CPU microseconds per call of ``step`` over ``repeat`` runs of ``rounds`` calls."""
    best = float("inf")
    for _ in range(repeat):
        start = time.process_time()
        for _ in range(rounds):
            step()
        best = min(best, (time.process_time() - start) / rounds * 1e6)
    return best


def best_async_us(step: Callable[[], Awaitable[object]], rounds: int, repeat: int) -> float:
    """As :func:`best_us` for a coroutine, timed inside one running loop (as the engine's)."""

    async def timed() -> float:
        start = time.process_time()
        for _ in range(rounds):
            await step()
        return (time.process_time() - start) / rounds * 1e6

    return min(asyncio.run(timed()) for _ in range(repeat))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    box = ToolBox([get_weather])
    messages = one_round(box)  # warm up, and check the round is what we think it is
    assert messages[1]["content"] == "12°C, rain", messages

    [outcome] = box.run(assembled_calls())
    fn_us = best_us(lambda: get_weather("Oslo", Unit.FAHRENHEIT), args.rounds, args.repeat)
    figures = {
        "round trip (accumulate + validate + run + messages)": best_us(
            lambda: one_round(box), args.rounds, args.repeat
        ),
        "  of which: accumulate the deltas": best_us(assembled_calls, args.rounds, args.repeat),
        "  of which: the trivial function itself": fn_us,
        "summarize_call (display, apart)": best_us(
            lambda: summarize_call(outcome), args.rounds, args.repeat
        ),
        "call_markdown (saved Markdown, apart)": best_us(
            lambda: call_markdown(outcome), args.rounds, args.repeat
        ),
        "arun of the same call, inside a running loop (apart)": best_async_us(
            lambda: box.arun(assembled_calls()), args.rounds, args.repeat
        ),
        "make_tool(get_weather) (once per cell, apart)": best_us(
            lambda: make_tool(get_weather), max(10, args.rounds // 10), args.repeat
        ),
    }
    width = max(len(k) for k in figures)
    print(f"tool round trip, CPU µs per round (best of {args.repeat} x {args.rounds} rounds)")
    for label, value in figures.items():
        print(f"  {label:<{width}}  {value:9.1f} µs")
    total = figures["round trip (accumulate + validate + run + messages)"]
    ok = total < TARGET_US
    print(f"{'PASS' if ok else 'FAIL'}: {total:.1f} µs per round, target under {TARGET_US:.0f} µs")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
