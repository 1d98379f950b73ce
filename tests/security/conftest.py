"""Fixtures for the key-hygiene tests: the IPython shell with a fresh session on ``server``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from IPython.core.interactiveshell import InteractiveShell
from scripted_server import ScriptedServer

from groq_magic.backend import Backend


@pytest.fixture
def shell(server: ScriptedServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> Iterator[Any]:
    """``InteractiveShell.instance()`` with groq_magic loaded and a fresh session.

    The environment holds only ``GROQ_BASE_URL`` (the test sets the key its own way) and
    the working directory is an empty temporary folder (no stray ``.env``).
    """
    shell: Any = InteractiveShell.instance()
    if not hasattr(shell, "_groq_magics"):
        shell.run_line_magic("load_ext", "groq_magic")
    monkeypatch.setenv("GROQ_BASE_URL", server.base_url)
    monkeypatch.chdir(tmp_path)
    magics = shell._groq_magics
    saved_ns = dict(shell.user_ns)
    old = magics.session
    magics.session = magics.make_session(
        Backend(base_url=lambda: magics.base_url, timeout=5.0, max_retries=0, notice=print)
    )
    old.backend.close()
    try:
        yield shell
    finally:
        magics.session.backend.close()
        shell.user_ns.clear()
        shell.user_ns.update(saved_ns)
        # IPython stops updating _ once user_ns["_"] differs from its own records of it
        # (the displayhook's and user_ns_hidden's): put them back in step, or later
        # tests' cells never set _ again.
        for unders in ("_", "__", "___"):
            value = shell.user_ns.get(unders, "")
            setattr(shell.displayhook, unders, value)
            if unders in shell.user_ns_hidden:
                shell.user_ns_hidden[unders] = value
