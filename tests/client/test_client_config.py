"""Where settings come from: arguments, then GROQ_* variables, then defaults."""

from __future__ import annotations

import pytest
from keys import FAKE_KEY, assert_no_secret
from scripted_server import ScriptedServer, completion_reply

from groq_magic.client import DEFAULT_BASE_URL, AsyncGroq, Groq, GroqError


def test_default_base_url_is_groq() -> None:
    assert DEFAULT_BASE_URL == "https://api.groq.com/openai/v1"
    with Groq(api_key=FAKE_KEY) as client:
        assert client.base_url == DEFAULT_BASE_URL


def test_api_key_from_environment_is_sent(
    server: ScriptedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GROQ_API_KEY", "gsk_from_env_0001")
    server.enqueue(completion_reply())
    with Groq(base_url=server.base_url) as client:
        client.chat.completions.create(messages=[{"role": "user", "content": "hi"}], model="m")
    assert server.requests[0].headers["authorization"] == "Bearer gsk_from_env_0001"


def test_api_key_argument_beats_environment(
    server: ScriptedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GROQ_API_KEY", "gsk_from_env_0001")
    server.enqueue(completion_reply())
    with Groq(api_key=FAKE_KEY, base_url=server.base_url) as client:
        client.chat.completions.create(messages=[{"role": "user", "content": "hi"}], model="m")
    assert server.requests[0].headers["authorization"] == f"Bearer {FAKE_KEY}"


def test_missing_key_names_groq_api_key() -> None:
    with pytest.raises(GroqError, match="GROQ_API_KEY") as info:
        Groq()
    assert "api_key" in str(info.value)


def test_missing_key_names_groq_api_key_async() -> None:
    with pytest.raises(GroqError, match="GROQ_API_KEY"):
        AsyncGroq()


def test_empty_environment_key_counts_as_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GROQ_API_KEY", "")
    with pytest.raises(GroqError, match="GROQ_API_KEY"):
        Groq()


def test_base_url_from_environment(server: ScriptedServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GROQ_BASE_URL", server.base_url)
    server.enqueue(completion_reply())
    with Groq(api_key=FAKE_KEY) as client:
        assert client.base_url == server.base_url
        client.chat.completions.create(messages=[{"role": "user", "content": "hi"}], model="m")
    assert server.requests[0].path == "/v1/chat/completions"


def test_base_url_argument_beats_environment(
    server: ScriptedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GROQ_BASE_URL", "http://127.0.0.1:9/unused")
    with Groq(api_key=FAKE_KEY, base_url=server.base_url) as client:
        assert client.base_url == server.base_url


@pytest.mark.parametrize("suffix", ["", "/"])
def test_bare_host_gets_openai_v1(
    server: ScriptedServer, monkeypatch: pytest.MonkeyPatch, suffix: str
) -> None:
    monkeypatch.setenv("GROQ_BASE_URL", server.url + suffix)
    server.enqueue(completion_reply())
    with Groq(api_key=FAKE_KEY) as client:
        assert client.base_url == server.url + "/openai/v1"
        client.chat.completions.create(messages=[{"role": "user", "content": "hi"}], model="m")
    assert server.requests[0].path == "/openai/v1/chat/completions"


def test_bare_host_argument_gets_openai_v1(server: ScriptedServer) -> None:
    with Groq(api_key=FAKE_KEY, base_url=server.url) as client:
        assert client.base_url == server.url + "/openai/v1"


def test_base_url_with_path_is_kept_without_trailing_slash(server: ScriptedServer) -> None:
    with Groq(api_key=FAKE_KEY, base_url=server.url + "/custom/v1/") as client:
        assert client.base_url == server.url + "/custom/v1"


@pytest.mark.parametrize("bad", ["not a url", "ftp://example.com/v1", ""])
def test_bad_base_url_is_an_argument_error(bad: str) -> None:
    with pytest.raises(GroqError, match="base_url"):
        Groq(api_key=FAKE_KEY, base_url=bad)


def test_client_repr_hides_the_key(server: ScriptedServer) -> None:
    with Groq(api_key=FAKE_KEY, base_url=server.base_url) as client:
        assert_no_secret(repr(client))
        assert_no_secret(str(client))
        # Even the attribute dump shows no key (a class named BearerAuth is fine there).
        assert FAKE_KEY not in repr(vars(client))


def test_client_context_manager_closes(server: ScriptedServer) -> None:
    server.enqueue(completion_reply())
    client = Groq(api_key=FAKE_KEY, base_url=server.base_url)
    with client:
        client.chat.completions.create(messages=[{"role": "user", "content": "hi"}], model="m")
    # Closing the client closes its pooled keep-alive connection.
    assert server.wait_until(lambda: server.open_connections == 0)
    assert server.connections_opened == 1
