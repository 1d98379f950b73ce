"""A sent request body is let go once written, not when Python's cyclic collector runs.

httpx keeps every request inside reference cycles (the response and its stream, the
connection pool's request); a body given to it as bytes lived as long as they did, so
a sweep of requests with images held dozens of megabytes of bodies already sent. The
client hands httpx a generator instead. These tests disable the collector and count
what ``encode_body`` allocated that is still alive after the requests ended.
"""

from __future__ import annotations

import asyncio
import gc
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from scripted_server import (
    ScriptedServer,
    chunk_events,
    completion_reply,
    error_reply,
    sse_reply,
)

BIG = "x" * 1_000_000  # about the size of an image's data URL
REQUESTS = 4


@contextmanager
def bodies_alive() -> Iterator[Callable[[], int]]:
    """Yield a function giving the bytes still held that ``encode_body`` allocated."""
    gc.collect()
    gc.disable()
    tracemalloc.start()
    only_bodies = [tracemalloc.Filter(True, "*groq_magic/client/_request.py")]

    def alive() -> int:
        snapshot = tracemalloc.take_snapshot().filter_traces(only_bodies)
        return sum(stat.size for stat in snapshot.statistics("filename"))

    try:
        yield alive
    finally:
        tracemalloc.stop()
        gc.enable()


def _messages() -> list[dict[str, str]]:
    return [{"role": "user", "content": BIG}]


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
def test_sync_bodies_are_let_go(server: ScriptedServer, make_client: Any, stream: bool) -> None:
    with make_client() as client, bodies_alive() as alive:
        for _ in range(REQUESTS):
            if stream:
                server.enqueue(sse_reply(chunk_events(["ok"])))
                answer = client.chat.completions.create(
                    messages=_messages(), model="m", stream=True
                )
                assert "".join(c.choices[0].delta.content or "" for c in answer) == "ok"
            else:
                server.enqueue(completion_reply("ok"))
                answer = client.chat.completions.create(messages=_messages(), model="m")
                assert answer.choices[0].message.content == "ok"
        held = alive()
    assert len(server.requests) == REQUESTS
    assert all(len(r.body) > len(BIG) for r in server.requests)  # every body was sent whole
    # Before: every body (4 x 1 MB) until the collector ran.
    assert held < len(BIG), f"{held:,} bytes of sent bodies still alive"


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
def test_async_bodies_are_let_go(
    server: ScriptedServer, make_async_client: Any, stream: bool
) -> None:
    async def scenario() -> int:
        async with make_async_client() as client:
            for _ in range(REQUESTS):
                if stream:
                    server.enqueue(sse_reply(chunk_events(["ok"])))
                    answer = await client.chat.completions.create(
                        messages=_messages(), model="m", stream=True
                    )
                    parts = [c.choices[0].delta.content or "" async for c in answer]
                    assert "".join(parts) == "ok"
                else:
                    server.enqueue(completion_reply("ok"))
                    answer = await client.chat.completions.create(messages=_messages(), model="m")
                    assert answer.choices[0].message.content == "ok"
            return alive()

    with bodies_alive() as alive:
        held = asyncio.run(scenario())
    assert len(server.requests) == REQUESTS
    assert all(len(r.body) > len(BIG) for r in server.requests)
    assert held < len(BIG), f"{held:,} bytes of sent bodies still alive"


def test_a_retried_request_sends_its_whole_body_again(
    server: ScriptedServer, make_client: Any
) -> None:
    server.enqueue(error_reply(503, "busy", type="internal_server_error"), completion_reply("ok"))
    with make_client(max_retries=1) as client:
        answer = client.chat.completions.create(messages=_messages(), model="m")
    assert answer.choices[0].message.content == "ok"
    assert len(server.requests) == 2
    assert server.requests[0].body == server.requests[1].body
    assert server.requests[1].json()["messages"][0]["content"] == BIG
    assert server.requests[1].headers["content-length"] == str(len(server.requests[1].body))
