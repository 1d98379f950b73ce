"""The scripted server itself, driven with plain httpx: framing, recording, faults, reuse."""

from __future__ import annotations

import gzip
import json

import httpx
import pytest
from scripted_server import (
    REQUEST_ID,
    Reply,
    ScriptedServer,
    chunk_events,
    completion_body,
    error_reply,
    sse_bytes,
    sse_reply,
)


def test_json_reply_and_recorded_request(server: ScriptedServer) -> None:
    server.enqueue(Reply(json={"ok": True}))
    response = httpx.post(
        server.base_url + "/chat/completions?x=1",
        json={"model": "m", "extra_field": [1]},
        headers={"Authorization": "Bearer abc", "X-Custom": "yes"},
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"ok": True}
    (request,) = server.requests
    assert (request.method, request.path, request.target) == (
        "POST",
        "/v1/chat/completions",
        "/v1/chat/completions?x=1",
    )
    assert request.headers["authorization"] == "Bearer abc"
    assert request.headers["x-custom"] == "yes"
    assert request.json() == {"model": "m", "extra_field": [1]}


def test_queue_is_fifo_and_empty_queue_answers_500(server: ScriptedServer) -> None:
    server.enqueue(Reply(body=b"first"), Reply(status=201, body=b"second"))
    assert server.pending == 2
    with httpx.Client(base_url=server.url) as client:
        assert client.get("/a").text == "first"
        second = client.get("/b")
        assert (second.status_code, second.text) == (201, "second")
        missing = client.get("/c")
    assert missing.status_code == 500
    assert "no reply queued for GET /c" in missing.text
    assert server.pending == 0


def test_route_answers_every_time_and_takes_precedence(server: ScriptedServer) -> None:
    server.route("GET", "/v1/models", Reply(json={"object": "list", "data": []}))
    server.enqueue(Reply(body=b"queued"))
    with httpx.Client(base_url=server.base_url) as client:
        for _ in range(3):
            assert client.get("/models").json() == {"object": "list", "data": []}
        assert client.post("/chat/completions", json={}).text == "queued"


def test_keep_alive_counts_one_connection(server: ScriptedServer) -> None:
    server.enqueue(*[Reply(json={"n": n}) for n in range(4)])
    server.enqueue(sse_reply(chunk_events(["a"])))
    with httpx.Client(base_url=server.url) as client:
        assert [client.get("/x").json()["n"] for _ in range(4)] == [0, 1, 2, 3]
        assert b"[DONE]" in client.get("/stream").content
        assert server.open_connections == 1
    assert server.connections_opened == 1
    assert {r.connection_id for r in server.requests} == {1}
    assert server.wait_until(lambda: server.open_connections == 0)


def test_separate_clients_open_separate_connections(server: ScriptedServer) -> None:
    server.enqueue(Reply(body=b"1"), Reply(body=b"2"))
    httpx.get(server.url)
    httpx.get(server.url)
    assert server.connections_opened == 2


@pytest.mark.parametrize("framing", ["chunked", "close", "length"])
def test_chunks_arrive_in_order_with_each_framing(server: ScriptedServer, framing: str) -> None:
    pieces = [b"alpha ", b"beta ", b"gamma"]
    server.enqueue(Reply(chunks=pieces, framing=framing, delay=0.05))  # type: ignore[arg-type]
    with httpx.stream("GET", server.url) as response:
        received = list(response.iter_raw())
        encoding = response.headers.get("transfer-encoding")
        connection = response.headers.get("connection")
    assert b"".join(received) == b"alpha beta gamma"
    assert encoding == ("chunked" if framing == "chunked" else None)
    assert connection == ("close" if framing == "close" else None)
    # Each piece is flushed on its own (TCP_NODELAY), so the first read holds only the first.
    assert received[0] == b"alpha "


@pytest.mark.parametrize("streamed", [False, True])
def test_gzip_bodies_decode(server: ScriptedServer, streamed: bool) -> None:
    text = b'{"hello": "world"}' * 50
    reply = Reply(chunks=[text[:400], text[400:]]) if streamed else Reply(body=text)
    reply.gzip = True
    server.enqueue(reply)
    response = httpx.get(server.url)
    assert response.headers["content-encoding"] == "gzip"
    assert response.content == text
    raw = httpx.get(server.url, headers={"accept-encoding": "identity"})
    assert raw.status_code == 500  # queue empty: second request got the 500 sentinel


@pytest.mark.parametrize("streamed", [False, True])
def test_brotli_bodies_decode(server: ScriptedServer, streamed: bool) -> None:
    text = b"brotli " * 100
    reply = Reply(chunks=[text[:300], text[300:]]) if streamed else Reply(body=text)
    reply.brotli = True
    server.enqueue(reply)
    response = httpx.get(server.url)
    assert response.headers["content-encoding"] == "br"
    assert response.content == text


def test_gzip_single_body_is_one_gzip_member(server: ScriptedServer) -> None:
    server.enqueue(Reply(body=b"abc", gzip=True))
    with httpx.stream("GET", server.url) as response:
        raw = b"".join(response.iter_raw())
    assert gzip.decompress(raw) == b"abc"


@pytest.mark.parametrize("framing", ["chunked", "length"])
def test_close_after_truncates_the_body(server: ScriptedServer, framing: str) -> None:
    server.enqueue(
        Reply(chunks=[b"0123456789", b"abcdefghij"], framing=framing, close_after=14)  # type: ignore[arg-type]
    )
    received = bytearray()

    def read_all() -> None:
        with httpx.stream("GET", server.url) as response:
            for piece in response.iter_raw():
                received.extend(piece)

    with pytest.raises(httpx.RemoteProtocolError):
        read_all()
    assert bytes(received) == b"0123456789abcd"


def test_close_after_on_a_single_body(server: ScriptedServer) -> None:
    server.enqueue(Reply(body=b'{"id": "chatcmpl-1", "choices": [', close_after=10))
    with pytest.raises(httpx.RemoteProtocolError):
        httpx.get(server.url)


def test_reset_before_response(server: ScriptedServer) -> None:
    server.enqueue(Reply(reset_before_response=True), Reply(body=b"after"))
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        httpx.post(server.url, content=b"payload")
    assert server.requests[0].body == b"payload"
    assert httpx.get(server.url).text == "after"
    assert server.connections_opened == 2


def test_stall_before_trips_a_read_timeout(server: ScriptedServer) -> None:
    server.enqueue(Reply(body=b"late", stall_before=0.5))
    with pytest.raises(httpx.ReadTimeout):
        httpx.get(server.url, timeout=httpx.Timeout(5.0, read=0.05))


def test_status_without_standard_phrase(server: ScriptedServer) -> None:
    server.enqueue(error_reply(498, "capacity exceeded", code="capacity_exceeded"))
    response = httpx.get(server.url)
    assert response.status_code == 498
    assert response.json()["error"]["code"] == "capacity_exceeded"
    assert response.headers["x-request-id"] == REQUEST_ID
    assert response.headers["x-ratelimit-reset-tokens"] == "260ms"


def test_client_disconnect_is_recorded(server: ScriptedServer) -> None:
    server.enqueue(Reply(chunks=[b"x" * 1000] * 500, delay=0.005))
    with httpx.stream("GET", server.url) as response:
        next(response.iter_raw())
    assert server.disconnected.wait(10)
    assert server.client_disconnects == 1


def test_chunked_request_body_is_read(server: ScriptedServer) -> None:
    server.enqueue(Reply(body=b"ok"))

    def body():  # a generator makes httpx send Transfer-Encoding: chunked
        yield b'{"a": '
        yield b"1}"

    httpx.post(server.url, content=body())
    assert server.requests[0].headers["transfer-encoding"] == "chunked"
    assert server.requests[0].json() == {"a": 1}


def test_sse_reply_frames_and_split(server: ScriptedServer) -> None:
    events = chunk_events(["Hel", "lo"], include_usage_chunk=True, top_level_usage=True)
    whole = b"".join(sse_bytes(events))
    server.enqueue(sse_reply(events), sse_reply(events, split=7), sse_reply(events, split=[5, 60]))
    with httpx.Client(base_url=server.url) as client:
        bodies = []
        for _ in range(3):
            with client.stream("GET", "/") as response:
                assert response.headers["content-type"] == "text/event-stream"
                bodies.append(b"".join(response.iter_raw()))
    assert bodies == [whole, whole, whole]
    frames = whole.split(b"\n\n")
    assert frames[-2:] == [b"data: [DONE]", b""]
    parsed = [json.loads(f[len(b"data: ") :]) for f in frames[:-2]]
    assert parsed[0]["choices"][0]["delta"]["role"] == "assistant"
    assert parsed[0]["x_groq"]["id"] == REQUEST_ID
    last = parsed[-2]
    assert last["choices"][0]["finish_reason"] == "stop"
    assert last["x_groq"]["id"] == REQUEST_ID
    assert set(last["x_groq"]["usage"]) >= {"queue_time", "prompt_time", "completion_time"}
    assert last["usage"]["total_tokens"] == last["usage"]["prompt_tokens"] + 2
    assert parsed[-1]["choices"] == []
    assert parsed[-1]["usage"]["completion_tokens"] == 2


def test_completion_body_shape() -> None:
    body = completion_body("Hi", finish_reason="length")
    assert body["choices"][0]["message"] == {"role": "assistant", "content": "Hi"}
    assert body["choices"][0]["finish_reason"] == "length"
    assert body["x_groq"]["id"] == REQUEST_ID


def test_stop_closes_idle_keep_alive_connections() -> None:
    with ScriptedServer() as scripted:
        scripted.enqueue(Reply(body=b"1"))
        url = scripted.url
        client = httpx.Client()
        assert client.get(url).text == "1"
    # The pooled connection was closed by the server and the port no longer listens.
    with pytest.raises(httpx.TransportError):
        client.get(url)
    client.close()
