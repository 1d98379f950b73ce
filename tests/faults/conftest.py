"""Fixtures for the fault suite: leak accounting and a ``%%groq`` shell over the fault server.

- ``leaks``: a :class:`LeakCheck` taken before the test's client exists; ``leaks.verify()``
  after closing the client asserts no client socket to the server is open, no file
  descriptor is left over (once the server's own handler threads have finished) and no
  thread was left running (the server's per-connection threads are not counted).
- ``shell``: the one ``InteractiveShell`` with ``%load_ext groq_magic``, given a fresh
  session pointed at the ``server`` fixture with the fake key and a short read timeout;
  its client's retry waits are recorded in ``shell_sleeps`` instead of slept.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from typing import Any

import psutil
import pytest
from fault_server import client_sockets
from faults_catalogue import READ_TIMEOUT, STALL
from IPython.core.interactiveshell import InteractiveShell
from keys import FAKE_KEY
from scripted_server import ScriptedServer

from groq_magic.backend import Backend


def _foreign_threads() -> set[threading.Thread]:
    # socketserver names its per-connection threads "Thread-N (process_request_thread)".
    return {t for t in threading.enumerate() if "process_request_thread" not in t.name}


class LeakCheck:
    """File descriptors, threads and client sockets before and after a test's client."""

    def __init__(self, server: ScriptedServer) -> None:
        self.server = server
        self.process = psutil.Process()
        self.fds = self.process.num_fds()
        self.threads = _foreign_threads()

    def verify(self) -> None:
        """Assert nothing the client opened is still open (call after closing the client)."""
        # asyncio closes a transport's socket on a later loop turn (or at collection when
        # the loop ended first): give that a moment before calling a socket leaked.
        gc.collect()
        self.server.wait_until(lambda: not client_sockets(self.server), 10.0)
        assert client_sockets(self.server) == [], "a client socket to the server is still open"
        # The server thread of a stalled reply sleeps out its stall before closing its end.
        assert self.server.wait_until(lambda: self.server.open_connections == 0, STALL + 5)
        leftover = self.process.num_fds() - self.fds
        assert leftover <= 0, f"{leftover} file descriptors more than before the test"
        extra = _foreign_threads() - self.threads
        assert not [t for t in extra if t.is_alive()], f"threads left running: {extra}"


@pytest.fixture
def leaks(server: ScriptedServer) -> LeakCheck:
    """Leak accounting started now (the server is already running)."""
    return LeakCheck(server)


@pytest.fixture(scope="session")
def _ipython() -> Any:
    shell: Any = InteractiveShell.instance()
    if not hasattr(shell, "_groq_magics"):
        shell.run_line_magic("load_ext", "groq_magic")
    return shell


@pytest.fixture
def shell_sleeps() -> list[float]:
    """The waits the magic's client asked for between retries."""
    return []


@pytest.fixture
def shell(
    _ipython: Any,
    server: ScriptedServer,
    monkeypatch: pytest.MonkeyPatch,
    shell_sleeps: list[float],
) -> Iterator[Any]:
    """The shell with a fresh session on the fault server (read timeout READ_TIMEOUT)."""
    monkeypatch.setenv("GROQ_BASE_URL", server.base_url)
    monkeypatch.setenv("GROQ_API_KEY", FAKE_KEY)
    magics = _ipython._groq_magics
    saved_ns = dict(_ipython.user_ns)
    old = magics.session
    backend = Backend(
        base_url=lambda: magics.base_url, timeout=READ_TIMEOUT, max_retries=2, notice=print
    )
    magics.session = magics.make_session(backend)
    old.backend.close()
    client = backend.client()
    # The client's default sleep is bound at definition time; swap it on the instance.
    client._sleep = shell_sleeps.append
    try:
        yield _ipython
    finally:
        magics.session.backend.close()
        _ipython.user_ns.clear()
        _ipython.user_ns.update(saved_ns)
        # IPython stops updating _ once user_ns["_"] differs from its own records of it
        # (the displayhook's and user_ns_hidden's): put them back in step, or later
        # tests' cells never set _ again.
        for unders in ("_", "__", "___"):
            value = _ipython.user_ns.get(unders, "")
            setattr(_ipython.displayhook, unders, value)
            if unders in _ipython.user_ns_hidden:
                _ipython.user_ns_hidden[unders] = value
