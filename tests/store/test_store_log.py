"""What the session's StoreLog is made of: tool rounds round-trip, paths, notebooks."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from groq_magic.chat import ChatResult, Conversation, Turn
from groq_magic.store import (
    NO_NOTEBOOK,
    Exchange,
    Store,
    StoreError,
    check_path,
    conversations_from_turns,
    notebook_path,
)

BASE_URL = "https://api.groq.com/openai/v1"
CALL = {"id": "call_1", "name": "weather", "arguments": {"city": "Oslo"}, "content": "rain"}
SEARCH = {"id": "s1", "name": "search", "arguments": {"q": "Oslo"}, "content": "results"}
ROUND = [
    {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": "call_1",
                "type": "function",
                "function": {"name": "weather", "arguments": '{"city": "Oslo"}'},
            }
        ],
    },
    {"role": "tool", "tool_call_id": "call_1", "content": "rain"},
]


def tool_turn() -> tuple[Turn, ChatResult]:
    turn = Turn(
        cell_id="c1",
        prompt="Weather in Oslo?",
        answer="Rain.",
        exchange=ROUND,
        reasoning="Look it up.",
        tool_calls=[CALL],
        executed_tools=[SEARCH],
        model="openai/gpt-oss-20b",
        usage={"prompt_tokens": 50, "completion_tokens": 9, "total_tokens": 59},
    )
    request = {"model": turn.model, "messages": [turn.user_message], "tools": []}
    result = ChatResult("Rain.", model=turn.model, usage=turn.usage, request=request)
    result.turn = turn
    return turn, result


def test_a_tool_turn_round_trips_whole(store: Store) -> None:
    turn, result = tool_turn()
    live = Conversation()
    live.record(turn)
    store.record(Exchange.from_result(result, base_url=BASE_URL, cell_id="c1"))
    restored = conversations_from_turns(store.turns_for_restore())["default"]
    (back,) = restored.turns
    for field in ("id", "cell_id", "exchange", "reasoning", "tool_calls", "executed_tools"):
        assert getattr(back, field) == getattr(turn, field), field
    assert restored.window() == live.window()
    assert restored.window() == live.window()


def test_tool_calls_and_server_runs_share_one_column_marked(store: Store) -> None:
    _, result = tool_turn()
    exchange = Exchange.from_result(result, base_url=BASE_URL)
    assert exchange.tool_calls == [CALL, {**SEARCH, "server_side": True}]
    assert exchange.messages == ROUND


def test_a_turn_of_tool_rounds_only_is_in_history(store: Store) -> None:
    turn, result = tool_turn()
    result.text, turn.answer = "", ""
    result.status = turn.status = "interrupted"
    assert Exchange.from_result(result, base_url=BASE_URL).in_history


def test_check_path(tmp_path: Path) -> None:
    assert check_path("none") is None
    assert check_path(tmp_path / "new" / "deeper" / "s.sqlite") == tmp_path / "new/deeper/s.sqlite"
    with pytest.raises(StoreError, match="is a folder: give a file"):
        check_path(tmp_path)
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(StoreError, match=f"{blocker} is not a folder"):
        check_path(blocker / "s.sqlite")
    assert not (tmp_path / "new").exists()  # nothing is created


def test_notebook_path_from_the_frontend() -> None:
    assert notebook_path({}, {}) is None
    assert notebook_path({}, {"JPY_SESSION_NAME": "a.ipynb"}) == "a.ipynb"
    assert notebook_path({"__session__": "b.ipynb"}, {"JPY_SESSION_NAME": "a.ipynb"}) == "b.ipynb"
    vsc = {"__vsc_ipynb_file__": "/c.ipynb", "__session__": "b.ipynb"}
    assert notebook_path(vsc, {}) == "/c.ipynb"


def test_chats_of_one_notebook(store: Store, make_exchange: Callable[..., Exchange]) -> None:
    store.record(make_exchange(chat="a", notebook="one.ipynb"))
    store.record(make_exchange(chat="b"))
    assert store.chats() == ["a", "b"]
    assert store.chats(notebook="one.ipynb") == ["a"]
    assert store.chats(notebook=NO_NOTEBOOK) == ["b"]
    assert list(store.turns_for_restore(notebook=NO_NOTEBOOK)) == ["b"]
