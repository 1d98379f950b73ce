"""A kernel's conversations and everything ``%groq`` can do, without IPython.

:class:`GroqSession` is the plain class behind the magic (as autoreload's logic
lives in a plain class): it holds the chats, asks the :class:`Backend` for the
client, runs turns through :func:`~groq_magic.chat.engine.run_turn`, and answers
the line subcommands with :class:`Report` objects that show as Markdown in a
notebook and as aligned text in a terminal. The magic only parses, looks names
up in the user's namespace and maps errors to one line.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from groq_magic._keys import redact
from groq_magic._text import cost_text, one_line, printable
from groq_magic.backend import Backend
from groq_magic.chat import (
    ChatError,
    ChatOptions,
    ChatResult,
    ChatStore,
    Conversation,
    Turn,
    UnknownChatError,
)
from groq_magic.chat.engine import run_turn
from groq_magic.chat.prepare import PreparedTurn, TurnDefaults, options_again, prepare_turn
from groq_magic.chat.sink import StreamSink

if TYPE_CHECKING:
    from groq_magic.chat.context import NotebookFacts
    from groq_magic.chat.tools import ToolBox
    from groq_magic.chat.tools.approval import Approver
    from groq_magic.chat.tools.remote import RemoteToolset
    from groq_magic.mcp import MCPServers, MCPSettings
    from groq_magic.pacing import PacingCaps
    from groq_magic.store import StoreLog, StoreSettings

__all__ = ["GroqSession", "Report", "Table", "find_session"]


def _shown(value: Any) -> str:
    """A table cell or report line as shown: masked of keys, one line, escaped controls."""
    return printable(redact("" if value is None else str(value)))


def _md_cell(value: Any) -> str:
    # Markdown and HTML must not read a cell's text (names and texts may come from files).
    return _shown(value).replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")


@dataclass
class Table:
    """Rows of dicts that show as a Markdown table in notebooks and aligned text elsewhere.

    Every cell and the title are masked of keys and escaped (:func:`_shown`): what a
    table shows may have come from a loaded file or a server."""

    rows: list[dict[str, Any]]
    title: str = ""
    empty: str = "(nothing yet)"

    def _columns(self) -> list[str]:
        return list(self.rows[0]) if self.rows else []

    def _repr_markdown_(self) -> str:
        head = f"**{_md_cell(self.title)}**\n\n" if self.title else ""
        if not self.rows:
            return head + self.empty
        cols = self._columns()
        lines = ["| " + " | ".join(_md_cell(c) for c in cols) + " |", "|" + "---|" * len(cols)]
        lines += ["| " + " | ".join(_md_cell(r.get(c)) for c in cols) + " |" for r in self.rows]
        return head + "\n".join(lines)

    def __repr__(self) -> str:
        head = f"{_shown(self.title)}\n" if self.title else ""
        if not self.rows:
            return head + self.empty
        cols = [_shown(c) for c in self._columns()]
        cells = [[_shown(r.get(c)) for c in self._columns()] for r in self.rows]
        widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(cols)]
        fmt = "  ".join(f"{{:<{w}}}" for w in widths)
        return head + "\n".join([fmt.format(*cols), *(fmt.format(*row) for row in cells)])


@dataclass
class Report:
    """A short answer to a subcommand: one or more lines of text."""

    lines: list[str] = field(default_factory=list)

    def _repr_markdown_(self) -> str:
        return "  \n".join(_md_cell(line) for line in self.lines)

    def __repr__(self) -> str:
        return "\n".join(_shown(line) for line in self.lines)


class GroqSession:
    """One kernel's chats, backend and defaults; the logic behind ``%%groq`` and ``%groq``.

    ``configured`` returns the configured defaults (``%config GroqMagics.*``) by
    option name; it is read at every turn, so a change reaches the next cell.
    ``store`` returns the exchange store's settings, also read at every turn;
    without it nothing is stored (costs are still priced). ``notebook`` returns
    what the kernel knows beyond the namespace (``In``, ``Out``, the last error),
    for ``--context``.
    """

    def __init__(
        self,
        backend: Backend | None = None,
        configured: Callable[[], Mapping[str, Any]] | None = None,
        store: Callable[[], StoreSettings] | None = None,
        pacing: Callable[[], PacingCaps] | None = None,
        notebook: Callable[[], NotebookFacts] | None = None,
        mcp: Callable[[], MCPSettings] | None = None,
        approver: Approver | None = None,
    ) -> None:
        self.backend = backend or Backend()
        self.store = ChatStore()
        self._configured = configured or dict
        self._store_settings = store
        self._pacing = pacing
        self._notebook = notebook
        self._log: StoreLog | None = None
        self._mcp_settings = mcp
        self._mcp_servers: MCPServers | None = None
        self.approver = approver  # answers --approve ask (None: no one can; calls are refused)

    @classmethod
    def standalone(cls, config: Mapping[str, Any], backend: Backend | None = None) -> GroqSession:
        """A session made without ``%load_ext``, reading what the extension reads.

        ``config`` is the ``GroqMagics`` section of the configuration (an IPython
        profile's ``c.GroqMagics...``; empty without one): the knob defaults, the
        server, timeout and retries, the exchange store (else ``$GROQ_MAGIC_STORE`` or
        the user data folder) and the pacer's caps. The key comes from the
        environment or a ``.env`` file as the extension's does, unless ``backend`` is
        given (a client's own, say).
        """
        from groq_magic._defaults import DEFAULT_MAX_RETRIES, DEFAULT_TIMEOUT
        from groq_magic.knobs import CONFIG_KNOBS
        from groq_magic.pacing import DEFAULT_MAX_CONCURRENCY, PacingCaps
        from groq_magic.store import StoreSettings

        settings = dict(config)
        knobs = {
            knob.name: ChatOptions.check_default(
                knob.name, settings[knob.name], called=f"GroqMagics.{knob.name}"
            )
            for knob in CONFIG_KNOBS
            if settings.get(knob.name) is not None
        }
        caps = PacingCaps(
            settings.get("max_concurrency", DEFAULT_MAX_CONCURRENCY),
            settings.get("requests_per_minute"),
        )
        return cls(
            backend
            or Backend(
                base_url=lambda: settings.get("base_url"),
                timeout=float(settings.get("timeout", DEFAULT_TIMEOUT)),
                max_retries=int(settings.get("max_retries", DEFAULT_MAX_RETRIES)),
            ),
            configured=lambda: knobs,
            store=lambda: StoreSettings(
                path=settings.get("store"),
                prices=settings.get("prices"),
                show_cost=bool(settings.get("show_cost", False)),
            ),
            pacing=lambda: caps,
        )

    # -- the one road into a turn ---------------------------------------------------------

    def conversation(self, name: str | None) -> Conversation:
        """The chat a cell talks to: ``-c NAME`` (created on first use) or the current one."""
        return self.store.get(name, create=True) if name else self.store.current

    def defaults(self) -> TurnDefaults:
        """The configured option defaults and the default model, as every turn applies them."""
        configured = dict(self._configured())
        # The model is the backend's to choose: a Groq name means nothing to the local model.
        model = self.backend.default_model(configured.pop("model", None) or None)
        return TurnDefaults(options=configured, model=model)

    def pacing_caps(self) -> PacingCaps:
        """The user's caps on the kernel's rate-limit pacer now (read at each compare/sweep)."""
        if self._pacing is None:
            from groq_magic.pacing import PacingCaps

            return PacingCaps()
        return self._pacing()

    def prepare(
        self,
        options: ChatOptions,
        template: str,
        namespace: Mapping[str, Any] | None,
        *,
        conversation: Conversation | None = None,
        rendered: bool = False,
        message: Mapping[str, Any] | None = None,
        cell_id: str | None = None,
        replaces: str | None = None,
        schema: object | None = None,
        toolbox: ToolBox | None = None,
    ) -> PreparedTurn:
        """Every road's preparation (cell, retry, panel, compare, sweep): see ``prepare_turn``."""
        return prepare_turn(
            options,
            template,
            namespace,
            conversation if conversation is not None else self.conversation(options.chat),
            defaults=self.defaults(),
            rendered=rendered,
            message=message,
            cell_id=cell_id,
            replaces=replaces,
            schema=schema,
            toolbox=toolbox,
            log=self.log,
            notebook=self._notebook() if self._notebook is not None else None,
            remote=self,
            approver=self.approver,
        )

    def prepare_again(
        self,
        turn: Turn,
        conversation: Conversation,
        namespace: Mapping[str, Any] | None,
        changes: Mapping[str, Any] | None = None,
    ) -> PreparedTurn:
        """A recorded turn prepared again (retry, ``%groq ui``), replacing it when it succeeds.

        The turn's own options and schema are reused; ``changes`` (the flags typed on
        the ``%groq retry`` or ``%groq ui`` line) go on top (see ``options_again``: a
        loaded or restored turn offers no tools of its own). The recorded prompt is
        already rendered.
        """
        options = options_again(turn, {**(changes or {}), "chat": conversation.name})
        return self.prepare(
            options,
            turn.prompt,
            namespace,
            conversation=conversation,
            rendered=True,
            message=turn.user_message,
            cell_id=turn.cell_id,
            replaces=turn.id,
            schema=turn.schema_object,
        )

    def ask(
        self,
        options: ChatOptions,
        template: str,
        namespace: Mapping[str, Any],
        sink: StreamSink,
        *,
        cell_id: str | None = None,
    ) -> ChatResult:
        """Fill the prompt from ``namespace`` and run it as the next turn."""
        prep = self.prepare(options, template, namespace, cell_id=cell_id)
        return run_turn(prep, self.backend.client(), sink)

    def retry(
        self,
        sink: StreamSink,
        namespace: Mapping[str, Any] | None = None,
        *,
        name: str | None = None,
        changes: Mapping[str, Any] | None = None,
    ) -> ChatResult:
        """Run a chat's last turn again, replacing it when the new answer arrives.

        ``changes``: options typed on the retry line (``%groq -t 0 retry``) over the turn's.
        A retry asks for a fresh answer: it is never replayed from the store, even with
        ``--cache`` on, and the new answer is the one later replays give.
        """
        conversation = self.chat(name)
        fresh = {**(changes or {}), "cache": False}
        prep = self.prepare_again(conversation.retry(), conversation, namespace, fresh)
        return run_turn(prep, self.backend.client(), sink)

    # -- the exchange store ----------------------------------------------------------------

    @property
    def log(self) -> StoreLog:
        """The turn log every road gets: the exchange store as configured now.

        The file opens on first use; a change of ``%config GroqMagics.store`` or
        ``prices`` opens the new one at the next turn.
        """
        settings = self._store_settings() if self._store_settings is not None else None
        log = self._log
        if log is None or (settings is not None and not settings.same_store(log.settings)):
            return self._open_log(settings)
        if settings is not None:
            log.settings = settings
        return log

    def _open_log(self, settings: StoreSettings | None) -> StoreLog:
        from groq_magic.store import PriceFileError, Store, StoreLog, StoreSettings, open_store

        if self._log is not None:
            self._log.store.close()
        if settings is None:
            store = Store.off("no store was configured for this session")
        else:
            try:
                store = open_store(
                    settings.path, on_warning=self.backend.notice, prices=settings.prices
                )
            except PriceFileError as exc:  # the file was valid when set, and changed since
                self.backend.notice(f"groq_magic: {exc}; the shipped price table is used")
                store = open_store(settings.path, on_warning=self.backend.notice)
        self._log = StoreLog(store, server=self.server_url, settings=settings or StoreSettings())
        return self._log

    def close(self) -> None:
        """Close the client pools and the exchange store's file; stop the MCP servers."""
        self.backend.close()
        if self._log is not None:
            self._log.store.close()
        if self._mcp_servers is not None:
            self._mcp_servers.stop()

    # -- MCP servers ---------------------------------------------------------------------

    @property
    def mcp_servers(self) -> MCPServers:
        """The kernel's MCP servers, configured from this session's settings."""
        if self._mcp_servers is None:
            from groq_magic.mcp import kernel_servers

            self._mcp_servers = kernel_servers(self._mcp_settings)
        return self._mcp_servers

    @mcp_servers.setter
    def mcp_servers(self, servers: MCPServers) -> None:
        self._mcp_servers = servers

    def toolset(self, servers: Sequence[str]) -> RemoteToolset:
        """The tools of the ``--mcp`` servers (what ``prepare_turn`` asks the session for)."""
        return self.mcp_servers.toolset(servers)

    def mcp(self, action: str | None = None, name: str | None = None) -> Table | Report:
        """``%groq mcp`` (list), ``%groq mcp start NAME``, ``%groq mcp stop [NAME]``."""
        servers = self.mcp_servers
        if action in (None, "list"):
            if name is not None:
                raise ChatError("%groq mcp lists every server: it takes no name")
            return Table(
                servers.listing(),
                title="MCP servers (configured in GroqMagics.mcp_servers / mcp_config)",
                empty="(no MCP servers configured: %config GroqMagics.mcp_servers = {...})",
            )
        if action == "start":
            if name is None:
                raise ChatError("%groq mcp start takes a server's name")
            return Report([servers.start(name)])
        if action == "stop":
            stopped = servers.stop(name)
            if not stopped:
                return Report(
                    [
                        f"mcp server '{name}' was not running"
                        if name
                        else "no MCP server was running"
                    ]
                )
            return Report(
                [f"stopped mcp server{'s' if len(stopped) > 1 else ''} {', '.join(stopped)}"]
            )
        raise ChatError(f"%groq mcp takes list, start NAME or stop [NAME] (got {action!r})")

    def server_url(self) -> str | None:
        """The server the next request goes to, as the replay cache names it (no key).

        The embedded model is ``local://<model file>``: its port changes with each
        kernel, its answers to the same request do not.
        """
        choice = self.backend.choice()
        if choice.kind == "local":
            from groq_magic.local import LOCAL_MODEL_NAME, MODEL_ENV

            model = os.environ.get(MODEL_ENV)
            return f"local://{Path(model).name if model else LOCAL_MODEL_NAME}"
        from groq_magic.client import ArgumentError, resolve_base_url

        try:
            return resolve_base_url(choice.base_url)
        except ArgumentError:
            return choice.base_url

    def exchanges(
        self, limit: int = 20, chat: str | None = None, search: str | None = None
    ) -> Table:
        """``%groq log``: the newest stored exchanges, of one chat or matching a search."""
        rows = self.log.store.log(limit, chat=chat, search=search)
        for row in rows:
            row["cost"] = cost_text(row["cost"])
        which = f" of chat {chat!r}" if chat else ""
        found = f" matching {search!r}" if search else ""
        return Table(
            rows,
            title=f"stored exchanges{which}{found}, newest first",
            empty="(no stored exchanges)",
        )

    def restore(self, name: str | None = None) -> Report:
        """Bring stored chats back (after a restart): this notebook's, or the one named.

        A chat in memory is replaced only when the store holds every turn it has
        (after a restart it has none), so a restore never loses a turn.
        """
        log = self.log
        restored = log.restore(name)
        if not restored:
            where = log.settings.notebook or "this session (no notebook path known)"
            return Report([f"nothing to restore: no chats stored for {where}"])
        lines, done = [], []
        for conversation in restored.values():
            live = self.store.conversations.get(conversation.name)
            stored = {turn.id for turn in conversation.turns}
            if live is not None and any(turn.id not in stored for turn in live.turns):
                lines.append(
                    f"chat {conversation.name!r} was kept as it is: it has turns in memory"
                    " that the store does not (loaded from a file, or run while the store was off)"
                )
                continue
            self.store.conversations[conversation.name] = conversation
            done.append(f"{conversation.name!r} ({len(conversation)} turns)")
        if name is not None and done:
            self.store.use(name)
        if done:
            lines.insert(0, f"restored {', '.join(done)}; re-running a cell replaces its turn")
        return Report(lines)

    def export(self, path: str, name: str | None = None, *, force: bool = False) -> Report:
        """Write a chat (the current one unless named) as Markdown or as a notebook."""
        from groq_magic.store import export

        conversation = self.chat(name)
        written = export(conversation, path, force=force)
        return Report(
            [f"exported chat {conversation.name!r} ({len(conversation)} turns) to {written}"]
        )

    def usage(self, *, today: bool = False, chat: str | None = None) -> Table:
        """``%groq usage``: tokens and cost per model, summed from the store."""
        rows = self.log.store.usage_summary(today=today, chat=chat)
        if len(rows) > 1:
            rows.append(_usage_total(rows))
        for row in rows:
            row["cost"] = cost_text(row["cost"])
            row["saved"] = cost_text(row["saved"])
        scope = " today" if today else ""
        which = f" in chat {chat!r}" if chat else ""
        return Table(rows, title=f"usage{scope}{which}, by model", empty="(nothing stored)")

    def cache(self, action: str = "info", older_than: str | None = None) -> Table | Report:
        """``%groq cache info`` / ``%groq cache clear [--older-than AGE]``."""
        from groq_magic.store import parse_age

        if action not in ("info", "clear"):
            raise ChatError(f"%groq cache takes info or clear (got {action!r})")
        if action == "info":
            if older_than is not None:
                raise ChatError("--older-than goes with %groq cache clear")
            info = self.log.store.cache_info()
            return Table(info.as_rows(), title="the exchange store (log and replay cache)")
        age = parse_age(older_than) if older_than is not None else None
        gone = self.log.store.cache_clear(age)
        which = f" older than {older_than}" if older_than is not None else ""
        # The log and the replay cache are the same records: clearing one clears both.
        return Report([f"deleted {gone} stored exchanges{which} from the log and the cache"])

    # -- subcommands -----------------------------------------------------------------

    def chat(self, name: str | None = None) -> Conversation:
        """The chat a line command acts on: ``-c NAME`` (which must exist) or the current one."""
        return self.store.get(name) if name else self.store.current

    def history(self, name: str | None = None) -> Table:
        """The turns of a chat as a table."""
        conversation = self.chat(name)
        system = f" (system: {conversation.system})" if conversation.system else ""
        return Table(
            conversation.table_rows(),
            title=f"chat {conversation.name!r}: {len(conversation)} turns{system}",
            empty="(no turns yet)",
        )

    def reset(self, name: str | None = None) -> Report:
        """Forget a chat's turns (the current chat unless named)."""
        conversation = self.chat(name)
        count = len(conversation)
        conversation.reset()
        self.log.reset(conversation.name)
        return Report([f"chat {conversation.name!r} reset ({count} turns forgotten)"])

    def undo(self, name: str | None = None) -> Report:
        """Remove a chat's last turn (the current chat unless named)."""
        conversation = self.chat(name)
        turn = conversation.undo()
        self.log.undone(conversation.name, turn.id)
        prompt = one_line(turn.prompt, 60)
        return Report([f"removed the last turn of {conversation.name!r}: {prompt!r}"])

    def save(self, path: str, name: str | None = None) -> Report:
        """Write a chat (the current one unless named) to a JSON file."""
        conversation = self.chat(name)
        written = conversation.save(path)
        return Report(
            [f"saved chat {conversation.name!r} ({len(conversation)} turns) to {written}"]
        )

    def load(self, path: str) -> Report:
        """Read a chat from a JSON file; it becomes the current chat."""
        conversation = self.store.load(path)
        self.store.use(conversation.name)
        return Report(
            [f"loaded chat {conversation.name!r} ({len(conversation)} turns); it is now current"]
        )

    def chats(self) -> Table:
        """Every chat with its turn count; the current one marked."""
        return Table(self.store.chats(), title="chats")

    def use(self, name: str) -> Report:
        """Switch the current chat to an existing one."""
        known = [c["name"] for c in self.store.chats()]
        if name not in known:
            raise UnknownChatError(
                f"no chat named {name!r} (chats: {', '.join(known)});"
                f" start one with %%groq -c {name}"
            )
        conversation = self.store.use(name)
        return Report([f"now talking in chat {name!r} ({len(conversation)} turns)"])

    def system(self, text: str | None, name: str | None = None) -> Report:
        """Set a chat's system prompt, or show it when ``text`` is None."""
        conversation = self.chat(name)
        if text is None:
            shown = conversation.system or "(none)"
            return Report([f"system prompt of {conversation.name!r}: {shown}"])
        conversation.set_system(text)
        shown = conversation.system or "(cleared)"
        return Report([f"system prompt of {conversation.name!r} set: {shown}"])

    def models(self) -> Table:
        """The models the server offers."""
        listing = self.backend.client().models.list()
        rows = [
            {
                "id": m.id,
                "owned_by": m.owned_by or "",
                "context_window": m.context_window if m.context_window is not None else "",
            }
            for m in sorted(listing.data, key=lambda m: m.id)
        ]
        return Table(rows, title=f"models on {self.backend.describe()}", empty="(none)")

    def config(self, settings: Mapping[str, Any]) -> Table:
        """The settings in force: defaults from ``%config`` and where answers come from."""
        rows = [{"setting": k, "value": "" if v is None else v} for k, v in settings.items()]
        rows.append({"setting": "backend", "value": self.backend.describe()})
        rows.append({"setting": "api key", "value": self.backend.key_source()})
        rows.append({"setting": "current chat", "value": self.store.current.name})
        store = self.log.store
        rows.append(
            {"setting": "exchange store", "value": store.path if store.enabled else store.reason}
        )
        return Table(rows, title="groq_magic configuration")

    def local(self, action: str = "status") -> Report:
        """``%groq local status|start|stop``: the embedded model's server."""
        from groq_magic.local import (
            LocalModelError,
            get_local_server,
            local_available,
            missing_backend_message,
            stop_local_server,
        )

        if action not in ("status", "start", "stop"):
            raise ChatError("%groq local takes status, start or stop")
        if not local_available():
            return Report([missing_backend_message()])
        if action == "stop":
            stopped = stop_local_server()
            return Report(["local model server stopped" if stopped else "no local server running"])
        server = get_local_server()
        if action == "start":
            try:
                server.ensure_running(on_notice=self.backend.notice)
            except LocalModelError as exc:
                # The first line is the error; the server's log tail follows it.
                raise ChatError(str(exc).splitlines()[0]) from None
        return Report([str(server.status())])

    def login(self, key: str) -> Report:
        """Use ``key`` for this kernel only (``%groq login`` asks for it with a hidden prompt)."""
        key = key.strip()
        if not key:
            raise ChatError("no key entered; nothing changed")
        self.backend.login(key)
        return Report(["key stored for this kernel only (not saved anywhere)"])


def _usage_total(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The ``total`` row of ``%groq usage``: unknown costs stay unknown, never zero."""
    total: dict[str, Any] = {"model": "total"}
    for column in rows[0]:
        if column not in ("model", "cost", "saved"):
            total[column] = sum(row[column] or 0 for row in rows)
    for column in ("cost", "saved"):
        known = [row[column] for row in rows if row.get(column) is not None]
        total[column] = sum(known) if len(known) == len(rows) else None
    return total


_STANDALONE: list[GroqSession] = []  # the process's one session made without %load_ext


def find_session(client: Any = None) -> GroqSession:
    """The session a road from code (``sweep``, ``batch``, evaluations) runs on.

    ``client`` None: the loaded extension's session (its key, pool, ``%config``
    defaults and store), else the process's own session reading the same settings
    (:meth:`GroqSession.standalone`, one per process so its pools are reused). A
    ``GroqSession`` is used as is; a ``Backend`` gets a session of its own; a ``Groq`` or
    ``AsyncGroq`` client is sent to with its own key (:class:`~groq_magic.backend.ClientBackend`).
    Anything else is one ChatError line.
    """
    from groq_magic.backend import ClientBackend
    from groq_magic.client import AsyncGroq, Groq

    if isinstance(client, GroqSession):
        return client
    config = _profile_config()
    if isinstance(client, Groq | AsyncGroq):
        return GroqSession.standalone(config, ClientBackend(client))
    if isinstance(client, Backend):
        return GroqSession.standalone(config, client)
    if client is not None:
        raise ChatError(
            "client must be a Groq or AsyncGroq client, a Backend, a GroqSession or None"
            f" (got {type(client).__name__})"
        )
    kernel = _kernel_session()
    if kernel is not None:
        return kernel
    if not _STANDALONE:
        _STANDALONE.append(GroqSession.standalone(config))
    return _STANDALONE[0]


def _shell() -> Any:
    """IPython's running shell, or None (looked up, never required)."""
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython is a dependency
        return None
    return get_ipython()


def _kernel_session() -> GroqSession | None:
    """The loaded extension's session, or None."""
    magics = getattr(_shell(), "_groq_magics", None)
    session = getattr(magics, "session", None)
    return session if isinstance(session, GroqSession) else None


def _profile_config() -> dict[str, Any]:
    """The ``GroqMagics`` section of the shell's configuration (an IPython profile's)."""
    config = getattr(_shell(), "config", None)
    section = config.get("GroqMagics") if config is not None else None
    return dict(section) if isinstance(section, Mapping) else {}
