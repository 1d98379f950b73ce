"""A scripted server that answers every chat request by itself, streamed or not as asked.

Notebook runs send an unknown number of requests, some streamed and some not, so a
FIFO of replies does not fit. :class:`CannedServer` looks at each request's body and
answers a streamed request with an event stream and any other with a completion body;
``GET /models`` lists one model. The answer is JSON that fits every schema the notebooks
use (pydantic ignores the extra keys), so JSON and schema cells succeed too.
"""

from __future__ import annotations

import json
import threading
from typing import Any

from scripted_server import (
    RecordedRequest,
    Reply,
    ScriptedServer,
    chunk_events,
    completion_reply,
    sse_reply,
)

CANNED = json.dumps(
    {
        "cities": [
            {"name": "Rome", "country": "Italy"},
            {"name": "Lyon", "country": "France"},
            {"name": "Porto", "country": "Portugal"},
        ],
        "recipe_name": "Apple pie",
        "ingredients": [{"name": "apples", "quantity": "6"}],
        "name": "Ada",
    }
)


class CannedServer(ScriptedServer):
    """Answers each chat request with :data:`CANNED` (streamed when the request streams)."""

    def __init__(self, answer: str = CANNED) -> None:
        super().__init__()
        self.answer = answer
        self._current = threading.local()
        models = {"object": "list", "data": [{"id": "canned-model", "object": "model"}]}
        self.route("GET", "/v1/models", Reply(json=models))

    def _record(self, request: RecordedRequest) -> None:
        super()._record(request)
        # _next_reply runs next on this same handler thread.
        self._current.request = request

    def _next_reply(self, method: str, path: str) -> Reply:
        request: RecordedRequest | None = getattr(self._current, "request", None)
        if method == "POST" and path.endswith("/chat/completions") and request is not None:
            try:
                body: Any = request.json()
            except ValueError:
                body = {}
            if isinstance(body, dict) and body.get("stream"):
                pieces = [self.answer[i : i + 16] for i in range(0, len(self.answer), 16)]
                return sse_reply(chunk_events(pieces))
            return completion_reply(self.answer)
        return super()._next_reply(method, path)
