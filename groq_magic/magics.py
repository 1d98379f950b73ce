"""The IPython glue: ``%%groq`` and ``%groq``, traitlets defaults, one-line errors.

Everything here is parsing and mapping; the logic lives in
:class:`groq_magic.session.GroqSession`. ``%load_ext`` imports only this module
and the standard library's worth of ``backend``: the engine, pydantic and httpx
load with the first cell (the imports inside the methods below), so loading the
extension stays cheap. Options are parsed with IPython's
``magic_arguments`` (quote-aware, so ``--stop ", 6"`` works), bounds are checked
by :class:`~groq_magic.chat.ChatOptions` before any request, and every error a
user can cause is raised as a ``UsageError``: one red line, no traceback.
"""

from __future__ import annotations

import io
import os
import shlex
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, magics_class, no_var_expand
from IPython.core.magic_arguments import argument, magic_arguments
from traitlets import Any as AnyTrait
from traitlets import Bool, Float, Int, TraitError, TraitType, Unicode, validate
from traitlets.config import Configurable

from groq_magic._defaults import DEFAULT_MAX_RETRIES, DEFAULT_TIMEOUT
from groq_magic._keys import looks_like_key, redact
from groq_magic._text import one_line
from groq_magic.backend import Backend
from groq_magic.knobs import CONFIG_KNOBS, KNOBS, Knob
from groq_magic.pacing import DEFAULT_MAX_CONCURRENCY

if TYPE_CHECKING:
    from groq_magic.chat import ChatOptions, ChatResult
    from groq_magic.chat.context import NotebookFacts
    from groq_magic.chat.engine import TurnError
    from groq_magic.mcp import MCPSettings
    from groq_magic.pacing import PacingCaps
    from groq_magic.session import GroqSession
    from groq_magic.store import StoreSettings

__all__ = ["SUBCOMMANDS", "GroqMagics", "LineOption", "Subcommand", "load", "unload"]

_ESCAPES = {"\\n": "\n", "\\t": "\t", "\\\\": "\\"}


def unescape(text: str) -> str:
    r"""Turn the escapes ``\n``, ``\t`` and ``\\`` typed on a magic line into characters."""
    out, i = [], 0
    while i < len(text):
        pair = text[i : i + 2]
        if pair in _ESCAPES:
            out.append(_ESCAPES[pair])
            i += 2
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def split_list(flag: str, raw: str, kind: type) -> list[Any]:
    """``"0,0.7"`` -> ``[0.0, 0.7]`` for ``flag``; one clear line when a value is wrong."""
    parts = [p.strip() for p in raw.split(",")]
    if not any(parts):
        raise UsageError(f"{flag} needs at least one value")
    if "" in parts:
        raise UsageError(f"{flag} has an empty item in {raw!r}")
    values: list[Any] = []
    for part in parts:
        try:
            values.append(kind(part))
        except ValueError:
            noun = "a number" if kind is float else "a whole number" if kind is int else "a value"
            raise UsageError(f"{flag} must be {noun} (got {part!r})") from None
    return values


def split_line(line: str, takes_value: set[str]) -> tuple[list[str], str, bool]:
    """Split a magic line into option tokens (shell quoting), the raw rest, and ``--``.

    Options come first; the first word that is not an option (or ``--``) starts
    the rest, which is returned exactly as typed, so a one-line prompt keeps its
    apostrophes and quotes (``%groq What's new?``). The flag says whether ``--``
    marked the rest as a prompt. Backslashes are not shell escapes here:
    ``--stop \n`` keeps its backslash for :func:`unescape`. Unbalanced quotes
    inside the options are one clear line.
    """
    source = io.StringIO(line)
    lexer = shlex.shlex(source, posix=True)
    lexer.whitespace_split = True
    lexer.commenters = ""
    lexer.escape = ""
    argv: list[str] = []
    expect_value = False
    while True:
        start = source.tell()
        rest = line[start:].lstrip()
        if not rest:
            return argv, "", False
        if not expect_value:
            if rest == "--" or rest.startswith(("-- ", "--\t")):
                return argv, rest[2:].strip(), True
            if not rest.startswith("-"):
                return argv, rest.strip(), False
        try:
            token = lexer.get_token()
        except ValueError:
            raise UsageError(
                "unbalanced quotes in the options of the %groq line; close the quote"
            ) from None
        if token is None:
            return argv, "", False
        argv.append(token)
        expect_value = not expect_value and token in takes_value


def usage_error(exc: BaseException) -> UsageError:
    """The one red line IPython shows for a user's mistake: the message, whitespace collapsed."""
    return UsageError(one_line(exc))


def say(line: str) -> None:
    """Print a notice or a partial-answer note, masked of keys (every print goes here)."""
    print(redact(line))


def _options_with_values(parser: Any) -> set[str]:
    """The option strings that take a value (so the next token is not the prompt)."""
    return {
        option
        for action in parser._actions
        if action.nargs != 0
        for option in action.option_strings
    }


# -- the parser, derived from the options table --------------------------------------------

# Flags that are not turn options: how the turn is run (declared here, once).
_RUN_MODE_ARGUMENTS: tuple[tuple[tuple[str, ...], dict[str, Any]], ...] = (
    (("--repeat",), {"type": int, "help": "Compare: run each combination N times (other seeds)."}),
    (
        ("--check",),
        {
            "action": "append",
            "metavar": "CHECK",
            "help": "Check every answer (a compare, with a pass-rate summary): json, schema,"
            " contains:TEXT, regex:PATTERN, equals_value:TEXT, max_words:N, or the name of a"
            " function (result) -> bool | float | str; repeat for several.",
        },
    ),
    (
        ("--ui",),
        {"action": "store_true", "help": "Show sliders and controls to re-run the prompt."},
    ),
)


# Flags of an evaluation cell (%%groq --data NAME): declared apart, as they turn a cell
# into groq_magic.evaluate (see groq_magic.evals.cell).
_EVALUATE_ARGUMENTS: tuple[tuple[tuple[str, ...], dict[str, Any]], ...] = (
    (
        ("--data",),
        {
            "metavar": "NAME",
            "help": "Evaluate: run the cell's template over each row of the DataFrame NAME"
            " ({column} is the row's value), with its checks and judges; the run is stored.",
        },
    ),
    (
        ("--judge",),
        {
            "action": "append",
            "metavar": "RUBRIC",
            "help": "With --data: a model grades each answer against RUBRIC (a score 0..1 and"
            " a reason); repeat for several.",
        },
    ),
)


def _knob_argument(knob: Knob) -> tuple[tuple[str, ...], dict[str, Any]]:
    """argparse's view of one knob. Unset flags stay None, so configured defaults apply."""
    # argparse expands %-formats in help text: "%groq models" must be written "%%groq".
    spec: dict[str, Any] = {"dest": knob.name, "help": knob.help.replace("%", "%%")}
    spec["default"] = None
    if knob.style == "switch":
        spec.update(action="store_const", const=True)
    elif knob.style == "negated":
        spec.update(action="store_const", const=False)
    elif knob.style == "append":
        spec.update(action="append")
    elif knob.metavar:
        spec.update(metavar=knob.metavar)
    return knob.flags, spec


def _list_argument(knob: Knob) -> tuple[tuple[str, ...], dict[str, Any]] | None:
    """The separate list flag of a knob (``--compare`` for models), if it has one."""
    if knob.list_flag is None or knob.list_flag == knob.flag:
        return None
    return (knob.list_flag,), {
        "dest": f"{knob.name}_list",
        "metavar": "LIST",
        "default": None,
        "help": (knob.list_help or "").replace("%", "%%"),
    }


def knob_arguments(
    table: Mapping[str, Knob] = KNOBS,
) -> list[tuple[tuple[str, ...], dict[str, Any]]]:
    """argparse's view of ``table``: each knob's flag, its list flag, then the run modes."""
    specs = [_knob_argument(k) for k in table.values()]
    specs += [spec for k in table.values() if (spec := _list_argument(k)) is not None]
    return specs + list(_RUN_MODE_ARGUMENTS) + list(_EVALUATE_ARGUMENTS)


def with_knob_arguments(func: Any, table: Mapping[str, Knob] = KNOBS) -> Any:
    """``func`` with a parser holding every knob's flag and the run-mode flags.

    ``{subcommands}`` in its docstring becomes the line commands' list, so
    ``%%groq?`` documents the table (magic_arguments turns the docstring into help).
    """
    func.__doc__ = (func.__doc__ or "").format(subcommands=_subcommand_help())
    # magic_arguments applies the decorators bottom-up: reversed keeps the table's order.
    for flags, spec in reversed(knob_arguments(table)):
        func = argument(*flags, **spec)(func)
    return magic_arguments()(func)


def options_from_flags(args: Any, model: Any) -> tuple[Any, dict[str, list[Any]]]:
    """Parsed flags as options of ``model`` (only what was given) and a compare grid.

    A list-taking flag given a comma list (``-t 0,0.7``, ``--compare a,b``) goes to the
    grid; everything else into the options. Each knob of ``model.knobs`` is read by the
    rules of its own entry (escapes, list flags).
    """
    given: dict[str, Any] = {}
    grid: dict[str, list[Any]] = {}
    for name, knob in model.knobs.items():
        listed = getattr(args, f"{name}_list", None)
        if listed is not None:
            grid[name] = split_list(knob.list_flag or knob.flag, listed, knob.kind)
        raw = getattr(args, name)
        if raw is None:
            continue
        if knob.escapes:
            raw = [unescape(s) for s in raw] if isinstance(raw, list) else unescape(raw)
        if knob.list_flag == knob.flag and isinstance(raw, str) and "," in raw:
            grid[name] = split_list(knob.flag, raw, knob.kind)
        else:
            given[name] = raw
    return model.parse(**given), grid


def _config_trait(knob: Knob) -> TraitType[Any, Any]:
    # An untyped trait: the options model checks and coerces the value (see
    # GroqMagics._check_knob_default), so every refusal is one line in one voice.
    help_text = f"Default for {knob.flag} ({knob.kind.__name__}): {knob.help}"
    trait: TraitType[Any, Any] = AnyTrait(knob.default, help=help_text).tag(config=True)
    return trait


def config_traits(table: Mapping[str, Knob] = KNOBS) -> dict[str, TraitType[Any, Any]]:
    """The ``%config`` traits of ``table``: one per knob marked ``config``."""
    return {knob.name: _config_trait(knob) for knob in table.values() if knob.config}


class KnobDefaults(Configurable):
    """The ``%config GroqMagics.<name>`` defaults: one trait per knob marked ``config``."""

    # Traits must be in the class body for traitlets to set them up; they come from the
    # knob table, so the table stays the one declaration.
    locals().update(config_traits())


# -- line subcommands, from one table --------------------------------------------------------


@dataclass(frozen=True)
class LineOption:
    """An option a line command takes after its name: ``--search TEXT``, ``--force``.

    ``metavar`` None makes it a switch (True when given). Its value lands on the
    parsed flags as ``dest`` (``--older-than`` -> ``older_than``), so ``--chat NAME``
    after a command is the same as ``-c NAME`` before it.
    """

    flag: str
    metavar: str | None = None
    short: str | None = None

    @property
    def dest(self) -> str:
        """The attribute the value is set on."""
        return self.flag.lstrip("-").replace("-", "_")

    def usage(self) -> str:
        """``[--search TEXT]``."""
        return f"[{self.flag} {self.metavar}]" if self.metavar else f"[{self.flag}]"


@dataclass(frozen=True)
class Subcommand:
    """One ``%groq NAME ...`` line command: its words, its help and its handler.

    ``words`` is the usage of what follows the name (``"PATH"``, ``"[TEXT]"``);
    ``arity`` how many shell-quoted words it takes (min, max), options apart;
    ``options`` the :class:`LineOption` flags it takes among its words; ``raw``
    hands the handler the rest of the line exactly as typed (a system prompt's
    apostrophes). The handler gets the magics, the parsed flags (with the options'
    values) and the words (or raw text).
    """

    help: str
    handler: Callable[[GroqMagics, Any, Any], Any]
    words: str = ""
    arity: tuple[int, int] = (0, 0)
    raw: bool = False
    options: tuple[LineOption, ...] = ()

    def usage(self, name: str) -> str:
        """``%groq save PATH``, ``%groq log [N] [--chat NAME] [--search TEXT]``."""
        flags = " ".join(option.usage() for option in self.options)
        return " ".join(part for part in (f"%groq {name}", self.words, flags) if part)

    def take_options(self, name: str, words: list[str], args: Any) -> list[str]:
        """Set the options found in ``words`` on ``args``; return the other words.

        ``--flag VALUE`` and ``--flag=VALUE`` both work; ``--`` ends the options.
        An option this command does not take, or one missing its value, is one line.
        """
        by_flag = {f: o for o in self.options for f in (o.flag, o.short) if f}
        for option in self.options:
            if getattr(args, option.dest, None) is None:
                setattr(args, option.dest, None if option.metavar else False)
        rest: list[str] = []
        queue = list(words)
        while queue:
            word = queue.pop(0)
            if word == "--":
                rest += queue
                break
            flag, has_value, value = (
                word.partition("=") if word.startswith("--") else (word, "", "")
            )
            found = by_flag.get(flag)
            if found is None:
                if word.startswith("-") and len(word) > 1:
                    raise UsageError(f"%groq {name} has no option {flag}: {self.usage(name)}")
                rest.append(word)
            elif found.metavar is None:
                if has_value:
                    raise UsageError(f"{flag} takes no value: {self.usage(name)}")
                setattr(args, found.dest, True)
            elif has_value or queue:
                setattr(args, found.dest, value if has_value else queue.pop(0))
            else:
                raise UsageError(f"{flag} needs {found.metavar}: {self.usage(name)}")
        return rest


def _retry(magics: GroqMagics, args: Any, _: Any) -> Any:
    from groq_magic.chat import ChatError
    from groq_magic.chat.engine import TurnError
    from groq_magic.render import choose_sink

    # Flags typed before "retry" (%groq -t 0 -T get_weather retry) go over the turn's own.
    try:
        typed, _grid = magics.options_from(args)
    except ChatError as exc:
        raise usage_error(exc) from None
    changes = typed.model_dump(exclude_unset=True)
    changes.pop("chat", None)
    sink = choose_sink(magics.shell)
    try:
        result = magics.session.retry(sink, magics.user_ns, name=args.chat, changes=changes)
    except TurnError as exc:
        magics.show_failed_generation(exc, sink)
        raise UsageError(str(exc)) from None
    return magics.deliver(result, args.out, sink)


def _fix(magics: GroqMagics, args: Any, note: str, *, fix: bool = True) -> Any:
    """``%groq fix`` / ``%groq explain``: the last error, its cell and the names it uses."""
    from groq_magic.chat.code import explain_prompt, fix_prompt
    from groq_magic.chat.context import names_used

    note = _options_after(magics, args, note)
    error = magics.errors.last_error()
    if error is None:
        command = "fix" if fix else "explain"
        raise UsageError(
            f"no error so far in this kernel: %groq {command} works on the last error a cell raised"
        )
    # The error first, then the user's own -x names, then what the failing cell reads.
    args.context = ["Err", *(args.context or []), *names_used(error.cell or "", magics.user_ns)]
    if fix:
        args.code = True
    language = magics.notebook_facts().language
    return magics._ask(args, fix_prompt(language, note) if fix else explain_prompt(note))


def _options_after(magics: GroqMagics, args: Any, text: str) -> str:
    """``%groq fix -t 0 use numpy``: the flags after the command join ``args``; the rest."""
    parser = cast(Any, magics.groq).parser
    argv, rest, _ = split_line(text, _options_with_values(parser))
    if not argv:
        return text
    try:
        given = parser.parse_args(argv)
    except UsageError as exc:
        raise usage_error(exc) from None
    for name, value in vars(given).items():
        if value is None or value is False:
            continue
        earlier = getattr(args, name, None)
        setattr(args, name, [*earlier, *value] if isinstance(earlier, list) else value)
    return rest


def _login(magics: GroqMagics, _: Any, __: Any) -> Any:
    import getpass

    return magics.session.login(getpass.getpass("Groq API key (input hidden): "))


def _log(magics: GroqMagics, args: Any, words: list[str]) -> Any:
    count = 20
    if words:
        try:
            count = int(words[0])
        except ValueError:
            count = 0
        if count < 1:
            raise UsageError(f"%groq log takes how many exchanges to list (got {words[0]!r})")
    return magics.session.exchanges(count, args.chat, args.search)


_CHAT_OPTION = LineOption("--chat", "NAME", short="-c")


SUBCOMMANDS: dict[str, Subcommand] = {
    "history": Subcommand(
        "the turns of the chat as a table", lambda m, a, w: m.session.history(a.chat)
    ),
    "reset": Subcommand("forget the chat's turns", lambda m, a, w: m.session.reset(a.chat)),
    "undo": Subcommand("remove the chat's last turn", lambda m, a, w: m.session.undo(a.chat)),
    "retry": Subcommand("run the last turn again, replacing it", _retry),
    "save": Subcommand(
        "write the chat to a JSON file",
        lambda m, a, w: m.session.save(w[0], a.chat),
        "PATH",
        (1, 1),
    ),
    "load": Subcommand(
        "read a chat from a JSON file", lambda m, a, w: m.session.load(w[0]), "PATH", (1, 1)
    ),
    "chats": Subcommand("list the chats", lambda m, a, w: m.session.chats()),
    "use": Subcommand(
        "switch the current chat", lambda m, a, w: m.session.use(w[0]), "NAME", (1, 1)
    ),
    "system": Subcommand(
        "set (or show) the chat's system prompt",
        lambda m, a, w: m.session.system(w or None, a.chat),
        "[TEXT]",
        raw=True,
    ),
    "models": Subcommand("the server's model list", lambda m, a, w: m.session.models()),
    "config": Subcommand("the settings in force", lambda m, a, w: m.session.config(m.settings())),
    "local": Subcommand(
        "the embedded model's server",
        lambda m, a, w: m.session.local(w[0] if w else "status"),
        "[status|start|stop]",
        (0, 1),
    ),
    "login": Subcommand("enter a key with a hidden prompt", _login),
    "fix": Subcommand(
        "explain the last error and put the corrected cell below", _fix, "[NOTE]", raw=True
    ),
    "explain": Subcommand(
        "explain the last error, its cause and how to fix it",
        lambda m, a, w: _fix(m, a, w, fix=False),
        "[NOTE]",
        raw=True,
    ),
    "ui": Subcommand(
        "the sliders panel for the chat's last prompt", lambda m, a, w: m.panel(a, None)
    ),
    "log": Subcommand(
        "past exchanges from the store, newest first",
        _log,
        "[N]",
        (0, 1),
        options=(_CHAT_OPTION, LineOption("--search", "TEXT")),
    ),
    "restore": Subcommand(
        "bring stored chats back after a restart",
        lambda m, a, w: m.session.restore(w[0] if w else a.chat),
        "[CHAT]",
        (0, 1),
    ),
    "export": Subcommand(
        "write the chat as Markdown (.md) or a notebook (.ipynb)",
        lambda m, a, w: m.session.export(w[0], a.chat, force=a.force),
        "PATH",
        (1, 1),
        options=(LineOption("--force"),),
    ),
    "usage": Subcommand(
        "tokens and cost per model, from the store",
        lambda m, a, w: m.session.usage(today=a.today, chat=a.chat),
        options=(LineOption("--today"), _CHAT_OPTION),
    ),
    "mcp": Subcommand(
        "MCP servers: list them with their tools, start or stop one (or all)",
        lambda m, a, w: m.session.mcp(w[0] if w else None, w[1] if len(w) > 1 else None),
        "[start NAME|stop [NAME]]",
        (0, 2),
    ),
    "cache": Subcommand(
        "the replay cache: what it holds, or clear it",
        lambda m, a, w: m.session.cache(w[0] if w else "info", a.older_than),
        "[info|clear]",
        (0, 1),
        options=(LineOption("--older-than", "AGE"),),
    ),
}
"""Every ``%groq`` line command; the dispatcher and ``%%groq?`` both read this table."""


def _subcommand_help() -> str:
    width = max(len(c.usage(n)) for n, c in SUBCOMMANDS.items())
    # Indented to sit in the magic's docstring, under "Subcommands::".
    lines = (f"{c.usage(n):<{width}}  {c.help}" for n, c in SUBCOMMANDS.items())
    return "\n            ".join(lines)


@magics_class
class GroqMagics(Magics, KnobDefaults):
    """``%%groq`` cells: each one a turn of a conversation held by this kernel."""

    base_url = Unicode(
        None, allow_none=True, help="OpenAI-compatible API root (else $GROQ_BASE_URL, else Groq)."
    ).tag(config=True)
    timeout = Float(DEFAULT_TIMEOUT, help="Seconds to wait for the server.").tag(config=True)
    max_retries = Int(DEFAULT_MAX_RETRIES, help="Retries for rate limits and server errors.").tag(
        config=True
    )
    store = AnyTrait(
        None,
        help="The exchange store's SQLite file, or 'none' to keep nothing"
        " (else $GROQ_MAGIC_STORE, else exchanges.sqlite in the user data folder).",
    ).tag(config=True)
    prices = AnyTrait(
        None, help="Prices over the shipped table: a dict, or the path of a JSON file."
    ).tag(config=True)
    show_cost = Bool(False, help="Show each cell's cost in its status line.").tag(config=True)
    max_concurrency = Int(
        DEFAULT_MAX_CONCURRENCY,
        help="Requests in flight per model at most, in compares and sweeps.",
    ).tag(config=True)
    requests_per_minute = Float(
        None,
        allow_none=True,
        help="Your own cap on requests a minute per model in compares and sweeps"
        " (None: only the server's limits, learned as they go).",
    ).tag(config=True)
    mcp_servers = AnyTrait(
        None,
        help='MCP servers by name, as mcp.json\'s "mcpServers": {NAME: {"command": ...,'
        ' "args": [...], "env": {...}}} or {NAME: {"url": ..., "headers": {...}}}.',
    ).tag(config=True)
    mcp_config = Unicode(
        None,
        allow_none=True,
        help="An mcp.json file whose mcpServers are configured too (else $GROQ_MAGIC_MCP_CONFIG).",
    ).tag(config=True)
    mcp_start_timeout = Float(
        60.0, help="Seconds an MCP server may take to start and list its tools."
    ).tag(config=True)

    def __init__(self, shell: Any = None, **kwargs: Any) -> None:
        super().__init__(shell, **kwargs)
        from groq_magic.cells import ErrorRecorder

        self._session: GroqSession | None = None
        self._cell_id: str | None = None
        self._raw_cell: str | None = None
        self.errors = ErrorRecorder(shell)

    # -- %config values, checked when set ------------------------------------------------

    @validate(*(k.name for k in CONFIG_KNOBS))
    def _check_knob_default(self, proposal: Any) -> Any:
        from groq_magic.chat import ChatOptions
        from groq_magic.chat.errors import OptionsError

        name, value = proposal["trait"].name, proposal["value"]
        if value is None:
            return None
        try:
            return ChatOptions.check_default(name, value, called=f"GroqMagics.{name}")
        except OptionsError as exc:
            raise TraitError(f"{exc}; the setting was not changed") from None

    @validate("timeout")
    def _check_timeout(self, proposal: Any) -> float:
        value = float(proposal["value"])
        if not value > 0:
            raise TraitError(f"GroqMagics.timeout must be more than 0 seconds (got {value:g})")
        return value

    @validate("max_concurrency", "requests_per_minute")
    def _check_pacing_cap(self, proposal: Any) -> Any:
        from groq_magic.pacing import PacingCaps

        name, value = proposal["trait"].name, proposal["value"]
        try:
            caps = PacingCaps(**{name: value})
        except ValueError as exc:
            raise TraitError(f"GroqMagics.{exc}; the setting was not changed") from None
        return getattr(caps, name)  # as the pacer takes it: an infinite rate means no cap

    @validate("mcp_servers")
    def _check_mcp_servers(self, proposal: Any) -> Any:
        from groq_magic.mcp import MCPConfigError, check_servers

        value = proposal["value"]
        if value is None:
            return None
        try:
            check_servers(value, "GroqMagics.mcp_servers")
        except MCPConfigError as exc:
            raise TraitError(f"{exc}; the setting was not changed") from None
        return value

    @validate("mcp_config")
    def _check_mcp_config(self, proposal: Any) -> Any:
        from groq_magic.mcp import MCPConfigError, read_config_file

        value = proposal["value"]
        if value is None or not str(value).strip():
            return None
        try:
            read_config_file(value)
        except MCPConfigError as exc:
            raise TraitError(f"GroqMagics.mcp_config: {exc}; the setting was not changed") from None
        return value

    @validate("mcp_start_timeout")
    def _check_mcp_start_timeout(self, proposal: Any) -> float:
        value = float(proposal["value"])
        if not value > 0:
            raise TraitError(
                f"GroqMagics.mcp_start_timeout must be more than 0 seconds (got {value:g})"
            )
        return value

    @validate("max_retries")
    def _check_max_retries(self, proposal: Any) -> int:
        value = int(proposal["value"])
        if value < 0:
            raise TraitError(f"GroqMagics.max_retries must be 0 or more (got {value})")
        return value

    @validate("store")
    def _check_store(self, proposal: Any) -> str | None:
        from groq_magic.store import StoreError, check_path

        value = proposal["value"]
        if value is None or not str(value).strip():
            return None
        if not isinstance(value, str | os.PathLike):
            raise TraitError(
                f"GroqMagics.store must be a file path or 'none' (got {type(value).__name__});"
                " the setting was not changed"
            )
        try:
            check_path(value)
        except StoreError as exc:
            raise TraitError(f"GroqMagics.store: {exc}; the setting was not changed") from None
        return os.fspath(value)

    @validate("prices")
    def _check_prices(self, proposal: Any) -> Any:
        from groq_magic.store import PriceFileError, load_prices

        value = proposal["value"]
        if value is None:
            return None
        if not isinstance(value, str | os.PathLike | Mapping):
            raise TraitError(
                "GroqMagics.prices must be a dict or the path of a JSON file"
                f" (got {type(value).__name__}); the setting was not changed"
            )
        try:
            load_prices(value)
        except PriceFileError as exc:
            raise TraitError(f"GroqMagics.prices: {exc}; the setting was not changed") from None
        return value

    # -- the session -----------------------------------------------------------------------

    @property
    def session(self) -> GroqSession:
        """The kernel's chats and backend, created with the first cell that needs them."""
        if self._session is None:
            self._session = self.make_session()
        return self._session

    @session.setter
    def session(self, value: GroqSession) -> None:
        self._session = value

    def make_session(self, backend: Backend | None = None) -> GroqSession:
        """A session whose backend and defaults follow this object's ``%config`` values."""
        from groq_magic.session import GroqSession

        backend = backend or Backend(
            base_url=lambda: self.base_url,
            timeout=lambda: self.timeout,
            max_retries=lambda: self.max_retries,
            notice=say,
        )
        from groq_magic.ui.approval import ShellApprover

        return GroqSession(
            backend,
            configured=self.configured,
            store=self.store_settings,
            pacing=self.pacing_caps,
            notebook=self.notebook_facts,
            mcp=self.mcp_settings,
            approver=ShellApprover(self.shell),
        )

    def notebook_facts(self) -> NotebookFacts:
        """What the kernel knows for ``--context``: In, Out, the last error, its language."""
        from groq_magic.cells import notebook_facts

        return notebook_facts(self.shell, self.errors, self._raw_cell)

    def mcp_settings(self) -> MCPSettings:
        """The MCP configuration now (``%config`` values; read at every use)."""
        from groq_magic.mcp import MCPSettings

        return MCPSettings(self.mcp_servers, self.mcp_config, self.mcp_start_timeout)

    def configured(self) -> dict[str, Any]:
        """The configured turn defaults by option name (None = not configured)."""
        return {knob.name: getattr(self, knob.name) for knob in CONFIG_KNOBS}

    def pacing_caps(self) -> PacingCaps:
        """The caps on the kernel's rate-limit pacer now (``%config`` values)."""
        from groq_magic.pacing import PacingCaps

        return PacingCaps(self.max_concurrency, self.requests_per_minute)

    def store_settings(self) -> StoreSettings:
        """The exchange store's settings now, with the notebook's path when the frontend
        tells it (read at every turn)."""
        from groq_magic.store import StoreSettings, notebook_path

        namespace = self.shell.user_ns if self.shell is not None else None
        return StoreSettings(
            path=self.store,
            prices=self.prices,
            show_cost=self.show_cost,
            notebook=notebook_path(namespace),
        )

    @property
    def user_ns(self) -> dict[str, Any]:
        """The notebook's namespace (prompt references, --schema, -o VAR, _groq)."""
        assert self.shell is not None, "GroqMagics needs a shell"
        namespace: dict[str, Any] = self.shell.user_ns
        return namespace

    # -- cell ids ----------------------------------------------------------------------

    def pre_run_cell(self, info: Any) -> None:
        """Remember the running cell's id (IPython passes the frontend's cellId)."""
        self._cell_id = getattr(info, "cell_id", None) or self._kernel_cell_id()
        self._raw_cell = getattr(info, "raw_cell", None)

    def _kernel_cell_id(self) -> str | None:
        from groq_magic._kernel import current_request

        metadata = current_request(getattr(self.shell, "kernel", None)).get("metadata") or {}
        cell_id = metadata.get("cellId")
        return cell_id if isinstance(cell_id, str) else None

    # -- flags -> options -----------------------------------------------------------------

    def settings(self) -> dict[str, Any]:
        """The configured defaults, as ``%groq config`` shows them."""
        return {
            **self.configured(),
            "base_url": self.base_url,
            "timeout": self.timeout,
            "max_retries": self.max_retries,
            "store": self.store,
            "prices": self.prices,
            "show_cost": self.show_cost,
            # Names only: an entry's env and headers may hold keys.
            "mcp_servers": ", ".join(map(str, self.mcp_servers or {})) or None,
            "mcp_config": self.mcp_config,
        }

    def options_from(self, args: Any) -> tuple[ChatOptions, dict[str, list[Any]]]:
        """This cell's flags as options (only what was given) and a compare grid.

        A list-taking flag given a comma list (``-t 0,0.7``, ``--compare a,b``) goes
        to the grid; everything else into the options. Configured defaults are not
        merged here: the one road (``prepare_turn``) applies them to every turn.
        """
        from groq_magic.chat import ChatOptions

        options, grid = options_from_flags(args, ChatOptions)
        return options, grid

    # -- the magic ---------------------------------------------------------------------

    # no_var_expand: IPython must not expand {expr} and $name on the line before we see
    # it (that would evaluate code the user did not mean to run); braces follow our own
    # template rules in the prompt and are literal in option values.
    @line_cell_magic
    @no_var_expand
    @with_knob_arguments
    def groq(self, line: str, cell: str | None = None) -> Any:
        """Chat with Groq (or the embedded local model) from a notebook.

        Each ``%%groq`` cell is the next turn of a conversation kept by the kernel;
        re-running a cell replaces the turn it made. ``{{name}}``, ``{{name.attr}}`` and
        ``{{name[0]}}`` in the prompt are filled from the notebook; other braces stay.
        The answer streams in as Markdown; the cell's value is a ChatResult (also in
        ``_groq``) with .text, .json, .parsed, .records, .df, .usage and .timings.

        The line form ``%groq [options] TEXT`` sends TEXT as a one-line prompt, or,
        when TEXT starts with a subcommand, runs it. Options go before the text; ``--``
        ends them (``%groq -- history of Rome`` asks about history). Subcommands::

            {subcommands}

        Examples::

            %%groq -m llama-3.3-70b-versatile -t 0.5 --stop ", 6"
            Count to 10. Your response must begin with "1, ".

            %groq history          %groq undo          %groq use drafts
        """
        try:
            return self._run(line, cell)
        except UsageError as exc:
            # The last net for every error line: a key echoed anywhere in it is masked.
            raise UsageError(redact(str(exc))) from None

    def _run(self, line: str, cell: str | None) -> Any:
        if looks_like_key(line):
            raise UsageError(
                "that line looks like it holds an API key, so it was not used: keys never go on"
                " a magic line; set GROQ_API_KEY or run %groq login"
            )
        parser = cast(Any, self.groq).parser  # set by magic_arguments
        argv, rest, forced_prompt = split_line(line, _options_with_values(parser))
        try:
            args = parser.parse_args(argv)
        except UsageError as exc:
            raise usage_error(exc) from None
        if cell is not None:
            if rest:
                raise UsageError(
                    f"unexpected words on the %%groq line: {rest!r}"
                    " (options go on the line, the prompt in the cell body)"
                )
            # The cell body ends with the newline the editor keeps; the prompt does not.
            return self._ask(args, cell.rstrip())
        first, _, tail = rest.partition(" ")
        if first in SUBCOMMANDS and not forced_prompt:
            return self._subcommand(first, tail.strip(), args)
        if not rest:
            raise UsageError("%groq needs a prompt or a subcommand; see %groq?")
        return self._ask(args, rest)

    def _ask(self, args: Any, prompt: str) -> Any:
        from groq_magic.chat import ChatError
        from groq_magic.chat.engine import TurnError
        from groq_magic.client import GroqError
        from groq_magic.render import choose_sink

        try:
            options, grid = self.options_from(args)
        except ChatError as exc:
            raise usage_error(exc) from None
        if args.data is not None:
            return self._evaluate(args, options, prompt, grid)
        if args.judge:
            raise UsageError("--judge grades the rows of an evaluation: add --data NAME")
        if grid or args.repeat is not None or args.check:
            return self._compare(args, options, prompt, grid)
        if args.ui:
            return self.panel(args, prompt, options)
        sink = choose_sink(self.shell)
        try:
            result = self.session.ask(options, prompt, self.user_ns, sink, cell_id=self._cell_id)
        except TurnError as exc:
            self.show_failed_generation(exc, sink)
            raise UsageError(str(exc)) from None
        except (ChatError, GroqError) as exc:
            raise usage_error(exc) from None
        return self.deliver(result, options.out, sink)

    @staticmethod
    def show_failed_generation(exc: TurnError, sink: Any) -> None:
        """Print the output that failed JSON checks, unless it is already on screen.

        A plain-text sink has streamed the answer and cannot take it back; the
        notebook sink empties its display on failure, and a server-side
        ``json_validate_failed`` arrives before anything was streamed.
        """
        from groq_magic.chat import ChatError

        if not exc.failed_generation:
            return
        streamed_locally = isinstance(exc.cause, ChatError)
        if streamed_locally and not getattr(sink, "shows_answer", False):
            return
        say("failed generation:\n" + exc.failed_generation)

    def _kept_as(self, out: str | None, make: Callable[[], Any]) -> Any:
        """``make()``'s value, kept in ``_groq`` (and ``-o VAR``); a ChatError or GroqError
        it raises is one usage line (a compare's table, an evaluation, the panel)."""
        from groq_magic.chat import ChatError
        from groq_magic.client import GroqError

        try:
            value = make()
        except (ChatError, GroqError) as exc:
            raise usage_error(exc) from None
        self.user_ns["_groq"] = value
        if out:
            self.user_ns[out] = value
        return value

    def _compare(
        self, args: Any, options: ChatOptions, prompt: str, grid: dict[str, list[Any]]
    ) -> Any:
        from groq_magic.ui import run_compare

        if args.ui:
            raise UsageError("--ui and a compare (--compare or list values) cannot be combined")
        repeat = args.repeat if args.repeat is not None else 1
        return self._kept_as(
            options.out,
            lambda: run_compare(
                self.session, options, grid, prompt, self.user_ns, repeat=repeat,
                shell=self.shell, checks=args.check,
            ),
        )  # fmt: skip

    def _evaluate(
        self, args: Any, options: ChatOptions, template: str, grid: dict[str, list[Any]]
    ) -> Any:
        """``%%groq --data NAME``: the template over each row, checked, judged and stored."""
        from groq_magic.evals.cell import evaluate_cell
        from groq_magic.ui.compare import checks_from_names

        if args.ui:
            raise UsageError("--ui and --data cannot be combined")
        return self._kept_as(
            options.out,
            lambda: evaluate_cell(
                self.session, options, grid, template, self.user_ns, data=args.data,
                checks=checks_from_names(args.check, self.user_ns), judges=args.judge,
                repeat=args.repeat,
            ),
        )  # fmt: skip

    def panel(self, args: Any, prompt: str | None, options: ChatOptions | None = None) -> Any:
        """``%%groq --ui`` (a prompt) or ``%groq ui`` (``prompt=None``: the last turn)."""
        from groq_magic.chat import ChatError
        from groq_magic.ui import show_panel

        if options is None:
            try:
                options, _ = self.options_from(args)
            except ChatError as exc:
                raise usage_error(exc) from None
        asked = options
        return self._kept_as(
            asked.out,
            lambda: show_panel(self.session, asked, prompt, self.user_ns, shell=self.shell),
        )

    def deliver(self, result: ChatResult, out: str | None, sink: Any) -> ChatResult:
        """Store the result in ``_groq`` (and ``-o VAR``) and return it for display (once)."""
        from groq_magic.cells import put_code_below
        from groq_magic.render.notebook import already_shown

        self.user_ns["_groq"] = result
        if out:
            self.user_ns[out] = result
        put_code_below(self.shell, result)
        if getattr(sink, "shows_answer", False):
            # The live display already is the answer's output, its footer saying
            # "interrupted" or "incomplete" when so; show it once, not twice.
            return already_shown(result, self.shell)
        if result.status == "interrupted":
            say(f"⏹ interrupted: the partial answer ({len(result.text)} characters) is kept")
        elif result.status == "incomplete":
            say(f"⚠ incomplete: {result.error}")
        return result

    def _subcommand(self, name: str, tail: str, args: Any) -> Any:
        from groq_magic.chat import ChatError
        from groq_magic.chat.explain import explain_error
        from groq_magic.client import APIError, GroqError

        command = SUBCOMMANDS[name]
        words: Any = tail
        if not command.raw:
            try:
                words = shlex.split(tail)
            except ValueError:
                raise UsageError(f"unbalanced quotes after %groq {name}") from None
            if command.options:
                words = command.take_options(name, words, args)
            low, high = command.arity
            if not low <= len(words) <= high:
                if high == 0:
                    raise UsageError(f"%groq {name} takes no arguments (got {tail!r})")
                if low == high == 1:
                    raise UsageError(
                        f"%groq {name} takes one {command.words} (quote it if it has spaces)"
                    )
                raise UsageError(f"usage: {command.usage(name)}")
        try:
            return command.handler(self, args, words)
        except APIError as exc:
            raise UsageError(explain_error(exc)) from None
        except (ChatError, GroqError) as exc:
            raise usage_error(exc) from None


def keep_question_marks(lines: list[str]) -> list[str]:
    """Input transformer: ``%groq What is 2+2?`` is a prompt, not a help request.

    IPython reads a line ending in ``?`` as "show help" before any magic runs;
    this rewrites such ``%groq`` lines (but not ``%groq?`` itself) into an
    explicit magic call so the question reaches the model.
    """
    out = []
    for line in lines:
        stripped = line.strip()
        if (
            stripped.startswith("%groq ")
            and stripped.endswith("?")
            and stripped.removeprefix("%groq ").strip(" ?")
        ):
            indent = line[: len(line) - len(line.lstrip())]
            rest = stripped.removeprefix("%groq ")
            line = f"{indent}get_ipython().run_line_magic('groq', {rest!r})\n"
        out.append(line)
    return out


def load(ipython: Any) -> None:
    """Register the magics with ``ipython`` (what ``%load_ext groq_magic`` calls)."""
    magics = GroqMagics(ipython)
    ipython.register_magics(magics)
    # Listed in configurables so %config GroqMagics.model = "..." reaches the instance.
    if magics not in ipython.configurables:
        ipython.configurables.append(magics)
    ipython.events.register("pre_run_cell", magics.pre_run_cell)
    ipython.events.register("post_run_cell", magics.errors.post_run_cell)
    if keep_question_marks not in ipython.input_transformers_cleanup:
        ipython.input_transformers_cleanup.append(keep_question_marks)
    ipython._groq_magics = magics


def unload(ipython: Any) -> None:
    """Unregister the cell-id hook, close the client and stop the local server."""
    magics = getattr(ipython, "_groq_magics", None)
    if magics is None:
        return
    for event, hook in (
        ("pre_run_cell", magics.pre_run_cell),
        ("post_run_cell", magics.errors.post_run_cell),
    ):
        try:
            ipython.events.unregister(event, hook)
        except ValueError:
            pass
    if keep_question_marks in ipython.input_transformers_cleanup:
        ipython.input_transformers_cleanup.remove(keep_question_marks)
    magics.session.close()
    if magics in ipython.configurables:
        ipython.configurables.remove(magics)
    from groq_magic.local import stop_local_server

    stop_local_server()
    del ipython._groq_magics
