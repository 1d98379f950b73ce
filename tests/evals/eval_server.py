"""A loopback server for evaluation tests: it answers the task and the judge requests apart.

:class:`EvalServer` is the scripted server with replies chosen from each request's
body (an evaluation sends its requests concurrently, so a FIFO queue cannot say
which gets which reply). A request asking for the judge's structured output
(``response_format.json_schema.name == "Verdict"``) is a judge request, answered
by ``judge(body)``; any other chat request by ``answer(body)``. The defaults:
the answer echoes the prompt (``echo: <prompt>``), and the judge scores 1 when the
answer it grades contains the word ``good``, else 0. ``GET /models`` lists
``alpha`` and ``beta``; a request for model ``nope`` gets Groq's 404. A streamed
answer is one delta, or one per word with ``split_words=True`` (the benchmark's).
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from typing import Any

from scripted_server import (
    RecordedRequest,
    Reply,
    ScriptedServer,
    chunk_events,
    completion_reply,
    error_reply,
    sse_reply,
)

Answer = Callable[[dict[str, Any]], str]


def last_message(body: dict[str, Any]) -> str:
    """The text of a request's last message."""
    content = body["messages"][-1]["content"]
    return content if isinstance(content, str) else json.dumps(content)


def graded_answer(body: dict[str, Any]) -> str:
    """The answer a judge request grades (between its <answer> tags)."""
    text = last_message(body)
    return text.split("<answer>\n", 1)[1].rsplit("\n</answer>", 1)[0]


def echo(body: dict[str, Any]) -> str:
    """``echo: <prompt>``."""
    return f"echo: {last_message(body)}"


def good_judge(body: dict[str, Any]) -> str:
    """Score 1 when the graded answer says ``good``, else 0."""
    good = "good" in graded_answer(body)
    return json.dumps(
        {"reason": "it says good" if good else "it does not say good", "score": 1 if good else 0}
    )


def is_judge(body: dict[str, Any]) -> bool:
    """True for a judge request (it asks for the verdict's structured output)."""
    fmt = body.get("response_format") or {}
    return (fmt.get("json_schema") or {}).get("name") == "Verdict"


class EvalServer(ScriptedServer):
    """Answers task requests with ``answer(body)`` and judge requests with ``judge(body)``."""

    def __init__(
        self, answer: Answer = echo, judge: Answer = good_judge, *, split_words: bool = False
    ) -> None:
        super().__init__()
        self.answer = answer
        self.judge = judge
        self.split_words = split_words
        self._current = threading.local()

    def _record(self, request: RecordedRequest) -> None:
        super()._record(request)
        self._current.request = request  # _next_reply runs next on this handler thread

    def _next_reply(self, method: str, path: str) -> Reply:
        if method == "GET" and path.endswith("/models"):
            data = [{"id": m, "object": "model", "owned_by": "test"} for m in ("alpha", "beta")]
            return Reply(json={"object": "list", "data": data})
        body = self._current.request.json()
        if body.get("model") == "nope":
            return error_reply(404, "The model `nope` does not exist.", code="model_not_found")
        text = self.judge(body) if is_judge(body) else self.answer(body)
        model = body.get("model", "alpha")
        if body.get("stream"):
            pieces = re.findall(r"\S+\s*", text) if self.split_words else [text]
            return sse_reply(chunk_events(pieces or [text], model=model))
        return completion_reply(text, model=model)

    def bodies(self) -> list[dict[str, Any]]:
        """Every chat request's body, in arrival order."""
        return [r.json() for r in self.requests if r.path.endswith("/chat/completions")]

    def task_bodies(self) -> list[dict[str, Any]]:
        """The task requests' bodies."""
        return [b for b in self.bodies() if not is_judge(b)]

    def judge_bodies(self) -> list[dict[str, Any]]:
        """The judge requests' bodies."""
        return [b for b in self.bodies() if is_judge(b)]
