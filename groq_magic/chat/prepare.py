"""The one road into a turn: options + template + namespace + chat -> :class:`PreparedTurn`.

Every way of running a turn (a ``%%groq`` cell, ``%groq retry``, the sliders
panel, a compare grid, ``groq_magic.sweep``) calls :func:`prepare_turn` and
nothing else to decide what is sent, so a rule added here holds on every road:

1. configured defaults fill what the cell did not set (:class:`TurnDefaults`,
   the default model included);
2. the prompt template is filled from the namespace (unless already rendered);
3. a prompt or system prompt holding something shaped like an API key is refused;
4. ``--schema NAME`` is resolved (the namespace first, then the schema the turn
   being retried remembered) and turned into ``response_format`` + a validator;
5. the request window comes from the conversation (cell-aware, ``--no-history``).

Everything raises one :class:`~groq_magic.chat.errors.ChatError` line before
anything is sent. The result is what the engine needs and nothing more.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from groq_magic._keys import looks_like_key
from groq_magic.chat.conversation import Conversation
from groq_magic.chat.errors import ChatError, SchemaError
from groq_magic.chat.options import ChatOptions
from groq_magic.chat.schema import SchemaValidator, schema_response_format
from groq_magic.chat.sink import TurnMeta
from groq_magic.chat.template import render_prompt

__all__ = [
    "DEFAULT_MODEL",
    "EmptyPromptError",
    "KeyInPromptError",
    "PreparedTurn",
    "TurnDefaults",
    "prepare_turn",
    "resolve_schema",
]

DEFAULT_MODEL = "llama-3.3-70b-versatile"
"""The model used when neither the cell nor the configuration names one (on Groq)."""


class EmptyPromptError(ChatError, ValueError):
    """The cell has no prompt text."""


class KeyInPromptError(ChatError, ValueError):
    """The prompt holds something shaped like an API key; nothing was sent."""


@dataclass(frozen=True)
class TurnDefaults:
    """What applies where a cell says nothing: configured option values and the model.

    ``options`` maps option names to configured values (``None`` = not configured);
    ``model`` is the backend's default model (the embedded model's name when it
    answers, else the configured or built-in Groq model).
    """

    options: Mapping[str, Any] = field(default_factory=dict)
    model: str = DEFAULT_MODEL


@dataclass
class PreparedTurn:
    """Everything decided before the request: options, model, window, parameters, checks."""

    options: ChatOptions
    model: str
    chat: str
    prompt: str
    messages: list[dict[str, Any]]
    params: dict[str, Any]
    schema: object | None = None
    validator: SchemaValidator | None = None
    cell_id: str | None = None
    replaces: str | None = None
    conversation: Conversation | None = None

    @property
    def stream(self) -> bool:
        """Whether the answer is streamed."""
        return self.options.stream

    @property
    def wants_json(self) -> bool:
        """True when the answer must parse as JSON (``--json`` or ``--schema``)."""
        return self.options.wants_json or self.schema is not None

    @property
    def request(self) -> dict[str, Any]:
        """The request body as sent (the key is never part of it)."""
        return {"model": self.model, "messages": self.messages, **self.params}

    @property
    def meta(self) -> TurnMeta:
        """What the sink is told at the start."""
        return TurnMeta(model=self.model, chat=self.chat, stream=self.stream)


def resolve_schema(
    name: str | None, namespace: Mapping[str, Any] | None, remembered: object | None = None
) -> object | None:
    """The object ``--schema NAME`` names: a pydantic model class or a JSON-schema dict.

    The namespace wins (a redefined class is used as redefined); else the schema a
    retried turn remembered; else one line saying the variable is missing.
    """
    if name is None:
        return None
    if namespace is not None and name in namespace:
        value = namespace[name]
    elif remembered is not None:
        return remembered
    else:
        raise SchemaError(f"--schema {name}: no variable named {name!r} in the notebook")
    from pydantic import BaseModel

    if isinstance(value, type) and issubclass(value, BaseModel):
        return value
    if isinstance(value, Mapping):
        return value
    raise SchemaError(
        f"--schema {name}: expected a pydantic model class or a JSON-schema dict,"
        f" got {type(value).__name__}"
    )


def refuse_keys(*texts: str | None) -> None:
    """One line, and nothing sent, when a prompt or system prompt holds a key-shaped string."""
    if any(text and looks_like_key(text) for text in texts):
        # A key in a prompt would be sent, kept in history and saved with it.
        raise KeyInPromptError(
            "the prompt contains something shaped like an API key, so nothing was sent;"
            " keys belong in GROQ_API_KEY or %groq login, never in a prompt"
        )


def prepare_turn(
    options: ChatOptions,
    template: str,
    namespace: Mapping[str, Any] | None,
    conversation: Conversation,
    *,
    defaults: TurnDefaults | None = None,
    rendered: bool = False,
    cell_id: str | None = None,
    replaces: str | None = None,
    schema: object | None = None,
) -> PreparedTurn:
    """Decide the request for one turn; one ChatError line (nothing sent) when it can't be.

    ``namespace`` fills ``{name}`` references and is where ``--schema`` is looked up;
    ``rendered=True`` takes ``template`` as the final prompt (a retried turn's text).
    ``schema`` is a schema remembered from an earlier run of the same turn.
    """
    defaults = defaults or TurnDefaults()
    options = options.with_defaults(defaults.options)
    prompt = template if rendered or namespace is None else render_prompt(template, namespace)
    if not prompt.strip():
        raise EmptyPromptError("the cell is empty: write a prompt under %%groq")
    refuse_keys(prompt, options.system)
    schema = resolve_schema(options.schema_name, namespace, schema)
    model = options.model or defaults.model
    response_format: dict[str, Any] | None = None
    validator: SchemaValidator | None = None
    if schema is not None:
        response_format, validator = schema_response_format(
            schema, name=options.schema_name, model=model
        )
    messages = conversation.messages_for(
        prompt, options.system, cell_id=cell_id, replaces=replaces, history=options.history
    )
    return PreparedTurn(
        options=options,
        model=model,
        chat=conversation.name,
        prompt=prompt,
        messages=messages,
        params=options.to_request_params(response_format),
        schema=schema,
        validator=validator,
        cell_id=cell_id,
        replaces=replaces,
        conversation=conversation,
    )
