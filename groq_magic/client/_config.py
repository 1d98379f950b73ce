"""Where the client's settings come from: arguments first, then the environment.

The API key is held in a :class:`Secret`, whose repr and str never show it, and it
reaches the wire only through :class:`BearerAuth` at send time, so no request
header, object repr or traceback frame we own holds it in the clear.
"""

from __future__ import annotations

import os
from collections.abc import Generator
from urllib.parse import urlsplit

import httpx

from groq_magic._defaults import DEFAULT_MAX_RETRIES, DEFAULT_TIMEOUT
from groq_magic._keys import remember_key

from ._exceptions import ArgumentError, GroqError

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_CONNECT_TIMEOUT",
    "DEFAULT_LIMITS",
    "DEFAULT_MAX_RETRIES",
    "DEFAULT_TIMEOUT",
    "BearerAuth",
    "Secret",
    "resolve_api_key",
    "resolve_base_url",
]

DEFAULT_BASE_URL = "https://api.groq.com/openai/v1"
DEFAULT_CONNECT_TIMEOUT = 5.0
# httpx (and the official SDK) keep only 20 idle connections: a compare or sweep with more
# runs in flight (groq_magic.ui allows 64) then reconnected on every round. Keep up to 64.
DEFAULT_LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=64)

MISSING_KEY_MESSAGE = (
    "No Groq API key: pass api_key=... or set the GROQ_API_KEY environment variable "
    "(get a key at https://console.groq.com/keys)."
)


class Secret:
    """A string that never shows itself in a repr, str or f-string.

    Making one registers the value as a key in force (:func:`groq_magic._keys.remember_key`),
    so every sink masks it from then on, whatever its shape.
    """

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value
        remember_key(value)

    def reveal(self) -> str:
        """The secret itself; call it only where it goes onto the wire."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('[redacted]')"

    __str__ = __repr__

    def __bool__(self) -> bool:
        return bool(self._value)


class BearerAuth(httpx.Auth):
    """Adds ``Authorization: Bearer <key>`` to each request as it is sent."""

    def __init__(self, key: Secret) -> None:
        self._key = key

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """Set the header on the outgoing request (httpx's auth hook)."""
        request.headers["Authorization"] = "Bearer " + self._key.reveal()
        yield request

    def __repr__(self) -> str:
        return "BearerAuth([redacted])"


def resolve_base_url(base_url: str | None) -> str:
    """The API root: the argument, else ``GROQ_BASE_URL``, else Groq's.

    A URL with a path is taken as the API root as the OpenAI SDK takes it
    (``http://localhost:11434/v1``). A bare host, the Groq SDK's convention for
    ``GROQ_BASE_URL``, gets ``/openai/v1`` appended.
    """
    url = base_url if base_url is not None else os.environ.get("GROQ_BASE_URL") or None
    if url is None:
        return DEFAULT_BASE_URL
    if not isinstance(url, str) or not url.strip():
        raise ArgumentError(f"base_url must be a non-empty URL string, got {url!r}")
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ArgumentError(f"base_url must start with http:// or https://, got {url!r}")
    if parts.path in ("", "/"):
        return url.rstrip("/") + "/openai/v1"
    return url.rstrip("/")


def resolve_api_key(api_key: str | None, base_url: str) -> Secret | None:
    """The key: the argument, else ``GROQ_API_KEY``.

    Groq itself needs a key, so a missing one is an error naming the variable.
    Other OpenAI-compatible servers (a local llama.cpp, Ollama) often need none,
    so for them a missing key means no Authorization header.
    """
    key = api_key if api_key is not None else os.environ.get("GROQ_API_KEY") or None
    if key is not None and not isinstance(key, str):
        raise ArgumentError("api_key must be a string")
    if key:
        key = key.strip()
    if not key:
        if base_url == DEFAULT_BASE_URL:
            raise GroqError(MISSING_KEY_MESSAGE)
        return None
    return Secret(key)
