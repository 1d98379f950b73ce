"""Conversations: cell-aware replace-in-place, windows, undo/retry, save/load, the store."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from groq_magic.chat.conversation import DEFAULT_CHAT, ChatStore, Conversation, Turn
from groq_magic.chat.errors import (
    ConversationFileError,
    EmptyConversationError,
    UnknownChatError,
)
from groq_magic.chat.options import ChatOptions

FAKE_KEY = "gsk_chat_FAKEKEY_0123456789"


def turn(prompt: str, answer: str, cell: str | None = None, **kw: Any) -> Turn:
    return Turn(prompt=prompt, answer=answer, cell_id=cell, **kw)


def contents(messages: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(m["role"], m["content"]) for m in messages]


def test_turn_defaults() -> None:
    t = Turn(prompt="hi")
    assert t.user_message == {"role": "user", "content": "hi"}
    assert t.status == "complete"
    assert t.answer == ""
    assert t.created_at.tzinfo is not None
    assert len(t.id) == 32
    assert Turn(prompt="hi").id != t.id


def test_window_is_system_then_turns() -> None:
    conv = Conversation(system="be brief")
    conv.record(turn("q1", "a1", "A"))
    conv.record(turn("q2", "a2", "B"))
    assert contents(conv.window()) == [
        ("system", "be brief"),
        ("user", "q1"),
        ("assistant", "a1"),
        ("user", "q2"),
        ("assistant", "a2"),
    ]


def test_cell_system_overrides_conversation_system() -> None:
    conv = Conversation(system="conv")
    assert contents(conv.window(system="cell")) == [("system", "cell")]
    assert contents(conv.window()) == [("system", "conv")]
    assert Conversation().window() == []


def test_no_history_sends_only_the_system_prompt() -> None:
    conv = Conversation(system="s")
    conv.record(turn("q1", "a1"))
    assert contents(conv.window(history=False)) == [("system", "s")]


def test_rerun_cell_replaces_its_turn_in_place() -> None:
    conv = Conversation()
    conv.record(turn("A v1", "a1", "A"))
    conv.record(turn("B", "b", "B"))
    # Re-running A: the window is only what came before A's old turn.
    assert conv.window(cell_id="A") == []
    index = conv.record(turn("A v2", "a2", "A"))
    assert index == 0
    assert [t.prompt for t in conv.turns] == ["A v2", "B"]


def test_rerun_middle_cell_keeps_earlier_turns_in_window() -> None:
    conv = Conversation()
    for cell in "ABC":
        conv.record(turn(f"q{cell}", f"a{cell}", cell))
    window = conv.window(cell_id="B")
    assert contents(window) == [("user", "qA"), ("assistant", "aA")]
    conv.record(turn("qB2", "aB2", "B"))
    assert [t.prompt for t in conv.turns] == ["qA", "qB2", "qC"]
    assert len(conv) == 3


def test_turns_without_cell_id_always_append() -> None:
    conv = Conversation()
    conv.record(turn("q", "a"))
    conv.record(turn("q", "a"))
    assert len(conv) == 2
    assert len(conv.window()) == 4


def test_new_cell_appends() -> None:
    conv = Conversation()
    conv.record(turn("1", "a", "A"))
    assert conv.record(turn("2", "b", "B")) == 1


def test_building_a_window_never_mutates_history() -> None:
    # A failed request means the engine never records: history must equal the before state.
    conv = Conversation(system="s")
    conv.record(turn("q1", "a1", "A"))
    before = conv.to_json()
    window = conv.window(cell_id="A")
    window.append({"role": "user", "content": "tamper"})
    window[0]["content"] = "tamper"
    conv.window()[1]["content"] = "tamper"
    assert conv.to_json() == before


def test_interrupted_turn_is_kept_marked_and_in_later_windows() -> None:
    conv = Conversation()
    conv.record(turn("long", "partial ans", "A", status="interrupted"))
    assert conv.turns[0].status == "interrupted"
    assert contents(conv.window()) == [("user", "long"), ("assistant", "partial ans")]
    assert conv.table_rows()[0]["status"] == "interrupted"


def test_empty_partial_answer_sends_no_assistant_message() -> None:
    conv = Conversation()
    conv.record(turn("q", "", status="interrupted"))
    assert contents(conv.window()) == [("user", "q")]


def test_user_message_as_sent_is_replayed() -> None:
    conv = Conversation()
    msg = {"role": "user", "content": "q (reply in JSON)"}
    conv.record(Turn(prompt="q", user_message=msg, answer="{}"))
    assert conv.window()[0] == msg


def test_undo_returns_the_removed_turn() -> None:
    conv = Conversation()
    first, second = turn("1", "a"), turn("2", "b")
    conv.record(first)
    conv.record(second)
    assert conv.undo() is second
    assert conv.turns == [first]
    conv.undo()
    with pytest.raises(EmptyConversationError, match="no turns to undo"):
        conv.undo()


def test_retry_returns_last_turn_and_replacing_by_id_works() -> None:
    conv = Conversation()
    conv.record(turn("1", "a"))
    opts = ChatOptions.parse(temperature=0.7)
    conv.record(turn("2", "b", options=opts.snapshot()))
    last = conv.retry()
    assert last.prompt == "2"
    assert ChatOptions.from_snapshot(last.options).temperature == 0.7
    assert len(conv) == 2  # retry itself changes nothing
    window = conv.window(replaces=last.id)
    assert contents(window) == [("user", "1"), ("assistant", "a")]
    conv.record(turn("2", "b2"), replaces=last.id)
    assert [t.answer for t in conv.turns] == ["a", "b2"]
    with pytest.raises(EmptyConversationError):
        Conversation().retry()


def test_last_reset_and_system() -> None:
    conv = Conversation()
    assert conv.last() is None
    conv.record(turn("1", "a"))
    assert conv.last() is not None
    conv.set_system("sys")
    conv.reset()
    assert conv.turns == []
    assert conv.system == "sys"
    conv.set_system("")
    assert conv.system is None


def test_table_rows() -> None:
    conv = Conversation()
    conv.record(
        turn("x" * 100, "line one\nline two", "cell-1", model="m", usage={"total_tokens": 42})
    )
    conv.record(turn("short", "ok"))
    rows = conv.table_rows(width=20)
    assert list(rows[0]) == ["#", "cell", "prompt", "answer", "model", "tokens", "status"]
    assert rows[0]["#"] == 1
    assert rows[0]["cell"] == "cell-1"
    assert rows[0]["prompt"] == "x" * 19 + "…"
    assert rows[0]["answer"] == "line one line two"
    assert rows[0]["tokens"] == 42
    assert rows[1] == {
        "#": 2,
        "cell": "",
        "prompt": "short",
        "answer": "ok",
        "model": "",
        "tokens": None,
        "status": "complete",
    }


def full_conversation() -> Conversation:
    conv = Conversation(name="research", system="sys prompt")
    conv.record(
        Turn(
            cell_id="c1",
            prompt="Count to 3 ✓ {braces}",
            user_message={"role": "user", "content": "Count to 3 ✓ {braces}", "name": "me"},
            answer="1, 2, 3",
            model="llama-3.3-70b-versatile",
            options=ChatOptions.parse(temperature=0.5, stop=[", 4"], json_mode=True).snapshot(),
            usage={"prompt_tokens": 5, "completion_tokens": 7, "total_tokens": 12},
            timings={"ttft": 0.1, "total": 0.5, "tokens_per_second": 17.5},
            finish_reason="stop",
            status="complete",
            created_at=datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=timezone.utc),
        )
    )
    conv.record(Turn(prompt="second", answer="part", status="interrupted", timings={"ttft": None}))
    return conv


def test_json_round_trip_keeps_every_field() -> None:
    conv = full_conversation()
    again = Conversation.from_json(conv.to_json())
    assert again == conv
    assert again.model_dump() == conv.model_dump()
    assert again.turns[0].created_at == conv.turns[0].created_at


def test_save_load_round_trip(tmp_path: Path) -> None:
    conv = full_conversation()
    path = conv.save(tmp_path / "sub" / "chat.json")
    assert path.exists()
    assert Conversation.load(path) == conv
    assert json.loads(path.read_text(encoding="utf-8"))["format"] == "groq_magic.conversation"
    assert not [p for p in path.parent.iterdir() if p.name.startswith(".groq-chat-")]


def test_saved_file_never_contains_a_key(tmp_path: Path) -> None:
    conv = Conversation()
    conv.record(
        Turn(
            prompt="p",
            answer="a",
            options={"temperature": 1, "api_key": FAKE_KEY, "extra": {"Authorization": FAKE_KEY}},
            usage={"total_tokens": 3, "x-api-key": FAKE_KEY},
            user_message={"role": "user", "content": "p", "api_key": FAKE_KEY},
            timings={"ttft": 0.1},
        )
    )
    conv.record(Turn(prompt="q", options={"extra": {"note": FAKE_KEY, "b": [FAKE_KEY]}}))
    with pytest.raises(ValueError, match="credentials"):
        ChatOptions.parse(extra={"api_key": FAKE_KEY})
    path = conv.save(tmp_path / "c.json")
    text = path.read_text(encoding="utf-8")
    assert FAKE_KEY not in text
    assert "FAKEKEY" not in text
    assert conv.turns[0].options == {"temperature": 1, "extra": {}}
    assert conv.turns[0].usage == {"total_tokens": 3}


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ("not json {", "not JSON"),
        ("[1, 2]", "not a groq_magic conversation file"),
        ('{"name": "x"}', "not a groq_magic conversation file"),
        ('{"format": "groq_magic.conversation", "version": 99}', "unsupported version 99"),
        (
            '{"format": "groq_magic.conversation", "version": 1, "turns": [{"answer": "a"}]}',
            "invalid conversation at turns.0.prompt",
        ),
        (
            '{"format": "groq_magic.conversation", "version": 1, "turns": '
            '[{"prompt": "p", "status": "weird"}]}',
            "turns.0.status",
        ),
        (
            '{"format": "groq_magic.conversation", "version": 1, "turns": "nope"}',
            "invalid conversation at turns",
        ),
    ],
)
def test_bad_files_are_one_line_errors(tmp_path: Path, content: str, fragment: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ConversationFileError) as info:
        Conversation.load(path)
    assert fragment in str(info.value)
    assert "bad.json" in str(info.value)
    assert "\n" not in str(info.value)


def test_missing_and_binary_files(tmp_path: Path) -> None:
    with pytest.raises(ConversationFileError, match="cannot read"):
        Conversation.load(tmp_path / "nope.json")
    binary = tmp_path / "bin.json"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ConversationFileError, match=r"bin\.json' is not UTF-8 text"):
        Conversation.load(binary)


def test_save_to_unwritable_place_is_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x", encoding="utf-8")
    with pytest.raises(ConversationFileError, match="cannot save"):
        Conversation().save(blocker / "under" / "c.json")


def test_hand_edited_file_does_not_lose_history(tmp_path: Path) -> None:
    store = ChatStore()
    store.current.record(turn("q", "a", "A"))
    good = full_conversation()
    path = good.save(tmp_path / "c.json")
    data = json.loads(path.read_text(encoding="utf-8"))
    data["turns"][0]["usage"] = "garbage"
    path.write_text(json.dumps(data), encoding="utf-8")
    before = store.current.to_json()
    with pytest.raises(ConversationFileError):
        store.load(path, name=DEFAULT_CHAT)
    assert store.current.to_json() == before
    assert store.current_name == DEFAULT_CHAT


def test_store_default_use_get_and_chats() -> None:
    store = ChatStore()
    assert store.current.name == DEFAULT_CHAT
    assert store.get() is store.current
    with pytest.raises(UnknownChatError) as info:
        store.get("other")
    assert str(info.value) == "no chat named 'other' (chats: default)"
    other = store.use("other")
    assert store.current is other
    assert store.get("other") is other
    other.record(turn("q", "a"))
    assert store.chats() == [
        {"name": "default", "turns": 0, "current": False},
        {"name": "other", "turns": 1, "current": True},
    ]
    assert store.use("other") is other  # switching back does not recreate
    side = store.get("side", create=True)
    assert side.name == "side"
    assert store.current is other


def test_store_conversations_are_independent() -> None:
    store = ChatStore()
    store.current.record(turn("d", "d"))
    store.use("x").record(turn("x", "x"))
    assert [t.prompt for t in store.get(DEFAULT_CHAT).turns] == ["d"]
    assert [t.prompt for t in store.get("x").turns] == ["x"]


def test_store_load_installs_under_saved_or_given_name(tmp_path: Path) -> None:
    path = full_conversation().save(tmp_path / "c.json")
    store = ChatStore()
    loaded = store.load(path)
    assert loaded.name == "research"
    assert store.current is loaded
    again = store.load(path, name="copy")
    assert store.current_name == "copy"
    assert again is not loaded
    assert len(store.get("research")) == 2
