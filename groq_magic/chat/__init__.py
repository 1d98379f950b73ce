"""The conversation engine without IPython: options, templating, history, results.

Nothing here imports IPython, ipywidgets or the network, and pandas only loads
inside :attr:`ChatResult.df`.
"""

from __future__ import annotations

from groq_magic.chat.conversation import DEFAULT_CHAT, ChatStore, Conversation, Turn
from groq_magic.chat.errors import (
    ChatError,
    ConversationFileError,
    EmptyConversationError,
    JSONResultError,
    OptionsError,
    SchemaError,
    SchemaValidationError,
    TemplateError,
    UnknownChatError,
)
from groq_magic.chat.options import ChatOptions, strip_secrets
from groq_magic.chat.records import flatten, to_records
from groq_magic.chat.result import ChatResult, Timings
from groq_magic.chat.schema import STRICT_SCHEMA_MODELS, make_strict, schema_response_format
from groq_magic.chat.template import find_references, render_prompt

__all__ = [
    "DEFAULT_CHAT",
    "STRICT_SCHEMA_MODELS",
    "ChatError",
    "ChatOptions",
    "ChatResult",
    "ChatStore",
    "Conversation",
    "ConversationFileError",
    "EmptyConversationError",
    "JSONResultError",
    "OptionsError",
    "SchemaError",
    "SchemaValidationError",
    "TemplateError",
    "Timings",
    "Turn",
    "UnknownChatError",
    "find_references",
    "flatten",
    "make_strict",
    "render_prompt",
    "schema_response_format",
    "strip_secrets",
    "to_records",
]
