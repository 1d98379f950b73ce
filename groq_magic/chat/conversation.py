"""Conversations: named, cell-aware lists of turns, with undo, retry, save and load.

One :class:`Conversation` per name per kernel, held by a :class:`ChatStore`
(the unnamed one is ``"default"``). Decisions:

- **Re-running a cell replaces its turn in place.** With turns A(1), B(2) and A
  re-run, the new A turn takes position 1 and B stays after it; the window sent
  for the re-run holds only the turns *before* the old A turn (what A saw the
  first time), never A's own previous answer nor the later B turn.
- Methods that build a request window never mutate, and :meth:`Conversation.record`
  is the only way a turn enters history, so a failed request (the engine does
  not record it) leaves the history exactly as it was.
- Interrupted and incomplete turns are kept with their partial answer and their
  status; their partial answer is part of later windows (it is what the user
  saw). An empty partial answer sends no assistant message.
- Turns hold an options snapshot (:meth:`ChatOptions.snapshot`), which has no
  key field; credential-looking keys are stripped from every stored mapping.
- ``load`` parses and validates the whole file before touching the store, so a
  bad file raises one :class:`ConversationFileError` line and loses nothing.
"""

from __future__ import annotations

import json
import os
import uuid
import weakref
from datetime import datetime, timezone
from functools import cached_property
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, PrivateAttr, ValidationError, field_validator

from groq_magic._files import MIB, FileReadError, read_text_bounded, write_atomically
from groq_magic._keys import redact_value
from groq_magic._text import one_line
from groq_magic.chat.errors import (
    ConversationFileError,
    EmptyConversationError,
    OptionsError,
    UnknownChatError,
)
from groq_magic.chat.options import ChatOptions, strip_secrets
from groq_magic.chat.sink import TurnStatus

__all__ = [
    "DEFAULT_CHAT",
    "FILE_FORMAT",
    "ChatStore",
    "Conversation",
    "Turn",
    "TurnStatus",
]

DEFAULT_CHAT = "default"
"""The name of the conversation used when a cell names none."""

FILE_FORMAT = "groq_magic.conversation"
FILE_VERSION = 1

MAX_CHAT_FILE_BYTES = 256 * MIB
"""``%groq load`` reads a chat file only when it is a regular file of at most this size
(a long chat with images in it is tens of MB)."""


# The turns this kernel's engine made, by identity (see Turn.made_here); weak, so a
# forgotten turn leaves it.
_MADE_HERE: weakref.WeakValueDictionary[int, Turn] = weakref.WeakValueDictionary()


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _new_id() -> str:
    return uuid.uuid4().hex


class Turn(BaseModel):
    """One prompt and its answer, as kept in history."""

    id: str = Field(default_factory=_new_id, description="unique turn id")
    cell_id: str | None = Field(default=None, description="frontend cell id, when sent")
    prompt: str = Field(description="the rendered prompt text")
    user_message: dict[str, Any] = Field(
        default_factory=dict, description="the user message as sent (defaults from prompt)"
    )
    answer: str = Field(default="", description="the assistant text (partial if interrupted)")
    exchange: list[dict[str, Any]] = Field(
        default_factory=list,
        description="between prompt and answer: assistant tool-call messages and tool results",
    )
    reasoning: str | None = Field(default=None, description="the model's thinking (not resent)")
    tool_calls: list[dict[str, Any]] = Field(
        default_factory=list, description="each tool call: name, arguments, content, error, seconds"
    )
    executed_tools: list[dict[str, Any]] = Field(
        default_factory=list, description="Groq's server-side tool runs (compound models)"
    )
    model: str | None = None
    options: dict[str, Any] = Field(default_factory=dict, description="options snapshot, no key")
    usage: dict[str, Any] = Field(default_factory=dict)
    timings: dict[str, float | None] = Field(default_factory=dict)
    finish_reason: str | None = None
    status: TurnStatus = "complete"
    created_at: datetime = Field(default_factory=_now)
    # The --schema object this turn was asked with, so %groq retry and the panel
    # reuse it; in memory only (a class is not JSON), never saved.
    _schema: object | None = PrivateAttr(default=None)

    @property
    def made_here(self) -> bool:
        """True when this kernel made the turn (not loaded from a file or restored).

        Re-running a turn that was not made here offers the model none of the tools
        its options name: a file or a store cannot make notebook code run. (Kept
        outside the model, so two turns with the same fields stay equal.)
        """
        return _MADE_HERE.get(id(self)) is self

    @property
    def schema_object(self) -> object | None:
        """The pydantic model or schema dict the turn used, while the kernel lives."""
        return self._schema

    def remember_schema(self, schema: object | None) -> Turn:
        """Keep ``schema`` with the turn (see :attr:`schema_object`); returns the turn.

        Only the engine calls this, for a turn it just made: the turn is marked
        :attr:`made_here`.
        """
        self._schema = schema
        _MADE_HERE[id(self)] = self
        return self

    @field_validator("options", "usage", "user_message", "exchange")
    @classmethod
    def _no_secrets(cls, value: Any) -> Any:
        return strip_secrets(value)

    def model_post_init(self, __context: Any) -> None:
        """Fill the user message from the prompt when none was given."""
        if not self.user_message:
            self.user_message = {"role": "user", "content": self.prompt}

    @property
    def total_tokens(self) -> int | None:
        """``usage["total_tokens"]`` when the server reported it."""
        value = self.usage.get("total_tokens")
        return value if isinstance(value, int) else None

    @cached_property
    def window_messages(self) -> list[dict[str, Any]]:
        """The messages of :meth:`messages`, built once and shared by every later window.

        A recorded turn does not change, so N turns cost N message dicts, not N
        squared. (A cached property, unlike a private attribute, is not part of
        the model's equality.)
        """
        out = [dict(self.user_message), *(dict(m) for m in self.exchange)]
        if self.answer:
            out.append({"role": "assistant", "content": self.answer})
        return out

    def messages(self) -> list[dict[str, Any]]:
        """The user and assistant messages this turn contributes to a window."""
        return self.window_messages


class Conversation(BaseModel):
    """A named, ordered list of turns with an optional system prompt."""

    name: str = DEFAULT_CHAT
    system: str | None = None
    turns: list[Turn] = Field(default_factory=list)

    def __len__(self) -> int:
        return len(self.turns)

    # ---- the request window ------------------------------------------------------

    def replaced_index(self, cell_id: str | None = None, replaces: str | None = None) -> int | None:
        """Index of the turn a new turn would replace: by turn id first, then by cell id."""
        if replaces is not None:
            for i, turn in enumerate(self.turns):
                if turn.id == replaces:
                    return i
        if cell_id is not None:
            for i, turn in enumerate(self.turns):
                if turn.cell_id == cell_id:
                    return i
        return None

    def window(
        self,
        system: str | None = None,
        *,
        cell_id: str | None = None,
        replaces: str | None = None,
        history: bool = True,
    ) -> list[dict[str, Any]]:
        """What goes before a new prompt: the system prompt and the earlier turns' messages."""
        messages: list[dict[str, Any]] = []
        sys_text = system if system is not None else self.system
        if sys_text:
            messages.append({"role": "system", "content": sys_text})
        if history:
            cut = self.replaced_index(cell_id, replaces)
            for turn in self.turns[: cut if cut is not None else len(self.turns)]:
                messages.extend(turn.messages())
        return messages

    # ---- changing history -------------------------------------------------------

    def record(self, turn: Turn, replaces: str | None = None) -> int:
        """Add ``turn``: in place of turn ``replaces`` or of its cell's turn, else appended.

        Returns the turn's index.
        """
        index = self.replaced_index(turn.cell_id, replaces)
        if index is None:
            self.turns.append(turn)
            return len(self.turns) - 1
        self.turns[index] = turn
        return index

    def last(self) -> Turn | None:
        """The newest turn, or None."""
        return self.turns[-1] if self.turns else None

    def undo(self) -> Turn:
        """Remove and return the newest turn."""
        if not self.turns:
            raise EmptyConversationError(f"chat {self.name!r} has no turns to undo")
        return self.turns.pop()

    def retry(self) -> Turn:
        """The newest turn, for the engine to re-run with ``replaces=turn.id``.

        History is not changed here: the turn is only replaced when the re-run succeeds.
        """
        turn = self.last()
        if turn is None:
            raise EmptyConversationError(f"chat {self.name!r} has no turn to retry")
        return turn

    def reset(self) -> None:
        """Forget every turn (the system prompt stays)."""
        self.turns.clear()

    def set_system(self, text: str | None) -> None:
        """Set (or with None/empty, clear) the conversation's system prompt."""
        self.system = text or None

    def table_rows(self, width: int = 60) -> list[dict[str, Any]]:
        """One dict per turn for the ``history`` table; prompt and answer clipped to ``width``."""
        return [
            {
                "#": i,
                "cell": turn.cell_id or "",
                "prompt": one_line(turn.prompt, width),
                "answer": one_line(turn.answer, width),
                "model": turn.model or "",
                "tokens": turn.total_tokens,
                "status": turn.status,
            }
            for i, turn in enumerate(self.turns, start=1)
        ]

    # ---- files ---------------------------------------------------------------------

    def to_json(self) -> str:
        """The conversation as a JSON document (every field, plus a format tag).

        Every text is masked of keys (:func:`groq_magic._keys.redact`) on the way out.
        """
        data = {"format": FILE_FORMAT, "version": FILE_VERSION, **self.model_dump(mode="json")}
        return json.dumps(redact_value(data), ensure_ascii=False, indent=1)

    @classmethod
    def from_json(cls, text: str, source: str = "conversation") -> Conversation:
        """Parse :meth:`to_json` output; any problem is one ConversationFileError line.

        A file is data: its turns' options are checked like a cell's (an ``extra``
        field the option table does not take is refused), and nothing it names is
        offered to a model again unless the command that re-runs it names it too
        (see :attr:`Turn.made_here`).
        """
        try:
            data = json.loads(text)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ConversationFileError(f"{source}: not JSON ({exc})") from None
        except RecursionError:
            raise ConversationFileError(f"{source}: nested too deeply to be a chat") from None
        if not isinstance(data, dict) or data.get("format") != FILE_FORMAT:
            raise ConversationFileError(f"{source}: not a groq_magic conversation file")
        if data.get("version") != FILE_VERSION:
            raise ConversationFileError(
                f"{source}: unsupported version {data.get('version')!r} (expected {FILE_VERSION})"
            )
        body = {k: v for k, v in data.items() if k not in {"format", "version"}}
        try:
            conversation = cls.model_validate(body)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first.get("loc", ()))
            raise ConversationFileError(
                f"{source}: invalid conversation at {where or '(root)'}: {first.get('msg')}"
            ) from None
        except RecursionError:
            raise ConversationFileError(f"{source}: nested too deeply to be a chat") from None
        for number, turn in enumerate(conversation.turns, start=1):
            try:
                ChatOptions.from_snapshot(turn.options)
            except OptionsError as exc:
                raise ConversationFileError(f"{source}: turn {number}: {exc}") from None
        return conversation

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the conversation to ``path`` atomically (a crash never leaves half a file)."""
        target = Path(path).expanduser()
        text = self.to_json()
        try:
            write_atomically(target, text, prefix=".groq-chat-")
        except OSError as exc:
            raise ConversationFileError(
                f"cannot save to {str(target)!r}: {exc.strerror or exc}"
            ) from None
        return target

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Conversation:
        """Read a file written by :meth:`save` (a regular file of at most
        :data:`MAX_CHAT_FILE_BYTES`; anything else is one line)."""
        source = Path(path).expanduser()
        try:
            text = read_text_bounded(source, MAX_CHAT_FILE_BYTES, what="chat file")
        except FileReadError as exc:
            raise ConversationFileError(str(exc)) from None
        return cls.from_json(text, source=repr(str(source)))


class ChatStore:
    """The kernel's conversations by name, and which one is current."""

    def __init__(self) -> None:
        self.conversations: dict[str, Conversation] = {DEFAULT_CHAT: Conversation()}
        self.current_name: str = DEFAULT_CHAT

    @property
    def current(self) -> Conversation:
        """The conversation cells use when they name none."""
        return self.conversations[self.current_name]

    def get(self, name: str | None = None, *, create: bool = False) -> Conversation:
        """The conversation ``name`` (None: the current one).

        A missing name raises :class:`UnknownChatError` unless ``create`` is true.
        """
        if name is None:
            return self.current
        found = self.conversations.get(name)
        if found is not None:
            return found
        if not create:
            known = ", ".join(sorted(self.conversations))
            raise UnknownChatError(f"no chat named {name!r} (chats: {known})")
        conv = Conversation(name=name)
        self.conversations[name] = conv
        return conv

    def use(self, name: str) -> Conversation:
        """Make ``name`` the current conversation, creating it on first use."""
        conv = self.get(name, create=True)
        self.current_name = name
        return conv

    def chats(self) -> list[dict[str, Any]]:
        """``{"name", "turns", "current"}`` per conversation, in creation order."""
        return [
            {"name": name, "turns": len(conv), "current": name == self.current_name}
            for name, conv in self.conversations.items()
        ]

    def load(self, path: str | os.PathLike[str], name: str | None = None) -> Conversation:
        """Load a saved conversation as ``name`` (else its saved name) and make it current.

        An existing conversation of that name is replaced, but only after the
        whole file has been read and validated.
        """
        conv = Conversation.load(path)
        if name is not None:
            conv.name = name
        self.conversations[conv.name] = conv
        self.current_name = conv.name
        return conv
