"""groq_magic.pacing: reading Groq's limits, estimating tokens, pacing on a fake clock, and
pacing real requests against the rate-limited loopback server (``ratelimit_server.py``)."""

from __future__ import annotations

import asyncio
import itertools
import json
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from keys import FAKE_KEY
from pacing_fakes import MODEL, FakeClock, body, drive, fake_pacer, run
from ratelimit_server import RateLimitedServer, go_duration, prompt_tokens

from groq_magic.pacing import (
    DailyLimitReached,
    PacingCaps,
    Permit,
    RateLimitHeaders,
    RateLimitHit,
    RateLimitPacer,
    estimate_tokens,
    format_duration,
    parse_go_duration,
    parse_rate_limit_message,
    read_rate_limit_headers,
)

RPM_MESSAGE = (
    f"Rate limit reached for model `{MODEL}` in organization `org_01jtest` service tier "
    "`on_demand` on requests per minute (RPM): Limit 30, Used 30, Requested 1. Please try "
    "again in 2s. Need more tokens? Upgrade to Dev Tier today at "
    "https://console.groq.com/settings/billing"
)
TPM_MESSAGE = (
    "Rate limit reached for model `openai/gpt-oss-20b` in organization `org_x` service tier "
    "`on_demand` on tokens per minute (TPM): Limit 8000, Used 6170, Requested 5386. Please "
    "try again in 26.67s. Need more tokens? Upgrade to Dev Tier today"
)
RPD_MESSAGE = (
    "Rate limit reached for model `llama-3.3-70b-versatile` in organization `org_01abc` "
    "service tier `on_demand` on requests per day (RPD): Limit 1000, Used 1000, Requested 1. "
    "Please try again in 1m26.4s."
)
TPD_MESSAGE = (
    f"Rate limit reached for model `{MODEL}` in organization `org_x` on tokens per day "
    "(TPD): Limit 500000, Used 499934, Requested 242. Please try again in 41.126s."
)


async def one_by_one(
    pacer: RateLimitPacer, clock: FakeClock, count: int, *, eager: bool = False
) -> list[float]:
    """Let ``count`` requests of 10 tokens go one after another, each done at once: when
    each went (seconds since the clock's start)."""
    times = []
    for _ in range(count):
        permit = await pacer.acquire(10, model=MODEL, eager=eager)
        times.append(clock.now - 1000.0)
        permit.done(used_tokens=10)
    return times


# -- reading what the server says ------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("7.66s", 7.66),
        ("2m59.56s", 179.56),
        ("130ms", 0.13),
        ("1h2m3s", 3723.0),
        ("3h12m0s", 11520.0),
        ("0s", 0.0),
        ("1.5µs", 1.5e-6),
        ("250us", 2.5e-4),
        ("2", 2.0),
        ("0.5", 0.5),
        (" 6s ", 6.0),
    ],
)
def test_go_durations(text: str, seconds: float) -> None:
    assert parse_go_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", [None, "", "soon", "5 s", "1h 2m", "-3s", "s", "2x", "nan"])
def test_go_duration_junk_is_none(text: str | None) -> None:
    assert parse_go_duration(text) is None


def test_go_durations_round_trip_through_the_servers_formatting() -> None:
    for seconds in (0.13, 7.66, 179.56, 3723.0, 11520.0, 0.004):
        assert parse_go_duration(go_duration(seconds)) == pytest.approx(seconds, abs=0.01)


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [(0.4, "0.4s"), (2.0, "2s"), (12.3, "12s"), (75, "1m15s"), (120, "2m"), (11520, "3h12m")],
)
def test_format_duration(seconds: float, shown: str) -> None:
    assert format_duration(seconds) == shown


GROQ_HEADERS = {
    "X-RateLimit-Limit-Requests": "14400",
    "x-ratelimit-limit-tokens": "18000",
    "x-ratelimit-remaining-requests": "14370",
    "x-ratelimit-remaining-tokens": "17997",
    "x-ratelimit-reset-requests": "2m59.56s",
    "x-ratelimit-reset-tokens": "7.66s",
    "x-request-id": "req_01jtest",
}
GROQ_LIMITS = RateLimitHeaders(
    requests_limit=14400,
    requests_remaining=14370,
    requests_reset=179.56,
    tokens_limit=18000,
    tokens_remaining=17997,
    tokens_reset=7.66,
)


def test_headers_from_a_dict_any_capitalisation() -> None:
    assert read_rate_limit_headers(GROQ_HEADERS) == GROQ_LIMITS


def test_headers_from_httpx_and_from_the_clients_rate_limits() -> None:
    from groq_magic.client import RateLimits

    headers = httpx.Headers(GROQ_HEADERS)
    assert read_rate_limit_headers(headers) == GROQ_LIMITS
    # What the client exposes as stream.rate_limits / completion.rate_limits works as is.
    assert read_rate_limit_headers(RateLimits.from_headers(headers)) == GROQ_LIMITS


def test_headers_absent_or_junk() -> None:
    assert read_rate_limit_headers(None) == RateLimitHeaders()
    assert not read_rate_limit_headers({"content-type": "application/json"}).any
    junk = read_rate_limit_headers(
        {"x-ratelimit-limit-tokens": "lots", "x-ratelimit-reset-tokens": "soon"}
    )
    assert junk == RateLimitHeaders()


def test_429_messages_say_which_limit() -> None:
    assert parse_rate_limit_message(RPM_MESSAGE) == RateLimitHit(
        "requests", "minute", limit=30, used=30, requested=1, retry_after=2.0, model=MODEL
    )
    assert parse_rate_limit_message(TPM_MESSAGE) == RateLimitHit(
        "tokens", "minute", 8000, 6170, 5386, 26.67, "openai/gpt-oss-20b"
    )
    assert parse_rate_limit_message(RPD_MESSAGE) == RateLimitHit(
        "requests", "day", 1000, 1000, 1, 86.4, "llama-3.3-70b-versatile"
    )
    assert parse_rate_limit_message(TPD_MESSAGE) == RateLimitHit(
        "tokens", "day", 500000, 499934, 242, 41.126, MODEL
    )


def test_429_messages_in_other_shapes() -> None:
    openai = "Rate limit reached for org-1 on requests per min (RPM): Limit 3,000, Used 3,000."
    hit = parse_rate_limit_message(openai)
    assert hit is not None
    assert (hit.unit, hit.window, hit.limit, hit.used, hit.requested) == (
        "requests",
        "minute",
        3000,
        3000,
        None,
    )
    bare = parse_rate_limit_message("on tokens per day (TPD). Please try again in 1h2m.")
    assert bare == RateLimitHit("tokens", "day", retry_after=3720.0)
    assert parse_rate_limit_message("Too many requests") is None
    assert parse_rate_limit_message(None) is None


def test_the_module_needs_only_the_standard_library() -> None:
    code = (
        "import sys, groq_magic.pacing; "
        "print(sorted(m for m in ('httpx', 'pydantic', 'IPython', 'ipywidgets', "
        "'groq_magic.client') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


# -- estimating tokens -----------------------------------------------------------------------


def test_estimate_counts_the_prompt_and_the_max_tokens() -> None:
    prose = "The quick brown fox jumps over the lazy dog. " * 40  # 1,800 chars
    estimate = estimate_tokens(body(prose, max_tokens=100))
    # About 4 characters a token, plus the template's few tokens, plus the 100.
    assert 100 + 450 <= estimate <= 100 + 450 + 20
    assert estimate_tokens(body(prose, max_completion_tokens=7, max_tokens=100)) == estimate - 93


def test_estimate_without_max_tokens_assumes_a_default() -> None:
    plain = estimate_tokens(body("Hi", max_tokens=1))
    assert estimate_tokens(body("Hi")) == plain - 1 + 256
    assert estimate_tokens(body("Hi"), default_completion=10) == plain - 1 + 10


def test_estimate_counts_dense_text_above_chars_over_4() -> None:
    data = json.dumps([{"id": i, "score": i * 7, "ok": i % 2 == 0} for i in range(50)])
    numbers = " ".join(str(n) for n in range(1000, 1400))
    cjk = "東京は日本の首都です。" * 20
    for text in (data, numbers, cjk):
        prompt = estimate_tokens(body(text, max_tokens=1)) - 1
        assert prompt > len(text) / 4 + 10, text[:30]


def test_estimate_reads_parts_tools_and_schema() -> None:
    base = estimate_tokens(body("Describe", max_tokens=1))
    parts = body(
        [{"type": "text", "text": "Describe"}, {"type": "image_url", "image_url": {"url": "x"}}],
        max_tokens=1,
    )
    assert estimate_tokens(parts) >= base + 1000
    tool = {"type": "function", "function": {"name": "weather", "parameters": {"type": "object"}}}
    assert estimate_tokens({**body("Describe", max_tokens=1), "tools": [tool]}) > base + 10
    schema = {"type": "json_schema", "json_schema": {"name": "r", "schema": {"type": "object"}}}
    assert estimate_tokens({**body("Describe", max_tokens=1), "response_format": schema}) > base
    assert estimate_tokens({"model": MODEL, "messages": ["junk", None], "max_tokens": 5}) == 8


# -- pacing on a fake clock ------------------------------------------------------------------


def test_tokens_are_spread_so_the_tpm_is_never_exceeded() -> None:
    clock = FakeClock()
    # 6,000 tokens a minute; each request is about 400 prompt + 100 answer tokens.
    server = RateLimitedServer(tpm=6000, answer_tokens=100, clock=clock)
    requests = [body(f"[{n}] " + "word " * 320, max_tokens=100) for n in range(40)]
    admitted, rejected = run(drive(fake_pacer(clock), server, requests, clock))
    assert rejected == 0
    charged = [prompt_tokens(r) + 100 for r in requests]
    minimum = server.ideal_finish(zip(charged, charged, strict=True))
    assert minimum > 100  # the TPM binds: 40 x 508 tokens at 100 a second after 6,000 at once
    assert admitted[-1] == pytest.approx(minimum, rel=0.02)
    # Spread, not bunched: after the first minute's burst, about one request every 5 s.
    late = [b - a for a, b in itertools.pairwise(admitted[15:])]
    assert all(4.5 < gap < 5.6 for gap in late)


def test_a_correction_from_the_headers_wins_over_the_estimate() -> None:
    clock = FakeClock()
    pacer = fake_pacer(clock)

    async def scenario() -> list[float]:
        first = await pacer.acquire(100, model=MODEL)
        # The server says someone else (another notebook, same key) used most of the minute.
        first.done(
            headers={"x-ratelimit-limit-tokens": "6000", "x-ratelimit-remaining-tokens": "100"},
            used_tokens=100,
        )
        await pacer.acquire(1100, model=MODEL)
        return clock.sleeps

    sleeps = run(scenario())
    assert sum(sleeps) == pytest.approx(1000 / 100, rel=0.01)  # 1,000 missing at 100/s


def test_a_request_let_go_earlier_but_not_answered_is_not_taken_as_counted() -> None:
    # On a loaded machine the first request let go can reach the server after the second:
    # the second's headers then do not count the first, which the pacer must still expect.
    clock = FakeClock()
    pacer = fake_pacer(clock, max_concurrency=4)

    async def scenario() -> float:
        first = await pacer.acquire(400, model=MODEL, eager=True)
        second = await pacer.acquire(400, model=MODEL, eager=True)
        headers = {"x-ratelimit-limit-tokens": "6000", "x-ratelimit-remaining-tokens": "5600"}
        second.done(headers=headers, used_tokens=400)  # the server has counted only this one
        (await pacer.acquire(5300, model=MODEL, eager=True)).done(used_tokens=5300)
        first.done(used_tokens=400)
        return clock.now - 1000.0

    # 5,600 left minus the first's 400 still to come: 100 short of 5,300 at 100 a second.
    assert run(scenario()) == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("first_left", "second_left", "day_sent"),
    [(2, 1, 3), (1, 2, 3)],
    ids=["server-counted-the-first-first", "server-counted-the-second-first"],
)
def test_the_last_request_of_a_day_is_not_refused_while_answers_are_on_their_way(
    first_left: int, second_left: int, day_sent: int
) -> None:
    # 3 requests a day. Two are on their way; the second's answer comes back first and
    # is applied with the first still to count: by that estimate the day is spent. The
    # third must wait for the first's answer instead of being refused, and when that
    # says more remained than the second's did, the server had counted it already.
    clock = FakeClock()
    pacer = fake_pacer(clock, max_concurrency=4)

    def day(left: int) -> dict[str, str]:
        return {"x-ratelimit-limit-requests": "3", "x-ratelimit-remaining-requests": str(left)}

    sent: list[str] = []

    async def scenario() -> None:
        first = await pacer.acquire(10, model=MODEL, eager=True)
        second = await pacer.acquire(10, model=MODEL, eager=True)
        sent.extend(["first", "second"])
        second.done(headers=day(second_left), used_tokens=10)

        async def answer_the_first() -> None:
            await asyncio.sleep(0)
            first.done(headers=day(first_left), used_tokens=10)

        answering = asyncio.ensure_future(answer_the_first())
        third = await pacer.acquire(10, model=MODEL, eager=True)  # waits for that answer
        await answering
        sent.append("third")
        third.done(headers=day(0), used_tokens=10)
        await pacer.acquire(10, model=MODEL, eager=True)
        sent.append("fourth")

    with pytest.raises(DailyLimitReached):
        run(scenario())
    assert len(sent) == day_sent  # the whole day; the fourth is refused at once
    assert clock.sleeps == []


def test_rpm_is_learned_from_a_429_then_paced() -> None:
    clock = FakeClock()
    pacer = fake_pacer(clock)

    async def scenario() -> list[float]:
        permit = await pacer.acquire(10, model=MODEL)
        permit.failed_rate_limited(None, RPM_MESSAGE)
        return await one_by_one(pacer, clock, 4)

    times = run(scenario())
    assert pacer.limits(MODEL).requests_per_minute == 30
    assert times == pytest.approx([2.0, 4.0, 6.0, 8.0])  # 30 a minute, the bucket empty


def test_tpm_429_resets_the_budget_and_scales_later_estimates() -> None:
    clock = FakeClock()
    pacer = fake_pacer(clock)

    async def scenario() -> float:
        permit = await pacer.acquire(2693, model=MODEL)  # the server counted twice that
        permit.failed_rate_limited(None, TPM_MESSAGE)
        await pacer.acquire(2693, model=MODEL)
        return clock.now - 1000.0

    waited = run(scenario())
    assert pacer.limits(MODEL).tokens_per_minute == 8000
    # Estimates are now doubled (5,386 = what the server said), and 1,830 were left:
    # 3,556 missing at 8,000 a minute is Groq's own "try again in 26.67s".
    assert waited == pytest.approx(26.67, abs=0.01)


def test_a_429_without_a_known_limit_backs_off_on_the_hint() -> None:
    clock = FakeClock()
    pacer = fake_pacer(clock)

    async def scenario() -> float:
        permit = await pacer.acquire(10, model=MODEL)
        permit.failed_rate_limited({"retry-after": "3"}, "Too many requests", retry_after=3.0)
        await pacer.acquire(10, model=MODEL)
        return clock.now - 1000.0

    assert run(scenario()) == pytest.approx(3.0)


def test_the_users_own_cap_spaces_requests_evenly() -> None:
    clock = FakeClock()
    pacer = fake_pacer(clock, requests_per_minute=12)
    assert run(one_by_one(pacer, clock, 4)) == pytest.approx([0.0, 5.0, 10.0, 15.0])


def test_limits_are_per_model() -> None:
    clock = FakeClock()
    pacer = fake_pacer(clock)

    async def scenario() -> float:
        permit = await pacer.acquire(10, model=MODEL)
        permit.failed_rate_limited(None, RPM_MESSAGE)
        other = await pacer.acquire(10, model="llama-3.3-70b-versatile")
        other.done()
        return clock.now - 1000.0

    assert run(scenario()) == 0.0
    assert pacer.limits("llama-3.3-70b-versatile").requests_per_minute is None


DAILY_LINE = (
    "the daily request limit for llama-3.1-8b-instant is spent (14,400 requests per day); "
    "it resets in 3h12m: waiting would take hours — run the rest with groq_magic.batch(...)"
)


def test_spent_daily_requests_raise_one_line_instead_of_waiting() -> None:
    clock = FakeClock()
    pacer = fake_pacer(clock)
    spent = {
        "x-ratelimit-limit-requests": "14400",
        "x-ratelimit-remaining-requests": "0",
        "x-ratelimit-reset-requests": "3h12m0s",
    }

    async def scenario() -> None:
        permit = await pacer.acquire(10, model=MODEL)
        permit.done(headers=spent, used_tokens=10)
        await pacer.acquire(10, model=MODEL)

    with pytest.raises(DailyLimitReached) as caught:
        run(scenario())
    assert str(caught.value) == DAILY_LINE
    assert (caught.value.unit, caught.value.limit, caught.value.resets_in) == (
        "requests",
        14400,
        11520.0,
    )
    assert clock.sleeps == []  # it did not wait first


def test_a_short_daily_reset_is_waited_out() -> None:
    clock = FakeClock()
    pacer = fake_pacer(clock, max_daily_wait=60)
    soon = {
        "x-ratelimit-limit-requests": "14400",
        "x-ratelimit-remaining-requests": "0",
        "x-ratelimit-reset-requests": "6s",
    }

    async def scenario() -> float:
        permit = await pacer.acquire(10, model=MODEL)
        permit.done(headers=soon)
        await pacer.acquire(10, model=MODEL)
        return clock.now - 1000.0

    assert run(scenario()) == pytest.approx(6.0)  # one request refills in 86400 / 14400 s


@pytest.mark.parametrize(
    ("message", "start"),
    [
        (RPD_MESSAGE, "the daily request limit for llama-3.1-8b-instant is spent (1,000 requests"),
        (TPD_MESSAGE, "the daily token limit for llama-3.1-8b-instant is spent (500,000 tokens"),
    ],
)
def test_a_per_day_429_raises_for_every_waiting_request(message: str, start: str) -> None:
    clock = FakeClock()
    pacer = fake_pacer(clock)

    async def scenario() -> list[BaseException | Permit]:
        first = await pacer.acquire(10, model=MODEL)
        waiting = [asyncio.ensure_future(pacer.acquire(10, model=MODEL)) for _ in range(3)]
        await asyncio.sleep(0)
        first.failed_rate_limited(None, message)
        return await asyncio.gather(*waiting, return_exceptions=True)

    outcomes = run(scenario())
    assert all(isinstance(o, DailyLimitReached) for o in outcomes)
    line = str(outcomes[0])
    assert line.startswith(start)
    assert "\n" not in line
    assert line.endswith("waiting would take hours — run the rest with groq_magic.batch(...)")


def test_concurrency_starts_at_one_grows_and_halves_on_a_429() -> None:
    clock = FakeClock()
    pacer = fake_pacer(clock, max_concurrency=6)

    async def scenario() -> list[int]:
        tasks = [asyncio.ensure_future(pacer.acquire(1, model=MODEL)) for _ in range(40)]
        taken: set[asyncio.Future[Permit]] = set()

        async def granted() -> list[Permit]:
            for _ in range(100):
                await asyncio.sleep(0)
            new = [t for t in tasks if t.done() and t not in taken]
            taken.update(new)
            return [t.result() for t in new]

        seen = []
        for _ in range(8):
            batch = await granted()
            seen.append(len(batch))
            for permit in batch:
                permit.done()
            seen.append(pacer.limits(MODEL).concurrency)
        # A burst of 429s on the permits in flight halves the window once, not once each.
        for permit in await granted():
            permit.failed_rate_limited(None, "Too many requests", retry_after=0.0)
        seen.append(pacer.limits(MODEL).concurrency)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        return seen

    seen = run(scenario())
    # Granted, then the window after their successes: 1 -> 2 -> 4 -> 6 (the cap), ...
    assert seen[:8] == [1, 2, 2, 4, 4, 6, 6, 6]
    assert max(seen) == 6
    assert seen[-1] == 3


def test_a_permit_left_without_a_verdict_frees_its_place() -> None:
    clock = FakeClock()
    pacer = fake_pacer(clock, max_concurrency=1)

    async def scenario() -> int:
        with pytest.raises(RuntimeError), await pacer.acquire(10, model=MODEL):
            raise RuntimeError("the request blew up")
        second = await asyncio.wait_for(pacer.acquire(10, model=MODEL), timeout=1)
        second.done()
        second.failed()  # later verdicts are ignored
        return pacer.limits(MODEL).in_flight

    assert run(scenario()) == 0


async def _granted_now(pending: list[asyncio.Future[Permit]]) -> list[Permit]:
    """The permits granted once every waiting task has had its turn (the clock unmoved)."""
    for _ in range(100):
        await asyncio.sleep(0)
    return [t.result() for t in pending if t.done()]


def test_eager_permits_skip_the_slow_start() -> None:
    clock = FakeClock()
    cautious_pacer = fake_pacer(clock, max_concurrency=6)
    eager_pacer = fake_pacer(clock, max_concurrency=6)

    async def granted(pacer: RateLimitPacer, eager: bool) -> list[Permit]:
        tasks = [
            asyncio.ensure_future(pacer.acquire(1, model=MODEL, eager=eager)) for _ in range(8)
        ]
        permits = await _granted_now(tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        return permits

    async def scenario() -> tuple[int, int]:
        return len(await granted(cautious_pacer, False)), len(await granted(eager_pacer, True))

    cautious, eager = run(scenario())
    assert cautious == 1  # a sweep's slow start: one, until its answer tells the budgets
    assert eager == 6  # a compare's runs together, up to max_concurrency
    assert clock.sleeps == []


def test_eager_permits_skip_the_probing_gap_cautious_ones_wait_it_out() -> None:
    clock = FakeClock()
    pacer = fake_pacer(clock, max_concurrency=6)

    async def sends(eager: bool) -> list[float]:
        times = []
        for _ in range(3):
            await pacer.acquire(1, model=MODEL, eager=eager)  # left in flight
            times.append(round(clock.now - 1000.0, 6))
        return times

    async def scenario() -> tuple[list[float], list[float]]:
        first = await pacer.acquire(1, model=MODEL)
        clock.now += 0.2  # a round trip: the gap while the RPM is unknown
        first.done()
        eager = await sends(True)
        clock.now += 0.2
        for permit in list(pacer._states[MODEL].log):
            permit.done()
        return eager, await sends(False)

    eager, cautious = run(scenario())
    assert eager == [0.2, 0.2, 0.2]  # together
    # About a round trip apart (shrunk by a fifth after four answers without a 429).
    assert cautious[1] - cautious[0] == pytest.approx(0.16)
    assert cautious[2] - cautious[1] == pytest.approx(0.16)


def test_eager_permits_still_wait_for_what_is_known() -> None:
    clock = FakeClock()
    pacer = fake_pacer(clock)

    async def scenario() -> tuple[list[float], float, int]:
        permit = await pacer.acquire(10, model=MODEL, eager=True)
        permit.failed_rate_limited(None, RPM_MESSAGE)  # RPM 30: one request every 2 s
        told = pacer.wait_for(MODEL)
        times = await one_by_one(pacer, clock, 3, eager=True)
        return times, told, pacer.limits(MODEL).concurrency

    times, told, window = run(scenario())
    assert told == pytest.approx(2.0)  # what the runner logs after the 429
    assert times == pytest.approx([2.0, 4.0, 6.0])
    assert window >= 1


def test_after_a_429_cut_the_window_eager_permits_are_paced_like_any_other() -> None:
    clock = FakeClock()
    pacer = fake_pacer(clock, max_concurrency=8)

    async def scenario() -> int:
        burst = [await pacer.acquire(1, model=MODEL, eager=True) for _ in range(4)]
        for permit in burst:  # no limit named, no wait: only the window is cut
            permit.failed_rate_limited(None, "Too many requests", retry_after=0.0)
        eager = [asyncio.ensure_future(pacer.acquire(1, model=MODEL, eager=True)) for _ in range(4)]
        granted = len(await _granted_now(eager))
        for task in eager:
            task.cancel()
        await asyncio.gather(*eager, return_exceptions=True)
        return granted

    assert run(scenario()) == 1  # the window after the cut, not max_concurrency


def test_caps_are_checked_and_can_be_changed_keeping_what_was_learned() -> None:
    with pytest.raises(ValueError, match=r"^max_concurrency must be at least 1 \(got 0\)$"):
        RateLimitPacer(max_concurrency=0)
    with pytest.raises(ValueError, match=r"^requests_per_minute must be more than 0"):
        PacingCaps(requests_per_minute=-3)
    clock = FakeClock()
    pacer = fake_pacer(clock)

    async def scenario() -> list[float]:
        permit = await pacer.acquire(10, model=MODEL)
        permit.failed_rate_limited(None, RPM_MESSAGE)  # learned: RPM 30
        pacer.set_caps(PacingCaps(max_concurrency=2, requests_per_minute=10))
        return await one_by_one(pacer, clock, 3)

    times = run(scenario())
    assert pacer.caps == PacingCaps(2, 10)
    limits = pacer.limits(MODEL)
    assert (limits.requests_per_minute, limits.concurrency) == (30, 2)  # learned; the new cap
    assert times == pytest.approx([2.0, 8.0, 14.0])  # the server's wait, then 10 a minute


def test_wait_for_is_zero_when_nothing_holds_a_request_back() -> None:
    clock = FakeClock()
    pacer = fake_pacer(clock)
    assert pacer.wait_for(MODEL) == 0.0
    pacer_with_cap = fake_pacer(clock, requests_per_minute=6)

    async def scenario() -> float:
        (await pacer_with_cap.acquire(1, model=MODEL)).done()
        return pacer_with_cap.wait_for(MODEL)

    assert run(scenario()) == pytest.approx(10.0)


# -- against the rate-limited loopback server ------------------------------------------------


async def send(
    client: httpx.AsyncClient, url: str, pacer: RateLimitPacer, request: dict[str, Any]
) -> int:
    """One request through the pacer, streamed; retried after a 429. Returns its 429s."""
    rejected = 0
    while True:
        with await pacer.acquire_request(request) as permit:
            async with client.stream("POST", url, json=request) as response:
                raw = await response.aread()
            if response.status_code == 429:
                permit.failed_rate_limited(response.headers, json.loads(raw)["error"]["message"])
                rejected += 1
                continue
            assert response.status_code == 200, raw
            usage = json.loads(raw)["usage"] if not request.get("stream") else None
            if usage is None:
                last = [ln for ln in raw.decode().splitlines() if '"usage"' in ln][-1]
                usage = json.loads(last[len("data: ") :])["x_groq"]["usage"]
            permit.done(headers=response.headers, used_tokens=usage["total_tokens"])
            return rejected


async def send_all(
    server: RateLimitedServer,
    pacer: RateLimitPacer,
    requests: list[dict[str, Any]],
    one: Callable[..., Awaitable[int]] = send,
) -> float:
    """Send every request at once through ``one``; the wall time until the last answer."""
    url = server.base_url + "/chat/completions"
    async with httpx.AsyncClient() as client:
        started = time.monotonic()
        await asyncio.gather(*(one(client, url, pacer, r) for r in requests))
        return time.monotonic() - started


def test_rpm_20_over_a_1s_minute_60_requests_in_close_to_the_minimum() -> None:
    latency = 0.05
    with RateLimitedServer(rpm=20, tpm=100_000, minute=1.0, latency=latency) as server:
        pacer = RateLimitPacer(minute=1.0, max_concurrency=8)
        requests = [body(f"Say ok {n}", max_tokens=16, stream=True) for n in range(60)]
        elapsed = asyncio.run(send_all(server, pacer, requests))
    assert server.accepted == 60
    # The first 429 is how the RPM is learned; a send or two may already be on its way.
    assert server.rejected <= 3
    minimum = (60 - 20) / 20  # a burst of 20, then 20 a second
    # Never faster than the limits allow; the upper bound only catches gross waits
    # (how close to the minimum it gets is bench/pacing_bench.py's to measure).
    assert minimum + latency <= elapsed < 3 * (minimum + latency) + 2
    if server.rejected:
        assert pacer.limits(MODEL).requests_per_minute == 20


def test_tpm_over_a_1s_minute_is_paced_without_a_429() -> None:
    with RateLimitedServer(tpm=2000, minute=1.0, answer_tokens=20, latency=0.02) as server:
        pacer = RateLimitPacer(minute=1.0)
        requests = [body(f"[{n}] " + "lorem ipsum " * 25, max_tokens=20) for n in range(50)]
        elapsed = asyncio.run(send_all(server, pacer, requests))
    assert (server.accepted, server.rejected) == (50, 0)
    costs = [(prompt_tokens(r) + 20, prompt_tokens(r) + 20) for r in requests]
    minimum = server.ideal_finish(costs)
    assert minimum > 1.0
    assert minimum <= elapsed < 3 * minimum + 2  # gross waits only: the bench measures closeness
    assert pacer.limits(MODEL).tokens_per_minute == 2000


def test_a_spent_daily_limit_stops_the_run_with_one_line() -> None:
    with RateLimitedServer(rpd=10, minute=1.0, day=1000.0) as server:
        pacer = RateLimitPacer(minute=1.0, day=1000.0, max_concurrency=4)
        requests = [body(f"Say ok {n}", max_tokens=4) for n in range(15)]

        async def one(c: httpx.AsyncClient, url: str, p: RateLimitPacer, r: Any) -> int:
            try:
                return await send(c, url, p, r)
            except DailyLimitReached as exc:
                failures.append(exc)
                return 0

        failures: list[DailyLimitReached] = []
        asyncio.run(send_all(server, pacer, requests, one))
    assert server.accepted == 10
    assert len(failures) == 5
    # 10 a "day" of 1,000 s: all 10 back in 1,000 s (16m40s, give or take the test's time).
    first = failures[0]
    assert first.resets_in is not None
    assert first.resets_in == pytest.approx(1000.0, abs=5.0)
    assert str(first) == (
        "the daily request limit for llama-3.1-8b-instant is spent (10 requests per day); it "
        f"resets in {format_duration(first.resets_in)}: too long to wait here — run the rest "
        "with groq_magic.batch(...)"
    )


# -- the loopback server speaks Groq ---------------------------------------------------------


def test_the_server_answers_like_groq_through_the_projects_client() -> None:
    from groq_magic.client import Groq, RateLimitError

    with RateLimitedServer(rpm=1, tpm=5000, rpd=100, minute=60.0) as server:
        client = Groq(api_key=FAKE_KEY, base_url=server.base_url, max_retries=0)
        try:
            completion = client.chat.completions.create(
                messages=[{"role": "user", "content": "Hi"}], model=MODEL, max_tokens=8
            )
            with pytest.raises(RateLimitError) as caught:
                client.chat.completions.create(
                    messages=[{"role": "user", "content": "Hi"}], model=MODEL, stream=True
                )
        finally:
            client.close()
    limits = completion.rate_limits
    assert limits is not None
    assert (limits.limit_requests, limits.remaining_requests) == (100, 99)
    assert (limits.limit_tokens, limits.remaining_tokens) == (5000, 5000 - 8 - 8)
    assert completion.usage is not None
    assert completion.usage.total_tokens == 16
    error = caught.value
    assert error.code == "rate_limit_exceeded"
    assert error.retry_after == pytest.approx(60.0, abs=0.1)
    hit = parse_rate_limit_message(error.message)
    assert hit is not None
    assert hit == RateLimitHit("requests", "minute", 1, 1, 1, hit.retry_after, MODEL)
    assert hit.retry_after == pytest.approx(60.0, rel=0.01)


def test_the_server_streams_with_the_headers_first() -> None:
    from groq_magic.client import Groq

    with RateLimitedServer(tpm=5000, rpd=100) as server:
        client = Groq(api_key=FAKE_KEY, base_url=server.base_url, max_retries=0)
        try:
            stream = client.chat.completions.create(
                messages=[{"role": "user", "content": "Hi"}], model=MODEL, stream=True
            )
            limits = stream.rate_limits
            text = stream.until_done()
        finally:
            client.close()
    assert (limits.limit_tokens, limits.remaining_requests) == (5000, 99)
    assert text == " ok" * 16
    assert stream.usage is not None
    assert stream.usage.completion_tokens == 16
