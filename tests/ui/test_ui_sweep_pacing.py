"""Sweeps paced by the server's rate limits (issue 12, part 1), against tests/ratelimit_server.py.

The server enforces Groq-style limits over a short "minute" and answers with Groq's
``x-ratelimit-*`` headers and 429 messages; the sweep's pacer learns them and stays under.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from keys import FAKE_KEY
from ratelimit_server import RateLimitedServer

import groq_magic
from groq_magic.pacing import RateLimitPacer
from groq_magic.sweeps.runner import kernel_pacer

MODEL = "llama-3.1-8b-instant"


@pytest.fixture
def limited(monkeypatch: pytest.MonkeyPatch) -> Iterator[RateLimitedServer]:
    with RateLimitedServer(rpm=30, tpm=100_000, minute=1.0, answer_tokens=8) as server:
        monkeypatch.setenv("GROQ_API_KEY", FAKE_KEY)
        monkeypatch.setenv("GROQ_BASE_URL", server.base_url)
        yield server


def test_a_paced_sweep_stays_under_the_limits(limited: RateLimitedServer) -> None:
    prompts = [f"Rate item {i}." for i in range(45)]
    started = time.monotonic()
    table = groq_magic.sweep(
        prompts, model=MODEL, max_tokens=16, pacer=RateLimitPacer(minute=1.0), progress=False
    )
    took = time.monotonic() - started
    assert set(table.status) == {"complete"}, table.error.dropna().tolist()[:2]
    # 30 a "minute" of 1 s: the first 30 at once, the other 15 at the refill rate.
    assert took >= 0.4
    assert limited.rejected <= 3  # the RPM has no header: a 429 or two reveal it
    assert limited.accepted == 45


def test_without_a_pacer_the_same_sweep_bounces_off_the_limit(
    limited: RateLimitedServer,
) -> None:
    prompts = [f"Rate item {i}." for i in range(45)]
    table = groq_magic.sweep(prompts, model=MODEL, max_tokens=16, pacer=False, concurrency=16)
    assert limited.rejected > 2
    assert len(table) == 45


def test_a_spent_daily_limit_fails_the_rest_at_once_pointing_to_batch(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with RateLimitedServer(rpd=3, minute=1.0, day=10_000.0) as server:
        monkeypatch.setenv("GROQ_API_KEY", FAKE_KEY)
        monkeypatch.setenv("GROQ_BASE_URL", server.base_url)
        started = time.monotonic()
        table = groq_magic.sweep(
            [f"q{i}" for i in range(8)], model=MODEL, pacer=RateLimitPacer(day=10_000.0)
        )
    assert time.monotonic() - started < 10
    assert list(table.status[:3]) == ["complete"] * 3
    failed = table[table.status == "error"]
    assert len(failed) == 5
    assert all("run the rest with groq_magic.batch(...)" in e for e in failed.error)


def test_the_kernel_pacer_is_one_per_server_and_loop() -> None:
    loop, other = object(), object()
    assert kernel_pacer("http://a/v1", loop) is kernel_pacer("http://a/v1", loop)
    assert kernel_pacer("http://a/v1", loop) is not kernel_pacer("http://b/v1", loop)
    first = kernel_pacer("http://a/v1", loop)
    assert kernel_pacer("http://a/v1", other) is not first  # its waits belong to one loop


class BrokenPacer(RateLimitPacer):
    async def acquire_request(self, request_body: Any, *, eager: bool = False) -> Any:
        raise RuntimeError("the pacer broke")


def test_an_unexpected_failure_fails_each_run_in_its_row(limited: RateLimitedServer) -> None:
    table = groq_magic.sweep(["a", "b"], model=MODEL, pacer=BrokenPacer())
    assert list(table.status) == ["error", "error"]
    assert set(table.error) == {"RuntimeError: the pacer broke"}
