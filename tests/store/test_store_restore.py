"""Conversations survive a restart: what a live kernel did, a restored one has.

Each test drives a live :class:`Conversation` the way the session does (record a turn,
re-run a cell, retry, undo, reset) and writes the same events to the store; the
conversation rebuilt from the store must equal the live one, turn for turn.
"""

from __future__ import annotations

from typing import Any

import pytest

from groq_magic.chat import Conversation, Turn
from groq_magic.store import Exchange, Store, StoreError, conversations_from_turns

BASE_URL = "https://api.groq.com/openai/v1"


class Kernel:
    """A live conversation and the store, fed together as the wired session would."""

    def __init__(self, store: Store, name: str = "default", notebook: str = "nb.ipynb") -> None:
        self.store = store
        self.notebook = notebook
        self.conv = Conversation(name=name)

    def cell(
        self,
        prompt: str,
        answer: str,
        cell_id: str | None = None,
        *,
        replaces: str | None = None,
        status: str = "complete",
        history: bool = True,
        **turn_fields: Any,
    ) -> Turn:
        turn = Turn(
            cell_id=cell_id,
            prompt=prompt,
            answer=answer,
            model="llama-3.3-70b-versatile",
            status=status if status != "error" else "complete",
            options={"temperature": 0.5, "chat": None},
            usage={"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7},
            timings={"ttft": 0.1, "total": 0.3, "tokens_per_second": 20.0},
            finish_reason="stop",
            **turn_fields,
        )
        entered = history and status != "error" and (status == "complete" or bool(answer))
        if entered:
            self.conv.record(turn, replaces=replaces)
        self.store.record(
            Exchange(
                request={
                    "model": turn.model,
                    "messages": [
                        *self.conv.window(cell_id=cell_id),
                        {"role": "user", "content": prompt},
                    ],
                },
                answer=answer,
                status=status,
                model=turn.model,
                base_url=BASE_URL,
                chat=self.conv.name,
                cell_id=cell_id,
                notebook=self.notebook,
                turn_id=turn.id,
                replaces=replaces,
                options=turn.options,
                usage=turn.usage,
                timings=turn.timings,
                finish_reason=turn.finish_reason,
                user_message=turn.user_message,
                system=self.conv.system,
                history=history,
                created=turn.created_at,
            )
        )
        return turn

    def undo(self) -> None:
        turn = self.conv.undo()
        self.store.record_undo(self.conv.name, turn.id, notebook=self.notebook)

    def reset(self) -> None:
        self.conv.reset()
        self.store.record_reset(self.conv.name, notebook=self.notebook)

    def restored(self) -> Conversation:
        steps = self.store.turns_for_restore(self.conv.name, notebook=self.notebook)
        return conversations_from_turns(steps)[self.conv.name]


def _view(conv: Conversation) -> list[tuple[Any, ...]]:
    return [(t.id, t.cell_id, t.prompt, t.answer, t.status) for t in conv.turns]


def assert_same(live: Conversation, restored: Conversation) -> None:
    assert _view(restored) == _view(live)
    for mine, theirs in zip(live.turns, restored.turns, strict=True):
        # Every field; the time only to the millisecond (it is stored as a float).
        assert theirs.model_dump(exclude={"created_at"}) == mine.model_dump(exclude={"created_at"})
        assert abs((theirs.created_at - mine.created_at).total_seconds()) < 1e-3


def test_a_re_run_cell_replaces_its_turn(store: Store) -> None:
    kernel = Kernel(store)
    kernel.cell("A?", "a1", "cell-a")
    kernel.cell("B?", "b", "cell-b")
    kernel.cell("A again?", "a2", "cell-a")
    assert [t.answer for t in kernel.conv.turns] == ["a2", "b"]
    assert_same(kernel.conv, kernel.restored())


def test_retry_and_undo(store: Store) -> None:
    kernel = Kernel(store)
    kernel.cell("A?", "a1", "cell-a")
    last = kernel.cell("B?", "b1", "cell-b")
    kernel.cell("B?", "b2", "cell-b", replaces=last.id)  # %groq retry
    kernel.cell("A again?", "a2", "cell-a")  # replaces a1, in place
    kernel.undo()  # removes b2: the newest turn in the list
    assert [t.answer for t in kernel.conv.turns] == ["a2"]
    assert_same(kernel.conv, kernel.restored())


def test_undoing_a_re_run_does_not_bring_back_what_it_replaced(store: Store) -> None:
    kernel = Kernel(store)
    kernel.cell("A?", "a1", "cell-a")
    kernel.cell("A again?", "a2", "cell-a")
    kernel.undo()
    assert kernel.conv.turns == []
    assert_same(kernel.conv, kernel.restored())


def test_a_reset_starts_the_restore_over(store: Store) -> None:
    kernel = Kernel(store)
    kernel.cell("A?", "a", "cell-a")
    kernel.reset()
    kernel.cell("C?", "c", "cell-c")
    assert_same(kernel.conv, kernel.restored())


def test_failed_no_history_and_interrupted_turns(store: Store) -> None:
    kernel = Kernel(store)
    kernel.cell("A?", "", "cell-a", status="error")  # failed: never in history
    kernel.cell("B?", "b", "cell-b", history=False)  # --no-history
    kernel.cell("C?", "", "cell-c", status="interrupted")  # stopped before any text
    kernel.cell("D?", "partial", "cell-d", status="interrupted")  # kept, marked
    assert [t.answer for t in kernel.conv.turns] == ["partial"]
    assert_same(kernel.conv, kernel.restored())
    assert kernel.restored().turns[0].status == "interrupted"


def test_the_system_prompt_and_user_message_come_back(store: Store) -> None:
    kernel = Kernel(store)
    kernel.conv.set_system("Answer in French.")
    image = [{"type": "text", "text": "What is it?"}, {"type": "image_url", "image_url": {}}]
    kernel.cell(
        "What is it? [image]", "Un chat.", "c1", user_message={"role": "user", "content": image}
    )
    restored = kernel.restored()
    assert restored.system == "Answer in French."
    assert restored.turns[0].user_message["content"] == image
    assert restored.window()[:2] == kernel.conv.window()[:2]


def test_chats_and_notebooks_stay_apart(store: Store) -> None:
    Kernel(store, "default", "a.ipynb").cell("A?", "a", "c1")
    Kernel(store, "drafts", "a.ipynb").cell("D?", "d", "c2")
    Kernel(store, "default", "b.ipynb").cell("B?", "b", "c3")
    steps = store.turns_for_restore(notebook="a.ipynb")
    rebuilt = conversations_from_turns(steps)
    assert sorted(rebuilt) == ["default", "drafts"]
    assert [t.answer for t in rebuilt["default"].turns] == ["a"]
    everything = conversations_from_turns(store.turns_for_restore())
    assert [t.answer for t in everything["default"].turns] == ["a", "b"]
    assert store.chats() == ["default", "drafts"]


def test_a_chat_that_does_not_exist_is_one_line(store: Store) -> None:
    Kernel(store, "drafts").cell("A?", "a", "c1")
    with pytest.raises(StoreError, match=r"no stored chat named 'nope' \(stored chats: drafts\)"):
        store.turns_for_restore("nope")
    Kernel(store, "emptied").reset()  # an edit alone does not make a chat
    with pytest.raises(StoreError, match="no stored chat named 'emptied'"):
        store.turns_for_restore("emptied")


def test_a_chat_emptied_by_reset_restores_empty(store: Store) -> None:
    kernel = Kernel(store, "drafts")
    kernel.cell("A?", "a", "c1")
    kernel.reset()
    assert store.turns_for_restore("drafts") == {"drafts": []}


def test_a_turn_stored_without_its_user_message_takes_it_from_the_request(store: Store) -> None:
    image = [{"type": "text", "text": "What is it?"}, {"type": "image_url", "image_url": {}}]
    store.record(
        Exchange(
            request={"model": "m", "messages": [{"role": "user", "content": image}]},
            answer="A cat.",
            model="m",
            chat="pics",
        )
    )
    [turn] = conversations_from_turns(store.turns_for_restore("pics"))["pics"].turns
    assert turn.user_message == {"role": "user", "content": image}
    assert turn.prompt == "What is it? [image]"
    assert turn.answer == "A cat."
