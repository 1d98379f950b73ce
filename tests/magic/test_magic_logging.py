"""The 'groq_magic' logger: retries and waits, grid backoff, the local server; never the key.

Also the backend closes the async client it replaces (issue 9, bug 6).
"""

from __future__ import annotations

import logging
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest
from keys import FAKE_KEY, SECRET_MARKERS
from magic_helpers import stream
from scripted_server import error_reply

from groq_magic.backend import Backend
from groq_magic.local import LOCAL_MODEL_NAME, LocalServer


def _every_logged_text(caplog: pytest.LogCaptureFixture) -> str:
    lines = []
    for record in caplog.records:
        lines.append(record.getMessage())
        lines.append(repr(record.args))
        lines.append(str(record.__dict__))
    return "\n".join(lines)


def test_debug_logs_of_retries_and_grid_backoff_never_hold_the_key(
    groq: Any, caplog: pytest.LogCaptureFixture
) -> None:
    limited = error_reply(429, "Rate limit reached. Please try again in 10ms.", type="tokens")
    limited.headers["retry-after-ms"] = "10"
    with caplog.at_level(logging.DEBUG):
        groq.server.enqueue(limited, stream(["Fine."]))
        assert groq.run("%%groq\nHello.").error is None
        groq.server.enqueue(limited, stream(["A"]), stream(["B"]))
        assert groq.run("%%groq --compare m1,m2\nHello.").error is None
    ours = [r.getMessage() for r in caplog.records if r.name == "groq_magic"]
    # The client's retry and the compare's pacer (its wait after the 429) are both told.
    assert any(m.startswith("POST /chat/completions failed (429); retry 1 in") for m in ours), ours
    assert any("rate limited (429): the pacer holds m" in m for m in ours), ours
    logged = _every_logged_text(caplog)
    for marker in SECRET_MARKERS:
        assert marker not in logged
    assert FAKE_KEY not in logged
    assert "Bearer" not in logged


_READY_SERVER = """
import http.server, json, sys
alias = sys.argv[1]
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps({"object": "list", "data": [{"id": alias}]}).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[2])), Handler).serve_forever()
"""


def test_the_local_server_start_and_stop_are_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    script = tmp_path / "groq_magic_fake_server.py"
    script.write_text(textwrap.dedent(_READY_SERVER))
    model = tmp_path / "model.gguf"
    model.write_bytes(b"GGUF" + b"\0" * 64)

    def command(path: Path, host: str, port: int) -> list[str]:
        return [sys.executable, str(script), LOCAL_MODEL_NAME, str(port)]

    server = LocalServer(model=str(model), command_factory=command)
    try:
        with caplog.at_level(logging.INFO, logger="groq_magic"):
            server.start()
            server.stop()
    finally:
        server.stop()
    messages = [r.getMessage() for r in caplog.records if r.name == "groq_magic"]
    assert any(m.startswith("local model server started: model.gguf on port") for m in messages)
    assert any(m.startswith("local model server stopped (pid") for m in messages), messages


def test_the_backend_closes_the_async_client_it_replaces(tmp_path: Path) -> None:
    """Bug 6: a changed backend left the old AsyncGroq's pool open."""
    url = ["http://127.0.0.1:9/v1"]
    backend = Backend(base_url=lambda: url[0], notice=lambda _: None)
    first = backend.async_client()
    assert backend.async_client() is first  # unchanged settings: the same pool
    url[0] = "http://127.0.0.1:10/v1"
    second = backend.async_client()
    assert second is not first
    # The close runs on the background loop, where compares use the client.
    assert _closed_soon(first)
    assert not second._http.is_closed
    backend.close()
    assert _closed_soon(second)


def _closed_soon(client: Any, seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while not client._http.is_closed and time.monotonic() < deadline:
        time.sleep(0.01)
    return bool(client._http.is_closed)
