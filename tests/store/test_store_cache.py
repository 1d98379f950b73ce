"""The replay cache: which request fields make a different key, and what a lookup serves."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from keys import FAKE_KEY
from scripted_server import ScriptedServer, completion_reply

from groq_magic.store import Exchange, Store, StoreError, cache_key, parse_age

BASE_URL = "https://api.groq.com/openai/v1"
MakeRequest = Callable[..., dict[str, Any]]
MakeExchange = Callable[..., Exchange]

IMAGE = {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}}
OTHER_IMAGE = {"type": "image_url", "image_url": {"url": "https://example.com/b.png"}}
TOOL = {"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}


def _image_request(image: dict[str, Any]) -> dict[str, Any]:
    content = [{"type": "text", "text": "What is this?"}, image]
    return {"model": "m", "messages": [{"role": "user", "content": content}]}


CHANGES_THE_KEY: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "model": lambda body: {**body, "model": "llama-3.1-8b-instant"},
    "messages": lambda body: {**body, "messages": [{"role": "user", "content": "Other."}]},
    "earlier turns": lambda body: {
        **body,
        "messages": [{"role": "system", "content": "Be brief."}, *body["messages"]],
    },
    "temperature": lambda body: {**body, "temperature": 0.7},
    "seed": lambda body: {**body, "seed": 42},
    "tools": lambda body: {**body, "tools": [TOOL]},
    "response_format": lambda body: {**body, "response_format": {"type": "json_object"}},
    "an unknown field": lambda body: {**body, "reasoning_effort": "low"},
}


@pytest.mark.parametrize("field", list(CHANGES_THE_KEY))
def test_each_field_changes_the_key(make_request: MakeRequest, field: str) -> None:
    body = make_request()
    assert cache_key(CHANGES_THE_KEY[field](body), BASE_URL) != cache_key(body, BASE_URL)


def test_images_change_the_key() -> None:
    one = cache_key(_image_request(IMAGE), BASE_URL)
    assert one == cache_key(_image_request(dict(IMAGE)), BASE_URL)
    assert one != cache_key(_image_request(OTHER_IMAGE), BASE_URL)


def test_the_base_url_changes_the_key_but_not_its_spelling(make_request: MakeRequest) -> None:
    body = make_request()
    key = cache_key(body, BASE_URL)
    assert cache_key(body, "http://localhost:8080/v1") != key
    assert cache_key(body, "https://api.groq.com/v1") != key
    for same in (
        "https://api.groq.com/openai/v1/",
        "HTTPS://API.Groq.com/openai/v1",
        "https://api.groq.com:443/openai/v1",
        "https://user:secret@api.groq.com/openai/v1?x=1",
    ):
        assert cache_key(body, same) == key, same


def test_stream_and_field_order_do_not_change_the_key(make_request: MakeRequest) -> None:
    body = make_request()
    key = cache_key(body, BASE_URL)
    assert cache_key({**body, "stream": True}, BASE_URL) == key
    assert cache_key({**body, "stream": False}, BASE_URL) == key
    assert cache_key({**body, "stream_options": {"include_usage": True}}, BASE_URL) == key
    assert cache_key(dict(reversed(list(body.items()))), BASE_URL) == key
    assert cache_key({**body, "temperature": 1}, BASE_URL) == cache_key(
        {**body, "temperature": 1.0}, BASE_URL
    )


def test_credentials_in_the_body_do_not_change_the_key(make_request: MakeRequest) -> None:
    body = make_request()
    key = cache_key(body, BASE_URL)
    assert cache_key({**body, "api_key": FAKE_KEY}, BASE_URL) == key
    assert cache_key({**body, "Authorization": f"Bearer {FAKE_KEY}2"}, BASE_URL) == key


def test_two_clients_with_different_keys_share_the_key() -> None:
    # The real request bodies of two clients that differ only in their API key.
    from groq_magic.client import Groq

    with ScriptedServer() as server:
        server.enqueue(completion_reply("a"), completion_reply("b"))
        for api_key in (FAKE_KEY, FAKE_KEY.replace("SECRET", "OTHER")):
            with Groq(api_key=api_key, base_url=server.base_url, max_retries=0) as client:
                client.chat.completions.create(
                    model="llama-3.3-70b-versatile",
                    messages=[{"role": "user", "content": "Hi"}],
                    temperature=0.2,
                )
        first, second = (r.json() for r in server.requests)
        assert server.requests[0].headers != server.requests[1].headers  # the keys differ
        url = server.base_url
    assert first == second
    assert FAKE_KEY not in str(first)
    assert cache_key(first, url) == cache_key(second, url)


def test_lookup_serves_only_complete_answers(
    store: Store, make_exchange: MakeExchange, make_request: MakeRequest
) -> None:
    key = cache_key(make_request(), BASE_URL)
    assert store.lookup(key) is None
    store.record(make_exchange(status="error", answer="", error="503 ..."))
    store.record(make_exchange(status="interrupted", answer="Bl"))
    store.record(make_exchange(status="incomplete", answer="Blu"))
    assert store.lookup(key) is None
    store.record(make_exchange(answer="Blue."))
    store.record(make_exchange(answer="Green."))
    store.record(make_exchange(status="interrupted", answer="Re"))
    found = store.lookup(key)
    assert found is not None
    assert found.answer == "Green."
    assert found.cache_key == key


def test_a_streamed_answer_replays_for_a_non_streamed_request(
    store: Store, make_exchange: MakeExchange, make_request: MakeRequest
) -> None:
    store.record(make_exchange(request=make_request(stream=True)))
    found = store.replay(make_request(stream=False), BASE_URL + "/")
    assert found is not None
    assert found.answer == "Blue."
    assert store.replay(make_request(seed=1), BASE_URL) is None
    assert store.replay(make_request(), "http://127.0.0.1:8080/v1") is None


def test_cache_info_and_clear(store: Store, make_exchange: MakeExchange) -> None:
    now = datetime.now(timezone.utc)
    store.record(make_exchange("old", created=now - timedelta(days=10)))
    store.record(make_exchange("old error", created=now - timedelta(days=9), status="error"))
    store.record(make_exchange("recent", created=now - timedelta(hours=1)))
    info = store.cache_info()
    assert (info.entries, info.exchanges) == (2, 3)
    assert info.size_bytes > 0
    assert info.oldest is not None
    assert info.newest is not None
    assert info.newest - info.oldest > timedelta(days=9)
    assert {row["what"] for row in info.as_rows()} >= {"cached answers", "size on disk"}
    assert store.cache_clear(parse_age("7d")) == 2
    assert [r["prompt"] for r in store.log()] == ["recent"]
    assert store.log(search="old") == []  # the search index forgot them too
    assert store.cache_clear() == 1
    assert store.cache_info().exchanges == 0


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30m", timedelta(minutes=30)),
        ("12h", timedelta(hours=12)),
        ("7d", timedelta(days=7)),
        ("2w", timedelta(weeks=2)),
        (" 1.5D ", timedelta(hours=36)),
        ("45s", timedelta(seconds=45)),
    ],
)
def test_parse_age(text: str, expected: timedelta) -> None:
    assert parse_age(text) == expected


@pytest.mark.parametrize("text", ["", "7", "d", "7 days", "-1d", "1y", "7d\nx"])
def test_parse_age_refuses_other_text_in_one_line(text: str) -> None:
    with pytest.raises(StoreError, match="cannot read") as info:
        parse_age(text)
    assert "\n" not in str(info.value)
