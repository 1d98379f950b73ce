"""Error statuses and answers that break the protocol: always a typed error, never a hang."""

from __future__ import annotations

from typing import Any

import pytest
from scripted_server import (
    REQUEST_ID,
    Reply,
    ScriptedServer,
    completion_body,
    error_reply,
    ratelimit_headers,
)

from groq_magic.client import (
    APIConnectionError,
    APIError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    CapacityExceededError,
    ConflictError,
    GroqError,
    InternalServerError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    RequestTooLargeError,
    UnprocessableEntityError,
)

USER = [{"role": "user", "content": "hi"}]

# (status, error class, code, type, message) as Groq sends them, one row per protocol-notes row.
STATUS_ROWS: list[tuple[int, type[APIStatusError], str | None, str, str]] = [
    (
        400,
        BadRequestError,
        "json_validate_failed",
        "invalid_request_error",
        "Failed to generate JSON. Please adjust your prompt.",
    ),
    (
        400,
        BadRequestError,
        "tool_use_failed",
        "invalid_request_error",
        "Failed to call a function. Please adjust your prompt.",
    ),
    (
        400,
        BadRequestError,
        "model_decommissioned",
        "invalid_request_error",
        "The model `llama3-8b-8192` has been decommissioned.",
    ),
    (400, BadRequestError, None, "invalid_request_error", "'n' : number must be at most 1"),
    (401, AuthenticationError, "invalid_api_key", "invalid_request_error", "Invalid API Key"),
    (403, PermissionDeniedError, "permission_denied", "permissions_error", "Forbidden"),
    (
        404,
        NotFoundError,
        "model_not_found",
        "invalid_request_error",
        "The model `nope` does not exist or you do not have access to it.",
    ),
    (409, ConflictError, "conflict", "invalid_request_error", "Conflict"),
    (
        413,
        RequestTooLargeError,
        "request_too_large",
        "invalid_request_error",
        "Request Entity Too Large",
    ),
    (422, UnprocessableEntityError, None, "invalid_request_error", "Unprocessable Entity"),
    (
        429,
        RateLimitError,
        "rate_limit_exceeded",
        "tokens",
        "Rate limit reached for model `llama-3.3-70b-versatile` on tokens per minute (TPM): "
        "Limit 6000, Used 5990, Requested 120. Please try again in 5.289s.",
    ),
    (
        498,
        CapacityExceededError,
        "capacity_exceeded",
        "capacity_exceeded",
        "Flex tier capacity exceeded. Please try again later.",
    ),
    (
        500,
        InternalServerError,
        "internal_server_error",
        "internal_server_error",
        "Internal Server Error",
    ),
    (502, InternalServerError, None, "bad_gateway", "Bad Gateway"),
    (
        503,
        InternalServerError,
        "service_unavailable",
        "internal_server_error",
        "Service Unavailable",
    ),
]


@pytest.mark.parametrize(
    ("status", "cls", "code", "kind", "message"),
    STATUS_ROWS,
    ids=[f"{row[0]}-{row[2]}" for row in STATUS_ROWS],
)
def test_error_status_maps_to_class_with_fields(
    server: ScriptedServer,
    make_client: Any,
    status: int,
    cls: type[APIStatusError],
    code: str | None,
    kind: str,
    message: str,
) -> None:
    server.enqueue(
        error_reply(status, message, type=kind, code=code, headers={"x-request-id": "req_err_1"})
    )
    with pytest.raises(cls) as info:
        make_client(max_retries=0).chat.completions.create(messages=USER, model="m")
    error = info.value
    assert type(error) is cls
    assert isinstance(error, APIStatusError)
    assert isinstance(error, APIError)
    assert isinstance(error, GroqError)
    assert error.status_code == status
    assert error.code == code
    assert error.type == kind
    assert error.message == message
    assert error.request_id == "req_err_1"
    expected_body: dict[str, Any] = {"message": message, "type": kind}
    if code:
        expected_body["code"] = code
    assert error.body == {"error": expected_body}
    assert message in str(error)
    assert str(status) in str(error)
    assert len(server.requests) == 1


@pytest.mark.parametrize("status", [STATUS_ROWS[0], STATUS_ROWS[6], STATUS_ROWS[10]])
def test_error_status_on_a_stream_request(
    server: ScriptedServer, make_client: Any, status: tuple[Any, ...]
) -> None:
    code, cls = status[2], status[1]
    server.enqueue(error_reply(status[0], status[4], type=status[3], code=code))
    client = make_client(max_retries=0)
    # The status is known before any chunk: create() itself raises.
    with pytest.raises(cls) as info:
        client.chat.completions.create(messages=USER, model="m", stream=True)
    assert info.value.code == code


def test_json_validate_failed_carries_failed_generation(
    server: ScriptedServer, make_client: Any
) -> None:
    failed = '{"recipe_name": "Apple Pie", "ingredients": [{"name": "apples", '
    server.enqueue(
        error_reply(
            400,
            "Failed to generate JSON. Please adjust your prompt. See 'failed_generation' "
            "for more details.",
            code="json_validate_failed",
            failed_generation=failed,
        )
    )
    with pytest.raises(BadRequestError) as info:
        make_client().chat.completions.create(
            messages=USER, model="m", response_format={"type": "json_object"}
        )
    assert info.value.failed_generation == failed
    assert info.value.code == "json_validate_failed"
    assert len(server.requests) == 1  # 400 is not retried


def test_context_too_long_carries_param(server: ScriptedServer, make_client: Any) -> None:
    server.enqueue(
        error_reply(
            400,
            "Please reduce the length of the messages or completion.",
            code="context_length_exceeded",
            param="messages",
        )
    )
    with pytest.raises(BadRequestError) as info:
        make_client().chat.completions.create(messages=USER, model="m")
    assert info.value.param == "messages"


def test_unlisted_4xx_is_a_plain_status_error(server: ScriptedServer, make_client: Any) -> None:
    server.enqueue(error_reply(418, "I'm a teapot"))
    with pytest.raises(APIStatusError) as info:
        make_client().chat.completions.create(messages=USER, model="m")
    assert info.value.status_code == 418
    assert info.value.message == "I'm a teapot"
    assert len(server.requests) == 1


def test_error_status_with_non_json_body(server: ScriptedServer, make_client: Any) -> None:
    server.enqueue(
        Reply(
            status=502,
            headers={"content-type": "text/html"},
            body=b"<html><body><h1>502 Bad Gateway</h1></body></html>",
        )
    )
    with pytest.raises(InternalServerError) as info:
        make_client(max_retries=0).chat.completions.create(messages=USER, model="m")
    assert info.value.status_code == 502
    assert "502 Bad Gateway" in info.value.message


def test_error_status_with_empty_body(server: ScriptedServer, make_client: Any) -> None:
    server.enqueue(Reply(status=403))
    with pytest.raises(PermissionDeniedError) as info:
        make_client().chat.completions.create(messages=USER, model="m")
    assert info.value.status_code == 403
    assert info.value.message


def test_error_body_without_error_key(server: ScriptedServer, make_client: Any) -> None:
    server.enqueue(Reply(status=404, json={"detail": "Not Found"}))
    with pytest.raises(NotFoundError) as info:
        make_client().chat.completions.create(messages=USER, model="m")
    assert info.value.body == {"detail": "Not Found"}
    assert "Not Found" in info.value.message


def test_error_body_with_error_string(server: ScriptedServer, make_client: Any) -> None:
    # Some OpenAI-compatible servers (Ollama) send {"error": "text"}.
    server.enqueue(Reply(status=404, json={"error": "model 'x' not found, try pulling it first"}))
    with pytest.raises(NotFoundError) as info:
        make_client().chat.completions.create(messages=USER, model="m")
    assert info.value.message == "model 'x' not found, try pulling it first"


def test_success_status_with_non_json_body(server: ScriptedServer, make_client: Any) -> None:
    server.enqueue(Reply(headers={"content-type": "text/html"}, body=b"<html>login</html>"))
    with pytest.raises(APIResponseValidationError) as info:
        make_client().chat.completions.create(messages=USER, model="m")
    assert "login" in info.value.message
    assert len(server.requests) == 1


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"[1, 2, 3]",
        b'"just a string"',
        b'{"choices": "nope"}',
        b'{"choices": [{"message": 5}]}',
    ],
)
def test_success_status_with_wrong_json_shape(
    server: ScriptedServer, make_client: Any, body: bytes
) -> None:
    server.enqueue(Reply(headers={"content-type": "application/json"}, body=body))
    with pytest.raises(APIResponseValidationError):
        make_client().chat.completions.create(messages=USER, model="m")


def test_success_status_holding_an_error_body(server: ScriptedServer, make_client: Any) -> None:
    server.enqueue(
        Reply(json={"error": {"message": "upstream failed", "type": "server_error", "code": "x"}})
    )
    with pytest.raises(APIError) as info:
        make_client(max_retries=0).chat.completions.create(messages=USER, model="m")
    assert info.value.message == "upstream failed"
    assert info.value.code == "x"


def test_wrong_content_type_with_valid_completion_is_accepted_or_typed(
    server: ScriptedServer, make_client: Any
) -> None:
    import json

    server.enqueue(
        Reply(
            headers={"content-type": "text/plain"},
            body=json.dumps(completion_body("ok")).encode(),
        )
    )
    try:
        completion = make_client().chat.completions.create(messages=USER, model="m")
    except APIError:
        return
    assert completion.choices[0].message.content == "ok"


@pytest.mark.parametrize("keep", [0, 10, 200])
def test_truncated_completion_body(server: ScriptedServer, make_client: Any, keep: int) -> None:
    reply = Reply(headers=ratelimit_headers(), json=completion_body("cut " * 100), close_after=keep)
    server.enqueue(reply)
    with pytest.raises((APIConnectionError, APIResponseValidationError)) as info:
        make_client(max_retries=0).chat.completions.create(messages=USER, model="m")
    assert not isinstance(info.value, APIStatusError)


def test_truncated_models_list(server: ScriptedServer, make_client: Any) -> None:
    server.route(
        "GET",
        "/v1/models",
        Reply(json={"object": "list", "data": [{"id": "a"}] * 50}, close_after=30),
    )
    with pytest.raises(APIError):
        make_client(max_retries=0).models.list()


def test_models_list_not_json(server: ScriptedServer, make_client: Any) -> None:
    server.route("GET", "/v1/models", Reply(body=b"not json"))
    with pytest.raises(APIResponseValidationError):
        make_client().models.list()


def test_connection_refused(make_client: Any) -> None:
    import socket

    with socket.socket() as probe:  # a port that nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = make_client(base_url=f"http://127.0.0.1:{port}/v1", max_retries=0)
    with pytest.raises(APIConnectionError) as info:
        client.chat.completions.create(messages=USER, model="m")
    assert not isinstance(info.value, APITimeoutError)
    assert info.value.status_code is None


def test_reset_before_response_without_retries(server: ScriptedServer, make_client: Any) -> None:
    server.enqueue(Reply(reset_before_response=True))
    with pytest.raises(APIConnectionError):
        make_client(max_retries=0).chat.completions.create(messages=USER, model="m")


def test_read_timeout_is_a_timeout_error(server: ScriptedServer, make_client: Any) -> None:
    server.enqueue(Reply(json=completion_body(), stall_before=2.0))
    client = make_client(max_retries=0, timeout=0.1)
    with pytest.raises(APITimeoutError):
        client.chat.completions.create(messages=USER, model="m")


def test_stream_stall_after_content_is_a_stream_error(
    server: ScriptedServer, make_client: Any
) -> None:
    from scripted_server import chunk_events, sse_reply

    from groq_magic.client import APIStreamError

    server.enqueue(sse_reply(chunk_events(["early", " bird"]), delay=2.0))
    stream = make_client(max_retries=2, timeout=0.3).chat.completions.create(
        messages=USER, model="m", stream=True
    )
    with pytest.raises(APIStreamError) as info:
        for _ in stream:
            pass
    assert info.value.partial_text in ("", "early")
    assert len(server.requests) == 1


def test_request_id_falls_back_to_header(server: ScriptedServer, make_client: Any) -> None:
    server.enqueue(error_reply(500, "boom"))
    with pytest.raises(InternalServerError) as info:
        make_client(max_retries=0).chat.completions.create(messages=USER, model="m")
    assert info.value.request_id == REQUEST_ID
