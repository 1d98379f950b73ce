"""Fixtures for the magic tests: one real InteractiveShell, a fresh GroqSession per test.

- ``ipshell`` (session): ``InteractiveShell.instance()`` with ``%load_ext groq_magic``.
- ``groq``: a :class:`Harness` bound to the ``server`` fixture: environment pointed at
  the server with the fake key, a fresh session, default traits, a recording display
  publisher, and the user namespace restored afterwards.
- ``notebook``: the same harness with the shell looking like a live Jupyter kernel, so
  ``choose_sink`` picks the NotebookSink and its display messages are recorded.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from IPython.core.interactiveshell import InteractiveShell
from keys import FAKE_KEY
from magic_helpers import CellRun, RecordingPublisher
from scripted_server import ScriptedServer

from groq_magic.backend import Backend
from groq_magic.session import GroqSession

# The configurable traits of GroqMagics and their defaults, restored after each test.
TRAITS = (
    "model",
    "temperature",
    "top_p",
    "max_tokens",
    "seed",
    "system",
    "stream",
    "base_url",
    "timeout",
    "max_retries",
    "cache",
    "context",
    "context_limit",
    "store",
    "prices",
    "show_cost",
)


class ZMQInteractiveShell(InteractiveShell):
    """Named like ipykernel's shell, so ``choose_sink`` treats the shell as a live kernel."""


@pytest.fixture(scope="session")
def ipshell() -> Any:
    """The one InteractiveShell of the test session, with the extension loaded."""
    shell: Any = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "groq_magic")
    assert hasattr(shell, "_groq_magics")
    return shell


class Harness:
    """Runs cells in the shared shell against one scripted server and records everything."""

    def __init__(self, shell: Any, server: ScriptedServer, capsys: Any) -> None:
        self.shell = shell
        self.server = server
        self.capsys = capsys
        self.publisher: RecordingPublisher = shell.display_pub
        self.runs: list[CellRun] = []

    @property
    def magics(self) -> Any:
        """The registered GroqMagics instance."""
        return self.shell._groq_magics

    @property
    def session(self) -> GroqSession:
        """The GroqSession behind the magic."""
        session: GroqSession = self.magics.session
        return session

    def fresh_session(self, **backend: Any) -> GroqSession:
        """Give the magic a new session, built like ``GroqMagics.__init__`` builds one."""
        magics = self.magics
        old = magics.session
        if backend:
            options: dict[str, Any] = {
                "base_url": lambda: magics.base_url,
                "timeout": lambda: magics.timeout,
                "max_retries": lambda: magics.max_retries,
                "notice": print,
            }
            options.update(backend)
            magics.session = magics.make_session(Backend(**options))
        else:
            # Let the magic build it, exactly as it does for a user's first cell.
            magics._session = None
        old.backend.close()
        return magics.session

    @property
    def ns(self) -> dict[str, Any]:
        """The user namespace."""
        namespace: dict[str, Any] = self.shell.user_ns
        return namespace

    def run(self, source: str, cell_id: str | None = None, *, history: bool = False) -> CellRun:
        """Run one cell; return what it showed. ``history=True`` numbers it (``In``/``Out``)."""
        self.capsys.readouterr()
        first = len(self.publisher.published)
        result = self.shell.run_cell(source, cell_id=cell_id, store_history=history)
        captured = self.capsys.readouterr()
        run = CellRun(
            result=result.result,
            error=result.error_in_exec or result.error_before_exec,
            out=captured.out,
            err=captured.err,
            displays=self.publisher.published[first:],
        )
        self.runs.append(run)
        return run

    def turns(self, chat: str | None = None) -> list[Any]:
        """The turns of a chat (the current one by default)."""
        store = self.session.store
        conversation = store.get(chat) if chat else store.current
        return list(conversation.turns)

    def history_json(self) -> str:
        """Every chat serialised, to compare "history exactly as before"."""
        store = self.session.store
        return "\n".join(store.get(c["name"]).to_json() for c in store.chats())


@pytest.fixture
def groq(
    ipshell: Any, server: ScriptedServer, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> Iterator[Harness]:
    """A harness: shell + scripted server + fresh session; state restored afterwards."""
    monkeypatch.setenv("GROQ_BASE_URL", server.base_url)
    monkeypatch.setenv("GROQ_API_KEY", FAKE_KEY)
    magics = ipshell._groq_magics
    saved_traits = {name: getattr(magics, name) for name in TRAITS}
    defaults = {name: magics.trait_defaults(name) for name in TRAITS}
    for name, value in defaults.items():
        setattr(magics, name, value)
    saved_ns = dict(ipshell.user_ns)
    # %config also writes into the shell's config, which a reloaded GroqMagics inherits.
    saved_config = ipshell.config.pop("GroqMagics", None)
    monkeypatch.setattr(ipshell, "display_pub", RecordingPublisher(shell=ipshell))
    harness = Harness(ipshell, server, capsys)
    harness.fresh_session()
    try:
        yield harness
    finally:
        harness.magics.session.backend.close()
        for name, value in saved_traits.items():
            setattr(harness.magics, name, value)
        ipshell.user_ns.clear()
        ipshell.user_ns.update(saved_ns)
        # The displayhook updates _, __, ___ only while they still hold what it last set.
        for name in ("_", "__", "___"):
            ipshell.user_ns[name] = getattr(ipshell.displayhook, name)
        ipshell.config.pop("GroqMagics", None)
        if saved_config is not None:
            ipshell.config["GroqMagics"] = saved_config


@pytest.fixture
def notebook(groq: Harness, monkeypatch: pytest.MonkeyPatch) -> Harness:
    """The harness with the shell looking like ipykernel's (NotebookSink is chosen)."""
    monkeypatch.setattr(groq.shell, "__class__", ZMQInteractiveShell)
    return groq
