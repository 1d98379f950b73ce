"""Regression tests for bugs the magic suite found (each failed before its fix)."""

from __future__ import annotations

from typing import Any

from scripted_server import Reply, error_reply


def test_config_max_retries_reaches_the_client(groq: Any) -> None:
    # GroqMagics.__init__ hands Backend the *value* of max_retries (and timeout), so a
    # later %config GroqMagics.max_retries = 0 never reaches the client: 3 requests.
    assert groq.run("%config GroqMagics.max_retries = 0").error is None
    for _ in range(3):
        groq.server.enqueue(
            error_reply(
                429, "rate limited", code="rate_limit_exceeded", headers={"retry-after-ms": "1"}
            )
        )
    run = groq.run("%%groq\nhi", cell_id="mr")
    assert "429" in run.usage_error
    assert len(groq.server.requests) == 1


def test_config_timeout_reaches_the_client(groq: Any) -> None:
    assert groq.run("%config GroqMagics.timeout = 0.2").error is None
    assert groq.run("%config GroqMagics.max_retries = 0").error is None
    groq.server.enqueue(Reply(stall_before=1.0, json={}))
    run = groq.run("%%groq\nhi", cell_id="to")
    assert "time" in run.usage_error
