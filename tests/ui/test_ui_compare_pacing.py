"""Compares paced by the kernel's rate-limit pacer (issue 12, part 1), against a server with limits.

A compare's runs take eager permits: they go together while nothing is known of the
limits (a compare is a handful of runs the user watches side by side), and wait for what
the server's headers and 429s have told, including what a sweep in the same kernel learned.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from keys import FAKE_KEY
from ratelimit_server import RateLimitedServer
from ui_fakes import RecordingDisplay

import groq_magic
from groq_magic.background import background_loop
from groq_magic.chat import ChatOptions
from groq_magic.pacing import RateLimitPacer
from groq_magic.sweeps.runner import kernel_pacer
from groq_magic.ui.compare import run_compare

MODEL = "llama-3.1-8b-instant"


def _aim(monkeypatch: pytest.MonkeyPatch, server: RateLimitedServer) -> None:
    monkeypatch.setenv("GROQ_API_KEY", FAKE_KEY)
    monkeypatch.setenv("GROQ_BASE_URL", server.base_url)


def _compare(
    ip: Any, temperatures: list[float], *, pacer: RateLimitPacer | bool | None = None
) -> Any:
    session = ip._groq_magics.session
    return run_compare(
        session,
        ChatOptions(model=MODEL, max_tokens=16),
        {"temperature": temperatures},
        "Rate this.",
        {},
        repeat=1,
        shell=ip,
        display=RecordingDisplay(),
        pacer=pacer,
    )


@pytest.fixture
def slow(ip: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[RateLimitedServer]:
    """No limits; every answer takes 2 s (a round trip the pacer would otherwise probe with)."""
    with RateLimitedServer(latency=2.0) as server:
        _aim(monkeypatch, server)
        yield server


def test_a_compare_sends_its_runs_together_while_no_limit_is_known(
    ip: Any, slow: RateLimitedServer
) -> None:
    table = _compare(ip, [0.0, 0.1, 0.2, 0.3, 0.4, 0.5])
    assert set(table.status) == {"complete"}
    sent = [a.at for a in slow.log]
    assert len(sent) == 6
    # A sweep's pacer would send one, wait for its answer (2 s) and grow from there; the
    # compare's six are all sent before the first answer could come back.
    assert max(sent) - min(sent) < 1.5, sent
    limits = kernel_pacer(slow.base_url, background_loop().loop).limits(MODEL)
    assert limits.in_flight == 0  # every permit was settled


def test_the_same_runs_through_a_sweep_are_probed_one_round_trip_at_first(
    slow: RateLimitedServer,
) -> None:
    # The contrast that shows what eager permits change (a sweep starts at one in flight).
    table = groq_magic.sweep("Rate this.", model=MODEL, temperature=[0.0, 0.1], progress=False)
    assert set(table.status) == {"complete"}
    first, second = sorted(a.at for a in slow.log)
    assert second - first >= 1.9


MINUTE = 3.0
"""The test "minute": long enough that a loaded machine's scheduling delays (tens of
milliseconds) stay small beside one request's refill (half a second), short enough to
keep the tests quick."""


@pytest.fixture
def rpm6(ip: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[RateLimitedServer]:
    """Six requests a "minute" of three seconds, refilled continuously (RPM has no header)."""
    with RateLimitedServer(rpm=6, tpm=1_000_000, minute=MINUTE, answer_tokens=4) as server:
        _aim(monkeypatch, server)
        yield server


def test_a_paced_compare_learns_the_rpm_from_a_429_and_finishes_every_run(
    ip: Any, rpm6: RateLimitedServer, caplog: pytest.LogCaptureFixture
) -> None:
    pacer = RateLimitPacer(minute=MINUTE)
    with caplog.at_level(logging.INFO, logger="groq_magic"):
        table = _compare(ip, [round(0.1 * i, 1) for i in range(12)], pacer=pacer)
    assert list(table.status) == ["complete"] * 12, table.error.dropna().tolist()[:2]
    assert rpm6.accepted == 12
    # Eight go at once (the compare's concurrency): six fit, two are the 429s that name the
    # RPM; from then on the pacer spaces the retries and the rest by the refill.
    assert 1 <= rpm6.rejected <= 4, rpm6.rejected_by
    assert pacer.limits(MODEL).requests_per_minute == 6
    said = [r.getMessage() for r in caplog.records]
    assert any(m.startswith(f"rate limited (429): the pacer holds {MODEL} back") for m in said)


def test_a_compare_after_a_sweep_is_paced_by_what_the_sweep_learned(
    ip: Any, rpm6: RateLimitedServer
) -> None:
    pacer = RateLimitPacer(minute=MINUTE)
    swept = groq_magic.sweep(
        [f"Item {i}." for i in range(10)],
        model=MODEL,
        max_tokens=16,
        pacer=pacer,
        progress=False,
        client=ip._groq_magics.session,
    )
    assert set(swept.status) == {"complete"}
    assert pacer.limits(MODEL).requests_per_minute == 6
    rejected_by_the_sweep = rpm6.rejected
    # The RPM is known and the bucket nearly empty: the compare waits its turn, no 429.
    table = _compare(ip, [0.0, 0.3, 0.6, 0.9, 1.2, 1.5, 1.8], pacer=pacer)
    assert set(table.status) == {"complete"}
    assert rpm6.rejected == rejected_by_the_sweep
    assert rpm6.accepted == 17


def test_a_spent_daily_limit_fails_the_compare_runs_at_once_with_the_batch_line(
    ip: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Through the magic and the kernel's own pacer: two requests a (long) day.
    with RateLimitedServer(rpd=2, minute=1.0, day=10_000.0) as server:
        _aim(monkeypatch, server)
        table = ip.run_cell_magic("groq", f"-m {MODEL} -t 0,0.5,1,1.5", "Rate this.")
        pacer = kernel_pacer(server.base_url, background_loop().loop)
        assert pacer.limits(MODEL).requests_per_day == 2
        assert server.accepted == 2
    assert sorted(table.status) == ["complete", "complete", "error", "error"]
    for error in table.error.dropna():
        assert error.startswith(f"the daily request limit for {MODEL} is spent (2 requests")
        assert error.endswith("run the rest with groq_magic.batch(...)")
    assert "run the rest with groq_magic.batch(...)" in capsys.readouterr().out


def test_pacer_false_leaves_a_compare_to_the_shared_backoff(
    ip: Any, rpm6: RateLimitedServer
) -> None:
    from groq_magic.sweeps import runner

    table = _compare(ip, [0.0, 0.5], pacer=False)
    assert set(table.status) == {"complete"}
    assert runner._PACERS == {}  # no kernel pacer was made, let alone used
    table = _compare(ip, [0.0, 0.5])
    assert set(table.status) == {"complete"}
    assert list(runner._PACERS) == [rpm6.base_url]


def test_configured_caps_reach_the_kernel_pacer_of_a_compare(
    ip: Any, slow: RateLimitedServer
) -> None:
    # One in flight at a time: each of the three waits for the answer before (2 s each).
    ip.run_line_magic("config", "GroqMagics.max_concurrency = 1")
    table = ip.run_cell_magic("groq", f"-m {MODEL} -t 0,0.5,1", "Rate this.")
    assert set(table.status) == {"complete"}
    first, second, third = sorted(a.at for a in slow.log)
    assert second - first >= 1.9
    assert third - second >= 1.9
    pacer = kernel_pacer(slow.base_url, background_loop().loop)
    assert pacer.caps.max_concurrency == 1


def test_a_configured_requests_per_minute_spaces_a_compare_evenly(
    ip: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    with RateLimitedServer() as server:  # no limits of its own
        _aim(monkeypatch, server)
        ip.run_line_magic("config", "GroqMagics.requests_per_minute = 120")  # one per 0.5 s
        table = ip.run_cell_magic("groq", f"-m {MODEL} -t 0,0.5,1,1.5", "Rate this.")
        assert set(table.status) == {"complete"}
        sent = sorted(a.at for a in server.log)
        # Half a second apart (not all at once): each gap may lose what one request's own
        # send was late on a loaded machine, the whole run none of it.
        assert all(b - a >= 0.35 for a, b in itertools.pairwise(sent)), sent
        assert sent[-1] - sent[0] >= 3 * 0.5 - 0.05, sent
        # Taken off again: the next compare's runs go together.
        ip.run_line_magic("config", "GroqMagics.requests_per_minute = None")
        before = len(server.log)
        ip.run_cell_magic("groq", f"-m {MODEL} -t 0,0.5,1,1.5", "Rate this.")
        assert len(server.log) == before + 4
        pacer = kernel_pacer(server.base_url, background_loop().loop)
        assert pacer.caps.requests_per_minute is None
