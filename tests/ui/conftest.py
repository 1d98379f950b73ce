"""Fixtures for the ui tests: a body-routed loopback server and an IPython shell with the magic."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from keys import FAKE_KEY
from ui_fakes import RoutedServer


@pytest.fixture
def routed() -> Iterator[RoutedServer]:
    """A started :class:`RoutedServer` (echo answers, 404 for model ``nope``)."""
    with RoutedServer() as server:
        yield server


@pytest.fixture
def ip(routed: RoutedServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """IPython's shell with ``%load_ext groq_magic``, pointed at ``routed`` with a fake key."""
    from IPython.core.interactiveshell import InteractiveShell

    monkeypatch.setenv("GROQ_API_KEY", FAKE_KEY)
    monkeypatch.setenv("GROQ_BASE_URL", routed.base_url)
    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "groq_magic")
    yield shell
    shell.run_line_magic("unload_ext", "groq_magic")
