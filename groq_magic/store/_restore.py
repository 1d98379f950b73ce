"""Rebuild :class:`~groq_magic.chat.Conversation` objects from stored turns.

The replay goes through the conversation's own methods, so a restored chat
obeys the live rules without restating them: each turn enters with
:meth:`Conversation.record` (a re-run cell, or a retry naming the turn it
replaces, takes the old turn's place) and an undo removes the turn it removed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from groq_magic.chat.conversation import Conversation, Turn
from groq_magic.store._exchange import split_tool_calls

__all__ = ["conversations_from_turns", "turn_from_step"]

# Step keys that are Turn fields of the same name.
_TURN_FIELDS = (
    "cell_id",
    "prompt",
    "user_message",
    "answer",
    "model",
    "options",
    "usage",
    "timings",
    "finish_reason",
    "status",
    "reasoning",
)


def turn_from_step(step: Mapping[str, Any]) -> Turn:
    """The :class:`Turn` a stored turn step describes (tool rounds and thinking included).

    The step's ``messages`` (a tool turn's assistant calls and tool results) become
    ``Turn.exchange``, so the next window sends them as the live chat did.
    """
    fields: dict[str, Any] = {k: step[k] for k in _TURN_FIELDS if step.get(k) is not None}
    if step.get("turn_id"):
        fields["id"] = step["turn_id"]
    if step.get("created") is not None:
        fields["created_at"] = step["created"]
    if step.get("messages"):
        fields["exchange"] = list(step["messages"])
    local, server = split_tool_calls(list(step.get("tool_calls") or []))
    return Turn(**fields, tool_calls=local, executed_tools=server)


def conversations_from_turns(
    turns: Mapping[str, Sequence[Mapping[str, Any]]],
) -> dict[str, Conversation]:
    """One Conversation per chat from :meth:`Store.turns_for_restore` output.

    The system prompt is the one in force at the chat's newest turn.
    """
    rebuilt: dict[str, Conversation] = {}
    for name, steps in turns.items():
        conv = Conversation(name=name)
        for step in steps:
            kind = step.get("kind", "turn")
            if kind == "reset":
                conv.reset()
            elif kind == "undo":
                conv.turns = [t for t in conv.turns if t.id != step.get("turn_id")]
            else:
                conv.record(turn_from_step(step), replaces=step.get("replaces"))
                if "system" in step:
                    conv.set_system(step["system"])
        rebuilt[name] = conv
    return rebuilt
