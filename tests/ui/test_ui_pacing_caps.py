"""The pacer's caps and a limit of 0 through the magic, a compare and a sweep (issue 17, bug 6).

``%config GroqMagics.requests_per_minute = float("inf")`` was accepted and then failed every
compare row with ZeroDivisionError; a ``Limit 0`` 429 poisoned the model for the rest of the
kernel. Against ``tests/ratelimit_server.py``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest
from keys import FAKE_KEY
from ratelimit_server import RateLimitedServer

import groq_magic
from groq_magic.background import background_loop
from groq_magic.pacing import RateLimitPacer
from groq_magic.sweeps.runner import kernel_pacer

MODEL = "llama-3.1-8b-instant"
ZERO_LINE = (
    f"{MODEL} allows 0 requests per minute (RPM) for this API key: the server refuses every"
    " request to it — use another model, or raise the limit on the provider's console"
)


@pytest.fixture
def open_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[RateLimitedServer]:
    """A server with no limits of its own, the environment aimed at it."""
    with RateLimitedServer(answer_tokens=4) as server:
        monkeypatch.setenv("GROQ_API_KEY", FAKE_KEY)
        monkeypatch.setenv("GROQ_BASE_URL", server.base_url)
        yield server


def test_an_infinite_requests_per_minute_is_no_cap_and_every_compare_row_runs(
    ip: Any, open_server: RateLimitedServer
) -> None:
    ip.run_line_magic("config", 'GroqMagics.requests_per_minute = float("inf")')
    table = ip.run_cell_magic("groq", f"-m {MODEL} -t 0,0.5,1", "Rate this.")
    assert list(table.status) == ["complete"] * 3, table.error.tolist()
    assert ip._groq_magics.requests_per_minute is None
    assert open_server.accepted == 3
    assert (
        kernel_pacer(open_server.base_url, background_loop().loop).caps.requests_per_minute is None
    )


@pytest.mark.parametrize(
    ("value", "line"),
    [
        ('float("nan")', "GroqMagics.requests_per_minute must be more than 0 (got nan)"),
        ("-1", "GroqMagics.requests_per_minute must be more than 0 (got -1)"),
        ('-float("inf")', "GroqMagics.requests_per_minute must be more than 0 (got -inf)"),
    ],
)
def test_a_requests_per_minute_that_makes_no_sense_is_refused_in_one_line(
    ip: Any, caplog: pytest.LogCaptureFixture, value: str, line: str
) -> None:
    ip.run_line_magic("config", "GroqMagics.requests_per_minute = 30")
    with caplog.at_level(logging.ERROR):
        ip.run_line_magic("config", f"GroqMagics.requests_per_minute = {value}")
    said = [r.getMessage() for r in caplog.records]
    assert any(line in m and "\n" not in m.strip() for m in said), said
    assert ip._groq_magics.requests_per_minute == 30  # unchanged


def test_a_limit_of_0_fails_a_sweeps_rows_at_once_with_one_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pacer = RateLimitPacer(minute=1.0)
    with RateLimitedServer(rpm=0) as server:
        monkeypatch.setenv("GROQ_API_KEY", FAKE_KEY)
        monkeypatch.setenv("GROQ_BASE_URL", server.base_url)
        table = groq_magic.sweep([f"q{i}" for i in range(6)], model=MODEL, pacer=pacer)
        sent = len(server.log)
    assert list(table.status) == ["error"] * 6
    assert set(table.error) == {ZERO_LINE}
    assert sent == 1  # the one 429 that said Limit 0; the rest were not sent
    # The pacer stays usable: another server (or a raised limit) takes the next sweep.
    with RateLimitedServer(rpm=600) as server:
        monkeypatch.setenv("GROQ_BASE_URL", server.base_url)
        table = groq_magic.sweep(["a", "b"], model="llama-3.3-70b-versatile", pacer=pacer)
    assert list(table.status) == ["complete"] * 2
