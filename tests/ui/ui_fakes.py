"""Test doubles for the ui tests: a body-routed scripted server, a clock, a display recorder,
a pacer that records the requests it lets go.

``RoutedServer`` is the shared :class:`ScriptedServer` with one addition: replies
are chosen by a function of the recorded request (its JSON body), because a
compare sends its requests concurrently and a FIFO queue cannot say which
request gets which reply.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from scripted_server import (
    RecordedRequest,
    Reply,
    ScriptedServer,
    _Handler,
    _TCPServer,
    chunk_events,
    error_reply,
    sse_reply,
)

from groq_magic.pacing import Permit, RateLimitPacer

Responder = Callable[[RecordedRequest], Reply]


class RecordingPacer(RateLimitPacer):
    """A real pacer that also keeps the body of every request it let go, in order."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.bodies: list[dict[str, Any]] = []

    async def acquire_request(self, request_body: Any, *, eager: bool = False) -> Permit:
        """Let the request go as the pacer would; remember its body."""
        permit = await super().acquire_request(request_body, eager=eager)
        # A copy of the messages as they are now: the turn appends to its list later.
        self.bodies.append({**request_body, "messages": list(request_body["messages"])})
        return permit


class _BurstTCPServer(_TCPServer):
    request_queue_size = 128


class RoutedServer(ScriptedServer):
    """A ScriptedServer whose replies come from ``responder(request)``.

    Fixed routes (``route``) still win; ``GET /v1/models`` answers with ``models``.
    """

    def __init__(self, responder: Responder | None = None, models: list[str] | None = None):
        super().__init__()
        self.responder: Responder = responder or echo_responder
        self._current = threading.local()
        self.models = models or ["alpha", "beta"]
        self._count_lock = threading.Lock()
        self.attempts: dict[str, int] = {}

    def start(self) -> RoutedServer:
        """As ScriptedServer.start, with a listen backlog that takes a burst of connections.

        The stock backlog (5) drops connections when a compare opens 16 at once.
        """
        self._tcp = _BurstTCPServer(("127.0.0.1", 0), _Handler)
        self._tcp.scripted = self
        self._thread = threading.Thread(
            target=self._tcp.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )
        self._thread.start()
        return self

    def _record(self, request: RecordedRequest) -> None:
        super()._record(request)
        # The handler thread records, then asks for the reply: same thread.
        self._current.request = request

    def _next_reply(self, method: str, path: str) -> Reply:
        with self._lock:
            fixed = self._routes.get((method, path))
        if fixed is not None:
            return fixed
        if method == "GET" and path.endswith("/models"):
            data = [{"id": m, "object": "model", "owned_by": "test"} for m in self.models]
            return Reply(json={"object": "list", "data": data})
        request: RecordedRequest = self._current.request
        return self.responder(request)

    def count(self, key: str) -> int:
        """Increment and return the attempt count of ``key`` (thread-safe)."""
        with self._count_lock:
            self.attempts[key] = self.attempts.get(key, 0) + 1
            return self.attempts[key]

    def chat_bodies(self) -> list[dict[str, Any]]:
        """The JSON bodies of the chat-completion requests, in arrival order."""
        return [r.json() for r in self.requests if r.path.endswith("/chat/completions")]


def describe(body: dict[str, Any]) -> str:
    """A short answer naming the parameters the request carried (so tests can check panes)."""
    keys = ("model", "temperature", "top_p", "max_completion_tokens", "seed")
    return " ".join(f"{k}={body[k]}" for k in keys if k in body)


def answer_reply(text: str, model: str = "alpha", pieces: int = 3) -> Reply:
    """A streamed answer of ``text`` cut into ``pieces`` deltas."""
    size = max(1, -(-len(text) // pieces))
    parts = [text[i : i + size] for i in range(0, len(text), size)]
    return sse_reply(chunk_events(parts, model=model))


def echo_responder(request: RecordedRequest) -> Reply:
    """Answer every chat request with ``answer: <its parameters>``; unknown model -> 404."""
    body = request.json()
    if body.get("model") == "nope":
        return error_reply(
            404,
            "The model `nope` does not exist or you do not have access to it.",
            code="model_not_found",
        )
    return answer_reply(f"answer: {describe(body)}", model=body.get("model", "alpha"))


class FakeClock:
    """A clock that only moves when slept on."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


@dataclass
class RecordingDisplay:
    """Stands in for ``IPython.display.display``; keeps every handle's bundles."""

    handles: list[RecordingHandle] = field(default_factory=list)

    def __call__(self, obj: Any, *, raw: bool, display_id: bool) -> RecordingHandle:
        handle = RecordingHandle([dict(obj)])
        self.handles.append(handle)
        return handle


@dataclass
class RecordingHandle:
    """Stands in for a display handle; ``bundles[-1]`` is what is on screen."""

    bundles: list[dict[str, Any]]

    def update(self, obj: Any, **kwargs: Any) -> None:
        self.bundles.append(dict(obj))

    @property
    def markdown(self) -> str:
        return str(self.bundles[-1].get("text/markdown", ""))


class CapturingDisplayPublisher:
    """Named like IPython's, so ``is_live_kernel`` sees a non-live kernel when needed."""


class LivePublisher:
    """A display publisher that is not capturing."""


class ZMQInteractiveShell:
    """Named like ipykernel's shell so ``is_live_kernel`` treats it as a live kernel."""

    def __init__(self) -> None:
        self.display_pub = LivePublisher()


def body_json(request: RecordedRequest) -> dict[str, Any]:
    """The request body as a dict."""
    data: dict[str, Any] = json.loads(request.body)
    return data
