"""One way to find the session: code without ``%load_ext`` reads what the extension reads.

Issue 17 bug 1: ``groq_magic.sweep(prompts, cache=True)`` in a process where the
extension was never loaded built a bare session with no store settings, so it ignored
the cache even with ``GROQ_MAGIC_STORE`` set. Each sweep here runs in a fresh Python
process, as a script or a notebook that never ran ``%load_ext`` would.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from keys import FAKE_KEY
from scripted_server import ScriptedServer, chunk_events, sse_reply

SCRIPT = textwrap.dedent(
    """
    import json
    import groq_magic
    table = groq_magic.sweep(["Name a fruit.", "Name a city."], model="m", cache=True)
    print(json.dumps({"text": list(table.text), "cost": [c for c in table.cost]}))
    """
)


def _sweep(env: dict[str, str]) -> dict[str, list[object]]:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    shown: dict[str, list[object]] = json.loads(done.stdout.strip().splitlines()[-1])
    return shown


def test_a_sweep_without_the_extension_uses_the_store_and_its_cache(
    server: ScriptedServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for answer in ("Apple.", "Oslo."):
        server.enqueue(sse_reply(chunk_events([answer])))
    env = dict(
        os.environ,
        GROQ_API_KEY=FAKE_KEY,
        GROQ_BASE_URL=server.base_url,
        GROQ_MAGIC_STORE=str(tmp_path / "store.sqlite"),
    )
    first = _sweep(env)
    assert first["text"] == ["Apple.", "Oslo."]
    chats = len([r for r in server.requests if r.path.endswith("/chat/completions")])
    assert chats == 2
    again = _sweep(env)  # a new process: only the store remembers
    assert again["text"] == ["Apple.", "Oslo."]
    assert len([r for r in server.requests if r.path.endswith("/chat/completions")]) == chats
    assert again["cost"] == [0.0, 0.0]  # replays cost nothing


def test_a_profile_config_reaches_a_sweep_without_the_extension(server: ScriptedServer) -> None:
    """c.GroqMagics.* in an IPython profile's config is what %config would hold."""
    script = textwrap.dedent(
        """
        from IPython.terminal.interactiveshell import TerminalInteractiveShell
        from traitlets.config import Config
        config = Config()
        config.GroqMagics.model = "configured-model"
        config.GroqMagics.temperature = 0.25
        TerminalInteractiveShell.instance(config=config)
        import groq_magic
        table = groq_magic.sweep("Hi", max_tokens=5)
        print(table.model[0], table.temperature[0])
        """
    )
    server.enqueue(sse_reply(chunk_events(["Hello."], model="configured-model")))
    env = dict(os.environ, GROQ_API_KEY=FAKE_KEY, GROQ_BASE_URL=server.base_url)
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120,
        check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.split()[-2:] == ["configured-model", "0.25"]
    [body] = [r.json() for r in server.requests if r.path.endswith("/chat/completions")]
    assert (body["model"], body["temperature"]) == ("configured-model", 0.25)
