"""Which server answers a kernel's cells, and the one client (pool) per kernel for it.

- A key (``GROQ_API_KEY``, a ``.env`` file, or ``%groq login``) or a configured
  base URL: Groq, or the OpenAI-compatible server at that URL.
- Neither, with the ``local`` extra installed: the embedded local model, started
  on first use and reached through exactly the same client, with only the
  request-translating transport of :mod:`groq_magic.local.adapter` in front.
- Neither, without the extra: a one-line error saying how to get either.

The client is cached and reused by every cell; it is rebuilt only when the
settings that choose it change (a key set later, a restarted local server on a
new port). The key is kept in a :class:`~groq_magic.client.Secret`, so
it never shows in a repr, and the cache compares only a digest of it.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from groq_magic._defaults import DEFAULT_MAX_RETRIES, DEFAULT_TIMEOUT
from groq_magic._files import read_text_bounded
from groq_magic._keys import remember_key

if TYPE_CHECKING:
    from groq_magic.client import AsyncGroq, Groq

__all__ = ["Backend", "BackendChoice", "ClientBackend", "read_dotenv_key"]

logger = logging.getLogger("groq_magic")

KEY_VARIABLE = "GROQ_API_KEY"

MAX_DOTENV_BYTES = 1024 * 1024
"""A ``.env`` file is read only when it is a regular file of at most this size."""


def read_dotenv_key(start: Path | None = None) -> str | None:
    """``GROQ_API_KEY`` from a ``.env`` file in ``start`` (the cwd) or its parents."""
    folder = (start or Path.cwd()).resolve()
    for candidate in (folder, *folder.parents):
        path = candidate / ".env"
        try:
            lines = read_text_bounded(path, MAX_DOTENV_BYTES, what=".env file").splitlines()
        except OSError:  # missing, unreadable, not a file, too big or not UTF-8
            continue
        for line in lines:
            name, sep, value = line.strip().removeprefix("export ").partition("=")
            if sep and name.strip() == KEY_VARIABLE:
                return value.strip().strip("\"'") or None
        return None
    return None


@dataclass(frozen=True)
class BackendChoice:
    """The settings that decide the client: kind, URL and a digest of the key."""

    kind: str  # "groq", "custom" (another base URL) or "local"
    base_url: str | None
    key_digest: str | None
    timeout: float = DEFAULT_TIMEOUT
    max_retries: int = DEFAULT_MAX_RETRIES


class Backend:
    """Chooses Groq, another OpenAI-compatible server or the local model; owns the clients."""

    def __init__(
        self,
        *,
        base_url: Callable[[], str | None] = lambda: None,
        timeout: float | Callable[[], float] = DEFAULT_TIMEOUT,
        max_retries: int | Callable[[], int] = DEFAULT_MAX_RETRIES,
        notice: Callable[[str], None] = print,
    ) -> None:
        self._configured_url = base_url
        # Callables are read at each request, so %config changes reach the next cell.
        self._timeout = timeout
        self._max_retries = max_retries
        self.notice = notice
        self._login_key: Any = None  # a Secret set by %groq login
        self._client: Groq | None = None
        self._async_client: AsyncGroq | None = None
        self._choice: BackendChoice | None = None
        self._async_choice: BackendChoice | None = None
        self._told_local = False

    @property
    def timeout(self) -> float:
        """Seconds to wait for the server (the configured value, read now)."""
        value = self._timeout() if callable(self._timeout) else self._timeout
        return float(value)

    @timeout.setter
    def timeout(self, value: float | Callable[[], float]) -> None:
        self._timeout = value

    @property
    def max_retries(self) -> int:
        """Retries for rate limits and server errors (the configured value, read now)."""
        value = self._max_retries() if callable(self._max_retries) else self._max_retries
        return int(value)

    @max_retries.setter
    def max_retries(self, value: int | Callable[[], int]) -> None:
        self._max_retries = value

    # -- the key ----------------------------------------------------------------------

    def login(self, key: str) -> None:
        """Use ``key`` for this kernel (kept in memory only, never in the environment)."""
        from groq_magic.client import Secret

        self._login_key = Secret(key.strip())

    def _key(self) -> str | None:
        if self._login_key:
            value: str = self._login_key.reveal()
            return value
        key = os.environ.get(KEY_VARIABLE) or read_dotenv_key()
        # Registered as soon as it is read, before any request: the key guard refuses a
        # prompt that holds it, and every sink masks it, whatever its shape.
        remember_key(key)
        return key

    def key_source(self) -> str:
        """Where the key comes from, for ``%groq config`` (never the key itself)."""
        if self._login_key:
            return "%groq login"
        if os.environ.get(KEY_VARIABLE):
            return f"${KEY_VARIABLE}"
        if read_dotenv_key():
            return ".env file"
        return "not set"

    # -- choosing --------------------------------------------------------------------

    def _base_url(self) -> str | None:
        return self._configured_url() or os.environ.get("GROQ_BASE_URL") or None

    def choice(self) -> BackendChoice:
        """What the next request would use, without starting anything."""
        import hashlib  # OpenSSL's loader costs ~30 ms; only needed once a cell runs

        key = self._key()
        digest = hashlib.sha256(key.encode()).hexdigest()[:16] if key else None
        url = self._base_url()
        knobs = (self.timeout, self.max_retries)
        if url:
            return BackendChoice("custom", url, digest, *knobs)
        if key:
            return BackendChoice("groq", None, digest, *knobs)
        return BackendChoice("local", None, None, *knobs)

    @property
    def is_local(self) -> bool:
        """True when cells are answered by the embedded local model."""
        return self.choice().kind == "local"

    def default_model(self, configured: str | None) -> str:
        """The model for a cell without ``-m``: the configured one, else the backend's."""
        if self.is_local:
            from groq_magic.local import LOCAL_MODEL_NAME

            # Groq's model names mean nothing to the local server; say what it serves.
            return LOCAL_MODEL_NAME
        if configured:
            return configured
        from groq_magic.chat.prepare import DEFAULT_MODEL

        return DEFAULT_MODEL

    def _local_url(self) -> str:
        from groq_magic.client import GroqError
        from groq_magic.local import (
            LocalModelError,
            get_local_server,
            local_available,
            missing_backend_message,
            usage_notice,
        )

        if not local_available():
            raise GroqError(missing_backend_message())
        server = get_local_server()
        try:
            url = server.ensure_running(on_notice=self.notice)
        except LocalModelError as exc:
            # One line for the error; the server's last log lines, when any, go above it.
            first, _, log_tail = str(exc).partition("\n")
            if log_tail.strip():
                self.notice(log_tail.rstrip())
            raise GroqError(first) from None
        if not self._told_local:
            self._told_local = True
            self.notice(usage_notice(server))
        return url

    # -- clients ---------------------------------------------------------------------

    def client(self) -> Groq:
        """The sync client for the current choice (built once, then reused)."""
        from groq_magic.client import Groq

        choice = self.choice()
        if choice.kind == "local":
            from groq_magic.local import LOCAL_API_KEY, LocalCompatTransport

            url = self._local_url()
            choice = BackendChoice("local", url, None, choice.timeout, choice.max_retries)
            if self._client is None or choice != self._choice:
                self._close_sync()
                self._client = Groq(
                    api_key=LOCAL_API_KEY,
                    base_url=url,
                    timeout=self.timeout,
                    max_retries=self.max_retries,
                    transport=LocalCompatTransport(),
                )
        elif self._client is None or choice != self._choice:
            self._close_sync()
            self._client = Groq(
                api_key=self._key(),
                base_url=choice.base_url,
                timeout=self.timeout,
                max_retries=self.max_retries,
            )
        self._choice = choice
        return self._client

    def async_client(self) -> AsyncGroq:
        """The asyncio client for the current choice (compare grids and sweeps)."""
        from groq_magic.client import AsyncGroq

        choice = self.choice()
        transport: Any = None
        key = self._key()
        if choice.kind == "local":
            from groq_magic.local import LOCAL_API_KEY, AsyncLocalCompatTransport

            url = self._local_url()
            choice = BackendChoice("local", url, None, choice.timeout, choice.max_retries)
            transport, key = AsyncLocalCompatTransport(), LOCAL_API_KEY
        if self._async_client is None or choice != self._async_choice:
            # An AsyncGroq's pool belongs to the event loop that used it, so a new
            # choice gets a new client rather than reusing the old pool; the old one
            # is closed on that loop so its connections do not linger.
            self._close_async()
            self._async_client = AsyncGroq(
                api_key=key,
                base_url=choice.base_url,
                timeout=self.timeout,
                max_retries=self.max_retries,
                transport=transport,
            )
            self._async_choice = choice
        return self._async_client

    def describe(self) -> str:
        """One line: where answers come from."""
        choice = self.choice()
        if choice.kind == "groq":
            return "Groq (https://api.groq.com/openai/v1)"
        if choice.kind == "custom":
            return f"OpenAI-compatible server at {choice.base_url}"
        return "the embedded local model (no GROQ_API_KEY set)"

    def _close_sync(self) -> None:
        if self._client is not None:
            logger.debug("closing the previous client (the backend changed)")
            self._client.close()
            self._client = None

    def _close_async(self) -> None:
        old, self._async_client = self._async_client, None
        if old is None:
            return
        # Compares and sweeps use the async client only on the background loop.
        from groq_magic.background import background_loop

        logger.debug("closing the previous async client (the backend changed)")
        background_loop().submit(old.close())

    def close(self) -> None:
        """Close both clients' pools."""
        self._close_sync()
        self._close_async()


class ClientBackend(Backend):
    """The backend of a client the caller gave (``sweep(client=AsyncGroq(api_key=K))``).

    Every request, sync (a batch's upload) or async (a sweep's runs), goes with that
    client's key, URL, timeout and retries: the other kind is made as its twin
    (``as_sync`` / ``as_async``), never from the environment.
    """

    def __init__(self, given: Groq | AsyncGroq, *, notice: Callable[[str], None] = print) -> None:
        from groq_magic.client import AsyncGroq

        super().__init__(
            base_url=lambda: str(given.base_url),
            timeout=lambda: float(given.timeout.read or DEFAULT_TIMEOUT),
            max_retries=lambda: given.max_retries,
            notice=notice,
        )
        self._given = given
        if isinstance(given, AsyncGroq):
            self._async_client = given
        else:
            self._client = given
        self._twins: list[Any] = []

    def choice(self) -> BackendChoice:
        """The given client's server (never the local model, never another key)."""
        return BackendChoice("custom", str(self._given.base_url), None, self.timeout)

    def key_source(self) -> str:
        """Where the key comes from: the client given."""
        return "the client given"

    def client(self) -> Groq:
        """The given sync client, or the twin of the given async one."""
        if self._client is None:
            assert self._async_client is not None
            self._client = self._async_client.as_sync()
            self._twins.append(self._client)
        return self._client

    def async_client(self) -> AsyncGroq:
        """The given async client, or the twin of the given sync one."""
        if self._async_client is None:
            assert self._client is not None
            self._async_client = self._client.as_async()
            self._twins.append(self._async_client)
        return self._async_client

    def close(self) -> None:
        """Close the twins made here; the given client stays the caller's to close."""
        for twin in self._twins:
            if twin is self._client:
                self._close_sync()
            else:
                self._close_async()
        self._twins.clear()
