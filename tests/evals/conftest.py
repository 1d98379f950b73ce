"""Fixtures for the evaluation tests: the loopback server, a session with a store, the shell.

- ``server``: a started :class:`EvalServer`, with the environment aimed at it (key and
  base URL), so a fresh session or kernel talks to it.
- ``store_path``: the exchange store's file for this test (in ``tmp_path``).
- ``session``: a :class:`GroqSession` on that store; ``new_session()`` makes another one
  on the same file (a restarted kernel).
- ``ip``: IPython's shell with ``%load_ext groq_magic``, its store in ``store_path``; it is
  left as it was found (extension, settings, namespace), as in ``tests/ui``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from eval_server import EvalServer
from keys import FAKE_KEY

from groq_magic.backend import Backend
from groq_magic.session import GroqSession
from groq_magic.store import StoreSettings


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[EvalServer]:
    with EvalServer() as running:
        monkeypatch.setenv("GROQ_API_KEY", FAKE_KEY)
        monkeypatch.setenv("GROQ_BASE_URL", running.base_url)
        yield running


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    return tmp_path / "store.sqlite"


@pytest.fixture
def new_session(server: EvalServer, store_path: Path) -> Iterator[Callable[[], GroqSession]]:
    made: list[GroqSession] = []

    def factory() -> GroqSession:
        session = GroqSession(Backend(), store=lambda: StoreSettings(path=str(store_path)))
        made.append(session)
        return session

    yield factory
    for session in made:
        session.close()


@pytest.fixture
def session(new_session: Callable[[], GroqSession]) -> GroqSession:
    return new_session()


@pytest.fixture
def cases() -> pd.DataFrame:
    """Three cases; the echo server's answers equal ``expected`` for the first only."""
    return pd.DataFrame(
        {
            "question": ["a good one", "a bad one", "good again"],
            "expected": ["echo: Q: a good one", "no", "no"],
        }
    )


@pytest.fixture
def ip(server: EvalServer, store_path: Path) -> Iterator[Any]:
    from IPython.core.interactiveshell import InteractiveShell

    shell: Any = InteractiveShell.instance()
    loaded_here = not hasattr(shell, "_groq_magics")
    if loaded_here:
        shell.run_line_magic("load_ext", "groq_magic")
    magics = shell._groq_magics
    traits = list(magics.traits(config=True))
    saved_traits = {name: getattr(magics, name) for name in traits}
    for name in traits:
        setattr(magics, name, magics.trait_defaults(name))
    magics.store = str(store_path)
    saved_ns = dict(shell.user_ns)
    saved_session = magics.session
    magics.session = magics.make_session()
    try:
        yield shell
    finally:
        magics.session.close()
        magics.session = saved_session
        for name, value in saved_traits.items():
            setattr(magics, name, value)
        shell.user_ns.clear()
        shell.user_ns.update(saved_ns)
        if loaded_here:
            shell.run_line_magic("unload_ext", "groq_magic")
