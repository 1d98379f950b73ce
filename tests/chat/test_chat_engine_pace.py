"""``arun_turn(pace=...)``: a permit before every request, settled by how the request went.

This is how compares and sweeps are paced (``groq_magic.pacing``); here the permits are
fakes that record their verdict, against the scripted loopback server.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from scripted_server import ScriptedServer, chunk_events, completion_reply, error_reply, sse_reply

from groq_magic.chat import ChatOptions, Conversation
from groq_magic.chat.engine import TurnError, arun_turn
from groq_magic.chat.prepare import prepare_turn
from groq_magic.chat.sink import NullSink

RPM_429 = (
    "Rate limit reached for model `llama-3.1-8b-instant` in organization `org_x` service tier "
    "`on_demand` on requests per minute (RPM): Limit 30, Used 30, Requested 1. Please try "
    "again in 2s."
)


class FakePermit:
    """Records the first verdict, as the pacer's permits keep only the first."""

    def __init__(self, body: dict[str, Any]) -> None:
        self.body = {**body, "messages": list(body["messages"])}
        self.verdict: tuple[Any, ...] | None = None
        self.observed: list[Any] = []
        self.prompt_tokens: int | None = None

    def observe(self, headers: Any) -> None:
        self.observed.append(headers)

    def done(
        self,
        *,
        headers: Any = None,
        used_tokens: int | None = None,
        prompt_tokens: int | None = None,
    ) -> None:
        if self.verdict is None:
            self.prompt_tokens = prompt_tokens
        self.verdict = self.verdict or ("done", headers, used_tokens)

    def failed_rate_limited(
        self, headers: Any = None, message: str | None = None, *, retry_after: float | None = None
    ) -> None:
        self.verdict = self.verdict or ("429", message, retry_after)

    def failed(self, headers: Any = None) -> None:
        self.verdict = self.verdict or ("failed",)


class FakePace:
    def __init__(self) -> None:
        self.permits: list[FakePermit] = []

    async def __call__(self, body: dict[str, Any]) -> FakePermit:
        permit = FakePermit(body)
        self.permits.append(permit)
        return permit


def _turn(make_async_client: Any, pace: FakePace, *, stream: bool = True, **client: Any) -> Any:
    prep = prepare_turn(
        ChatOptions(model="llama-3.1-8b-instant", stream=stream, max_tokens=50),
        "Hello.",
        None,
        Conversation(),
    )

    async def main() -> Any:
        async with make_async_client(**client) as groq:
            return await arun_turn(prep, groq, NullSink(), record=False, pace=pace)

    return asyncio.run(main())


def test_a_streamed_answer_settles_its_permit_with_its_headers_and_tokens(
    server: ScriptedServer, make_async_client: Any
) -> None:
    server.enqueue(sse_reply(chunk_events(["Hi", " there."])))
    pace = FakePace()
    result = _turn(make_async_client, pace)
    (permit,) = pace.permits
    assert permit.body["model"] == "llama-3.1-8b-instant"
    assert permit.body["messages"] == [{"role": "user", "content": "Hello."}]
    assert permit.body["max_completion_tokens"] == 50  # the estimate counts the answer's max
    kind, headers, used = permit.verdict or ()
    assert kind == "done"
    assert used == result.usage["total_tokens"] > 0
    assert permit.prompt_tokens == result.usage["prompt_tokens"] > 0  # exact refunds
    assert "x-ratelimit-remaining-tokens" in {k.lower() for k in headers.raw}
    # The stream's headers reached the pacer when it started, before its end.
    [observed] = permit.observed
    assert "x-ratelimit-remaining-tokens" in {k.lower() for k in observed.raw}


def test_a_plain_answer_settles_its_permit_too(
    server: ScriptedServer, make_async_client: Any
) -> None:
    server.enqueue(completion_reply(prompt_tokens=18, completion_tokens=7))
    pace = FakePace()
    _turn(make_async_client, pace, stream=False)
    assert [p.verdict[::2] for p in pace.permits if p.verdict] == [("done", 25)]


def test_a_429_tells_its_permit_the_limit_and_the_wait(
    server: ScriptedServer, make_async_client: Any
) -> None:
    server.enqueue(
        error_reply(
            429, RPM_429, type="requests", code="rate_limit_exceeded", headers={"retry-after": "2"}
        )
    )
    pace = FakePace()
    with pytest.raises(TurnError):
        _turn(make_async_client, pace, max_retries=0)
    (permit,) = pace.permits
    assert permit.verdict == ("429", RPM_429, 2.0)


def test_another_failure_frees_the_permit(server: ScriptedServer, make_async_client: Any) -> None:
    server.enqueue(error_reply(400, "bad request", code="bad"))
    pace = FakePace()
    with pytest.raises(TurnError):
        _turn(make_async_client, pace, max_retries=0)
    assert [p.verdict for p in pace.permits] == [("failed",)]
