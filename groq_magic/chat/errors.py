"""The errors the conversation engine raises, each with a one-line message.

The magic shows ``str(error)`` as a single usage line, so every message names
the option, expression or file at fault and never spans lines::

    ChatError
    ├── OptionsError(ValueError)          bad option value, before any request
    ├── TemplateError(ValueError)         a {reference} that cannot be filled
    ├── SchemaError(ValueError)           --schema is not a model class or schema dict
    ├── ConversationFileError(ValueError) save/load of a history file failed
    ├── UnknownChatError(LookupError)     a strict lookup of a chat name that does not exist
    ├── EmptyConversationError(LookupError) undo/retry with no turns
    ├── JSONResultError(ValueError)       ChatResult.json on an answer that is not JSON
    └── SchemaValidationError(ValueError) the JSON does not match the schema
"""

from __future__ import annotations

from groq_magic._keys import redact
from groq_magic._text import one_line

__all__ = [
    "ChatError",
    "ConversationFileError",
    "EmptyConversationError",
    "JSONResultError",
    "OptionsError",
    "SchemaError",
    "SchemaValidationError",
    "TemplateError",
    "UnknownChatError",
    "one_line",
]


class ChatError(Exception):
    """Base of every conversation-engine error; ``str()`` is one line, masked of keys."""

    def __init__(self, message: str) -> None:
        super().__init__(one_line(redact(str(message))))

    def __str__(self) -> str:
        # LookupError subclasses would otherwise quote the message like a KeyError key.
        return str(self.args[0]) if self.args else ""


class OptionsError(ChatError, ValueError):
    """An option value is out of bounds or of the wrong type; raised before any request."""

    def __init__(self, message: str, option: str | None = None) -> None:
        super().__init__(message)
        self.option = option


class TemplateError(ChatError, ValueError):
    """A ``{reference}`` in the prompt names something missing or unreachable."""

    def __init__(self, message: str, expression: str | None = None) -> None:
        super().__init__(message)
        self.expression = expression


class SchemaError(ChatError, ValueError):
    """The object given as a schema is neither a pydantic model class nor a schema dict."""


class ConversationFileError(ChatError, ValueError):
    """A conversation file cannot be written, read, or is not a valid conversation."""


class UnknownChatError(ChatError, LookupError):
    """A chat name asked for strictly does not exist."""


class EmptyConversationError(ChatError, LookupError):
    """Undo or retry was asked of a conversation without turns."""


class JSONResultError(ChatError, ValueError):
    """The answer text is not JSON (the message quotes its first 200 characters)."""


class SchemaValidationError(ChatError, ValueError):
    """The parsed JSON does not match the requested schema."""
