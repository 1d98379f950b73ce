"""Fixtures for the embedded backend: server factories that always clean up, process checks.

- ``make_local_server(**kwargs)``: a ``LocalServer`` stopped after the test.
- ``fake_command(script)``: a ``command_factory`` that runs ``script`` (Python source,
  formatted with ``{port}``) instead of llama_cpp.server: for never-ready, crashing
  and port-conflict servers without the model.
- autouse ``_no_leftover_servers``: after every test, no child of this process is
  still running a server (checked in the process table with psutil).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from groq_magic.local import LocalServer

SERVER_MARKERS = ("llama_cpp.server", "_launch.py", "groq_magic_fake_server")


def server_children() -> list[psutil.Process]:
    """Live (non-zombie) children of this process that look like a local server."""
    found = []
    for child in psutil.Process().children(recursive=True):
        try:
            if child.status() == psutil.STATUS_ZOMBIE:
                continue
            cmdline = " ".join(child.cmdline())
        except psutil.NoSuchProcess:
            continue
        if any(marker in cmdline for marker in SERVER_MARKERS):
            found.append(child)
    return found


@pytest.fixture(autouse=True)
def _no_leftover_servers() -> Iterator[None]:
    yield
    leftovers = server_children()
    for child in leftovers:
        child.kill()
    assert not leftovers, f"server processes left running: {leftovers}"


@pytest.fixture
def make_local_server() -> Iterator[Callable[..., LocalServer]]:
    """Factory for ``LocalServer`` objects, each stopped after the test."""
    made: list[LocalServer] = []

    def factory(*args: Any, **kwargs: Any) -> LocalServer:
        server = LocalServer(*args, **kwargs)
        made.append(server)
        return server

    yield factory
    for server in made:
        server.stop()


@pytest.fixture
def fake_command(tmp_path: Path) -> Callable[[str], Callable[[Path, str, int], list[str]]]:
    """Build a command_factory that runs the given Python source as the 'server'."""

    def build(source: str) -> Callable[[Path, str, int], list[str]]:
        script = tmp_path / "groq_magic_fake_server.py"
        script.write_text(source)

        def command(model: Path, host: str, port: int) -> list[str]:
            return [sys.executable, str(script), host, str(port)]

        return command

    return build


@pytest.fixture
def gguf_file(tmp_path: Path) -> Path:
    """A file that passes the GGUF magic check (not a loadable model)."""
    path = tmp_path / "tiny.gguf"
    path.write_bytes(b"GGUF" + b"\0" * 60)
    return path
