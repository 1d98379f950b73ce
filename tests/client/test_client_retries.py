"""Retry rules (the official SDK's policy), asserted through the injected sleep: no real waits."""

from __future__ import annotations

import email.utils
import time
from typing import Any

import pytest
from scripted_server import (
    Reply,
    ScriptedServer,
    chunk_events,
    completion_reply,
    error_reply,
    sse_reply,
)

from groq_magic.client import (
    APIConnectionError,
    APIStatusError,
    APIStreamError,
    APITimeoutError,
    BadRequestError,
    CapacityExceededError,
    InternalServerError,
    RateLimitError,
)

USER = [{"role": "user", "content": "hi"}]


# Backoff for retry n (0-based) is min(0.5 * 2**n, 8) times a jitter factor in 0.75..1.
def assert_backoff(delays: list[float]) -> None:
    for n, delay in enumerate(delays):
        base = min(0.5 * 2**n, 8.0)
        assert 0.75 * base <= delay <= base, f"retry {n}: {delay} not in [{0.75 * base}, {base}]"


def create(client: Any) -> Any:
    return client.chat.completions.create(messages=USER, model="m")


@pytest.mark.parametrize("status", [408, 409, 429, 500, 502, 503, 504])
def test_retryable_status_then_success(
    server: ScriptedServer, make_client: Any, sleeps: list[float], status: int
) -> None:
    server.enqueue(error_reply(status, "try again"), completion_reply("recovered"))
    completion = create(make_client())
    assert completion.choices[0].message.content == "recovered"
    assert len(server.requests) == 2
    assert len(sleeps) == 1
    assert_backoff(sleeps)


@pytest.mark.parametrize("status", [400, 401, 403, 404, 413, 422, 498])
def test_non_retryable_status(
    server: ScriptedServer, make_client: Any, sleeps: list[float], status: int
) -> None:
    server.enqueue(error_reply(status, "no"), completion_reply("never sent"))
    with pytest.raises(APIStatusError) as info:
        create(make_client())
    assert info.value.status_code == status
    assert len(server.requests) == 1
    assert sleeps == []


def test_498_capacity_exceeded_not_retried(
    server: ScriptedServer, make_client: Any, sleeps: list[float]
) -> None:
    server.enqueue(error_reply(498, "flex capacity exceeded", code="capacity_exceeded"))
    with pytest.raises(CapacityExceededError):
        create(make_client(max_retries=5))
    assert len(server.requests) == 1


def test_default_two_retries_three_attempts(
    server: ScriptedServer, make_client: Any, sleeps: list[float]
) -> None:
    server.enqueue(*[error_reply(500, f"boom {n}") for n in range(5)])
    with pytest.raises(InternalServerError) as info:
        create(make_client(max_retries=2))
    assert len(server.requests) == 3
    assert info.value.message == "boom 2"  # the last answer is the one reported
    assert len(sleeps) == 2
    assert_backoff(sleeps)


def test_default_max_retries_is_two(server: ScriptedServer, sleeps: list[float]) -> None:
    from keys import FAKE_KEY

    from groq_magic.client import Groq

    server.enqueue(*[error_reply(503, "down") for _ in range(5)])
    with (
        Groq(api_key=FAKE_KEY, base_url=server.base_url, _sleep=sleeps.append) as client,
        pytest.raises(InternalServerError),
    ):
        create(client)
    assert len(server.requests) == 3


@pytest.mark.parametrize("max_retries", [0, 1, 5])
def test_max_retries_configurable(
    server: ScriptedServer, make_client: Any, sleeps: list[float], max_retries: int
) -> None:
    server.enqueue(*[error_reply(502, "bad gateway") for _ in range(8)])
    with pytest.raises(InternalServerError):
        create(make_client(max_retries=max_retries))
    assert len(server.requests) == max_retries + 1
    assert len(sleeps) == max_retries
    assert_backoff(sleeps)


def test_backoff_is_capped_at_eight_seconds(
    server: ScriptedServer, make_client: Any, sleeps: list[float]
) -> None:
    server.enqueue(*[error_reply(500, "x") for _ in range(8)])
    with pytest.raises(InternalServerError):
        create(make_client(max_retries=7))
    assert len(sleeps) == 7
    assert_backoff(sleeps)
    assert max(sleeps) <= 8.0
    assert all(d >= 6.0 for d in sleeps[4:])


def test_backoff_has_jitter(server: ScriptedServer, make_client: Any, sleeps: list[float]) -> None:
    client = make_client(max_retries=1)
    for _ in range(12):
        server.enqueue(error_reply(500, "x"), completion_reply())
        create(client)
    assert len(sleeps) == 12
    assert all(0.375 <= d <= 0.5 for d in sleeps)
    assert len(set(sleeps)) > 1


def test_retry_after_ms(server: ScriptedServer, make_client: Any, sleeps: list[float]) -> None:
    server.enqueue(
        error_reply(
            429, "slow down", code="rate_limit_exceeded", headers={"retry-after-ms": "1250"}
        ),
        completion_reply("ok"),
    )
    create(make_client())
    assert sleeps == [1.25]


def test_retry_after_ms_wins_over_retry_after(
    server: ScriptedServer, make_client: Any, sleeps: list[float]
) -> None:
    headers = {"retry-after-ms": "300", "retry-after": "7"}
    server.enqueue(error_reply(429, "slow", headers=headers), completion_reply())
    create(make_client())
    assert sleeps == [0.3]


@pytest.mark.parametrize(("value", "expected"), [("5", 5.0), ("2.5", 2.5), ("60", 60.0)])
def test_retry_after_seconds(
    server: ScriptedServer, make_client: Any, sleeps: list[float], value: str, expected: float
) -> None:
    server.enqueue(
        error_reply(
            429, "Please try again in 5.289s.", type="tokens", headers={"retry-after": value}
        ),
        completion_reply(),
    )
    create(make_client())
    assert sleeps == [expected]


def test_retry_after_http_date(
    server: ScriptedServer, make_client: Any, sleeps: list[float]
) -> None:
    when = email.utils.formatdate(time.time() + 20, usegmt=True)
    server.enqueue(error_reply(503, "later", headers={"retry-after": when}), completion_reply())
    create(make_client())
    (delay,) = sleeps
    # The date has one-second resolution and the clock moves on a little: about 20 s.
    assert 17.0 <= delay <= 20.0


@pytest.mark.parametrize("value", ["600", "-3", "soon", "Wed, 21 Oct 2015 07:28:00 GMT"])
def test_unusable_retry_after_falls_back_to_backoff(
    server: ScriptedServer, make_client: Any, sleeps: list[float], value: str
) -> None:
    server.enqueue(error_reply(429, "limit", headers={"retry-after": value}), completion_reply())
    create(make_client())
    assert len(sleeps) == 1
    assert_backoff(sleeps)


def test_rate_limit_error_after_retries_keeps_headers(
    server: ScriptedServer, make_client: Any, sleeps: list[float]
) -> None:
    server.enqueue(
        *[
            error_reply(
                429,
                "limit",
                type="requests",
                code="rate_limit_exceeded",
                headers={"retry-after": "1"},
            )
            for _ in range(3)
        ]
    )
    with pytest.raises(RateLimitError) as info:
        create(make_client())
    assert info.value.type == "requests"
    assert info.value.code == "rate_limit_exceeded"
    assert sleeps == [1.0, 1.0]


def test_x_should_retry_true_forces_a_retry(
    server: ScriptedServer, make_client: Any, sleeps: list[float]
) -> None:
    server.enqueue(error_reply(400, "odd", headers={"x-should-retry": "true"}), completion_reply())
    assert create(make_client()).choices[0].message.content == "Hello!"
    assert len(server.requests) == 2


@pytest.mark.parametrize("status", [429, 500, 503])
def test_x_should_retry_false_forbids_a_retry(
    server: ScriptedServer, make_client: Any, sleeps: list[float], status: int
) -> None:
    headers = {"x-should-retry": "false", "retry-after": "2"}
    server.enqueue(error_reply(status, "no retry", headers=headers), completion_reply())
    with pytest.raises(APIStatusError):
        create(make_client())
    assert len(server.requests) == 1
    assert sleeps == []


def test_x_should_retry_true_on_498(
    server: ScriptedServer, make_client: Any, sleeps: list[float]
) -> None:
    server.enqueue(error_reply(498, "x", headers={"x-should-retry": "true"}), completion_reply())
    create(make_client())
    assert len(server.requests) == 2


def test_retried_request_sends_the_same_body(
    server: ScriptedServer, make_client: Any, sleeps: list[float]
) -> None:
    server.enqueue(error_reply(500, "x"), error_reply(500, "y"), completion_reply())
    create(make_client())
    first, second, third = server.requests
    assert first.json() == second.json() == third.json()
    assert first.headers["authorization"] == third.headers["authorization"]


def test_connection_reset_is_retried(
    server: ScriptedServer, make_client: Any, sleeps: list[float]
) -> None:
    server.enqueue(Reply(reset_before_response=True), completion_reply("second try"))
    assert create(make_client()).choices[0].message.content == "second try"
    assert len(server.requests) == 2
    assert len(sleeps) == 1
    assert_backoff(sleeps)


def test_connection_errors_exhaust_retries(
    server: ScriptedServer, make_client: Any, sleeps: list[float]
) -> None:
    server.enqueue(*[Reply(reset_before_response=True) for _ in range(3)])
    with pytest.raises(APIConnectionError):
        create(make_client())
    assert len(server.requests) == 3
    assert len(sleeps) == 2


def test_timeout_is_retried(server: ScriptedServer, make_client: Any, sleeps: list[float]) -> None:
    server.enqueue(Reply(json={}, stall_before=1.5), completion_reply("in time"))
    client = make_client(timeout=0.2)
    assert create(client).choices[0].message.content == "in time"
    assert len(server.requests) == 2


def test_timeouts_exhaust_retries(
    server: ScriptedServer, make_client: Any, sleeps: list[float]
) -> None:
    server.enqueue(*[Reply(json={}, stall_before=1.0) for _ in range(2)])
    with pytest.raises(APITimeoutError):
        create(make_client(timeout=0.1, max_retries=1))
    assert len(server.requests) == 2


def test_stream_error_status_is_retried_before_content(
    server: ScriptedServer, make_client: Any, sleeps: list[float]
) -> None:
    server.enqueue(error_reply(503, "busy"), sse_reply(chunk_events(["fine"])))
    stream = make_client().chat.completions.create(messages=USER, model="m", stream=True)
    for _ in stream:
        pass
    assert stream.text == "fine"
    assert len(server.requests) == 2


def test_stream_reset_before_response_is_retried(
    server: ScriptedServer, make_client: Any, sleeps: list[float]
) -> None:
    server.enqueue(Reply(reset_before_response=True), sse_reply(chunk_events(["fine"])))
    stream = make_client().chat.completions.create(messages=USER, model="m", stream=True)
    for _ in stream:
        pass
    assert stream.text == "fine"


def test_stream_that_delivered_content_is_never_retried(
    server: ScriptedServer, make_client: Any, sleeps: list[float]
) -> None:
    from scripted_server import sse_bytes

    events = chunk_events(["This ", "is ", "partial"])
    cut = sum(len(f) for f in sse_bytes(events)[:3]) + 5
    server.enqueue(sse_reply(events, close_after=cut), sse_reply(chunk_events(["other"])))
    stream = make_client(max_retries=5).chat.completions.create(
        messages=USER, model="m", stream=True
    )
    with pytest.raises(APIStreamError) as info:
        for _ in stream:
            pass
    assert info.value.partial_text == "This is "
    assert len(server.requests) == 1
    assert sleeps == []
    assert server.pending == 1


def test_mid_stream_error_event_is_not_retried(
    server: ScriptedServer, make_client: Any, sleeps: list[float]
) -> None:
    import json

    error = {"error": {"message": "overloaded", "type": "server_error", "status_code": 503}}
    frame = f"event: error\ndata: {json.dumps(error)}\n\n"
    frames: list[Any] = [*chunk_events(["so far"])[:2], frame]
    server.enqueue(sse_reply(frames, done=False), sse_reply(chunk_events(["other"])))
    stream = make_client().chat.completions.create(messages=USER, model="m", stream=True)
    with pytest.raises(APIStreamError):
        for _ in stream:
            pass
    assert len(server.requests) == 1


def test_bad_request_is_raised_at_once(
    server: ScriptedServer, make_client: Any, sleeps: list[float]
) -> None:
    server.enqueue(error_reply(400, "n must be 1", param="n"))
    with pytest.raises(BadRequestError):
        make_client(max_retries=10).chat.completions.create(messages=USER, model="m", n=2)
    assert len(server.requests) == 1
    assert server.requests[0].json()["n"] == 2


@pytest.mark.parametrize("bad", [-1, 1.5, "2", True])
def test_bad_max_retries_is_an_argument_error(bad: Any) -> None:
    from keys import FAKE_KEY

    from groq_magic.client import ArgumentError, Groq

    with pytest.raises(ArgumentError, match="max_retries"):
        Groq(api_key=FAKE_KEY, base_url="http://127.0.0.1:9/v1", max_retries=bad)


def test_status_error_carries_the_servers_wait_hint(server: Any, make_client: Any) -> None:
    # Callers that retry themselves (the compare grid's shared backoff) read it.
    server.enqueue(
        error_reply(
            429,
            "slow down",
            code="rate_limit_exceeded",
            headers={"retry-after-ms": "1500", "x-should-retry": "false"},
        )
    )
    server.enqueue(
        error_reply(503, "busy", headers={"retry-after": "7", "x-should-retry": "false"})
    )
    server.enqueue(error_reply(400, "bad"))
    client = make_client(max_retries=0)
    waits = []
    for _ in range(3):
        with pytest.raises(APIStatusError) as info:
            client.chat.completions.create(messages=[{"role": "user", "content": "hi"}], model="m")
        waits.append(info.value.retry_after)
    assert waits == [1.5, 7.0, None]
