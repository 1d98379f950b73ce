"""The request first in line checks again whenever anything changes (issue 17, bug 7), and the
pacer's books follow Groq's: a request reserves its max tokens, and what its answer did not
use comes back when it ends, even after a response's headers counted the reservation.

On fake clocks (``pacing_fakes``): nothing here depends on how fast the machine is.
"""

from __future__ import annotations

import asyncio

import pytest
from pacing_fakes import MODEL, FakeClock, ManualClock, body, drive, fake_pacer, run
from ratelimit_server import RateLimitedServer, prompt_tokens

from groq_magic.pacing import Permit, RateLimitPacer


def tpm_left(remaining: int, limit: int = 6000) -> dict[str, str]:
    """A response's TPM headers."""
    return {"x-ratelimit-limit-tokens": str(limit), "x-ratelimit-remaining-tokens": str(remaining)}


async def learned(pacer: RateLimitPacer, remaining: int) -> None:
    """One small request whose answer tells the pacer the TPM (6,000) and what remains."""
    (await pacer.acquire(10, model=MODEL)).done(headers=tpm_left(remaining), used_tokens=10)


def test_a_refund_releases_the_request_waiting_for_it_at_once() -> None:
    # Bug 7, as measured with a 6-second minute: a refund at 0.10 s released the waiting
    # request only at 4.01 s, when the delay it computed before the refund ran out.
    clock = ManualClock()
    pacer = fake_pacer(clock, minute=6.0)  # 6,000 tokens a "minute": 1,000 a second

    async def scenario() -> float:
        await learned(pacer, remaining=5990)
        big = await pacer.acquire(5000, model=MODEL, eager=True)  # max_tokens 5,000, reserved
        waiting = asyncio.ensure_future(pacer.acquire(5000, model=MODEL, eager=True))
        await clock.advance(0.10)
        assert not waiting.done()  # about 4,000 missing: 4 s at 1,000 a second
        big.done(used_tokens=40)  # a short answer: 4,960 come back
        return await clock.until_done(waiting)

    assert run(scenario()) == pytest.approx(0.10)


def test_a_reservation_the_headers_counted_is_refunded_too() -> None:
    # Groq's headers at a response's start already count the request's max tokens; when the
    # answer ends, the server gives back what it did not use, and so must the pacer.
    clock = ManualClock()
    pacer = fake_pacer(clock, minute=6.0)

    async def scenario() -> float:
        await learned(pacer, remaining=5990)
        big = await pacer.acquire(5000, model=MODEL, eager=True)
        big.observe(tpm_left(990))  # the server reserved the 5,000
        waiting = asyncio.ensure_future(pacer.acquire(5000, model=MODEL, eager=True))
        await clock.advance(0.25)
        big.done(used_tokens=40)
        return await clock.until_done(waiting)

    assert run(scenario()) == pytest.approx(0.25)


def test_headers_that_show_more_room_release_the_waiting_request() -> None:
    clock = ManualClock()
    pacer = fake_pacer(clock)  # Groq's minute: 100 tokens a second

    async def scenario() -> float:
        await learned(pacer, remaining=100)  # another notebook on the key spent the minute
        on_its_way = await pacer.acquire(10, model=MODEL, eager=True)
        waiting = asyncio.ensure_future(pacer.acquire(3000, model=MODEL, eager=True))
        await clock.advance(1.0)
        assert not waiting.done()  # about 29 s to wait, by what was known
        on_its_way.observe(tpm_left(5000))  # the other notebook's answers ended: room again
        return await clock.until_done(waiting)

    assert run(scenario()) == pytest.approx(1.0)


def test_without_any_change_the_waiting_request_goes_when_its_wait_is_over() -> None:
    clock = ManualClock()
    pacer = fake_pacer(clock)

    async def scenario() -> float:
        await learned(pacer, remaining=100)
        return await clock.until_done(asyncio.ensure_future(pacer.acquire(600, model=MODEL)))

    assert run(scenario()) == pytest.approx(5.0)  # 500 missing at 100 a second


def test_a_freed_place_releases_the_next_request_at_once() -> None:
    clock = ManualClock()
    pacer = fake_pacer(clock, max_concurrency=1)

    async def scenario() -> float:
        first = await pacer.acquire(10, model=MODEL)
        waiting = asyncio.ensure_future(pacer.acquire(10, model=MODEL))
        await clock.advance(3.0)
        assert not waiting.done()
        first.failed()
        return await clock.until_done(waiting)

    assert run(scenario()) == pytest.approx(3.0)


def test_reservations_of_max_tokens_are_paced_by_what_the_answers_use() -> None:
    # Against the server's own verdicts on a fake clock: each request reserves 2,000 max
    # tokens and uses 50 of them. A pacer that kept the reservation on its books until the
    # next headers would hold back about 2,000 tokens for good: 20 s at 100 a second.
    clock = FakeClock()
    server = RateLimitedServer(tpm=6000, answer_tokens=50, clock=clock)
    requests = [body(f"[{n}] " + "word " * 200, max_tokens=2000) for n in range(30)]
    admitted, rejected = run(drive(fake_pacer(clock), server, requests, clock))
    assert rejected == 0
    costs = [(prompt_tokens(r) + 2000, prompt_tokens(r) + 50) for r in requests]
    minimum = server.ideal_finish(costs)
    assert minimum > 40  # the TPM binds
    assert admitted[-1] == pytest.approx(minimum, rel=0.02)


def test_waiting_requests_go_in_the_order_they_asked() -> None:
    clock = ManualClock()
    pacer = fake_pacer(clock, minute=6.0)

    async def scenario() -> list[int]:
        await learned(pacer, remaining=0)
        order: list[int] = []

        async def one(n: int, tokens: int) -> Permit:
            permit = await pacer.acquire(tokens, model=MODEL, eager=True)
            order.append(n)
            return permit

        tasks = [asyncio.ensure_future(one(n, t)) for n, t in enumerate([3000, 10, 10])]
        await clock.until_done(asyncio.gather(*tasks))
        return order

    assert run(scenario()) == [0, 1, 2]  # the small ones do not jump the large one


def test_the_refund_is_what_the_server_gives_back_when_the_prompt_tokens_are_known() -> None:
    # The estimate said 100 prompt tokens, the server counted 90: it reserved 90 + 900 and
    # gives back 900 - 50 when the answer ends, not the estimate's 1,000 - 140.
    clock = ManualClock()
    pacer = fake_pacer(clock, minute=6.0)

    async def scenario() -> float:
        await learned(pacer, remaining=6000)
        permit = await pacer.acquire(1000, model=MODEL, max_tokens=900, eager=True)
        permit.observe(tpm_left(6000 - 990))
        permit.done(used_tokens=140, prompt_tokens=90)  # books: 6,000 - 140
        waiting = asyncio.ensure_future(pacer.acquire(5870, model=MODEL, eager=True))
        return await clock.until_done(waiting)

    assert run(scenario()) == pytest.approx(0.01)  # 10 tokens short at 1,000 a second


def test_a_refund_a_reading_already_showed_is_not_given_twice() -> None:
    # The server gave back the first answer's unused tokens before it admitted the second
    # request, whose headers are read before the first answer's end is.
    clock = ManualClock()
    pacer = fake_pacer(clock, minute=6.0)

    async def scenario() -> float:
        await learned(pacer, remaining=6000)
        first = await pacer.acquire(1000, model=MODEL, max_tokens=900, eager=True)
        first.observe(tpm_left(5000))
        second = await pacer.acquire(1000, model=MODEL, max_tokens=900, eager=True)
        second.observe(tpm_left(5000 - 1000 + 850))  # the first's 850 are back already
        first.done(used_tokens=150, prompt_tokens=100)  # ... so the books give nothing more
        waiting = asyncio.ensure_future(pacer.acquire(4900, model=MODEL, eager=True))
        return await clock.until_done(waiting)

    assert run(scenario()) == pytest.approx(0.05)  # 4,850 held: 50 short at 1,000 a second
