"""The chat package: its public names, and that it stays free of IPython and widgets."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import groq_magic.chat as chat

PUBLIC = {
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
}


def test_public_names() -> None:
    assert set(chat.__all__) == PUBLIC
    for name in chat.__all__:
        assert getattr(chat, name) is not None


def test_every_error_is_a_chat_error_with_a_docstring() -> None:
    errors = [getattr(chat, n) for n in PUBLIC if n.endswith("Error")]
    assert len(errors) == 9
    for error in errors:
        assert issubclass(error, chat.ChatError)
        assert error.__doc__


def test_lookup_errors_print_without_quotes() -> None:
    # KeyError-style quoting would turn the one-line message into "'no chat named ...'".
    assert str(chat.UnknownChatError("no chat named 'x'")) == "no chat named 'x'"


def test_error_messages_collapse_to_one_line() -> None:
    assert str(chat.OptionsError("a\n  b\tc")) == "a b c"


@pytest.mark.parametrize("module", ["groq_magic.chat", "groq_magic.chat.engine"])
def test_import_does_not_load_ipython_widgets_or_pandas(module: str) -> None:
    code = (
        "import importlib, json, sys\n"
        f"importlib.import_module({module!r})\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in "
        "{'IPython', 'ipywidgets', 'ipykernel', 'pandas', 'jsonschema'})))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []
