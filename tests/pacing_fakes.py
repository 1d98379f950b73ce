"""Clocks and helpers for the pacer's tests: the pacer runs on a fake clock, never on time.

``FakeClock`` moves only when the pacer sleeps (a sleep returns at once, the clock jumped);
``ManualClock`` moves only when the test advances it, and wakes each sleeper whose time has
come, so a test can say what happens *while* a request waits.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

from ratelimit_server import RateLimitedServer, prompt_tokens

from groq_magic.pacing import RateLimitPacer

MODEL = "llama-3.1-8b-instant"


class FakeClock:
    """A clock that moves only when the pacer sleeps (and records the sleeps)."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


class ManualClock:
    """A clock the test moves with :meth:`advance`; a sleep ends when the clock passes it."""

    def __init__(self) -> None:
        self.now = 0.0
        self._sleepers: list[tuple[float, asyncio.Future[None]]] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        woken: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._sleepers.append((self.now + seconds, woken))
        await woken

    async def advance(self, seconds: float) -> None:
        """Move the clock ``seconds`` on, waking each sleeper at its own time, in order."""
        target = self.now + seconds
        while True:
            due = [s for s in self._sleepers if s[0] <= target and not s[1].done()]
            if not due:
                break
            when, woken = min(due, key=lambda s: s[0])
            self.now = max(self.now, when)
            woken.set_result(None)
            await settle()
        self.now = target
        await settle()

    async def until_done(self, task: asyncio.Future[Any], *, limit: float = 600.0) -> float:
        """Advance sleeper by sleeper until ``task`` is done; the clock's time then."""
        await settle()
        while not task.done():
            pending = [s[0] for s in self._sleepers if not s[1].done()]
            if not pending or min(pending) > limit:
                raise AssertionError(f"still waiting at {self.now} s, nothing due before {limit}")
            await self.advance(max(0.0, min(pending) - self.now))
        return self.now


async def settle() -> None:
    """Let every task that can run, run (the clock does not move)."""
    for _ in range(50):
        await asyncio.sleep(0)


def fake_pacer(clock: FakeClock | ManualClock, **options: Any) -> RateLimitPacer:
    """A pacer on ``clock``."""
    return RateLimitPacer(clock=clock, sleep=clock.sleep, **options)


def body(content: Any = "Hello", *, model: str = MODEL, **extra: Any) -> dict[str, Any]:
    """A chat-completions request body with one user message."""
    return {"model": model, "messages": [{"role": "user", "content": content}], **extra}


async def drive(
    pacer: RateLimitPacer, server: RateLimitedServer, bodies: list[dict[str, Any]], clock: FakeClock
) -> tuple[list[float], int]:
    """Send ``bodies`` one after another through the pacer to the server's verdicts (no HTTP):
    when each was admitted (seconds since the clock's start), and how many 429s there were."""
    admitted: list[float] = []
    rejected = 0
    for request in bodies:
        while True:
            permit = await pacer.acquire_request(request)
            status, headers, error, completion = server.admit(request)
            if status == 429:
                permit.failed_rate_limited(headers, error["error"]["message"])
                rejected += 1
                continue
            prompt = prompt_tokens(request)
            permit.done(headers=headers, used_tokens=prompt + completion, prompt_tokens=prompt)
            admitted.append(clock.now - 1000.0)
            break
    return admitted, rejected


def run(coro: Awaitable[Any]) -> Any:
    """Run ``coro`` in a fresh event loop (the pacer's locks bind to the loop that uses them)."""

    async def main() -> Any:
        return await coro

    return asyncio.run(main())
