"""Regression tests for bugs the magic suite found: -c on line commands, keys in cell bodies."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from keys import FAKE_KEY
from magic_helpers import stream

KEY_SHAPED = "gsk_" + "A1b2C3d4E5f6G7h8I9j0"


def two_chats(groq: Any) -> None:
    """Two turns in ``default`` (current) and one in ``drafts``."""
    for prompt, cell, line in (("q1", "a", ""), ("q2", "b", ""), ("dq", "c", "-c drafts")):
        groq.server.enqueue(stream(["answer"]))
        assert groq.run(f"%%groq {line}\n{prompt}", cell_id=cell).error is None


@pytest.mark.parametrize("subcommand", ["reset", "undo"])
def test_chat_flag_on_reset_and_undo_acts_on_that_chat(groq: Any, subcommand: str) -> None:
    # ``%groq -c drafts history`` shows drafts, but ``%groq -c drafts reset`` silently
    # wipes the *current* chat (default): history is lost in the chat the user did not name.
    two_chats(groq)
    groq.run(f"%groq -c drafts {subcommand}")
    assert len(groq.turns()) == 2, "the current chat lost turns"
    assert groq.turns("drafts") == []


@pytest.mark.parametrize(
    "body",
    [f"my key is {KEY_SHAPED}, is it valid?", f"check {FAKE_KEY}", "use {secret} please"],
    ids=["typed", "fake-key", "templated"],
)
def test_key_in_the_cell_body_is_refused(groq: Any, tmp_path: Path, body: str) -> None:
    # Only the magic's line is checked for key shapes; a key typed or templated into the
    # body is sent, kept in history and written by %groq save (DESIGN: the key never
    # appears in saved history).
    groq.ns["secret"] = KEY_SHAPED
    groq.server.enqueue(stream(["sent anyway"]))  # so the bug fails fast, without retries
    run = groq.run(f"%%groq\n{body}", cell_id="key-body")
    assert "key" in run.usage_error
    assert groq.server.requests == []
    assert groq.turns() == []
    path = tmp_path / "h.json"
    groq.run(f"%groq save {path}")
    text = path.read_text(encoding="utf-8")
    assert KEY_SHAPED not in text
    assert FAKE_KEY not in text


def test_chat_flag_on_system_sets_that_chats_prompt(groq: Any) -> None:
    # Same family: ``%groq -c drafts system ...`` changes the current chat's prompt.
    two_chats(groq)
    groq.run("%groq -c drafts system Be brief.")
    assert groq.session.store.get("drafts").system == "Be brief."
    assert groq.session.store.current.system is None
