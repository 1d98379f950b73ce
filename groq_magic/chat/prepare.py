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
5. ``--tools`` names become a :class:`~groq_magic.chat.tools.ToolBox` (described
   from their signatures; never combined with JSON mode: typed together they are
   refused, and configured tools give way to a turn that asks for JSON); ``--mcp``
   servers' tools join them (the servers start here, so one that cannot is a line
   before anything is sent), and ``--approve`` becomes the box's gate;
6. images (``{fig}`` in the prompt, ``--image SRC``) become content parts, fitted
   to Groq's limits together with the images the window already carries;
7. the request window comes from the conversation (cell-aware, ``--no-history``);
8. ``--context`` names become delimited blocks before the prompt, within
   ``--context-limit`` (:mod:`groq_magic.chat.context`), checked for keys like the
   prompt; ``--code`` asks for code in the kernel's language after it.

Everything raises one :class:`~groq_magic.chat.errors.ChatError` line before
anything is sent. The result is what the engine needs and nothing more.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from groq_magic._keys import looks_like_key
from groq_magic.chat.conversation import Conversation
from groq_magic.chat.errors import ChatError, OptionsError, SchemaError
from groq_magic.chat.options import ChatOptions
from groq_magic.chat.schema import SchemaValidator, schema_response_format
from groq_magic.chat.sink import TurnMeta
from groq_magic.knobs import KNOBS

if TYPE_CHECKING:
    from groq_magic.chat.context import Context, ContextBlock, NotebookFacts
    from groq_magic.chat.conversation import Turn
    from groq_magic.chat.images import ImageLimitError
    from groq_magic.chat.result import ChatResult
    from groq_magic.chat.tools import ToolBox
    from groq_magic.chat.tools.approval import Approver
    from groq_magic.chat.tools.remote import RemoteTools

__all__ = [
    "DEFAULT_MODEL",
    "EmptyPromptError",
    "KeyInPromptError",
    "PreparedTurn",
    "TurnDefaults",
    "TurnLog",
    "options_again",
    "prepare_turn",
    "resolve_schema",
    "without_code",
]

DEFAULT_MODEL = "llama-3.3-70b-versatile"
"""The model used when neither the cell nor the configuration names one (on Groq)."""

DEFAULT_MAX_STEPS = 8
"""Requests one turn may make when the model calls tools (``--max-steps``)."""


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


class TurnLog(Protocol):
    """Where turns are kept beyond the kernel (the local store), as the engine sees it.

    The session puts one on every prepared turn; the engine asks it for a stored
    answer before sending (``--cache``) and hands it every turn that ends. Neither
    call may raise: a store that fails says so once and the chat goes on.
    """

    def replay(self, prep: PreparedTurn) -> Turn | None:
        """A complete stored answer to the same request to the same server, or None."""

    def record(self, prep: PreparedTurn, result: ChatResult) -> None:
        """Keep a turn that ended (complete, interrupted or incomplete; a replay too,
        ``result.cached``: it is a turn of its chat, though nothing was sent)."""

    def record_failure(self, prep: PreparedTurn, error: str) -> None:
        """Keep a turn that failed (nothing reached history)."""

    def cost(self, model: str, usage: Mapping[str, Any]) -> float | None:
        """USD for ``usage`` of ``model`` by the price table; None when its price is unknown."""

    @property
    def show_cost(self) -> bool:
        """True when the status line shows each turn's cost."""


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
    user_message: dict[str, Any] = field(default_factory=dict)
    toolbox: ToolBox | None = None
    images: int = 0
    notes: tuple[str, ...] = ()
    log: TurnLog | None = None
    context: tuple[ContextBlock, ...] = ()
    code_language: str | None = None  # the language code was asked in (--code), else None
    status_parts: tuple[str, ...] = ()  # on the status line (an MCP server's start-up time)

    @property
    def max_steps(self) -> int:
        """Requests this turn may make (tool rounds included)."""
        return self.options.max_steps or DEFAULT_MAX_STEPS

    @property
    def stream(self) -> bool:
        """Whether the answer is streamed."""
        return bool(self.options.stream)

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
        return TurnMeta(model=self.model, chat=self.chat, stream=self.stream, notes=self.notes)


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


def resolve_toolbox(
    names: list[str], namespace: Mapping[str, Any] | None, remembered: ToolBox | None = None
) -> ToolBox | None:
    """The tools ``--tools`` names: each from the namespace first, else from ``remembered``
    (functions given as themselves, as ``sweep(tools=[fn])`` does)."""
    if not names:
        return None
    from groq_magic.chat.tools import resolve_tools

    namespace = namespace or {}
    own = {tool.name: tool for tool in remembered or ()}
    found = {
        name: namespace[name] if name in namespace else own[name]
        for name in names
        if name in namespace or name in own
    }
    return resolve_tools(names, found)


def _with_remote_tools(
    box: ToolBox | None, servers: list[str], remote: RemoteTools | None
) -> tuple[ToolBox, tuple[str, ...]]:
    """``box`` with the tools of the ``--mcp`` servers added (started if need be)."""
    from groq_magic.chat.tools import ToolBox
    from groq_magic.chat.tools.remote import add_remote_tools

    if remote is None:
        raise OptionsError("--mcp: this road has no MCP servers to offer", option="--mcp")
    toolset = remote.toolset(servers)
    box = box if box is not None else ToolBox()
    add_remote_tools(box, toolset.tools)
    return box, toolset.notes


def _refuse_json_with_tools(options: ChatOptions, typed: set[str]) -> ChatOptions:
    """Tools and JSON mode: one line when the cell typed both; configured tools give way."""
    if not (options.tools or options.mcp) or not options.wants_json:
        return options
    for name, flag in (("tools", "--tools"), ("mcp", "--mcp")):
        if name in typed and getattr(options, name):
            raise OptionsError(
                f"{flag} cannot be combined with --json or --schema: Groq does not allow JSON"
                " mode with tools",
                option=flag,
            )
    # Tools that are only a configured default give way to a turn that asks for JSON.
    return options.merged(tools=[], mcp=[])


def _user_content(
    options: ChatOptions,
    template: str,
    namespace: Mapping[str, Any] | None,
    window: list[dict[str, Any]],
) -> tuple[str, dict[str, Any], int, tuple[str, ...]]:
    """(prompt text, user message, image count, notes) for a template and ``--image``s.

    ``namespace=None`` sends the template as written (no ``{name}`` filling).
    """
    from groq_magic.chat.images import DEFAULT_LIMITS, prepare_images
    from groq_magic.chat.parts import (
        PromptParts,
        build_user_content,
        image_stats,
        render_prompt_parts,
    )

    # Images already in the window count against the same per-request limits.
    earlier = image_stats(window)
    limits = DEFAULT_LIMITS.minus(earlier.count, earlier.inline_bytes)
    if namespace is None:
        parts = PromptParts(content=template, text=template)
    else:
        parts = render_prompt_parts(template, namespace, limits=limits)
    content: Any = parts.content
    prepared = list(parts.images)
    text = parts.text
    if options.images:
        inline = image_stats(content)
        extra = prepare_images(
            options.images,
            namespace,
            text_bytes=len(text.encode()),
            limits=limits.minus(inline.count, inline.inline_bytes),
        )
        items = [content] if isinstance(content, str) else list(content)
        content = build_user_content([*items, *extra], limits=limits)
        prepared += extra
        text += "".join(f"\n[image: {image.label}]" for image in extra)
    notes = tuple(image.note for image in prepared if image.note)
    return text, {"role": "user", "content": content}, len(prepared), notes


def _with_earlier_images(exc: ImageLimitError, window: list[dict[str, Any]]) -> ImageLimitError:
    """``exc``, saying so when the chat's earlier images (sent again) took the room."""
    from groq_magic.chat.images import ImageLimitError
    from groq_magic.chat.parts import image_stats

    earlier = image_stats(window).count
    if not earlier:
        return exc
    return ImageLimitError(
        f"{exc} (this chat's earlier turns carry {earlier} image{'' if earlier == 1 else 's'},"
        " sent again with every request: %groq undo, %groq reset or --no-history)"
    )


def prepare_turn(
    options: ChatOptions,
    template: str,
    namespace: Mapping[str, Any] | None,
    conversation: Conversation,
    *,
    defaults: TurnDefaults | None = None,
    rendered: bool = False,
    message: Mapping[str, Any] | None = None,
    cell_id: str | None = None,
    replaces: str | None = None,
    schema: object | None = None,
    toolbox: ToolBox | None = None,
    log: TurnLog | None = None,
    notebook: NotebookFacts | None = None,
    remote: RemoteTools | None = None,
    approver: Approver | None = None,
) -> PreparedTurn:
    """Decide the request for one turn; one ChatError line (nothing sent) when it can't be.

    ``namespace`` fills ``{name}`` and holds the ``--schema``/``--tools``/``--image``/
    ``--context`` names; ``rendered`` takes ``template`` and ``message`` as a recorded
    turn's, as sent; ``schema``/``toolbox``: an earlier run's; ``log``: where the turn is
    kept; ``notebook``: ``In``, ``Out``, the last error; ``remote``/``approver``: ``--mcp``.
    """
    defaults = defaults or TurnDefaults()
    typed = set(options.model_fields_set)
    options = _refuse_json_with_tools(options.with_defaults(defaults.options), typed)
    window = conversation.window(options.system, cell_id=cell_id, replaces=replaces,
                                 history=options.history)  # fmt: skip
    prompt, user_message, images, notes = _message(
        options, template, namespace, window, message if rendered else None, rendered=rendered
    )
    language = notebook.language if notebook is not None else "python"
    context, user_message, notes = _context_of(
        options, namespace, notebook, user_message, notes, language, rendered=rendered
    )
    refuse_keys(*_texts(user_message))
    schema = resolve_schema(options.schema_name, namespace, schema)
    box, status_parts = _tools_of(options, namespace, toolbox, remote, approver)
    model = options.model or defaults.model
    params, validator = _request_params(options, schema, box, model)
    return PreparedTurn(
        options=options, model=model, chat=conversation.name, prompt=prompt,
        messages=[*window, user_message], params=params, schema=schema, validator=validator,
        cell_id=cell_id, replaces=replaces, conversation=conversation,
        user_message=user_message, toolbox=box, images=images, notes=notes, log=log,
        context=context, code_language=language if options.code else None,
        status_parts=status_parts,
    )  # fmt: skip


def _message(
    options: ChatOptions,
    template: str,
    namespace: Mapping[str, Any] | None,
    window: list[dict[str, Any]],
    recorded: Mapping[str, Any] | None,
    *,
    rendered: bool,
) -> tuple[str, dict[str, Any], int, tuple[str, ...]]:
    """(prompt, user message, image count, notes): filled from the namespace, or, for a
    recorded turn (``rendered``), its text and user message as they were sent."""
    notes: tuple[str, ...] = ()
    if rendered:
        user_message = dict(recorded) if recorded else {"role": "user", "content": template}
        prompt, images = template, _image_count(user_message)
    else:
        from groq_magic.chat.images import ImageLimitError

        try:
            prompt, user_message, images, notes = _user_content(
                options, template, namespace, window
            )
        except ImageLimitError as exc:
            raise _with_earlier_images(exc, window) from None
    if not prompt.strip() and not images:
        raise EmptyPromptError("the cell is empty: write a prompt under %%groq")
    refuse_keys(prompt, options.system)
    return prompt, user_message, images, notes


def _context_of(
    options: ChatOptions,
    namespace: Mapping[str, Any] | None,
    notebook: NotebookFacts | None,
    user_message: dict[str, Any],
    notes: tuple[str, ...],
    language: str,
    *,
    rendered: bool,
) -> tuple[tuple[ContextBlock, ...], dict[str, Any], tuple[str, ...]]:
    """The ``--context`` blocks and the user message that carries them (a recorded turn's
    message already does), with their notes added."""
    if rendered:
        return _recorded_context(user_message), user_message, notes
    built = _context(options, namespace, notebook)
    context: tuple[ContextBlock, ...] = ()
    if built is not None:
        context, notes = built.blocks, (*notes, *built.notes)
    return context, _with_context_and_code(user_message, built, options.code, language), notes


def _tools_of(
    options: ChatOptions,
    namespace: Mapping[str, Any] | None,
    toolbox: ToolBox | None,
    remote: RemoteTools | None,
    approver: Approver | None,
) -> tuple[ToolBox | None, tuple[str, ...]]:
    """The turn's tools (``--tools`` and ``--mcp``) behind the ``--approve`` gate, and
    the status line's words about the MCP servers."""
    box = resolve_toolbox(options.tools, namespace, toolbox)
    status_parts: tuple[str, ...] = ()
    if options.mcp:
        box, status_parts = _with_remote_tools(box, options.mcp, remote)
    if box is not None:
        from groq_magic.chat.tools.approval import approval_gate

        box.gate = approval_gate(options.approve, approver)
    return box, status_parts


def _request_params(
    options: ChatOptions, schema: object | None, box: ToolBox | None, model: str
) -> tuple[dict[str, Any], SchemaValidator | None]:
    """The request's fields (knobs, ``response_format``, tools) and the schema's validator."""
    response_format: dict[str, Any] | None = None
    validator: SchemaValidator | None = None
    if schema is not None:
        response_format, validator = schema_response_format(
            schema, name=options.schema_name, model=model
        )
    params = options.to_request_params(response_format)
    if box is not None:
        params.update(box.request_fields(options.tool_choice or "auto"))
    return params, validator


def options_again(turn: Turn, changes: Mapping[str, Any] | None = None) -> ChatOptions:
    """The options to run a recorded turn again (retry, ``%groq ui``): its own, then
    ``changes`` (what the command re-running it typed) on top.

    A turn this kernel did not make (loaded from a file, restored from the store) is
    data: the options that make notebook code run (``--tools``, ``--tool-choice``:
    knobs marked ``runs_code``) are not taken from it; only ``changes`` can name them.
    """
    snapshot = turn.options if turn.made_here else without_code(turn.options)
    return ChatOptions.from_snapshot(snapshot).merged(**(changes or {}))


def without_code(snapshot: Mapping[str, Any]) -> dict[str, Any]:
    """An options snapshot read as data (a file, the store): without the options that make
    code run or start a server (knobs marked ``runs_code``: tools, MCP, approval)."""
    return {k: v for k, v in snapshot.items() if not (k in KNOBS and KNOBS[k].runs_code)}


def _context(
    options: ChatOptions, namespace: Mapping[str, Any] | None, notebook: NotebookFacts | None
) -> Context | None:
    """The ``--context`` blocks of a turn (None without any)."""
    if not options.context:
        return None
    from groq_magic.chat.context import DEFAULT_CONTEXT_LIMIT, build_context

    limit = options.context_limit or DEFAULT_CONTEXT_LIMIT
    return build_context(options.context, namespace, notebook, limit=limit)


def _with_context_and_code(
    message: dict[str, Any], context: Context | None, code: bool, language: str
) -> dict[str, Any]:
    """The user message with the context before the prompt and ``--code``'s ask after it."""
    if context is None and not code:
        return message
    from groq_magic.chat.code import code_instruction
    from groq_magic.chat.context import with_context

    content = message["content"]
    if context is not None:
        content = with_context(content, context)
    if code:
        ask = code_instruction(language)
        content = (
            f"{content}\n\n{ask}"
            if isinstance(content, str)
            else [
                *content,
                {"type": "text", "text": ask},
            ]
        )
    return {**message, "content": content}


def _recorded_context(message: Mapping[str, Any]) -> tuple[ContextBlock, ...]:
    """The context blocks a recorded user message carries (retry, ``%groq ui``)."""
    texts = _texts(message)
    if not any("<context " in text for text in texts):
        return ()
    from groq_magic.chat.context import blocks_in

    return tuple(block for text in texts for block in blocks_in(text))


def _texts(message: Mapping[str, Any]) -> list[str]:
    """The text parts of a user message (what a key check must read besides the prompt)."""
    content = message.get("content")
    if isinstance(content, str):
        return [content]
    if not isinstance(content, list):
        return []
    return [str(p.get("text", "")) for p in content if isinstance(p, Mapping)]


def _image_count(message: Mapping[str, Any]) -> int:
    content = message.get("content")
    if not isinstance(content, list):
        return 0
    return sum(
        1 for part in content if isinstance(part, Mapping) and part.get("type") == "image_url"
    )
