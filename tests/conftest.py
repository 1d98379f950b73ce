"""Shared fixtures: a clean environment, the scripted loopback server, client factories.

- autouse ``_clean_environment``: no GROQ_*, OPENAI_* or proxy variable leaks in from the
  developer's shell (as httpx's own test suite does), so config tests see only what they set;
  ``GROQ_MAGIC_STORE=none``, so nothing writes to the user's data folder.
- autouse ``_fresh_kernel_pacers``: no rate limit learned in one test paces the next.
- autouse ``_sigint_raises_keyboard_interrupt``: SIGINT raises ``KeyboardInterrupt`` in
  every test, also when pytest was started with SIGINT ignored (in the background by a
  shell without job control, e.g. ``nohup python -m pytest &`` in a script, or by a CI
  runner), which the interrupt tests rely on.
- ``server``: a started :class:`scripted_server.ScriptedServer` (cheap: one thread, one port).
- ``sleeps``: the list of delays a client asked to sleep between retries (nothing really sleeps).
- ``make_client(**kwargs)``: a ``Groq`` pointed at ``server`` with ``FAKE_KEY`` and the
  recording sleep; closed after the test. ``make_async_client(**kwargs)``: the same for
  ``AsyncGroq`` (built unopened; use ``async with`` inside the test's event loop).
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from keys import FAKE_KEY
from scripted_server import ScriptedServer

_ENV_PREFIXES = ("GROQ_", "OPENAI_")
_PROXY_VARS = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        upper = name.upper()
        if upper.startswith(_ENV_PREFIXES) or upper in _PROXY_VARS:
            monkeypatch.delenv(name, raising=False)
    # The exchange store is on by default; no test (nor a kernel or server a test
    # starts, which inherit this) may write to the user's data folder. Tests of the
    # store point it into their tmp_path.
    monkeypatch.setenv("GROQ_MAGIC_STORE", "none")


@pytest.fixture(autouse=True)
def _fresh_kernel_pacers() -> Iterator[None]:
    """Every test starts with no kernel pacer, as a new kernel does.

    The kernel's pacers live as long as the process (one per server URL): without this, a
    limit learned from one test's server would pace a later test whose server got the
    same port.
    """
    yield
    runner = sys.modules.get("groq_magic.sweeps.runner")
    if runner is not None:
        runner._PACERS.clear()


@pytest.fixture(autouse=True)
def _sigint_raises_keyboard_interrupt() -> Iterator[None]:
    """Python's own SIGINT handler for the test, whatever the launcher left; restored after.

    A process started with SIGINT ignored (``nohup python -m pytest &`` in a script: a
    shell without job control ignores SIGINT in background jobs; some CI runners) keeps
    it ignored: Python installs ``default_int_handler`` only when it finds the default.
    Then a SIGINT sent by a test (the stop button's stand-in) is dropped and
    ``KeyboardInterrupt`` never comes. With a handler installed, processes the test
    starts (``python -m groq_magic run`` and its kernel) also begin with SIGINT's
    default action: ``exec`` resets a caught signal, not an ignored one.
    """
    if threading.current_thread() is not threading.main_thread():
        yield  # only the main thread may set handlers (and only it gets KeyboardInterrupt)
        return
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        # None: a handler set outside Python, which Python cannot put back; leave ours.
        if previous is not None:
            signal.signal(signal.SIGINT, previous)


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    """A scripted HTTP/1.1 server on 127.0.0.1, stopped after the test."""
    with ScriptedServer() as scripted:
        yield scripted


@pytest.fixture
def sleeps() -> list[float]:
    """Delays requested through the clients' injected ``_sleep``, in order."""
    return []


@pytest.fixture
def make_client(server: ScriptedServer, sleeps: list[float]) -> Iterator[Callable[..., Any]]:
    """Factory for ``Groq`` clients aimed at ``server``; keyword arguments override defaults."""
    from groq_magic.client import Groq

    made: list[Any] = []

    def factory(**kwargs: Any) -> Any:
        options: dict[str, Any] = {
            "api_key": FAKE_KEY,
            "base_url": server.base_url,
            "max_retries": 2,
            "_sleep": sleeps.append,
        }
        options.update(kwargs)
        client = Groq(**options)
        made.append(client)
        return client

    yield factory
    for client in made:
        client.close()


@pytest.fixture
def make_async_client(server: ScriptedServer, sleeps: list[float]) -> Callable[..., Any]:
    """Factory for ``AsyncGroq`` clients aimed at ``server`` (close them in the test)."""
    from groq_magic.client import AsyncGroq

    async def record_sleep(seconds: float) -> None:
        sleeps.append(seconds)

    def factory(**kwargs: Any) -> Any:
        options: dict[str, Any] = {
            "api_key": FAKE_KEY,
            "base_url": server.base_url,
            "max_retries": 2,
            "_sleep": record_sleep,
        }
        options.update(kwargs)
        return AsyncGroq(**options)

    return factory
