"""Tools in compares and sweeps: every run has its own tool rounds, async tools run together.

The server answers each request by what it carries (runs interleave, so a FIFO queue
cannot say which run gets which reply): a request that ends with tool results gets
the final answer, any other asks for two calls at once. The two tools are async and
each waits to see the other running, so a run whose calls did not overlap says
"alone" (events, not timings, prove the concurrency; the wait is only a guard).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import pytest
from keys import FAKE_KEY
from scripted_server import RecordedRequest, Reply
from turn_replies import answer_stream, tool_stream
from ui_fakes import RecordingPacer, RoutedServer

import groq_magic
from groq_magic.chat import ChatError
from groq_magic.chat.tools import make_tool

PATIENCE = 2.0  # seconds a tool waits for its peer before it says "alone"


class Meeting:
    """Async tools that each wait, per run, until the other one of the pair is running."""

    def __init__(self) -> None:
        self.arrived: set[tuple[str, str]] = set()
        self.calls: list[tuple[str, str]] = []

    async def meet(self, run: str, me: str, peer: str) -> str:
        self.calls.append((run, me))
        self.arrived.add((run, me))
        for _ in range(int(PATIENCE / 0.005)):
            if (run, peer) in self.arrived:
                return f"{me} met {peer}"
            await asyncio.sleep(0.005)
        return f"{me} alone"

    def tools(self) -> tuple[Callable[..., Any], Callable[..., Any]]:
        async def meet_a(run: str) -> str:
            """Wait for meet_b."""
            return await self.meet(run, "a", "b")

        async def meet_b(run: str) -> str:
            """Wait for meet_a."""
            return await self.meet(run, "b", "a")

        return meet_a, meet_b


def tool_rounds(request: RecordedRequest) -> Reply:
    """Ask for meet_a and meet_b at once; answer with their results once they came back."""
    body = request.json()
    model = body["model"]
    messages = body["messages"]
    if messages[-1]["role"] == "tool":
        results = [m["content"] for m in messages if m["role"] == "tool"]
        return answer_stream(f"{model}: {'; '.join(results)}", model=model)
    arguments = json.dumps({"run": f"{model}/{body.get('temperature')}"})
    calls = [(f"{model}-a", "meet_a", arguments), (f"{model}-b", "meet_b", arguments)]
    return tool_stream(calls, model=model, piece=4)


@pytest.fixture
def meeting(routed: RoutedServer) -> Meeting:
    routed.responder = tool_rounds
    return Meeting()


def expected(model: str) -> str:
    return f"{model}: a met b; b met a"


def check_requests(routed: RoutedServer, names: list[str], runs: int) -> None:
    bodies = routed.chat_bodies()
    assert len(bodies) == 2 * runs  # one tool round and one answer per run
    for body in bodies:
        assert [t["function"]["name"] for t in body["tools"]] == names
        assert body["tool_choice"] == "auto"
    finals = [b for b in bodies if b["messages"][-1]["role"] == "tool"]
    assert len(finals) == runs
    for body in finals:
        model = body["model"]
        assert [m["role"] for m in body["messages"]] == ["user", "assistant", "tool", "tool"]
        assert [m["tool_call_id"] for m in body["messages"][2:]] == [f"{model}-a", f"{model}-b"]


def test_compare_runs_each_models_tool_rounds_with_async_tools_together(
    ip: Any, routed: RoutedServer, meeting: Meeting
) -> None:
    meet_a, meet_b = meeting.tools()
    ip.user_ns.update(meet_a=meet_a, meet_b=meet_b)
    table = ip.run_cell_magic("groq", "--compare alpha,beta --tools meet_a,meet_b", "Meet.")
    assert list(table.model) == ["alpha", "beta"]
    assert list(table.status) == ["complete", "complete"]
    assert list(table.text) == [expected("alpha"), expected("beta")]
    check_requests(routed, ["meet_a", "meet_b"], runs=2)
    assert sorted(meeting.calls) == [
        ("alpha/None", "a"),
        ("alpha/None", "b"),
        ("beta/None", "a"),
        ("beta/None", "b"),
    ]
    # A compare never changes history, tool rounds included.
    assert ip._groq_magics.session.store.current.turns == []


def test_compare_with_an_unknown_tool_is_one_line_before_anything_is_sent(
    ip: Any, routed: RoutedServer
) -> None:
    with pytest.raises(Exception, match="--tools: no function named 'nowhere' in the notebook"):
        ip.run_cell_magic("groq", "--compare alpha,beta --tools nowhere", "Meet.")
    assert routed.chat_bodies() == []


@pytest.fixture
def env(routed: RoutedServer, monkeypatch: pytest.MonkeyPatch) -> RoutedServer:
    monkeypatch.setenv("GROQ_API_KEY", FAKE_KEY)
    monkeypatch.setenv("GROQ_BASE_URL", routed.base_url)
    return routed


def test_sweep_takes_tool_names_and_a_namespace(env: RoutedServer, meeting: Meeting) -> None:
    meet_a, meet_b = meeting.tools()
    table = groq_magic.sweep(
        "Meet.",
        model="alpha",
        temperature=[0, 1],
        tools=["meet_a", "meet_b"],
        namespace={"meet_a": meet_a, "meet_b": meet_b},
    )
    assert list(table.status) == ["complete", "complete"]
    assert set(table.text) == {expected("alpha")}
    check_requests(env, ["meet_a", "meet_b"], runs=2)


def test_a_paced_sweep_takes_a_permit_for_every_tool_round(
    env: RoutedServer, meeting: Meeting
) -> None:
    meet_a, meet_b = meeting.tools()
    pacer = RecordingPacer()
    table = groq_magic.sweep(
        "Meet.", model="alpha", temperature=[0, 1], tools=[meet_a, meet_b], pacer=pacer
    )
    assert list(table.status) == ["complete", "complete"]
    # Each run sends two requests (the calls, then the answer): four permits, not two.
    assert len(pacer.bodies) == 4
    assert [b["messages"][-1]["role"] for b in pacer.bodies].count("tool") == 2
    assert pacer.limits("alpha").in_flight == 0


def test_sweep_takes_tool_functions_themselves(env: RoutedServer, meeting: Meeting) -> None:
    meet_a, meet_b = meeting.tools()
    table = groq_magic.sweep(
        ["Meet.", "Meet {again}."], model=["alpha", "beta"], tools=[meet_a, meet_b]
    )
    assert list(table.status) == ["complete"] * 4
    assert list(table.text) == [expected(m) for m in ("alpha", "beta", "alpha", "beta")]
    # No namespace: the prompts are sent as written.
    assert {b["messages"][0]["content"] for b in env.chat_bodies()} == {"Meet.", "Meet {again}."}
    check_requests(env, ["meet_a", "meet_b"], runs=4)
    definition = make_tool(meet_a).definition
    assert env.chat_bodies()[0]["tools"][0] == definition


def test_sweep_mixes_names_and_functions(env: RoutedServer, meeting: Meeting) -> None:
    meet_a, meet_b = meeting.tools()
    table = groq_magic.sweep(
        "Meet.", model="alpha", tools=["meet_a", meet_b], namespace={"meet_a": meet_a}
    )
    assert list(table.text) == [expected("alpha")]


@pytest.mark.parametrize(
    ("tools", "namespace", "line"),
    [
        (["nowhere"], None, "--tools: no function named 'nowhere' in the notebook"),
        ([42], None, "--tools: 42 is an int, not a function"),
        (
            [lambda *values: 0],
            None,
            "tool '<lambda>': it has no name a model can call; use def, or @tool(name=...)",
        ),
    ],
    ids=["missing-name", "not-callable", "lambda"],
)
def test_sweep_with_bad_tools_is_one_line_before_anything_is_sent(
    env: RoutedServer, tools: list[Any], namespace: Any, line: str
) -> None:
    with pytest.raises(ChatError) as caught:
        groq_magic.sweep("Meet.", model="alpha", tools=tools, namespace=namespace)
    assert str(caught.value) == line
    assert env.chat_bodies() == []
