"""Fixtures for the ui tests: a body-routed loopback server and IPython's shell with the magic.

The shell is IPython's process-wide ``InteractiveShell.instance()``, which other test
folders share; ``ip`` therefore leaves it as it found it: the extension stays loaded
if it was, and the magic's settings, ``%config`` entries, session and user namespace
are put back after each test.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from keys import FAKE_KEY
from ui_fakes import RoutedServer

from groq_magic.backend import Backend


@pytest.fixture
def routed() -> Iterator[RoutedServer]:
    """A started :class:`RoutedServer` (echo answers, 404 for model ``nope``)."""
    with RoutedServer() as server:
        yield server


@pytest.fixture
def env(routed: RoutedServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[RoutedServer]:
    """``routed``, with the environment aimed at it (key and base URL) for a fresh session."""
    monkeypatch.setenv("GROQ_API_KEY", FAKE_KEY)
    monkeypatch.setenv("GROQ_BASE_URL", routed.base_url)
    return routed


@pytest.fixture
def ip(routed: RoutedServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The shell with ``%load_ext groq_magic``, a fresh chat session, aimed at ``routed``."""
    from IPython.core.interactiveshell import InteractiveShell

    monkeypatch.setenv("GROQ_API_KEY", FAKE_KEY)
    monkeypatch.setenv("GROQ_BASE_URL", routed.base_url)
    shell: Any = InteractiveShell.instance()
    loaded_here = not hasattr(shell, "_groq_magics")
    if loaded_here:
        shell.run_line_magic("load_ext", "groq_magic")
    magics = shell._groq_magics
    traits = list(magics.traits(config=True))
    saved_traits = {name: getattr(magics, name) for name in traits}
    for name in traits:
        setattr(magics, name, magics.trait_defaults(name))
    saved_config = shell.config.pop("GroqMagics", None)
    saved_ns = dict(shell.user_ns)
    saved_session = magics.session
    magics.session = magics.make_session(
        Backend(
            base_url=lambda: magics.base_url,
            timeout=magics.timeout,
            max_retries=magics.max_retries,
            notice=print,
        )
    )
    try:
        yield shell
    finally:
        magics.session.backend.close()
        magics.session = saved_session
        for name, value in saved_traits.items():
            setattr(magics, name, value)
        shell.config.pop("GroqMagics", None)
        if saved_config is not None:
            shell.config["GroqMagics"] = saved_config
        shell.user_ns.clear()
        shell.user_ns.update(saved_ns)
        if loaded_here:
            shell.run_line_magic("unload_ext", "groq_magic")
