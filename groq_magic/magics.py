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
import shlex
from typing import TYPE_CHECKING, Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments
from traitlets import Bool, Float, Int, Unicode

from groq_magic._keys import looks_like_key
from groq_magic.backend import Backend

if TYPE_CHECKING:
    from groq_magic.chat import ChatOptions, ChatResult
    from groq_magic.chat.engine import TurnError
    from groq_magic.session import GroqSession

__all__ = ["GroqMagics", "load", "unload"]

SUBCOMMANDS = (
    "history",
    "reset",
    "undo",
    "retry",
    "save",
    "load",
    "chats",
    "use",
    "system",
    "models",
    "config",
    "local",
    "login",
    "ui",
)

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


# Flags that take one value or, for a compare, a comma-separated list.
_LIST_FLAGS: tuple[tuple[str, str, type], ...] = (
    ("temperature", "--temperature", float),
    ("top_p", "--top-p", float),
    ("max_tokens", "--max-tokens", int),
    ("seed", "--seed", int),
)


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
    return UsageError(" ".join(str(exc).split()))


def _first(value: Any, default: Any) -> Any:
    return value if value is not None else default


def _options_with_values(parser: Any) -> set[str]:
    """The option strings that take a value (so the next token is not the prompt)."""
    return {
        option
        for action in parser._actions
        if action.nargs != 0
        for option in action.option_strings
    }


@magics_class
class GroqMagics(Magics):
    """``%%groq`` cells: each one a turn of a conversation held by this kernel."""

    model = Unicode("", help="Default model ('' = the backend's default).").tag(config=True)
    temperature = Float(None, allow_none=True, help="Default temperature (0..2).").tag(config=True)
    top_p = Float(None, allow_none=True, help="Default top_p (0..1).").tag(config=True)
    max_tokens = Int(None, allow_none=True, help="Default --max-tokens.").tag(config=True)
    seed = Int(None, allow_none=True, help="Default --seed.").tag(config=True)
    system = Unicode(None, allow_none=True, help="Default system prompt per cell.").tag(config=True)
    stream = Bool(True, help="Stream answers (False = wait for the whole answer).").tag(config=True)
    base_url = Unicode(
        None, allow_none=True, help="OpenAI-compatible API root (else $GROQ_BASE_URL, else Groq)."
    ).tag(config=True)
    timeout = Float(60.0, help="Seconds to wait for the server.").tag(config=True)
    max_retries = Int(2, help="Retries for rate limits and server errors.").tag(config=True)

    def __init__(self, shell: Any = None, **kwargs: Any) -> None:
        super().__init__(shell, **kwargs)
        self._session: GroqSession | None = None
        self._cell_id: str | None = None

    @property
    def session(self) -> GroqSession:
        """The kernel's chats and backend, created with the first cell that needs them."""
        if self._session is None:
            from groq_magic.session import GroqSession

            self._session = GroqSession(
                Backend(
                    base_url=lambda: self.base_url,
                    timeout=lambda: self.timeout,
                    max_retries=lambda: self.max_retries,
                    notice=print,
                )
            )
        return self._session

    @session.setter
    def session(self, value: GroqSession) -> None:
        self._session = value

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

    def _kernel_cell_id(self) -> str | None:
        kernel = getattr(self.shell, "kernel", None)
        get_parent = getattr(kernel, "get_parent", None)
        if get_parent is None:
            return None
        try:
            parent = get_parent()
        except TypeError:  # older ipykernel wants the channel name
            parent = get_parent("shell")
        metadata = (parent or {}).get("metadata") or {}
        cell_id = metadata.get("cellId")
        return cell_id if isinstance(cell_id, str) else None

    # -- defaults ----------------------------------------------------------------------

    def settings(self) -> dict[str, Any]:
        """The configured defaults, as ``%groq config`` shows them."""
        return {
            "model": self.model or None,
            "temperature": self.temperature,
            "top_p": self.top_p,
            "max_tokens": self.max_tokens,
            "seed": self.seed,
            "system": self.system,
            "stream": self.stream,
            "base_url": self.base_url,
            "timeout": self.timeout,
            "max_retries": self.max_retries,
        }

    def grid_from(self, args: Any) -> dict[str, list[Any]]:
        """The list-valued flags of a compare (``--compare a,b``, ``-t 0,0.7``): name -> values.

        Only flags given with more than one value (or ``--compare``) appear.
        """
        grid: dict[str, list[Any]] = {}
        if args.compare is not None:
            grid["model"] = split_list("--compare", args.compare, str)
        for name, flag, kind in _LIST_FLAGS:
            raw = getattr(args, name)
            if raw is not None and "," in raw:
                grid[name] = split_list(flag, raw, kind)
        return grid

    def options_from(self, args: Any, grid: dict[str, list[Any]] | None = None) -> ChatOptions:
        """Configured defaults overridden by this cell's flags; bounds checked here.

        Flags that ``grid`` holds as lists keep their configured default here; the
        compare runs substitute each value in turn.
        """
        grid = grid or {}
        single = {
            name: None
            if name in grid or getattr(args, name) is None
            else split_list(flag, getattr(args, name), kind)[0]
            for name, flag, kind in _LIST_FLAGS
        }
        given: dict[str, Any] = {
            # Only an explicit -m goes here: the configured default is resolved by the
            # backend, which ignores a Groq model name when the local model answers.
            "model": args.model or None,
            "temperature": _first(single["temperature"], self.temperature),
            "top_p": _first(single["top_p"], self.top_p),
            "max_tokens": _first(single["max_tokens"], self.max_tokens),
            "seed": _first(single["seed"], self.seed),
            "system": args.system if args.system is not None else self.system,
            "stop": [unescape(s) for s in args.stop or []],
            "chat": args.chat,
            "json_mode": bool(args.json),
            "schema_name": args.schema,
            "stream": self.stream and not args.no_stream,
            "history": not args.no_history,
            "out": args.out,
        }
        from groq_magic.chat import ChatOptions

        return ChatOptions.parse(**given)

    # -- the magic ---------------------------------------------------------------------

    @magic_arguments()
    @argument("-m", "--model", help="Model id (see %%groq models).")
    @argument(
        "-t", "--temperature", help="Sampling temperature, 0 to 2 (a list 0,0.7,1.2 compares)."
    )
    @argument("--top-p", dest="top_p", help="Nucleus sampling mass, 0 to 1 (or a list).")
    @argument("--max-tokens", dest="max_tokens", help="Most tokens to generate (or a list).")
    @argument(
        "--stop",
        action="append",
        help='A stop sequence (repeat for up to 4); quote it: --stop ", 6". \\n is a newline.',
    )
    @argument("--seed", help="Sampling seed, for repeatable answers (or a list).")
    @argument("-s", "--system", help="System prompt for this cell.")
    @argument("-c", "--chat", metavar="NAME", help="Talk in the named chat (created if new).")
    @argument("--json", action="store_true", help="JSON mode: the answer is parsed into .json.")
    @argument(
        "--schema",
        metavar="NAME",
        help="Structured output: a pydantic model class or JSON-schema dict in the notebook.",
    )
    @argument(
        "--no-stream", dest="no_stream", action="store_true", help="Wait for the whole answer."
    )
    @argument(
        "--no-history",
        dest="no_history",
        action="store_true",
        help="Send no earlier turns and record none.",
    )
    @argument("-o", "--out", metavar="VAR", help="Also store the ChatResult (or table) in VAR.")
    @argument(
        "--compare",
        metavar="MODELS",
        help="Run the prompt on each model (comma-separated) side by side, with a summary table.",
    )
    @argument("--repeat", type=int, help="Compare: run each combination N times (other seeds).")
    @argument("--ui", action="store_true", help="Show sliders and controls to re-run the prompt.")
    @line_cell_magic
    def groq(self, line: str, cell: str | None = None) -> Any:
        """Chat with Groq (or the embedded local model) from a notebook.

        Each ``%%groq`` cell is the next turn of a conversation kept by the kernel;
        re-running a cell replaces the turn it made. ``{name}``, ``{name.attr}`` and
        ``{name[0]}`` in the prompt are filled from the notebook; other braces stay.
        The answer streams in as Markdown; the cell's value is a ChatResult (also in
        ``_groq``) with .text, .json, .parsed, .records, .df, .usage and .timings.

        The line form ``%groq [options] TEXT`` sends TEXT as a one-line prompt, or,
        when TEXT starts with a subcommand, runs it: history, reset, undo, retry,
        save PATH, load PATH, chats, use NAME, system [TEXT], models, config,
        local [status|start|stop], login, ui. Options go before the text; ``--``
        ends them (``%groq -- history of Rome`` asks about history).

        Examples::

            %%groq -m llama-3.3-70b-versatile -t 0.5 --stop ", 6"
            Count to 10. Your response must begin with "1, ".

            %groq history          %groq undo          %groq use drafts
        """
        if looks_like_key(line):
            raise UsageError(
                "that line looks like it holds an API key, so it was not used: keys never go on"
                " a magic line; set GROQ_API_KEY or run %groq login"
            )
        parser = self.groq.parser
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

        grid = self.grid_from(args)
        if grid or args.repeat is not None:
            return self._compare(args, prompt, grid)
        if args.ui:
            return self._panel(args, prompt)
        sink = choose_sink(self.shell)
        try:
            options = self.options_from(args)
            result = self.session.ask(
                options,
                prompt,
                self.user_ns,
                sink,
                configured_model=self.model or None,
                cell_id=self._cell_id,
            )
        except TurnError as exc:
            self._show_failed_generation(exc, sink)
            raise UsageError(str(exc)) from None
        except (ChatError, GroqError) as exc:
            raise usage_error(exc) from None
        return self._deliver(result, options.out, sink)

    @staticmethod
    def _show_failed_generation(exc: TurnError, sink: Any) -> None:
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
        print("failed generation:\n" + exc.failed_generation)

    def _compare(self, args: Any, prompt: str, grid: dict[str, list[Any]]) -> Any:
        from groq_magic.chat import ChatError
        from groq_magic.client import GroqError
        from groq_magic.ui import run_compare

        if args.ui:
            raise UsageError("--ui and a compare (--compare or list values) cannot be combined")
        try:
            options = self.options_from(args, grid)
            table = run_compare(
                self.session,
                options,
                grid,
                prompt,
                self.user_ns,
                repeat=args.repeat if args.repeat is not None else 1,
                shell=self.shell,
                configured_model=self.model or None,
            )
        except (ChatError, GroqError) as exc:
            raise usage_error(exc) from None
        self.user_ns["_groq"] = table
        if options.out:
            self.user_ns[options.out] = table
        return table

    def _panel(self, args: Any, prompt: str | None) -> Any:
        from groq_magic.chat import ChatError
        from groq_magic.client import GroqError
        from groq_magic.ui import show_panel

        try:
            options = self.options_from(args)
            panel = show_panel(
                self.session,
                options,
                prompt,
                self.user_ns,
                shell=self.shell,
                configured_model=self.model or None,
            )
        except (ChatError, GroqError) as exc:
            raise usage_error(exc) from None
        self.user_ns["_groq"] = panel
        if options.out:
            self.user_ns[options.out] = panel
        return panel

    def _deliver(self, result: ChatResult, out: str | None, sink: Any) -> ChatResult:
        from groq_magic.render.notebook import already_shown

        self.user_ns["_groq"] = result
        if out:
            self.user_ns[out] = result
        if getattr(sink, "shows_answer", False):
            # The live display already is the answer's output, its footer saying
            # "interrupted" or "incomplete" when so; show it once, not twice.
            return already_shown(result, self.shell)
        if result.status == "interrupted":
            print(f"⏹ interrupted: the partial answer ({len(result.text)} characters) is kept")
        elif result.status == "incomplete":
            print(f"⚠ incomplete: {result.error}")
        return result

    def _subcommand(self, name: str, tail: str, args: Any) -> Any:
        from groq_magic.chat import ChatError
        from groq_magic.chat.engine import TurnError
        from groq_magic.chat.explain import explain_error
        from groq_magic.client import APIError, GroqError

        session = self.session
        try:
            rest = shlex.split(tail) if name != "system" else []
        except ValueError:
            raise UsageError(f"unbalanced quotes after %groq {name}") from None
        try:
            if name == "history":
                return session.history(args.chat)
            if name == "reset":
                return session.reset(args.chat)
            if name == "undo":
                return session.undo(args.chat)
            if name == "retry":
                from groq_magic.render import choose_sink

                sink = choose_sink(self.shell)
                try:
                    result = session.retry(
                        sink, configured_model=self.model or None, name=args.chat
                    )
                except TurnError as exc:
                    self._show_failed_generation(exc, sink)
                    raise UsageError(str(exc)) from None
                return self._deliver(result, args.out, sink)
            if name in ("save", "load", "use"):
                if len(rest) != 1:
                    what = "NAME" if name == "use" else "PATH"
                    raise UsageError(f"%groq {name} takes one {what} (quote it if it has spaces)")
                if name == "save":
                    return session.save(rest[0], args.chat)
                return getattr(session, name)(rest[0])
            if name == "chats":
                return session.chats()
            if name == "system":
                # The system prompt is taken as typed, apostrophes and all.
                return session.system(tail or None, args.chat)
            if name == "models":
                return session.models()
            if name == "config":
                return session.config(self.settings())
            if name == "local":
                return self._local(rest)
            if name == "login":
                return self._login()
            if name == "ui":
                return self._panel(args, None)
        except APIError as exc:
            raise UsageError(explain_error(exc)) from None
        except (ChatError, GroqError) as exc:
            raise usage_error(exc) from None
        raise UsageError(f"unknown subcommand {name!r}")

    def _local(self, rest: list[str]) -> Any:
        from groq_magic.local import get_local_server, local_available, stop_local_server
        from groq_magic.session import Report

        action = rest[0] if rest else "status"
        if action not in ("status", "stop", "start"):
            raise UsageError("%groq local takes status, start or stop")
        if not local_available():
            from groq_magic.local import missing_backend_message

            return Report([missing_backend_message()])
        if action == "stop":
            stopped = stop_local_server()
            return Report(["local model server stopped" if stopped else "no local server running"])
        from groq_magic.local import LocalModelError

        server = get_local_server()
        if action == "start":
            try:
                server.ensure_running(on_notice=print)
            except LocalModelError as exc:
                # The first line is the error; the server's log tail follows it.
                raise UsageError(str(exc).splitlines()[0]) from None
        return Report([str(server.status())])

    def _login(self) -> Any:
        import getpass

        from groq_magic.session import Report

        key = getpass.getpass("Groq API key (input hidden): ").strip()
        if not key:
            raise UsageError("no key entered; nothing changed")
        self.session.backend.login(key)
        return Report(["key stored for this kernel only (not saved anywhere)"])


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
    if keep_question_marks not in ipython.input_transformers_cleanup:
        ipython.input_transformers_cleanup.append(keep_question_marks)
    ipython._groq_magics = magics


def unload(ipython: Any) -> None:
    """Unregister the cell-id hook, close the client and stop the local server."""
    magics = getattr(ipython, "_groq_magics", None)
    if magics is None:
        return
    try:
        ipython.events.unregister("pre_run_cell", magics.pre_run_cell)
    except ValueError:
        pass
    if keep_question_marks in ipython.input_transformers_cleanup:
        ipython.input_transformers_cleanup.remove(keep_question_marks)
    magics.session.backend.close()
    if magics in ipython.configurables:
        ipython.configurables.remove(magics)
    from groq_magic.local import stop_local_server

    stop_local_server()
    del ipython._groq_magics
