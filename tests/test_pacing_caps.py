"""Caps that make no sense, and a limit of 0 (issue 17, bug 6): refused in one line or taken
as "no cap", never a ZeroDivisionError; a ``Limit 0`` 429 fails the model's requests at once
with one line naming the model and the limit, and leaves the pacer usable.

On fake clocks (``pacing_fakes``).
"""

from __future__ import annotations

import asyncio
import math
from typing import Any

import pytest
from pacing_fakes import MODEL, FakeClock, ManualClock, fake_pacer, run

from groq_magic.pacing import LimitIsZero, PacingCaps, PacingRefused, RateLimitPacer

OTHER = "llama-3.3-70b-versatile"


def limit_0(which: str = "requests per minute (RPM)", model: str = MODEL) -> str:
    """Groq's 429 for a model the organization may not use."""
    return (
        f"Rate limit reached for model `{model}` in organization `org_x` service tier "
        f"`on_demand` on {which}: Limit 0, Used 0, Requested 1. Need more tokens? Upgrade to "
        "Dev Tier today at https://console.groq.com/settings/billing"
    )


async def sent_one_by_one(pacer: RateLimitPacer, clock: FakeClock, count: int) -> list[float]:
    """When each of ``count`` small requests went, one after another, each done at once."""
    times = []
    for _ in range(count):
        (await pacer.acquire(10, model=MODEL)).done(used_tokens=10)
        times.append(clock.now - 1000.0)
    return times


# -- the user's caps ------------------------------------------------------------------------


def test_an_infinite_requests_per_minute_means_no_cap() -> None:
    assert PacingCaps(requests_per_minute=math.inf).requests_per_minute is None
    clock = FakeClock()
    pacer = fake_pacer(clock, requests_per_minute=math.inf)  # was a ZeroDivisionError
    assert pacer.caps == PacingCaps()
    # Only the probing gap of an unknown RPM (a millisecond here) spaces them.
    assert run(sent_one_by_one(pacer, clock, 3)) == pytest.approx([0.0, 0.0, 0.0], abs=0.01)


def test_an_infinite_cap_set_on_a_pacer_in_use_lifts_the_cap() -> None:
    clock = FakeClock()
    pacer = fake_pacer(clock, requests_per_minute=6)

    async def scenario() -> list[float]:
        first = await sent_one_by_one(pacer, clock, 2)  # 10 s apart
        pacer.set_caps(PacingCaps(requests_per_minute=float("inf")))
        return first + await sent_one_by_one(pacer, clock, 2)

    assert run(scenario()) == pytest.approx([0.0, 10.0, 10.0, 10.0], abs=0.01)


@pytest.mark.parametrize(
    ("caps", "line"),
    [
        ({"requests_per_minute": 0}, "requests_per_minute must be more than 0 (got 0)"),
        ({"requests_per_minute": -5}, "requests_per_minute must be more than 0 (got -5)"),
        ({"requests_per_minute": math.nan}, "requests_per_minute must be more than 0 (got nan)"),
        ({"requests_per_minute": -math.inf}, "requests_per_minute must be more than 0 (got -inf)"),
        ({"requests_per_minute": "fast"}, "requests_per_minute must be a number or None"),
        ({"max_concurrency": 0}, "max_concurrency must be at least 1 (got 0)"),
        ({"max_concurrency": -2}, "max_concurrency must be at least 1 (got -2)"),
        ({"max_concurrency": math.inf}, "max_concurrency must be at least 1 (got inf)"),
        ({"max_concurrency": 2.5}, "max_concurrency must be at least 1 (got 2.5)"),
    ],
)
def test_caps_that_make_no_sense_are_refused_in_one_line(caps: dict[str, Any], line: str) -> None:
    for make in (PacingCaps, RateLimitPacer):
        with pytest.raises(ValueError) as caught:
            make(**caps)
        assert str(caught.value).startswith(line)
        assert "\n" not in str(caught.value)


# -- a limit of 0 ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("which", "line"),
    [
        ("requests per minute (RPM)", f"{MODEL} allows 0 requests per minute (RPM)"),
        ("tokens per minute (TPM)", f"{MODEL} allows 0 tokens per minute (TPM)"),
        ("requests per day (RPD)", f"{MODEL} allows 0 requests per day (RPD)"),
    ],
)
def test_a_limit_of_0_refuses_the_model_at_once_in_one_line(which: str, line: str) -> None:
    clock = FakeClock()
    pacer = fake_pacer(clock)

    async def scenario() -> LimitIsZero:
        permit = await pacer.acquire(10, model=MODEL)
        permit.failed_rate_limited(None, limit_0(which))
        assert pacer.wait_for(MODEL) >= 0.0  # what the runner logs after a 429: no crash
        with pytest.raises(LimitIsZero) as caught:
            await pacer.acquire(10, model=MODEL)
        return caught.value

    refusal = run(scenario())
    assert isinstance(refusal, PacingRefused)
    assert str(refusal).startswith(line + " for this API key: the server refuses every request")
    assert "\n" not in str(refusal)
    assert refusal.model == MODEL
    assert clock.sleeps == []  # at once, no waiting first


def test_after_a_limit_of_0_the_pacer_stays_usable() -> None:
    clock = FakeClock()
    pacer = fake_pacer(clock, minute=6.0)

    async def scenario() -> float:
        permit = await pacer.acquire(10, model=MODEL)
        permit.failed_rate_limited(None, limit_0())
        assert pacer.limits(MODEL).requests_per_minute == 0
        (await pacer.acquire(10, model=OTHER)).done(used_tokens=10)  # other models go
        clock.now += 6.0  # a minute of the server's later, the model may try again
        for _ in range(3):  # the limit was raised meanwhile: its requests go as before
            (await pacer.acquire(10, model=MODEL)).done(used_tokens=10)
        return clock.now - 1000.0

    assert run(scenario()) == pytest.approx(6.0, abs=0.01)
    assert pacer.limits(MODEL).requests_per_minute is None  # nothing left of the 0
    assert pacer.limits(OTHER).in_flight == 0


def test_a_limit_of_0_fails_the_requests_already_waiting() -> None:
    clock = ManualClock()
    pacer = fake_pacer(clock, max_concurrency=1)

    async def scenario() -> list[BaseException | Any]:
        first = await pacer.acquire(10, model=MODEL)
        waiting = [asyncio.ensure_future(pacer.acquire(10, model=MODEL)) for _ in range(3)]
        await clock.advance(0.5)
        first.failed_rate_limited(None, limit_0("tokens per minute (TPM)"))
        await clock.advance(0.0)
        assert all(task.done() for task in waiting)
        return await asyncio.gather(*waiting, return_exceptions=True)

    outcomes = run(scenario())
    assert all(isinstance(o, LimitIsZero) for o in outcomes)
