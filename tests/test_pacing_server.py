"""``tests/ratelimit_server.py`` is faithful to Groq's rate limits (``groq-protocol.md``):
buckets refilled continuously, ``-requests`` headers for the day and ``-tokens`` for the
minute, the max tokens reserved at admission and given back when the answer ends, 429s
that name the limit, whole-second ``retry-after``, and a limit of 0.

On a fake clock, through :meth:`RateLimitedServer.admit` (the HTTP handler's own verdicts).
"""

from __future__ import annotations

import pytest
from pacing_fakes import MODEL, body
from ratelimit_server import RateLimitedServer, go_duration, prompt_tokens

from groq_magic.pacing import RateLimitHit, parse_rate_limit_message


class Clock:
    """A clock the test sets."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_request_reserves_its_max_tokens_until_its_answer_ends() -> None:
    clock = Clock()
    # 6,000 tokens a minute (100 a second); each answer is 10 tokens, after 2 s.
    server = RateLimitedServer(tpm=6000, answer_tokens=10, latency=2.0, clock=clock)
    request = body("x" * 40, max_tokens=500)
    asked = prompt_tokens(request) + 500
    assert asked == 517
    status, headers, _, completion = server.admit(request)
    assert (status, completion) == (200, 10)
    assert headers["x-ratelimit-remaining-tokens"] == str(6000 - asked)  # reserved at once
    assert headers["x-ratelimit-reset-tokens"] == go_duration(asked / 100)  # until full again
    clock.now = 1.0  # the first answer is still being written: its reservation holds
    _, headers, _, _ = server.admit(request)
    assert headers["x-ratelimit-remaining-tokens"] == str(6000 - asked + 100 - asked)
    clock.now = 2.5  # the first answer ended at 2.0: the 490 it did not use came back
    _, headers, _, _ = server.admit(request)
    assert headers["x-ratelimit-remaining-tokens"] == str(6000 - 3 * asked + 250 + 490)
    assert [a.charged for a in server.log] == [27, 27, 27]  # what each really used


def test_the_headers_say_requests_per_day_and_tokens_per_minute_only() -> None:
    clock = Clock()
    server = RateLimitedServer(rpm=30, tpm=6000, rpd=14400, tpd=500_000, clock=clock)
    _, headers, _, _ = server.admit(body("Hi", max_tokens=8))
    limits = {k: v for k, v in headers.items() if k.startswith("x-ratelimit-")}
    assert limits == {
        "x-ratelimit-limit-requests": "14400",
        "x-ratelimit-remaining-requests": "14399",
        "x-ratelimit-reset-requests": "6s",  # one request's refill at 14,400 a day
        "x-ratelimit-limit-tokens": "6000",
        "x-ratelimit-remaining-tokens": str(6000 - 8 - prompt_tokens(body("Hi"))),
        "x-ratelimit-reset-tokens": go_duration((8 + prompt_tokens(body("Hi"))) / 100),
    }


def test_a_full_bucket_may_be_spent_at_once_then_the_rpm_429_names_the_limit() -> None:
    clock = Clock()
    server = RateLimitedServer(rpm=30, clock=clock)
    verdicts = [server.admit(body(f"q{n}", max_tokens=4))[0] for n in range(31)]
    assert verdicts == [200] * 30 + [429]
    status, headers, error, _ = server.admit(body("again", max_tokens=4))
    assert status == 429
    assert headers["retry-after"] == "2"  # one request's refill at 30 a minute
    assert "x-ratelimit-limit-requests" not in headers  # the RPM has no header
    message = error["error"]["message"]
    assert "on requests per minute (RPM): Limit 30, Used 30, Requested 1." in message
    assert "Please try again in 2s." in message
    assert parse_rate_limit_message(message) == RateLimitHit(
        "requests", "minute", 30, 30, 1, 2.0, MODEL
    )
    clock.now = 2.0
    assert server.admit(body("later", max_tokens=4))[0] == 200


@pytest.mark.parametrize(
    ("minute", "elapsed", "retry_after"),
    [(60.0, 1.5, "1"), (60.0, 0.0, "2"), (6.0, 0.15, "0.1"), (6.0, 0.19, "0.1"), (6.0, 0.0, "0.2")],
)
def test_retry_after_is_rounded_up_to_whole_seconds_of_the_minute(
    minute: float, elapsed: float, retry_after: str
) -> None:
    # Groq sends whole seconds of its 60-second minute; a shorter minute keeps the proportion.
    clock = Clock()
    server = RateLimitedServer(rpm=30, minute=minute, clock=clock)
    for n in range(30):
        server.admit(body(f"q{n}", max_tokens=4))
    clock.now = elapsed
    status, headers, _, _ = server.admit(body("one more", max_tokens=4))
    assert (status, headers["retry-after"]) == (429, retry_after)


def test_a_limit_of_0_refuses_every_request_naming_no_wait() -> None:
    server = RateLimitedServer(tpm=0, clock=Clock())
    status, headers, error, _ = server.admit(body("Hi", max_tokens=8))
    assert status == 429
    assert "retry-after" not in headers
    message = error["error"]["message"]
    assert "on tokens per minute (TPM): Limit 0, Used 0, Requested" in message
    assert "try again" not in message
    hit = parse_rate_limit_message(message)
    assert hit is not None
    assert (hit.unit, hit.window, hit.limit, hit.retry_after) == ("tokens", "minute", 0, None)


def test_least_time_is_the_protocol_notes_bound() -> None:
    server = RateLimitedServer(rpm=30, tpm=6000)
    # 100 requests of 120 tokens: tokens (12,000 - 6,000) / 100 a second = 60 s;
    # requests (100 - 30) / 0.5 a second = 140 s. The larger binds.
    assert server.least_time([120] * 100) == pytest.approx(140.0)
    assert server.least_time([600] * 40) == pytest.approx(180.0)  # 24,000 tokens
    assert server.least_time([10] * 5) == 0.0  # everything fits in full buckets


def test_ideal_finish_counts_the_refunds() -> None:
    server = RateLimitedServer(tpm=6000, latency=1.0)
    # Each reserves 5,000 and uses 100: the second fits once the first's answer ended.
    assert server.ideal_finish([(5000, 100), (5000, 100)]) == pytest.approx(1.0)
    assert RateLimitedServer(tpm=6000).ideal_finish([(5000, 5000)] * 2) == pytest.approx(40.0)
